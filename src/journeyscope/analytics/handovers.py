"""Handovers: where an account passes from one vendor team (owner) to another.

Two views (docs/handovers.md says the same for users):

- **Observed owner changes** (`owner_changes`, `handover_matrix`): every pair of consecutive
  events of an account whose owners differ (an event without an owner takes its touchpoint's
  designed owner; an event with neither breaks the chain: no change is counted across it). The
  gap is the time between the two events. Read from the columns `base.with_steps` adds, so no
  sort of its own.
- **Designed handovers** (`designed_handovers`): each link of the map whose two touchpoints have
  different owners (`JourneyMap.handovers()`), measured per account from the last event at the
  source touchpoint to the first event at the target touchpoint after it, whatever happened in
  between. Judged against the link's time standard (share in breach) and followed by
  conversion: the share of accounts that afterwards moved past the target's stage or reached a
  won, renewed or expanded outcome, overall and for handovers within and in breach of the
  standard.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import with_steps
from journeyscope.analytics.touchpoints import (
    US_PER_DAY,
    account_touchpoints,
    map_touchpoints,
    progress_marks,
    progressed_after,
    safe_ratio,
)
from journeyscope.model.types import JourneyMap, parse_duration


def _designed_owner(journey_map: JourneyMap, column: ir.StringValue) -> ir.StringValue:
    owners = [(t.id, t.owner) for t in journey_map.touchpoints if t.owner]
    if not owners:
        return ibis.null().cast("string")
    return column.cases(*owners, else_=ibis.null())


def _changes(
    events: ir.Table, journey_map: JourneyMap, *, account: str, ts: str, touchpoint: str,
    owner: str, stage: str, activity: str,
) -> ir.Table:
    """Event-level owner changes: account, from/to owner and touchpoint, ts, gap_us."""
    if "gap_us" not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint, stage=stage,
                            owner=owner, activity=activity)
    src = ibis.coalesce(events[owner], _designed_owner(journey_map, events[touchpoint]))
    dst = ibis.coalesce(events.next_owner, _designed_owner(journey_map, events.next_touchpoint))
    e = events.select(
        account=events[account], ts=events[ts], gap_us=events.gap_us,
        from_owner=src, to_owner=dst,
        from_touchpoint=events[touchpoint], to_touchpoint=events.next_touchpoint,
    )
    return e.filter(e.from_owner.notnull() & e.to_owner.notnull()
                    & (e.from_owner != e.to_owner))


def _designed_pairs(journey_map: JourneyMap) -> set[tuple[str | None, str | None]]:
    return {(h.from_owner, h.to_owner) for h in journey_map.handovers()}


def owner_changes(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    owner: str = "owner",
    stage: str = "stage",
    activity: str = "activity",
) -> ir.Table:
    """Every observed change of owner by (from owner, to owner, from touchpoint, to touchpoint):
    `handovers` (count), `accounts`, gap median and p90 in days, `designed` (the map has a
    handover between these two owners) and `designed_link` (between these two touchpoints)."""
    c = _changes(events, journey_map, account=account, ts=ts, touchpoint=touchpoint,
                 owner=owner, stage=stage, activity=activity)
    return _summarise(c, journey_map, ["from_owner", "to_owner", "from_touchpoint",
                                       "to_touchpoint"])


def handover_matrix(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    owner: str = "owner",
    stage: str = "stage",
    activity: str = "activity",
) -> ir.Table:
    """The owner-to-owner handover matrix in long form: one row per (from owner, to owner) with
    `handovers`, `accounts`, gap median and p90 in days and `designed`."""
    c = _changes(events, journey_map, account=account, ts=ts, touchpoint=touchpoint,
                 owner=owner, stage=stage, activity=activity)
    return _summarise(c, journey_map, ["from_owner", "to_owner"])


def _summarise(c: ir.Table, journey_map: JourneyMap, by: list[str]) -> ir.Table:
    out = c.group_by(*by).aggregate(
        handovers=c.count(),
        accounts=c.account.nunique(),
        gap_q=c.gap_us.quantile([0.5, 0.9]),
    )
    # Whether the map designs the handover is a property of the group: judged on the small
    # result, not on every event.
    designed = ibis.literal(False)
    for a, b in sorted(_designed_pairs(journey_map), key=str):
        designed = designed | ((out.from_owner == a) & (out.to_owner == b)).fill_null(False)
    extra = {}
    if "from_touchpoint" in by:
        link = ibis.literal(False)
        for h in journey_map.handovers():
            link = link | ((out.from_touchpoint == h.source)
                           & (out.to_touchpoint == h.target)).fill_null(False)
        extra["designed_link"] = link
    out = out.mutate(gap_median_days=out.gap_q[0] / US_PER_DAY,
                     gap_p90_days=out.gap_q[1] / US_PER_DAY, designed=designed, **extra)
    out = out.select(*by, "handovers", "accounts", "gap_median_days", "gap_p90_days", "designed",
                     *extra)
    return out.order_by(ibis.desc("handovers"), *by)


def designed_handovers(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    stage_index: str = "stage_index",
    outcome: str = "outcome",
    outcomes: ir.Table | None = None,
    per_account: ir.Table | None = None,
) -> ir.Table:
    """Each designed handover of the map measured: `source_accounts` (met the source),
    `accounts` (then met the target), `reach_rate`, gap median and p90 in days, the link's time
    standard in days, `breach_share`, `conversion`, `conversion_within` and
    `conversion_breach`, and `observed` (any account made it). `outcomes`
    (`base.account_outcomes`) and `per_account` (`touchpoints.account_touchpoints`) are read
    when the caller has them."""
    handovers = journey_map.handovers()
    pairs = ibis.memtable(pa.table({
        "position": pa.array(range(len(handovers)), pa.int32()),
        "source": pa.array([h.source for h in handovers], pa.string()),
        "target": pa.array([h.target for h in handovers], pa.string()),
        "from_owner": pa.array([h.from_owner for h in handovers], pa.string()),
        "to_owner": pa.array([h.to_owner for h in handovers], pa.string()),
        "time_standard": pa.array([h.time_standard for h in handovers], pa.string()),
        "standard_us": pa.array(
            [parse_duration(h.time_standard).total_seconds() * 1e6 if h.time_standard else None
             for h in handovers], pa.float64()),
    }))
    sources = sorted({h.source for h in handovers})
    tps = map_touchpoints(journey_map).select(target="touchpoint", target_index="tp_stage_index")

    if per_account is None:
        per_account = account_touchpoints(events, account=account, touchpoint=touchpoint, ts=ts)
    source_accounts = per_account.filter(per_account.touchpoint.isin(sources or [""]))
    source_accounts = source_accounts.group_by(source=source_accounts.touchpoint).aggregate(
        source_accounts=source_accounts.count()
    )
    # Per account: the first target event and the last source event before it. From the
    # per-account first and last times when the source was never met again after the target
    # (nearly always); from the events for the accounts that came back to the source.
    targets = sorted({h.target for h in handovers})
    src = per_account.filter(per_account.touchpoint.isin(sources or [""]))
    src = src.select("account", source="touchpoint", src_first="first_ts", src_last="last_ts")
    tgt = per_account.filter(per_account.touchpoint.isin(targets or [""]))
    tgt = tgt.select("account", target="touchpoint", first_ts="first_ts")
    x = tgt.join(pairs.select("source", "target"), "target").join(src, ["account", "source"])
    x = x.filter(x.src_first <= x.first_ts)
    simple = x.filter(x.src_last <= x.first_ts).select(
        "account", "source", "target", "first_ts", last_src=x.src_last
    )
    again = x.filter(x.src_last > x.first_ts).select("account", "source", "target", "first_ts")
    at_source = events.filter(events[touchpoint].isin(sources or [""]))
    at_source = at_source.select(account=at_source[account], source=at_source[touchpoint],
                                 src_ts=at_source[ts])
    y = again.join(at_source, ["account", "source"])
    y = y.filter(y.src_ts <= y.first_ts)
    y = y.group_by("account", "source", "target", "first_ts").aggregate(last_src=y.src_ts.max())
    matched = simple.union(y.select(*simple.columns), distinct=False)
    marks = progress_marks(events, journey_map, outcomes=outcomes, per_account=per_account,
                           account=account, ts=ts, stage_index=stage_index, outcome=outcome)
    p = (
        matched.join(pairs.select("source", "target", "standard_us"), ["source", "target"])
        .join(tps, "target")
        .join(marks, "account")
    )
    p = p.mutate(gap_us=p.first_ts.delta(p.last_src, unit="microsecond"))
    p = p.mutate(
        breach=(p.gap_us > p.standard_us).fill_null(False),
        converted=progressed_after(p, p.target_index, p.first_ts, len(journey_map.stages)),
    )
    measured = p.group_by("source", "target").aggregate(
        accounts=p.count(),
        gap_q=p.gap_us.quantile([0.5, 0.9]),
        breaches=p.breach.sum(),
        converted=p.converted.sum(),
        within=(~p.breach).sum(),
        converted_within=(p.converted & ~p.breach).sum(),
        converted_breach=(p.converted & p.breach).sum(),
    )
    r = (
        pairs.left_join(measured, ["source", "target"])
        .left_join(source_accounts, "source")
    )
    accounts = r.accounts.fill_null(0)
    breaches = r.breaches.fill_null(0)
    with_standard = r.standard_us.notnull()
    out = r.select(
        position=r.position,
        source=r.source,
        target=r.target,
        from_owner=r.from_owner,
        to_owner=r.to_owner,
        source_accounts=r.source_accounts.fill_null(0),
        accounts=accounts,
        reach_rate=safe_ratio(accounts, r.source_accounts),
        gap_median_days=r.gap_q[0] / US_PER_DAY,
        gap_p90_days=r.gap_q[1] / US_PER_DAY,
        time_standard=r.time_standard,
        time_standard_days=r.standard_us / US_PER_DAY,
        breach_share=ibis.ifelse(with_standard, safe_ratio(breaches, accounts),
                                 ibis.null().cast("float64")),
        conversion=safe_ratio(r.converted.fill_null(0), accounts),
        conversion_within=ibis.ifelse(with_standard, safe_ratio(r.converted_within, r.within),
                                      ibis.null().cast("float64")),
        conversion_breach=ibis.ifelse(with_standard, safe_ratio(r.converted_breach, breaches),
                                      ibis.null().cast("float64")),
        observed=accounts > 0,
    )
    return out.order_by("position").drop("position")
