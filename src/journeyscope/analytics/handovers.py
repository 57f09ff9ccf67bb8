"""Handovers: where an account passes from one vendor team (owner) to another.

Two views (docs/touchpoints.md, "Handovers", says the same for users):

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

from journeyscope.analytics.base import days, ratio, with_steps
from journeyscope.analytics.journey import STRINGS, Codes, is_one_of
from journeyscope.analytics.touchpoints import (
    account_touchpoints,
    link_waits,
    map_touchpoints,
    progress_marks,
    progressed_after,
)
from journeyscope.model.types import JourneyMap, parse_duration


def _designed_owner(journey_map: JourneyMap, column: ir.Value, codes: Codes) -> ir.Value:
    """The owner the map gives the touchpoint in `column` (null for none)."""
    owners = [(t.id, t.owner) for t in journey_map.touchpoints if t.owner]
    if not owners:
        return ibis.null(codes.dtype("owner"))
    if codes.coded("touchpoint"):
        # A list indexed by the touchpoint's code, as long as the dictionary, so that every
        # code has its entry.
        by_code = [None] * len(codes.values["touchpoint"])
        for tp, owner in owners:
            by_code[codes.key("touchpoint", tp)] = codes.key("owner", owner)
        listed = ibis.literal(by_code, type=f"array<{codes.dtype('owner')}>")
        # Guarded: Spark's element_at of a null position is not null.
        return ibis.ifelse(column.notnull(), listed[column.cast("int32")],
                           ibis.null(codes.dtype("owner")))
    return column.cases(*[(tp, codes.key("owner", o)) for tp, o in owners], else_=ibis.null())


def owner_change_events(
    events: ir.Table, journey_map: JourneyMap, *, account: str = "account_id", ts: str = "ts",
    touchpoint: str = "touchpoint", owner: str = "owner", stage: str = "stage",
    activity: str = "activity", codes: Codes = STRINGS, every_owner: bool = False,
) -> ir.Table:
    """Event-level owner changes: account, from/to owner and touchpoint, ts, gap_us.

    `every_owner` tells that no event lacks an owner (the caller has counted the nulls of
    `owner`): no touchpoint's designed owner is then ever needed, and the owners are read as
    they are. The same rows; over ten million steps 0.07 s of CPU against 0.18 s."""
    if "gap_us" not in events.columns:
        events = with_steps(events, account=account, ts=ts, touchpoint=touchpoint, stage=stage,
                            owner=owner, activity=activity)
    if every_owner:
        # The next event's owner is null only where there is no next event.
        src, dst = events[owner], events.next_owner
    else:
        src = ibis.coalesce(events[owner],
                            _designed_owner(journey_map, events[touchpoint], codes))
        dst = ibis.coalesce(events.next_owner,
                            _designed_owner(journey_map, events.next_touchpoint, codes))
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
    codes: Codes = STRINGS,
    changes: ir.Table | None = None,
) -> ir.Table:
    """Every observed change of owner by (from owner, to owner, from touchpoint, to touchpoint):
    `handovers` (count), `accounts`, gap median and p90 in days, `designed` (the map has a
    handover between these two owners) and `designed_link` (between these two touchpoints).
    `changes` is `owner_change_events(...)` when the caller has it."""
    if changes is None:
        changes = owner_change_events(events, journey_map, account=account, ts=ts,
                                      touchpoint=touchpoint, owner=owner, stage=stage,
                                      activity=activity, codes=codes)
    return ibis.memtable(summary_table(changes, journey_map, ["from_owner", "to_owner",
                                                              "from_touchpoint",
                                                              "to_touchpoint"], codes=codes))


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
    codes: Codes = STRINGS,
    changes: ir.Table | None = None,
) -> ir.Table:
    """The owner-to-owner handover matrix in long form: one row per (from owner, to owner) with
    `handovers`, `accounts`, gap median and p90 in days and `designed`."""
    if changes is None:
        changes = owner_change_events(events, journey_map, account=account, ts=ts,
                                      touchpoint=touchpoint, owner=owner, stage=stage,
                                      activity=activity, codes=codes)
    return ibis.memtable(summary_table(changes, journey_map, ["from_owner", "to_owner"],
                                       codes=codes))


def summary_table(c: ir.Table, journey_map: JourneyMap, by: list[str], *,
                  codes: Codes = STRINGS) -> pa.Table:
    """Owner changes (`owner_change_events`) counted by the `by` columns, as an Arrow table."""
    out = c.group_by(*by).aggregate(
        handovers=c.count(),
        accounts=c.account.nunique(),
        gap_q=c.gap_us.quantile([0.5, 0.9]),
    ).to_pyarrow().to_pylist()
    kinds = {"from_owner": "owner", "to_owner": "owner", "from_touchpoint": "touchpoint",
             "to_touchpoint": "touchpoint"}
    # Whether the map designs the handover is a property of the group: judged on the small
    # result, not on every event.
    pairs = _designed_pairs(journey_map)
    links = {(h.source, h.target) for h in journey_map.handovers()}
    rows = []
    for r in out:
        row = {col: codes.name(kinds[col], r[col]) for col in by}
        q = r["gap_q"] or [None, None]
        row |= {"handovers": r["handovers"], "accounts": r["accounts"],
                "gap_median_days": days(q[0]), "gap_p90_days": days(q[1]),
                "designed": (row["from_owner"], row["to_owner"]) in pairs}
        if "from_touchpoint" in by:
            row["designed_link"] = (row["from_touchpoint"], row["to_touchpoint"]) in links
        rows.append(row)
    rows.sort(key=lambda r: (-r["handovers"], *[(r[c] is None, r[c] or "") for c in by]))
    schema = pa.schema([*[(col, pa.string()) for col in by], ("handovers", pa.int64()),
                        ("accounts", pa.int64()), ("gap_median_days", pa.float64()),
                        ("gap_p90_days", pa.float64()), ("designed", pa.bool_()),
                        *([("designed_link", pa.bool_())] if "from_touchpoint" in by else [])])
    return pa.Table.from_pylist(rows, schema=schema)


DESIGNED_SCHEMA = pa.schema([
    ("source", pa.string()), ("target", pa.string()), ("from_owner", pa.string()),
    ("to_owner", pa.string()), ("source_accounts", pa.int64()), ("accounts", pa.int64()),
    ("reach_rate", pa.float64()), ("gap_median_days", pa.float64()),
    ("gap_p90_days", pa.float64()), ("time_standard", pa.string()),
    ("time_standard_days", pa.float64()), ("breach_share", pa.float64()),
    ("conversion", pa.float64()), ("conversion_within", pa.float64()),
    ("conversion_breach", pa.float64()), ("observed", pa.bool_()),
])


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
    marks: ir.Table | None = None,
    waits: ir.Table | None = None,
    codes: Codes = STRINGS,
) -> ir.Table:
    """Each designed handover of the map measured: `source_accounts` (met the source),
    `accounts` (then met the target), `reach_rate`, gap median and p90 in days, the link's time
    standard in days, `breach_share`, `conversion`, `conversion_within` and
    `conversion_breach`, and `observed` (any account made it). `outcomes`
    (`base.account_outcomes`), `per_account` (`touchpoints.account_touchpoints`), `marks`
    (`touchpoints.progress_marks`) and `waits` (`touchpoints.link_waits` over
    `touchpoints.measured_links`) are read when the caller has them."""
    return ibis.memtable(designed_table(
        events, journey_map, account=account, ts=ts, touchpoint=touchpoint,
        stage_index=stage_index, outcome=outcome, outcomes=outcomes, per_account=per_account,
        marks=marks, waits=waits, codes=codes))


def designed_table(
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
    marks: ir.Table | None = None,
    waits: ir.Table | None = None,
    codes: Codes = STRINGS,
) -> pa.Table:
    """`designed_handovers` as an Arrow table: two small aggregations, put together here.
    `waits` is `touchpoints.link_waits` over links that include the designed handovers (an
    analysis run's, `touchpoints.measured_links`); without it they are measured here."""
    handovers = journey_map.handovers()
    if not handovers:
        return pa.Table.from_pylist([], schema=DESIGNED_SCHEMA)
    standards = [parse_duration(h.time_standard).total_seconds() * 1e6 if h.time_standard
                 else None for h in handovers]
    pairs = ibis.memtable(pa.table({
        "source": codes.array("touchpoint", [h.source for h in handovers]),
        "target": codes.array("touchpoint", [h.target for h in handovers]),
        "standard_us": pa.array(standards, pa.float64()),
    }))
    sources = codes.keys("touchpoint", sorted({h.source for h in handovers}))
    tps = map_touchpoints(journey_map, codes=codes).select(target="touchpoint",
                                                           target_index="tp_stage_index")

    if per_account is None:
        per_account = account_touchpoints(events, account=account, touchpoint=touchpoint, ts=ts)
    at_sources = per_account.filter(is_one_of(per_account.touchpoint, sources))
    source_accounts = {r["source"]: r["n"] for r in at_sources.group_by(
        source=at_sources.touchpoint).aggregate(n=at_sources.count()).to_pyarrow().to_pylist()}
    # Per account: the first target event and the last source event before it.
    matched = waits if waits is not None else link_waits(
        per_account, events, pairs.select("source", "target"), sources=sources,
        account=account, touchpoint=touchpoint, ts=ts)
    if marks is None:
        marks = progress_marks(events, journey_map, outcomes=outcomes, per_account=per_account,
                               account=account, ts=ts, stage_index=stage_index,
                               outcome=outcome, codes=codes)
    p = (
        matched.join(pairs, ["source", "target"])
        .join(tps, "target")
        .join(marks, "account")
    )
    p = p.mutate(gap_us=p.first_ts.delta(p.last_src, unit="microsecond"))
    p = p.mutate(
        breach=(p.gap_us > p.standard_us).fill_null(False),
        converted=progressed_after(p, p.target_index, p.first_ts, len(journey_map.stages)),
    )
    measured = {(r["source"], r["target"]): r for r in p.group_by("source", "target").aggregate(
        accounts=p.count(),
        gap_q=p.gap_us.quantile([0.5, 0.9]),
        breaches=p.breach.cast("int64").sum(),
        converted=p.converted.cast("int64").sum(),
        within=(~p.breach).cast("int64").sum(),
        converted_within=(p.converted & ~p.breach).cast("int64").sum(),
        converted_breach=(p.converted & p.breach).cast("int64").sum(),
    ).to_pyarrow().to_pylist()}
    rows = []
    for h, std in zip(handovers, standards, strict=True):
        key = (codes.key("touchpoint", h.source), codes.key("touchpoint", h.target))
        m = measured.get(key, {})
        accounts = m.get("accounts") or 0
        breaches = m.get("breaches") or 0
        q = m.get("gap_q") or [None, None]
        reached = source_accounts.get(key[0])
        rows.append({
            "source": h.source, "target": h.target, "from_owner": h.from_owner,
            "to_owner": h.to_owner, "source_accounts": reached or 0, "accounts": accounts,
            "reach_rate": ratio(accounts, reached), "gap_median_days": days(q[0]),
            "gap_p90_days": days(q[1]), "time_standard": h.time_standard,
            "time_standard_days": days(std),
            "breach_share": ratio(breaches, accounts) if std is not None else None,
            "conversion": ratio(m.get("converted") or 0, accounts),
            "conversion_within": ratio(m.get("converted_within"), m.get("within"))
            if std is not None else None,
            "conversion_breach": ratio(m.get("converted_breach"), breaches)
            if std is not None else None,
            "observed": accounts > 0,
        })
    return pa.Table.from_pylist(rows, schema=DESIGNED_SCHEMA)
