"""Touchpoints measured: reach (accounts and contacts), frequency, the win rate of accounts that
met a touchpoint against those that did not, conversion onward, time to the next step and
satisfaction, each judged against the KPI targets the map gives the touchpoint.

Definitions (docs/touchpoints.md says the same for users):

- An account *meets* a touchpoint when one of its events is matched to it.
- **Win rate met / not met** compares, among the accounts that reached the touchpoint's stage
  before their decision (their first won event, else their first lost event), those that met
  the touchpoint before the decision with those that did not: a touchpoint met after the deal
  cannot have moved it, and reaching a late stage is not the touchpoint's merit. `win_lift` is
  the ratio of the two rates (null when the second is 0).
- **Conversion** is the share of the accounts that met the touchpoint which afterwards moved
  forward: an event in a later stage of the map (a stage called `cessation` is an exit, not a
  step forward) or a won, renewed or expanded outcome (the first of each kind) after their
  first meeting.
- **Time to next step** is the time from an event at the touchpoint to the account's next event
  in the table given (with `base.journey_steps`, its next touchpoint event), so a ticket opened
  and then resolved gives the resolution time.
- **Time at the touchpoint** is, per account, the time from its first to its last event there,
  judged against the touchpoint's own time standard (share of accounts over it).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import account_outcomes, with_steps
from journeyscope.model.types import JourneyMap, parse_duration

US_PER_DAY = 86_400_000_000
# Stage ids that end the relationship: reaching them is not progress.
EXIT_STAGES = ("cessation",)
POSITIVE_OUTCOMES = ("won", "renewed", "expanded")


def map_touchpoints(journey_map: JourneyMap) -> ir.Table:
    """The map's touchpoints as a small table: id, position, stage, stage position, owner, time
    standard (microseconds), main channel."""
    index = journey_map.stage_index()
    tps = journey_map.touchpoints
    data = pa.table(
        {
            "touchpoint": pa.array([t.id for t in tps], pa.string()),
            "tp_position": pa.array(range(len(tps)), pa.int32()),
            "tp_stage": pa.array([t.stage for t in tps], pa.string()),
            "tp_stage_index": pa.array([index.get(t.stage) for t in tps], pa.int16()),
            "tp_owner": pa.array([t.owner for t in tps], pa.string()),
            "tp_standard_us": pa.array(
                [parse_duration(t.time_standard) / dt.timedelta(microseconds=1)
                 if t.time_standard else None for t in tps], pa.float64()),
            "tp_channel": pa.array(
                [t.main_channel or (t.channels[0] if t.channels else None) for t in tps],
                pa.string(),
            ),
        }
    )
    return ibis.memtable(data)


def account_touchpoints(
    events: ir.Table,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    ts: str = "ts",
) -> ir.Table:
    """One row per account and touchpoint it met: `account`, `touchpoint`, `n` (events),
    `first_ts`, `last_ts`. Touchpoint stats and designed handovers read it; an analysis run
    computes it once and hands it to both (`per_account=`)."""
    met = events.filter(events[touchpoint].notnull())
    return met.group_by(account=met[account], touchpoint=met[touchpoint]).aggregate(
        n=met.count(), first_ts=met[ts].min(), last_ts=met[ts].max()
    )


def progress_marks(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    outcomes: ir.Table | None = None,
    per_account: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
    outcome: str = "outcome",
) -> ir.Table:
    """One row per account (named `account`) with, for each stage position k, `first_k`: when
    the account first was in stage k, and `later_k`: the last time it was in a stage after k
    (exit stages excluded); and the times of its positive outcomes `won_ts`, `renewed_ts`,
    `expanded_ts` (from `outcomes`, the first of each; without `outcomes`, `positive_ts` is the
    last positive outcome in `events`). `progressed_after` reads them."""
    if per_account is not None:
        first = per_account.join(
            map_touchpoints(journey_map).select("touchpoint", si="tp_stage_index"),
            "touchpoint",
        )
        per_stage = first.group_by("account", "si").aggregate(
            first=first.first_ts.min(), last=first.last_ts.max()
        )
        return _marks(per_stage, journey_map, events=events, outcomes=outcomes,
                      account=account, ts=ts, outcome=outcome)
    per_stage = events.filter(events[stage_index].notnull())
    per_stage = per_stage.group_by(
        account=per_stage[account], si=per_stage[stage_index]
    ).aggregate(first=per_stage[ts].min(), last=per_stage[ts].max())
    return _marks(per_stage, journey_map, events=events if outcomes is None else None,
                  outcomes=outcomes, account=account, ts=ts, outcome=outcome)


def _marks(per_stage: ir.Table, journey_map: JourneyMap, *, events: ir.Table | None,
           outcomes: ir.Table | None, account: str, ts: str, outcome: str) -> ir.Table:
    """`progress_marks` from a table of (account, si, first, last) per account and stage."""
    exits = [i for i, s in enumerate(journey_map.stages) if s.id in EXIT_STAGES]
    forward = ~per_stage.si.isin(exits) if exits else ibis.literal(True)
    aggs: dict[str, ir.Value] = {}
    for k in range(len(journey_map.stages)):
        aggs[f"first_{k}"] = per_stage["first"].min(where=per_stage.si == k)
        aggs[f"later_{k}"] = per_stage["last"].max(where=forward & (per_stage.si > k))
    marks = per_stage.group_by("account").aggregate(**aggs)
    if outcomes is not None:
        o = outcomes.select(account=outcomes[account],
                            **{f"{name}_ts": outcomes[f"{name}_ts"] for name in POSITIVE_OUTCOMES})
        return marks.left_join(o, "account").drop("account_right")
    positive = events.filter(events[outcome].isin(POSITIVE_OUTCOMES))
    positive = positive.group_by(account=positive[account]).aggregate(
        positive_ts=positive[ts].max()
    )
    return marks.left_join(positive, "account").drop("account_right")


def progressed_after(
    marks: ir.Table, stage_position: ir.IntegerValue, when: ir.TimestampValue, n_stages: int
) -> ir.BooleanValue:
    """Whether the account (a row joined with `progress_marks`) moved past `stage_position`, or
    reached a positive outcome, after `when`."""
    moved = ibis.literal(False)
    if n_stages:
        later = stage_position.cases(
            *[(k, marks[f"later_{k}"]) for k in range(n_stages)], else_=ibis.null()
        )
        moved = (later > when).fill_null(False)
    names = ["positive_ts"] if "positive_ts" in marks.columns else [
        f"{name}_ts" for name in POSITIVE_OUTCOMES]
    for name in names:
        moved = moved | (marks[name] > when).fill_null(False)
    return moved


def touchpoint_stats(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    outcomes: ir.Table | None = None,
    per_account: ir.Table | None = None,
    account: str = "account_id",
    contact: str = "contact_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    stage: str = "stage",
    outcome: str = "outcome",
    score: str = "score",
    gap: str = "gap_us",
) -> ir.Table:
    """One row per touchpoint of the map: reach, frequency, win rate met/not met and lift,
    conversion, time to next step (median, p75, p90 in days) and satisfaction.

    `events` are prepared events with steps: `base.journey_steps` (the time to next step is
    then to the next touchpoint event) or `base.with_steps`. `outcomes` is
    `base.account_outcomes` of all the events (outcome events are not touchpoint events), and
    `per_account` is `account_touchpoints(events)`, when the caller has them.
    """
    if gap not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint, stage=stage)
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome)
    n_stages = len(journey_map.stages)
    tps = map_touchpoints(journey_map)

    met = events.filter(events[touchpoint].notnull())
    quantiles = met[gap].quantile([0.5, 0.75, 0.9])
    per_event = met.group_by(touchpoint=met[touchpoint]).aggregate(
        contacts=met[contact].nunique(),
        next_q=quantiles,
        scored=met[score].count(),
        score_mean=met[score].mean(),
        promoters=(met[score] >= 9).sum(),
        detractors=(met[score] <= 6).sum(),
    )
    if per_account is None:
        per_account = account_touchpoints(events, account=account, touchpoint=touchpoint, ts=ts)
    marks = progress_marks(events, journey_map, outcomes=outcomes, per_account=per_account,
                           account=account, ts=ts, outcome=outcome)
    first = per_account.join(tps.select("touchpoint", "tp_stage_index", "tp_standard_us"),
                             "touchpoint")
    o = outcomes.select(
        account=outcomes[account], won=outcomes.won,
        decided_ts=ibis.coalesce(outcomes.won_ts, outcomes.lost_ts),
    )
    j = first.join(o, "account").join(marks, "account")
    before = j.decided_ts.isnull() | (j.first_ts <= j.decided_ts)
    j = j.mutate(
        before=before,
        won_before=before & j.won,
        converted=progressed_after(j, j.tp_stage_index, j.first_ts, n_stages),
        span_us=j.last_ts.delta(j.first_ts, unit="microsecond"),
    )
    per_touchpoint = j.group_by("touchpoint").aggregate(
        accounts=j.count(),
        events=j.n.sum(),
        met_before=j.before.sum(),
        won_met=j.won_before.sum(),
        converted=j.converted.sum(),
        span_q=j.span_us.quantile([0.5, 0.9]),
        over_standard=(j.span_us > j.tp_standard_us).sum(),
    )
    # The comparison group of a touchpoint: accounts that reached its stage before their
    # decision, so that a decision-stage touchpoint is not credited with reaching decision.
    pm = marks.join(o, "account")
    population: dict[str, ir.Value] = {}
    for k in range(n_stages):
        in_time = (pm[f"first_{k}"].notnull()
                   & (pm.decided_ts.isnull() | (pm[f"first_{k}"] <= pm.decided_ts)))
        population[f"reached_{k}"] = in_time.sum()
        population[f"reached_won_{k}"] = (in_time & pm.won).sum()
    totals = outcomes.aggregate(total_accounts=outcomes.count())
    if population:
        totals = totals.cross_join(pm.aggregate(**population))

    t = (
        tps.left_join(per_touchpoint, "touchpoint")
        .drop("touchpoint_right")
        .left_join(per_event, "touchpoint")
        .drop("touchpoint_right")
        .cross_join(totals)
    )
    accounts = t.accounts.fill_null(0)
    met_before = t.met_before.fill_null(0)
    won_met = t.won_met.fill_null(0)

    def at_stage(prefix: str) -> ir.IntegerValue:
        if not n_stages:
            return ibis.literal(0)
        return t.tp_stage_index.cases(
            *[(k, t[f"{prefix}_{k}"]) for k in range(n_stages)], else_=0
        )

    stage_accounts = at_stage("reached")
    win_met = safe_ratio(won_met, met_before)
    win_not_met = safe_ratio(at_stage("reached_won") - won_met, stage_accounts - met_before)
    nps_tps = [tp.id for tp in journey_map.touchpoints if any(k.measure == "nps" for k in tp.kpis)]
    n_events = t.events.fill_null(0)
    result = t.select(
        position=t.tp_position,
        touchpoint=t.touchpoint,
        stage=t.tp_stage,
        owner=t.tp_owner,
        accounts=accounts,
        contacts=t.contacts.fill_null(0),
        events=n_events,
        reach_share=safe_ratio(accounts, t.total_accounts),
        frequency=safe_ratio(n_events, accounts),
        stage_accounts=stage_accounts,
        met_before_decision=met_before,
        win_rate_met=win_met,
        win_rate_not_met=win_not_met,
        win_lift=safe_ratio(win_met, win_not_met),
        conversion=safe_ratio(t.converted.fill_null(0), accounts),
        time_to_next_median_days=t.next_q[0] / US_PER_DAY,
        time_to_next_p75_days=t.next_q[1] / US_PER_DAY,
        time_to_next_p90_days=t.next_q[2] / US_PER_DAY,
        time_at_median_days=t.span_q[0] / US_PER_DAY,
        time_at_p90_days=t.span_q[1] / US_PER_DAY,
        time_standard_days=t.tp_standard_us / US_PER_DAY,
        over_standard_share=ibis.ifelse(t.tp_standard_us.notnull(),
                                        safe_ratio(t.over_standard.fill_null(0), accounts),
                                        ibis.null().cast("float64")),
        scored=t.scored.fill_null(0),
        score_mean=t.score_mean,
        nps=ibis.ifelse(
            t.touchpoint.isin(nps_tps) if nps_tps else ibis.literal(False),
            safe_ratio(100.0 * (t.promoters - t.detractors), t.scored),
            ibis.null().cast("float64"),
        ),
    )
    return result.order_by("position").drop("position")


def safe_ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, null when den is 0 or null."""
    return ibis.ifelse(den > 0, num.cast("float64") / den, ibis.null().cast("float64"))


