"""Account-level attribution of won value to touchpoints (or channels, or any column).

The journey of a won account is its touches (events matched to a touchpoint) up to its first won
event (a touch at the same instant counts); the account's won value is shared among them.
Rule-based models (first, last, linear, U, W, full path (Z), time decay, J, inverse J) give each
touch a weight in the engine. The data-driven ones run in Python on small tables the engine
counts: the Markov removal effect on the transition counts between touches (all accounts, won
or not), the Shapley value on the won value per coalition (set of touched keys). Every model's
credits add up to the total won value: a won account without a touch gives its value to the
row `NO_TOUCH`. Touchpoints and channels are attributed from one set of passes.

The conventions for one- and two-touch journeys and the key touches W and Z use are in
docs/attribution.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from journeyscope.analytics.base import account_outcomes, journey_steps, materialise
from journeyscope.analytics.engine import release
from journeyscope.analytics.journey import STRINGS, Codes, bits_apply, code_bits
from journeyscope.model.types import JourneyMap, parse_duration

NO_TOUCH = "(no touch)"
UNKNOWN = "(unknown)"
SEPARATOR = "\x1f"  # joins a coalition's keys into one string; never in an id or channel
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
FIRST_STEP = 0  # the journey's first touch: `base.with_steps` counts steps as Ibis does, from 0

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
    """Credits per key value (touchpoint, channel, ...) for every model; `rows` are plain dicts
    with `key`, `touches` (touches in won journeys), `journeys` (won journeys touching it) and
    one column per model in `MODELS`, largest linear credit first."""

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


def _markers(codes: Codes, kind: str) -> dict[str, Any]:
    """How a touches table writes the unknown key and the absorbing states: the names
    themselves in a column of names, negative codes in a coded column."""
    if codes.coded(kind):
        return {UNKNOWN: -1, CONVERSION: -2, NULL: -3}
    return {UNKNOWN: UNKNOWN, CONVERSION: CONVERSION, NULL: NULL}


def _decoded(codes: Codes, kind: str, key: Any) -> str | None:
    if codes.coded(kind) and isinstance(key, int) and key < 0:
        return {-1: UNKNOWN, -2: CONVERSION, -3: NULL}[key]
    return codes.name(kind, key)


def journey_touches(
    events: ir.Table,
    outcomes: ir.Table,
    *,
    keys: Sequence[str] = ("touchpoint", "channel"),
    won_only: bool = False,
    account: str = "account_id",
    ts: str = "ts",
    step: str = "step",
    stage_index: str = "stage_index",
    codes: Codes = STRINGS,
    fill: bool = True,
) -> ir.Table:
    """The touches of every journey from the journey table (`base.journey_steps`: touchpoint
    events, `step` counting touches, `next_*` the next touch): a won account's up to its first
    won event, every touch of the others (of the won accounts only with `won_only`). Columns
    `account`, `step`, `ts`, `stage_index`, `won`, `win_ts`, `won_value`, the `keys` (a missing
    value reads `UNKNOWN`, or code -1 in a coded column), and `next_ts` and `next_<key>` where
    the journey has them. Without `fill`, a coded key stays as it is, null where it is
    missing, for a reader that fills its few results instead of every touch
    (`transition_table`)."""
    # Only won accounts need their win joined on: a small table to look every touch up in.
    won = outcomes.filter(outcomes.won)
    o = won.select(account=won[account], win_ts=won.won_ts, won_value=won.won_value)

    def key(column: ir.Value, k: str) -> ir.Value:
        if codes.coded(k):
            return column.cast("int32").fill_null(-1) if fill else column
        return column.cast("string").fill_null(UNKNOWN)

    nexts = {f"next_{k}": key(events[f"next_{k}"], k)
             for k in keys if f"next_{k}" in events.columns}
    t = events.select(
        account=events[account], step=events[step], ts=events[ts],
        stage_index=events[stage_index],
        **{k: key(events[k], k) for k in keys},
        **({"next_ts": events.next_ts} if "next_ts" in events.columns else {}),
        **nexts,
    )
    if won_only:
        t = t.join(o, "account").mutate(won=ibis.literal(True))
        return t.filter(t.ts <= t.win_ts)
    t = t.left_join(o, "account").drop("account_right")
    t = t.mutate(won=t.win_ts.notnull(), won_value=t.won_value.fill_null(0.0))
    return t.filter(~t.won | (t.ts <= t.win_ts))


def positional_credits(
    touches: ir.Table,
    journey_map: JourneyMap,
    *,
    keys: Sequence[str] = ("touchpoint", "channel"),
    half_life: str | dt.timedelta = "P7D",
    lead_stage: str | None = None,
    opportunity_stage: str | None = None,
) -> ir.Table:
    """Credits of the rule-based models from `journey_touches`, in long form: `by` (the key
    column), `key` (its value), `touches` and one column per model in `ENGINE_MODELS`.

    The W-shaped and full-path models take the first touch in `lead_stage` (default: the map's
    second stage) as the lead-creation touch and the first touch in `opportunity_stage`
    (default: the third) as the opportunity-creation touch.
    """
    hl_us = _half_life_us(half_life)
    lead_idx, opp_idx = _key_stages(journey_map, lead_stage, opportunity_stage)
    t = touches.filter(touches.won)
    # 2 ** -(age / half-life); the exponent is clamped so that a journey whose touches are all
    # centuries old still has weights (equal ones) instead of underflowing to zero.
    age_us = t.win_ts.delta(t.ts, unit="microsecond").cast("float64")
    t = t.mutate(decay=ibis.greatest(-age_us * (math.log(2) / hl_us), -700.0).exp())

    def first_in(idx: int | None) -> ir.Value:
        if idx is None:
            return ibis.null().cast("int64")
        return t.step.min(where=t.stage_index == idx).cast("int64")

    journeys = t.group_by("account").aggregate(
        n=t.count(), k_first=t.step.min().cast("int64"), k_last=t.step.max().cast("int64"),
        k_lead=first_in(lead_idx), k_opportunity=first_in(opp_idx), decay_sum=t.decay.sum(),
    )
    # Each model's weight per key slot and per other touch is a property of the journey:
    # worked out once per (won) journey here, then each touch only picks its slots.
    journeys = ibis.memtable(journey_weights(journeys.to_pyarrow()))
    j = t.join(journeys, "account")
    at = {slot: (j.step == j[f"k_{slot}"]).fill_null(False)
          for slot in ("first", "last", "lead", "opportunity")}
    credit = {"linear": 1.0 / j.n.cast("float64"), "time_decay": j.decay / j.decay_sum}
    for model, (shares, _) in POSITIONAL.items():
        weight = ibis.literal(0.0)
        is_key = ibis.literal(False)
        for slot in shares:
            weight = weight + ibis.ifelse(at[slot], j[f"{model}__{slot}"], 0.0)
            is_key = is_key | at[slot]
        credit[model] = weight + ibis.ifelse(is_key, 0.0, j[f"{model}__other"])
    j = j.mutate(**{m: credit[m] * j.won_value for m in ENGINE_MODELS})
    parts = [
        j.group_by(key=j[k]).aggregate(
            touches=j.count(), **{m: j[m].sum() for m in ENGINE_MODELS}
        ).mutate(by=ibis.literal(k))
        for k in keys
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part, distinct=False)
    return out.select("by", "key", "touches", *ENGINE_MODELS)


def journey_weights(journeys: pa.Table) -> pa.Table:
    """Per won journey (`account`, `n` touches, the steps of its key touches `k_first`,
    `k_last`, `k_lead`, `k_opportunity`, and `decay_sum`): the weight of each key slot of each
    position-based model (`<model>__<slot>`) and of each other touch (`<model>__other`), by
    the rule of POSITIONAL. A missing key touch's share, and the others' share when there are
    no other touches, go to the present key touches in proportion to their own shares; two
    keys on one touch count as one key touch. Worked out with numpy over all journeys at once
    (the same double arithmetic, in the same order, as the engine would do)."""
    n = journeys.column("n").to_numpy(zero_copy_only=False).astype(np.int64)
    steps, present = {}, {}
    for slot in ("first", "last", "lead", "opportunity"):
        col = journeys.column(f"k_{slot}")
        present[slot] = col.is_valid().to_numpy(zero_copy_only=False)
        steps[slot] = col.fill_null(-1).to_numpy(zero_copy_only=False)
    out = journeys
    for model, (shares, rest) in POSITIONAL.items():
        names = list(shares)
        present_share = np.zeros(len(n))
        for k, share in shares.items():
            present_share = present_share + np.where(present[k], share, 0.0)
        distinct = np.zeros(len(n), dtype=np.int64)
        for i, k in enumerate(names):
            new = present[k].copy()
            for o in names[:i]:
                new &= ~(present[o] & (steps[o] == steps[k]))
            distinct += new
        others = n - distinct
        rest_eff = np.where(others > 0, rest, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k, share in shares.items():
                weight = np.where(present[k], (1.0 - rest_eff) * share / present_share, 0.0)
                out = out.append_column(f"{model}__{k}", pa.array(weight, pa.float64()))
            other = np.where(others > 0, rest_eff / np.maximum(others, 1), 0.0)
        out = out.append_column(f"{model}__other", pa.array(other, pa.float64()))
    return out


def markov_transitions(
    touches: ir.Table, *, keys: Sequence[str] = ("touchpoint", "channel"),
    codes: Codes = STRINGS,
) -> ir.Table:
    """Transition counts between consecutive touches of the journeys in `journey_touches`, in
    long form: `by`, `source` (`START` for a journey's first touch), `target` (`CONVERSION` or
    `NULL` after its last touch) and `n`. Reads the journey's `next_<key>` columns; a key
    without one gets its next touch from a window over the touches."""
    return ibis.memtable(transition_table(touches, keys=keys, codes=codes))


TRANSITION_SCHEMA = pa.schema([("by", pa.string()), ("source", pa.string()),
                               ("target", pa.string()), ("n", pa.int64())])


def transition_table(
    touches: ir.Table, *, keys: Sequence[str] = ("touchpoint", "channel"),
    codes: Codes = STRINGS,
) -> pa.Table:
    """`markov_transitions` as an Arrow table: one query counts every key's moves at once
    (grouped by all the keys and their targets), summed per key here."""
    if "next_ts" not in touches.columns:
        missing = list(keys)
    else:
        missing = [k for k in keys if f"next_{k}" not in touches.columns]
    # Only what the transitions need: a window sorts every column it carries.
    kept = ["account", "step", "ts", "won", "win_ts", *keys]
    kept += [c for c in ("next_ts", *(f"next_{k}" for k in keys)) if c in touches.columns]
    t = touches.select(*dict.fromkeys(kept))
    if missing:
        w = ibis.window(group_by=t.account, order_by=t.step)
        t = t.mutate(
            **{f"next_{k}": t[k].lead().over(w) for k in missing},
            next_ts=t.ts.lead().over(w) if "next_ts" not in t.columns else t.next_ts,
            first=t.step.lag().over(w).isnull(),
        )
    else:
        t = t.mutate(first=t.step == FIRST_STEP)
    # The journey goes on when there is a next touch, and for a won account it came no later
    # than the win; otherwise this is the last touch.
    goes_on = t.next_ts.notnull() & (~t.won | (t.next_ts <= t.win_ts))
    groups = [t.first.name("__first")]
    for i, k in enumerate(keys):
        m = _markers(codes, k)
        groups += [t[k].name(f"__s{i}"),
                   ibis.ifelse(goes_on, t[f"next_{k}"],
                               ibis.ifelse(t.won, m[CONVERSION], m[NULL])).name(f"__t{i}")]
    counted = t.group_by(groups).aggregate(__n=t.count()).to_pyarrow().to_pylist()
    # A key left null (`journey_touches` without `fill`) is the unknown key, filled here on
    # the few hundred counts rather than on every touch (0.36 s of CPU against 0.47 s for
    # this query at ten million events).
    for i, k in enumerate(keys):
        unknown = _markers(codes, k)[UNKNOWN]
        for r in counted:
            for col in (f"__s{i}", f"__t{i}"):
                if r[col] is None:
                    r[col] = unknown
    rows = []
    for i, k in enumerate(keys):
        moves: dict[tuple, int] = defaultdict(int)
        starts: dict[Any, int] = defaultdict(int)
        for r in counted:
            moves[(r[f"__s{i}"], r[f"__t{i}"])] += r["__n"]
            if r["__first"]:
                starts[r[f"__s{i}"]] += r["__n"]
        rows += [{"by": k, "source": _decoded(codes, k, src), "target": _decoded(codes, k, dst),
                  "n": n} for (src, dst), n in moves.items()]
        rows += [{"by": k, "source": START, "target": _decoded(codes, k, dst), "n": n}
                 for dst, n in starts.items()]
    return pa.Table.from_pylist(rows, schema=TRANSITION_SCHEMA)


def coalitions(
    touches: ir.Table, *, keys: Sequence[str] = ("touchpoint", "channel"),
    codes: Codes = STRINGS,
) -> ir.Table:
    """Won journeys by the set of keys they touched, in long form: `by`, `coalition` (the sorted
    distinct keys joined by SEPARATOR), `journeys`, `touches` and `won_value`."""
    return ibis.memtable(coalition_table(touches, keys=keys, codes=codes))


COALITION_SCHEMA = pa.schema([("by", pa.string()), ("coalition", pa.string()),
                              ("journeys", pa.int64()), ("touches", pa.int64()),
                              ("won_value", pa.float64())])


def coalition_table(
    touches: ir.Table, *, keys: Sequence[str] = ("touchpoint", "channel"),
    codes: Codes = STRINGS,
) -> pa.Table:
    """`coalitions` as an Arrow table: the sets are grouped in the engine and named here.

    A key coded in a short dictionary has each journey's set as the bits of one integer
    (`journey.code_bits`; the unknown key, code -1, as the bit after the dictionary's), not
    as a sorted list of its distinct codes: over the 1.45 million touches of 23,000 won
    journeys at ten million events, 0.03 s of CPU against 0.09 s."""
    t = touches.filter(touches.won)
    bits = {k: len(codes.values[k]) for k in keys
            if codes.coded(k) and bits_apply(len(codes.values[k]) + 1, t)}

    def key_set(k: str) -> ir.Value:
        if k in bits:
            return code_bits(ibis.ifelse(t[k] == _markers(codes, k)[UNKNOWN], bits[k], t[k]))
        return t[k].collect(distinct=True).sort()

    # Every key's set per journey in one pass; the journeys are then counted per combination
    # of sets, and each key adds up its own sets here.
    per = t.group_by("account").aggregate(
        **{f"__set{i}": key_set(k) for i, k in enumerate(keys)},
        touches=t.count(), won_value=t.won_value.max(),
    )
    grouped = per.group_by([f"__set{i}" for i in range(len(keys))]).aggregate(
        journeys=per.count(), touches=per.touches.sum(), won_value=per.won_value.sum(),
    ).to_pyarrow().to_pylist()
    rows = []
    for i, k in enumerate(keys):
        sets: dict[str, dict[str, Any]] = {}
        for r in grouped:
            members = r[f"__set{i}"]
            if k in bits:
                members = [-1 if c == bits[k] else c for c in range(bits[k] + 1)
                           if (members or 0) >> c & 1]
            names = sorted(_decoded(codes, k, v) for v in members or [])
            acc = sets.setdefault(SEPARATOR.join(names), {"journeys": 0, "touches": 0,
                                                          "won_value": None})
            acc["journeys"] += r["journeys"]
            acc["touches"] += r["touches"]
            if r["won_value"] is not None:
                acc["won_value"] = r["won_value"] + (acc["won_value"] or 0.0)
        rows += [{"by": k, "coalition": name, **acc} for name, acc in sets.items()]
    return pa.Table.from_pylist(rows, schema=COALITION_SCHEMA)


def markov_credits(transitions: list[dict], attributable: float) -> dict[str, float]:
    """Markov removal effect (first order) from rows of `markov_transitions` (one key): each
    state's share of the summed removal effects times `attributable`, the won value of the
    journeys with a touch."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in transitions:
        counts[row["source"]][row["target"]] += row["n"]
    named = {r["source"] for r in transitions} | {r["target"] for r in transitions}
    states = sorted(named - {START, CONVERSION, NULL})
    if not states or attributable == 0:
        return {s: 0.0 for s in states}
    base = _conversion_probability(counts, states, removed=None)
    if base <= 0:
        return {s: 0.0 for s in states}
    effects = {s: 1.0 - _conversion_probability(counts, states, removed=s) / base
               for s in states}
    total = sum(effects.values())
    return {s: (e / total * attributable if total > 0 else 0.0) for s, e in effects.items()}


def _conversion_probability(counts: dict[str, dict[str, float]], states: list[str],
                            removed: str | None) -> float:
    """Probability of reaching CONVERSION from START in the absorbing chain; a removed state
    absorbs into NULL."""
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
            elif target == CONVERSION:
                matrix[i][size] += c / total
    p = _solve(matrix, size)
    start = counts.get(START, {})
    total = sum(start.values())
    if total == 0:
        return 0.0
    return sum(c / total * p[index[t]] for t, c in start.items() if t in index)


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


def shapley_credits(coalition_rows: list[dict]) -> dict[str, float]:
    """Shapley value of each key from rows of `coalitions` (one key), in the game whose worth of
    a set S of keys is the won value of the journeys whose touches all lie in S. Its exact
    solution gives each coalition's won value in equal parts to its members
    (docs/attribution.md)."""
    credits: dict[str, float] = defaultdict(float)
    for row in coalition_rows:
        members = row["coalition"].split(SEPARATOR) if row["coalition"] else []
        for k in members:
            credits[k] += (row["won_value"] or 0.0) / len(members)
    return dict(credits)


def attribution(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    keys: Sequence[str] = ("touchpoint", "channel"),
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
    stage_index: str = "stage_index",
    codes: Codes = STRINGS,
) -> dict[str, Attribution]:
    """Every attribution model for each of `keys` (event columns: touchpoint, channel, ...):
    rule-based credits from the engine, Markov and Shapley in Python on the counts it returns.

    `events` is best the journey (`base.journey_steps`, or `base.events_with_journey`); other
    events are made into one.
    `outcomes` is `base.account_outcomes` of all the events (the journey has no outcome
    events, so it is needed with a journey).

    >>> result = attribution(events, journey_map)  # doctest: +SKIP
    >>> by_channel = result["channel"]  # doctest: +SKIP
    >>> total = round(sum(by_channel.credits("markov").values()), 6)  # doctest: +SKIP
    >>> total == by_channel.total_won_value  # doctest: +SKIP
    True
    """
    keys = tuple(keys)
    if not keys:
        raise ValueError("attribution needs at least one key column (touchpoint, channel, ...)")
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome, value=value)
    events = _journey(events, account=account, ts=ts, touchpoint=touchpoint, step=step)
    names = dict(keys=keys, account=account, ts=ts, step=step, stage_index=stage_index,
                 codes=codes)
    transitions = transition_table(
        journey_touches(events, outcomes, fill=False, **names), keys=keys, codes=codes
    ).to_pylist()
    # The won journeys are a small part of the touches; kept once for the two queries on them.
    won_touches = materialise(journey_touches(events, outcomes, won_only=True, **names))
    try:
        positional = positional_credits(
            won_touches, journey_map, keys=keys, half_life=half_life, lead_stage=lead_stage,
            opportunity_stage=opportunity_stage,
        ).to_pyarrow().to_pylist()
        for r in positional:
            r["key"] = _decoded(codes, r["by"], r["key"])
        sets = coalition_table(won_touches, keys=keys, codes=codes).to_pylist()
    finally:
        release(won_touches)
    won = outcomes.filter(outcomes.won)
    totals = won.aggregate(value=won.won_value.sum(), n=won.count()).to_pyarrow().to_pylist()[0]
    total, won_accounts = float(totals["value"] or 0.0), int(totals["n"] or 0)

    results = {}
    for k in keys:
        results[k] = _assemble(
            k, total, won_accounts,
            [r for r in positional if r["by"] == k],
            [r for r in transitions if r["by"] == k],
            [r for r in sets if r["by"] == k],
        )
    return results


