"""Account-level attribution of won value to touchpoints (or channels, or any column).

The journey of a won account is its touches (events matched to a touchpoint) up to and
including its first won event; the account's won value is shared among them. Rule-based models
(first, last, linear, U, W, full path (Z), time decay, J, inverse J) give each touch a weight in
the engine; the data-driven ones (Markov removal effect, Shapley value) run in Python on the
small table of distinct paths with their counts. Every model's credits add up to the total won
value: a won account without a touch gives its value to the row `NO_TOUCH`.

The conventions for one- and two-touch journeys and the key touches W and Z use are in
docs/attribution.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from journeyscope.analytics.base import account_outcomes, with_steps
from journeyscope.model.types import JourneyMap, parse_duration

NO_TOUCH = "(no touch)"
UNKNOWN = "(unknown)"
SEPARATOR = "\x1f"  # joins a path's keys into one string; never part of an id or channel

# Position-based models: the share of each key touch and the share of the other touches.
# A missing key touch's share, and the others' share when there are no other touches, go to
# the present key touches in proportion to their own shares (docs/attribution.md).
POSITIONAL: dict[str, tuple[dict[str, float], float]] = {
    "first": ({"first": 1.0}, 0.0),
    "last": ({"last": 1.0}, 0.0),
    "u_shaped": ({"first": 0.4, "last": 0.4}, 0.2),
    "w_shaped": ({"first": 0.3, "lead": 0.3, "opportunity": 0.3}, 0.1),
    "full_path": ({"first": 0.225, "lead": 0.225, "opportunity": 0.225, "last": 0.225}, 0.1),
    "j_shaped": ({"first": 0.2, "last": 0.6}, 0.2),
    "inverse_j": ({"first": 0.6, "last": 0.2}, 0.2),
}
ENGINE_MODELS = ("first", "last", "linear", "u_shaped", "w_shaped", "full_path", "time_decay",
                 "j_shaped", "inverse_j")
MODELS = ENGINE_MODELS + ("markov", "shapley")


@dataclass
class Attribution:
    """Credits per key (touchpoint, channel, ...) for every model; `rows` are plain dicts with
    `key`, `touches` (touches in won journeys), `journeys` (won journeys touching it) and one
    column per model in `MODELS`."""

    key: str
    total_won_value: float
    rows: list[dict] = field(default_factory=list)

    def credits(self, model: str) -> dict[str, float]:
        return {r["key"]: r[model] for r in self.rows}

    def to_dict(self) -> dict:
        return {"key": self.key, "total_won_value": self.total_won_value, "rows": self.rows}


def _half_life_us(half_life: str | dt.timedelta) -> float:
    delta = parse_duration(half_life) if isinstance(half_life, str) else half_life
    us = delta / dt.timedelta(microseconds=1)
    if us <= 0:
        raise ValueError(f"the time-decay half-life must be positive, not {half_life!r}")
    return us


def _key_stages(journey_map: JourneyMap, lead_stage: str | None,
                opportunity_stage: str | None) -> tuple[int | None, int | None]:
    index = journey_map.stage_index()
    ids = journey_map.stage_ids()
    lead = lead_stage if lead_stage is not None else (ids[1] if len(ids) > 1 else None)
    opp = opportunity_stage if opportunity_stage is not None else (
        ids[2] if len(ids) > 2 else None)
    for name, value in (("lead_stage", lead), ("opportunity_stage", opp)):
        if value is not None and value not in index:
            raise ValueError(f"{name} {value!r} is not a stage of the map ({', '.join(ids)})")
    return (index.get(lead) if lead else None, index.get(opp) if opp else None)


def _journey_touches(
    events: ir.Table, *, key: str, account: str, ts: str, touchpoint: str, outcome: str,
    step: str, won_only: bool,
) -> ir.Table:
    """Touches of each journey: won accounts up to their first won event; with `won_only`
    False, every touch of the accounts never won as well. Columns: account, step, ts, key,
    stage_index, win_ts (null when not won)."""
    wins = events.filter(events[outcome] == "won")
    wins = wins.group_by(account=wins[account]).aggregate(
        win_step=wins[step].min(), win_ts=wins[ts].min()
    )
    touches = events.filter(events[touchpoint].notnull()).select(
        account=events[account], step=events[step], ts=events[ts],
        key=events[key].cast("string").fill_null(UNKNOWN), stage_index=events.stage_index,
    )
    joined = touches.join(wins, "account", how="inner" if won_only else "left")
    if not won_only:
        joined = joined.drop("account_right")
    keep = joined.step <= joined.win_step
    if not won_only:
        keep = joined.win_step.isnull() | keep
    return joined.filter(keep).drop("win_step")


def positional_credits(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    key: str = "touchpoint",
    half_life: str | dt.timedelta = "P7D",
    lead_stage: str | None = None,
    opportunity_stage: str | None = None,
    outcomes: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    outcome: str = "outcome",
    value: str = "value",
    step: str = "step",
) -> ir.Table:
    """Credits of the rule-based models per `key` value, as an Ibis table: `key`, `touches`,
    `journeys` and one column per model in `ENGINE_MODELS`. Won accounts without a touch give
    their value to `NO_TOUCH`.

    The W-shaped and full-path models take the first touch in `lead_stage` (default: the map's
    second stage) as the lead-creation touch and the first touch in `opportunity_stage`
    (default: the third) as the opportunity-creation touch.
    """
    if step not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint)
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome, value=value)
    hl_us = _half_life_us(half_life)
    lead_idx, opp_idx = _key_stages(journey_map, lead_stage, opportunity_stage)

    t = _journey_touches(events, key=key, account=account, ts=ts, touchpoint=touchpoint,
                         outcome=outcome, step=step, won_only=True)

    def first_in(idx: int | None) -> ir.Value:
        if idx is None:
            return ibis.null().cast("int64")
        return t.step.min(where=t.stage_index == idx).cast("int64")

    # 2 ** -(age / half-life); the exponent is clamped so that a journey whose touches are all
    # centuries old still has weights (equal ones) instead of underflowing to zero.
    age_us = t.win_ts.delta(t.ts, unit="microsecond").cast("float64")
    t = t.mutate(decay=ibis.greatest(-age_us * (math.log(2) / hl_us), -700.0).exp())
    journeys = t.group_by("account").aggregate(
        n=t.count(), k_first=t.step.min().cast("int64"), k_last=t.step.max().cast("int64"),
        k_lead=first_in(lead_idx), k_opportunity=first_in(opp_idx), decay_sum=t.decay.sum(),
    )
    won_value = outcomes.select(account=outcomes[account], won_value=outcomes.won_value)
    j = t.join(journeys, "account").join(won_value, "account")

    credit = {
        "linear": 1.0 / j.n.cast("float64"),
        "time_decay": j.decay / j.decay_sum,
    }
    for model, (shares, rest) in POSITIONAL.items():
        credit[model] = _positional_weight(j, shares, rest)
    j = j.mutate(**{m: credit[m] * j.won_value for m in ENGINE_MODELS})
    by_key = j.group_by("key").aggregate(
        touches=j.count(), journeys=j.account.nunique(),
        **{m: j[m].sum() for m in ENGINE_MODELS},
    )
    won_accounts = outcomes.filter(outcomes.won)
    untouched = won_accounts.anti_join(journeys, won_accounts[account] == journeys.account)
    no_touch = untouched.aggregate(
        touches=ibis.literal(0).cast("int64"), journeys=untouched.count(),
        **{m: untouched.won_value.sum().cast("float64") for m in ENGINE_MODELS},
    ).filter(lambda r: r.journeys > 0).mutate(key=ibis.literal(NO_TOUCH))
    return by_key.union(no_touch.select(*by_key.columns))


def _positional_weight(j: ir.Table, shares: dict[str, float], rest: float) -> ir.FloatingValue:
    """The weight of the touch on row `j` under a position-based model (see POSITIONAL)."""
    steps = {k: j[f"k_{k}"] for k in shares}
    present = {k: steps[k].notnull() for k in shares}
    present_share = sum(
        (ibis.ifelse(present[k], s, 0.0) for k, s in shares.items()), ibis.literal(0.0)
    )
    # Distinct key touches (two keys can fall on the same touch).
    names = list(shares)
    distinct = ibis.literal(0)
    for i, k in enumerate(names):
        new = present[k]
        for other in names[:i]:
            new = new & ~(present[other] & (steps[other] == steps[k]))
        distinct = distinct + new.cast("int64")
    others = j.n - distinct
    rest_eff = ibis.ifelse(others > 0, rest, 0.0)
    slot = sum(
        (ibis.ifelse((j.step == steps[k]).fill_null(False), s, 0.0) for k, s in shares.items()),
        ibis.literal(0.0),
    )
    is_key = slot > 0
    return ibis.ifelse(
        is_key,
        (1.0 - rest_eff) * slot / present_share,
        ibis.ifelse(others > 0, rest_eff / others.cast("float64"), 0.0),
    )


def path_counts(
    events: ir.Table,
    *,
    key: str = "touchpoint",
    outcomes: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    outcome: str = "outcome",
    value: str = "value",
    step: str = "step",
) -> ir.Table:
    """Distinct journeys with their counts: `path` (the keys in order, joined by SEPARATOR,
    empty for an account without a touch), `won`, `journeys` and `won_value`. A won account's
    path ends at its first won event."""
    if step not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint)
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome, value=value)
    t = _journey_touches(events, key=key, account=account, ts=ts, touchpoint=touchpoint,
                         outcome=outcome, step=step, won_only=False)
    paths = t.group_by("account").aggregate(
        path=ibis.struct({"step": t.step, "key": t.key}).collect().sort()
        .map(lambda s: s.key).join(SEPARATOR)
    )
    o = outcomes.select(account=outcomes[account], won=outcomes.won, won_value=outcomes.won_value)
    j = o.left_join(paths, "account")
    j = j.mutate(path=j.path.fill_null(""))
    return j.group_by("path", "won").aggregate(journeys=j.count(), won_value=j.won_value.sum())


def _split(path: str) -> list[str]:
    return path.split(SEPARATOR) if path else []


def markov_credits(paths: list[dict]) -> dict[str, float]:
    """Markov removal effect (first order) on rows of `path_counts`: each key's share of the
    summed removal effects times the won value of the journeys with a touch."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    attributable = 0.0
    for row in paths:
        keys = _split(row["path"])
        end = "(conversion)" if row["won"] else "(null)"
        chain = ["(start)", *keys, end]
        for a, b in zip(chain, chain[1:], strict=False):
            counts[a][b] += row["journeys"]
        if row["won"] and keys:
            attributable += row["won_value"] or 0.0
    states = sorted({k for row in paths for k in _split(row["path"])})
    if not states or attributable == 0:
        return {s: 0.0 for s in states}
    base = _conversion_probability(counts, states, removed=None)
    effects = {s: 1.0 - _conversion_probability(counts, states, removed=s) / base
               for s in states} if base > 0 else {s: 0.0 for s in states}
    total = sum(effects.values())
    return {s: (e / total * attributable if total > 0 else 0.0) for s, e in effects.items()}