# -- KPIs against their targets ------------------------------------------------------------------

# measure -> (stats column, {unit: factor}); the first unit entry is the default.
_MEASURES: dict[str, tuple[str, dict[str | None, float]]] = {
    "reach": ("accounts", {"count": 1.0, None: 1.0}),
    "frequency": ("frequency", {"count": 1.0, None: 1.0}),
    "conversion": ("conversion", {"ratio": 1.0, None: 1.0, "percent": 100.0}),
    "win_rate": ("win_rate_met", {"ratio": 1.0, None: 1.0, "percent": 100.0}),
    "time_to_next": ("time_to_next_median_days",
                     {"days": 1.0, None: 1.0, "hours": 24.0, "minutes": 1440.0}),
    "csat": ("score_mean", {None: 1.0}),
    "score": ("score_mean", {None: 1.0}),
    "nps": ("nps", {None: 1.0}),
    "handover_gap": ("handover_gap_median_days",
                     {"days": 1.0, None: 1.0, "hours": 24.0, "minutes": 1440.0}),
}
# Reach given as a ratio or percent is the share of accounts, not the count.
_REACH_SHARE_UNITS = {"ratio": 1.0, "percent": 100.0}
# Measures another analysis owns.
MEASURED_BY = {
    "time_in_stage": "stages", "drop_off": "stages", "sentiment": "voc", "revenue": None,
}