def _journey(events: ir.Table, *, account: str, ts: str, touchpoint: str,
             step: str) -> ir.Table:
    """The journey in `events`: itself when it is one (`base.journey_steps`), its touchpoint
    events when it comes from `base.events_with_journey` (whose other events have no step),
    and else made from the events (another sort)."""
    if step in events.columns:
        others = events.filter(events[touchpoint].isnull())
        if not _any(others):
            return events
        if not _any(others.filter(others[step].notnull())):
            return events.filter(events[touchpoint].notnull())
    return journey_steps(events, account=account, ts=ts, touchpoint=touchpoint)


def _any(table: ir.Table) -> bool:
    return bool(table.limit(1).count().to_pyarrow().as_py())


def _assemble(key: str, total: float, won_accounts: int, positional: list[dict],
              transitions: list[dict], sets: list[dict]) -> Attribution:
    attributable = sum(r["won_value"] or 0.0 for r in sets)
    markov = markov_credits(transitions, attributable)
    shapley = shapley_credits(sets)
    journeys: dict[str, int] = defaultdict(int)
    for r in sets:
        for k in set(r["coalition"].split(SEPARATOR)) if r["coalition"] else ():
            journeys[k] += r["journeys"]
    rows: dict[str, dict] = {}
    for r in positional:
        rows[r["key"]] = {"key": r["key"], "touches": r["touches"], "journeys": journeys[r["key"]],
                          **{m: r[m] or 0.0 for m in ENGINE_MODELS}}
    for k in set(markov) | set(shapley):
        rows.setdefault(k, {"key": k, "touches": 0, "journeys": journeys.get(k, 0),
                            **{m: 0.0 for m in ENGINE_MODELS}})
    for k, row in rows.items():
        row["markov"] = markov.get(k, 0.0)
        row["shapley"] = shapley.get(k, 0.0)
    no_touch = total - attributable
    # Float sums of the same values in another order differ in the last bits; only a real
    # untouched won value makes a row.
    if no_touch > 1e-9 * max(total, 1.0):
        untouched = won_accounts - sum(r["journeys"] for r in sets)
        rows[NO_TOUCH] = {"key": NO_TOUCH, "touches": 0, "journeys": untouched,
                          **{m: no_touch for m in MODELS}}
    ordered = sorted(rows.values(), key=lambda r: (-r["linear"], r["key"]))
    return Attribution(key=key, total_won_value=total, rows=ordered)