def _conversion_probability(counts: dict[str, dict[str, float]], states: list[str],
                            removed: str | None) -> float:
    """Probability of reaching (conversion) from (start) in the absorbing chain; a removed
    state absorbs into (null)."""
    live = [s for s in states if s != removed]
    index = {s: i for i, s in enumerate(live)}
    size = len(live)
    # p_i - sum_j P(i->j) p_j = P(i->conversion), solved by Gauss-Jordan elimination.
    matrix = [[0.0] * (size + 1) for _ in range(size)]
    for s in live:
        i = index[s]
        out = counts.get(s, {})
        total = sum(out.values())
        matrix[i][i] = 1.0
        if total == 0:
            continue
        for target, c in out.items():
            if target in index:
                matrix[i][index[target]] -= c / total
            elif target == "(conversion)":
                matrix[i][size] += c / total
    p = _solve(matrix, size)
    start = counts.get("(start)", {})
    total = sum(start.values())
    if total == 0:
        return 0.0
    prob = start.get("(conversion)", 0.0) / total
    prob += sum(c / total * p[index[t]] for t, c in start.items() if t in index)
    return prob


def _solve(matrix: list[list[float]], size: int) -> list[float]:
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(matrix[r][col]))
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        lead = matrix[col][col]
        if lead == 0:
            continue
        row = [v / lead for v in matrix[col]]
        matrix[col] = row
        for r in range(size):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], row, strict=True)]
    return [matrix[i][size] for i in range(size)]