def touchpoint_kpis(
    stats: ir.Table,
    journey_map: JourneyMap,
    *,
    handovers: ir.Table | None = None,
) -> ir.Table:
    """Every KPI the map gives a touchpoint, with its target, the measured value in the KPI's
    unit and whether the target is met (null when there is no measurement).

    `stats` is `touchpoint_stats(...)`; `handovers` is `handovers.designed_handovers(...)`, which
    measures the `handover_gap` KPIs (the accounts-weighted median gap of the designed handovers
    into the touchpoint).
    """
    rows = []
    for tp in journey_map.touchpoints:
        for kpi in tp.kpis:
            column, factor, measured_by = _kpi_source(kpi.measure, kpi.unit)
            rows.append({
                "position": len(rows), "touchpoint": tp.id, "kpi": kpi.name,
                "measure": kpi.measure, "unit": kpi.unit,
                "target": kpi.target, "direction": kpi.direction.value, "source_column": column,
                "factor": factor, "measured_by": measured_by,
            })
    schema = pa.schema([
        ("position", pa.int32()),
        ("touchpoint", pa.string()), ("kpi", pa.string()), ("measure", pa.string()),
        ("unit", pa.string()), ("target", pa.float64()), ("direction", pa.string()),
        ("source_column", pa.string()), ("factor", pa.float64()), ("measured_by", pa.string()),
    ])
    kpis = ibis.memtable(pa.Table.from_pylist(rows, schema=schema))
    values = stats
    if handovers is not None:
        h = handovers.filter(handovers.accounts > 0)
        gaps = h.group_by(touchpoint=h.target).aggregate(
            handover_gap_median_days=(h.gap_median_days * h.accounts).sum() / h.accounts.sum()
        )
        values = values.left_join(gaps, "touchpoint").drop("touchpoint_right")
    else:
        values = values.mutate(handover_gap_median_days=ibis.null().cast("float64"))
    j = kpis.left_join(values, "touchpoint").drop("touchpoint_right")
    columns = sorted({column for column, _ in _MEASURES.values()} | {"reach_share"})
    raw = j.source_column.cases(*[(c, j[c].cast("float64")) for c in columns], else_=ibis.null())
    actual = raw * j.factor
    met = ibis.cases(
        (actual.isnull() | j.target.isnull(), ibis.null().cast("boolean")),
        (j.direction == "higher", actual >= j.target),
        else_=actual <= j.target,
    )
    out = j.select(
        "position", "touchpoint", "kpi", "measure", "unit", "target", "direction",
        actual=actual, met=met, measured_by=j.measured_by,
    )
    return out.order_by("position").drop("position")


def _kpi_source(measure: str | None, unit: str | None) -> tuple[str | None, float, str | None]:
    """Which stats column measures a KPI, the factor to its unit, and which analysis measures it
    when this one does not."""
    if measure == "reach" and unit in _REACH_SHARE_UNITS:
        return "reach_share", _REACH_SHARE_UNITS[unit], "touchpoints"
    if measure in _MEASURES:
        column, factors = _MEASURES[measure]
        factor = factors.get(unit, factors.get(None, 1.0))
        return column, factor, "handovers" if measure == "handover_gap" else "touchpoints"
    return None, 1.0, MEASURED_BY.get(measure) if measure else None