def shapley_credits(paths: list[dict]) -> dict[str, float]:
    """Shapley value of each key in the game whose worth of a coalition S is the won value of
    the journeys whose touches all lie in S. Its exact solution gives each won journey's value
    in equal parts to the distinct keys it touched (docs/attribution.md)."""
    credits: dict[str, float] = defaultdict(float)
    for row in paths:
        for k in _split(row["path"]):
            credits.setdefault(k, 0.0)
        keys = set(_split(row["path"]))
        if row["won"] and keys:
            share = (row["won_value"] or 0.0) / len(keys)
            for k in keys:
                credits[k] += share
    return dict(credits)


def attribution(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    key: str = "touchpoint",
    half_life: str | dt.timedelta = "P7D",
    lead_stage: str | None = None,
    opportunity_stage: str | None = None,
    outcomes: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    outcome: str = "outcome",
    value: str = "value",
    step: str = "step",
) -> Attribution:
    """Every attribution model by `key` (`"touchpoint"` or `"channel"`, or another event
    column): rule-based credits from the engine, Markov and Shapley from the path counts.

    >>> result = attribution(events, journey_map, key="channel")  # doctest: +SKIP
    >>> sum(result.credits("markov").values()) == result.total_won_value  # doctest: +SKIP
    True
    """
    if step not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint)
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome, value=value)
    names = dict(account=account, ts=ts, touchpoint=touchpoint, outcome=outcome, value=value,
                 step=step)
    positional = positional_credits(
        events, journey_map, key=key, half_life=half_life, lead_stage=lead_stage,
        opportunity_stage=opportunity_stage, outcomes=outcomes, **names,
    ).to_pyarrow().to_pylist()
    paths = path_counts(events, key=key, outcomes=outcomes, **names).to_pyarrow().to_pylist()
    markov = markov_credits(paths)
    shapley = shapley_credits(paths)
    no_touch = sum(r["won_value"] or 0.0 for r in paths if r["won"] and not r["path"])
    if no_touch:
        markov[NO_TOUCH] = shapley[NO_TOUCH] = no_touch
    rows = {r["key"]: r for r in positional}
    for k in sorted(set(markov) | set(shapley) | set(rows)):
        row = rows.setdefault(k, {"key": k, "touches": 0, "journeys": 0,
                                  **{m: 0.0 for m in ENGINE_MODELS}})
        row["markov"] = markov.get(k, 0.0)
        row["shapley"] = shapley.get(k, 0.0)
        for m in ENGINE_MODELS:
            row[m] = row[m] or 0.0
    total = sum(r["won_value"] or 0.0 for r in paths if r["won"])
    ordered = sorted(rows.values(), key=lambda r: (-r["linear"], r["key"]))
    return Attribution(key=key, total_won_value=total, rows=ordered)
