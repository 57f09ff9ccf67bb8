"""Stages measured: the account-level funnel (strict order and any order), conversion and
drop-off from stage to stage, time in stage against the map's time standard, back-and-forth
between stages, and the accounts stalled in a stage now.

Everything here reads `base.journey_steps` (touchpoint events with their next step) and most of
it one row per account from `stage_progress`, a single aggregation that the caller may cache
and pass on as `progress=`. Definitions (docs/stages.md says the same for users):

- An account **reaches** a stage with its first event in that stage (`entered`).
- **Any order**: an account counts in every stage it reached. **Strict**: it counts in stage k
  only when it reached stages 0..k and entered each no earlier than the one before.
- **Conversion** from stage k-1 to k: of the accounts counted in k-1, the share also counted in
  k; **drop-off** is the rest.
- **Time in stage**: from entering a stage to the first move from it to a later stage of the
  map (`exited`). Accounts that never moved on have no time in stage (they are open or left).
- **Regression**: a step from a stage to an earlier stage of the map.
- **Stalled**: the account's latest event is in a stage it has been in (since it last arrived
  there) for longer than the stage's time standard, at `now`, and it was not lost or churned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import US_PER_DAY, AnalysisError, ratio, stage_table
from journeyscope.analytics.journey import STRINGS, Codes, bits_apply, code_bits
from journeyscope.model.types import JourneyMap, parse_duration


def stage_progress(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str | None = None,
    account: str = "account_id",
    ts: str = "ts",
    step: str = "step",
    stage_index: str = "stage_index",
    next_ts: str = "next_ts",
    next_stage_index: str = "next_stage_index",
) -> ir.Table:
    """One row per account (per account and `by` value when `by` names an event column):
    `entered_k` and `exited_k` for each stage position k, the `current` stage position (of the
    latest event), `current_since` (when the account last arrived in it) and `last_ts`.
    `step` counts an account's steps from 0, as `base.with_steps` does."""
    n = len(journey_map.stages)
    keys = [account] + ([by] if by else [])
    narrow = not by
    if not narrow:
        # A group (a persona, say) has stage changes of its own: every step is read.
        turns = journey
    else:
        turns = stage_turns(journey, step=step, stage_index=stage_index, next_ts=next_ts,
                            next_stage_index=next_stage_index)
        first = ibis.ifelse(turns[step] == 0, turns[ts], ibis.null("timestamp"))
    si, nsi = turns[stage_index], turns[next_stage_index]
    # Entered: at the first step, or at the step after a change into the stage.
    into = ~si.identical_to(nsi) & turns[next_ts].notnull()
    aggs: dict[str, ir.Value] = {}
    for k in range(n):
        if not narrow:
            aggs[f"entered_{k}"] = turns[ts].min(where=si == k)
        else:
            aggs[f"entered_{k}"] = ibis.least(first.min(where=si == k),
                                              turns[next_ts].min(where=into & (nsi == k)))
        aggs[f"exited_{k}"] = turns[next_ts].min(where=(si == k) & (nsi > k))
    aggs["current"] = si.argmax(turns[step])
    aggs["arrived"] = turns[next_ts].max(where=nsi != si)
    aggs["last_ts"] = turns[ts].max()
    wide = turns.group_by([turns[c] for c in keys]).aggregate(**aggs)
    if n == 0:
        return wide.mutate(current_since=wide.arrived).drop("arrived")
    entered_current = wide.current.cases(
        *[(k, wide[f"entered_{k}"]) for k in range(n)], else_=ibis.null("timestamp")
    )
    return wide.mutate(current_since=wide.arrived.coalesce(entered_current)).drop("arrived")


def stage_turns(
    journey: ir.Table,
    *,
    step: str = "step",
    stage_index: str = "stage_index",
    next_ts: str = "next_ts",
    next_stage_index: str = "next_stage_index",
) -> ir.Table:
    """The steps where the stage changes, and every account's first and last step: all that
    bears on `stage_progress` (a stage is entered at the account's first step or after a
    change, left at a change, and the account is in the stage of its last step). They are a
    small part of the journey; kept on their own (`base.materialise`), the aggregation reads
    them as dense as they are (filtered on the fly, every aggregate would work through
    mostly empty batches of the whole journey). Filtering them again changes nothing."""
    si, nsi = journey[stage_index], journey[next_stage_index]
    return journey.filter(~si.identical_to(nsi) | journey[next_ts].isnull()
                          | (journey[step] == 0))


def _grouped(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str | None,
    dimensions: ir.Table | None,
    progress: ir.Table | None,
    account: str,
    ts: str,
    stage_index: str,
) -> ir.Table:
    """`stage_progress` with the `by` column: an event column gives one row per account and
    value (or `progress` has it already); an account column (of `dimensions`) is joined on."""
    if progress is not None and by is not None and by in progress.columns:
        return progress
    account_level = dimensions is not None and by is not None and by in dimensions.columns
    if by is not None and not account_level:
        if by not in journey.columns:
            where = ", ".join(sorted(set(journey.columns) | set(
                dimensions.columns if dimensions is not None else ())))
            raise AnalysisError(f"cannot group by {by!r}: it is neither an event column nor an "
                                f"account column; available: {where}")
        return stage_progress(journey, journey_map, by=by, account=account, ts=ts,
                              stage_index=stage_index)
    if progress is None:
        progress = stage_progress(journey, journey_map, account=account, ts=ts,
                                  stage_index=stage_index)
    if by is None:
        return progress
    assert dimensions is not None
    return with_dimensions(progress, dimensions, [by], account=account)


def with_dimensions(progress: ir.Table, dimensions: ir.Table, columns: list[str], *,
                    account: str = "account_id") -> ir.Table:
    """`progress` (one row per account) with account columns of `dimensions` joined on."""
    right = dimensions.select(dimensions[account].name("__account"),
                              *[dimensions[c] for c in columns])
    return progress.left_join(right, progress[account] == right["__account"]).drop("__account")


def reach_patterns(progress: ir.Table, n_stages: int, *, by: list[str] = ()) -> pa.Table:
    """Accounts (`n`) per combination of the `by` columns and the account's pattern of stages:
    `r<k>` reached stage k, `o<k>` entered stage k no earlier than stage k-1. Every funnel
    (any order or strict, overall or by a column) adds these small counts up, so that one
    query serves them all."""
    p = progress
    keys = [p[c] for c in by]
    keys += [p[f"entered_{k}"].notnull().name(f"r{k}") for k in range(n_stages)]
    keys += [(p[f"entered_{k}"] >= p[f"entered_{k - 1}"]).fill_null(False).name(f"o{k}")
             for k in range(1, n_stages)]
    if not keys:
        return p.aggregate(n=p.count()).to_pyarrow()
    return p.group_by(keys).aggregate(n=p.count()).to_pyarrow()


def reached_patterns(touches: ir.Table, n_stages: int, *, by: str, account: str = "account",
                     stage_index: str = "stage_index") -> pa.Table:
    """`reach_patterns` of the any-order funnel by `by` from a table with a row per account,
    `by` value and stage met (more rows are fine): whether each (account, value) reached each
    stage is all that funnel needs, and cheaper to find than when."""
    t = touches
    flags = [f"r{k}" for k in range(n_stages)]
    if bits_apply(n_stages, t):
        # The stages reached as the bits of one integer: one aggregate instead of one per
        # stage (at ten million events, 0.16 s of CPU against 0.25 s), unpacked here.
        si = t[stage_index]
        met = ibis.ifelse((si >= 0) & (si < n_stages), si, ibis.null(si.type()))
        masks = t.group_by(t[account], t[by]).aggregate(__mask=code_bits(met).fill_null(0))
        counted = masks.group_by(masks[by], masks["__mask"]).aggregate(n=masks.count())
        counted = counted.to_pyarrow()
        mask = counted.column("__mask").to_numpy(zero_copy_only=False)
        out = counted.select([by])
        for k, name in enumerate(flags):
            out = out.append_column(name, pa.array((mask >> k) & 1 == 1))
        return out.append_column("n", counted.column("n"))
    reached = t.group_by(t[account], t[by]).aggregate(
        **{name: (t[stage_index] == k).fill_null(False).any() for k, name in enumerate(flags)})
    return reached.group_by([by, *flags]).aggregate(n=reached.count()).to_pyarrow()


FUNNEL_COLUMNS = [("stage_index", pa.int16()), ("stage", pa.string()),
                  ("stage_name", pa.string()), ("accounts", pa.int64()), ("share", pa.float64()),
                  ("previous", pa.int64()), ("converted", pa.int64()),
                  ("conversion", pa.float64()), ("drop_off", pa.int64()),
                  ("drop_off_rate", pa.float64()), ("total", pa.int64())]


def funnel_table(patterns: pa.Table, journey_map: JourneyMap, *, strict: bool = False,
                 by: str | None = None, codes: Codes = STRINGS) -> pa.Table:
    """The funnel (see `funnel`) from `reach_patterns`, by one of its columns or overall."""
    n = len(journey_map.stages)
    groups: dict[Any, list[Any]] = {}
    for row in patterns.to_pylist():
        key = codes.name(by, row[by]) if by else None
        group = groups.setdefault(key, [0, [0] * n, [0] * n])
        count = row["n"]
        group[0] += count
        reached, ok = [], True
        for k in range(n):
            here = row[f"r{k}"]
            if strict:
                ok = ok and here and (k == 0 or row[f"o{k}"])
                here = ok
            reached.append(here)
            if here:
                group[1][k] += count
                if k > 0 and reached[k - 1]:
                    group[2][k] += count
    rows = []
    for key in sorted(groups, key=lambda v: (v is None, v)):
        total, accounts, converted = groups[key]
        for k, stage in enumerate(journey_map.stages):
            row = {by: key} if by else {}
            previous = accounts[k - 1] if k > 0 else None
            row |= {"stage_index": k, "stage": stage.id, "stage_name": stage.name,
                    "accounts": accounts[k], "share": ratio(accounts[k], total),
                    "previous": previous, "converted": converted[k] if k > 0 else None,
                    "conversion": ratio(converted[k], previous) if k > 0 else None,
                    "drop_off": previous - converted[k] if k > 0 else None,
                    "drop_off_rate": ratio(previous - converted[k], previous) if k > 0 else None,
                    "total": total}
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=_schema(patterns, by, codes, FUNNEL_COLUMNS))


def _schema(source: pa.Table, by: str | None, codes: Codes,
            columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """The result's schema: the `by` column (a name when decoded) and then `columns`."""
    if not by:
        return pa.schema(columns)
    kind = pa.string() if codes.coded(by) else source.schema.field(by).type
    return pa.schema([(by, kind), *columns])


def funnel(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    strict: bool = False,
    by: str | None = None,
    dimensions: ir.Table | None = None,
    progress: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
    codes: Codes = STRINGS,
) -> ir.Table:
    """The account-level funnel: one row per stage (and `by` value) with `accounts` counted in
    the stage, `share` of all accounts (of the group), and from the stage before: `converted`,
    `conversion`, `drop_off` and `drop_off_rate`.

    `by` is an event column (persona, channel: an account counts in a group through that
    group's events) or a column of `dimensions` (`base.account_dimensions`: segment, cohort,
    first_channel, ...).
    """
    p = _grouped(journey, journey_map, by=by, dimensions=dimensions, progress=progress,
                 account=account, ts=ts, stage_index=stage_index)
    patterns = reach_patterns(p, len(journey_map.stages), by=[by] if by else [])
    return ibis.memtable(funnel_table(patterns, journey_map, strict=strict, by=by, codes=codes))


TIME_COLUMNS = [("stage_index", pa.int16()), ("stage", pa.string()), ("stage_name", pa.string()),
                ("standard_days", pa.float64()), ("entered", pa.int64()), ("exited", pa.int64()),
                ("open", pa.int64()), ("median_days", pa.float64()), ("p75_days", pa.float64()),
                ("p90_days", pa.float64()), ("mean_days", pa.float64()),
                ("breaches", pa.int64()), ("breach_share", pa.float64())]


def time_in_stage(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str | None = None,
    dimensions: ir.Table | None = None,
    progress: ir.Table | None = None,
    outcomes: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
    codes: Codes = STRINGS,
) -> ir.Table:
    """Time in stage per stage (and `by` value): accounts `entered`, `exited` (moved on to a
    later stage) and `open` (in it now: their latest stage, and, when `outcomes` is given
    (`base.account_outcomes` or the facts), not lost or churned since, as `stalled` counts
    them); days in stage `median_days`, `p75_days`, `p90_days`, `mean_days` of the exited; the
    stage's `standard_days` and the share of the exited that took longer (`breach_share`,
    `breaches`)."""
    p = _grouped(journey, journey_map, by=by, dimensions=dimensions, progress=progress,
                 account=account, ts=ts, stage_index=stage_index)
    ended: ir.Value = ibis.literal(False)
    if outcomes is not None:
        o = outcomes.select(__e_acc=outcomes[account], __ended=_ended(outcomes))
        p = p.left_join(o, p[account] == o["__e_acc"]).drop("__e_acc")
        ended = p["__ended"].fill_null(False)
    standards = _standards(journey_map)
    # One aggregation: every stage's measures as columns of one row (per group).
    aggs: dict[str, ir.Value] = {}
    for k, std in enumerate(standards):
        entered = p[f"entered_{k}"]
        days = p[f"exited_{k}"].delta(entered, unit="microsecond").cast("float64") / US_PER_DAY
        aggs[f"entered_{k}"] = entered.count()
        aggs[f"exited_{k}"] = days.count()
        aggs[f"open_{k}"] = ((p.current == k) & entered.notnull() & ~ended).cast("int64").sum()
        aggs[f"q_{k}"] = days.quantile([0.5, 0.75, 0.9])
        aggs[f"mean_{k}"] = days.mean()
        aggs[f"breaches_{k}"] = ((days > std).fill_null(False).cast("int64").sum()
                                 if std is not None else ibis.literal(0, "int64"))
    if not aggs:
        return ibis.memtable(pa.Table.from_pylist([], schema=pa.schema(TIME_COLUMNS)))
    measured = (p.group_by(by) if by else p).aggregate(**aggs).to_pyarrow()
    rows = []
    for m in sorted(measured.to_pylist(), key=lambda r: (r[by] is None, r[by]) if by else 0):
        key = codes.name(by, m[by]) if by else None
        for k, stage in enumerate(journey_map.stages):
            q = m[f"q_{k}"] or [None, None, None]
            exited, breaches = m[f"exited_{k}"], m[f"breaches_{k}"]
            rows.append(({by: key} if by else {}) | {
                "stage_index": k, "stage": stage.id, "stage_name": stage.name,
                "standard_days": standards[k], "entered": m[f"entered_{k}"], "exited": exited,
                "open": m[f"open_{k}"], "median_days": q[0], "p75_days": q[1],
                "p90_days": q[2], "mean_days": m[f"mean_{k}"], "breaches": breaches,
                "breach_share": None if standards[k] is None else ratio(breaches, exited),
            })
    return ibis.memtable(pa.Table.from_pylist(rows, schema=_schema(measured, by, codes,
                                                                   TIME_COLUMNS)))


def _ended(outcomes: ir.Table) -> ir.BooleanValue:
    """Whether an account's journey has ended: lost or churned (`base.account_outcomes`)."""
    return outcomes.lost.fill_null(False) | outcomes.churned.fill_null(False)


def _standards(journey_map: JourneyMap) -> list[float | None]:
    return [parse_duration(s.time_standard).total_seconds() / 86400 if s.time_standard else None
            for s in journey_map.stages]


def entered_counts(progress: ir.Table, n_stages: int) -> list[int]:
    """Accounts that entered each stage (one small query over `stage_progress`)."""
    if not n_stages:
        return []
    row = progress.aggregate(**{f"e{k}": progress[f"entered_{k}"].count()
                                for k in range(n_stages)}).to_pyarrow().to_pylist()[0]
    return [row[f"e{k}"] for k in range(n_stages)]


def entered_from_patterns(patterns: pa.Table, n_stages: int, *,
                          total: bool = False) -> Any:
    """Accounts that entered each stage, from `reach_patterns` (with `total`, the accounts
    there are)."""
    if total:
        return sum(patterns.column("n").to_pylist())
    entered = [0] * n_stages
    for row in patterns.to_pylist():
        for k in range(n_stages):
            if row[f"r{k}"]:
                entered[k] += row["n"]
    return entered


REGRESSION_SCHEMA = pa.schema([
    ("from_stage", pa.string()), ("to_stage", pa.string()), ("from_index", pa.int16()),
    ("to_index", pa.int16()), ("moves", pa.int64()), ("accounts", pa.int64()),
    ("entered", pa.int64()), ("share", pa.float64()),
])


def regression_table(edges: pa.Table, entered: list[int], journey_map: JourneyMap) -> pa.Table:
    """The regressions (see `regressions`) from the stage positions' `paths.edge_stats` (with
    `accounts`) and the accounts that entered each stage."""
    n = len(journey_map.stages)
    rows = []
    for e in edges.to_pylist():
        src, dst = e["source"], e["target"]
        if src is None or dst is None or not (0 <= dst < src < n):
            continue
        rows.append({
            "from_stage": journey_map.stages[src].id, "to_stage": journey_map.stages[dst].id,
            "from_index": src, "to_index": dst, "moves": e["frequency"],
            "accounts": e["accounts"], "entered": entered[src],
            "share": ratio(e["accounts"], entered[src]),
        })
    rows.sort(key=lambda r: (-r["moves"], r["from_index"], r["to_index"]))
    return pa.Table.from_pylist(rows, schema=REGRESSION_SCHEMA)


def regressions(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    progress: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
    next_stage_index: str = "next_stage_index",
) -> ir.Table:
    """Back-and-forth: every step from a stage to an earlier stage, counted from where to
    where: `moves`, distinct `accounts`, and `share` of the accounts that entered the stage
    it went back from."""
    from journeyscope.analytics.paths import edge_stats

    moves = journey.filter(journey[next_stage_index] < journey[stage_index])
    edges = edge_stats(moves, source=stage_index, target=next_stage_index, account=account,
                       durations=False)
    if progress is None:
        progress = stage_progress(journey, journey_map, account=account, ts=ts,
                                  stage_index=stage_index)
    entered = entered_counts(progress, len(journey_map.stages))
    return ibis.memtable(regression_table(edges, entered, journey_map))


def stalled(
    journey: ir.Table,
    journey_map: JourneyMap,
    outcomes: ir.Table,
    *,
    now: dt.datetime | None = None,
    progress: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
) -> ir.Table:
    """Accounts stalled now: one row per account whose current stage has lasted longer than
    the stage's time standard at `now` (default: the latest event of any account, outcome
    events included: the moment the data was taken), leaving out
    accounts that were lost or churned (`outcomes` is `base.account_outcomes`, or the facts
    of `journey.build`, whose `account_text` names the coded accounts). Columns:
    `stage`, `since`, `days_in_stage`, `standard_days`, `over_days`."""
    if progress is None:
        progress = stage_progress(journey, journey_map, account=account, ts=ts,
                                  stage_index=stage_index)
    at = ibis.literal(now, "timestamp") if now is not None else outcomes.last_ts.max().as_scalar()
    standards = _standards(journey_map)
    stages = stage_table(journey_map)
    # Only the stages with a standard can be stalled in: their standards as literals.
    with_standard = [k for k, std in enumerate(standards) if std is not None]
    if not with_standard:
        return stages.filter(ibis.literal(False)).select(
            **{account: ibis.null("string")}, stage="stage", stage_index="stage_index",
            since=ibis.null("timestamp"), last_ts=ibis.null("timestamp"),
            days_in_stage=ibis.null("float64"), standard_days="standard_days",
            over_days=ibis.null("float64"))
    named = "account_text" in outcomes.columns
    o = outcomes.select(outcomes[account].name("__acc"),
                        __name=outcomes["account_text"] if named else outcomes[account],
                        __ended=_ended(outcomes))
    here = progress.join(o, progress[account] == o["__acc"])
    here = here.filter(~here["__ended"] & here.current.isin(with_standard))
    standard = here.current.cases(*[(k, standards[k]) for k in with_standard],
                                  else_=ibis.null("float64"))
    days = at.delta(here.current_since, unit="microsecond").cast("float64") / US_PER_DAY
    here = here.mutate(days_in_stage=days, standard_days=standard)
    out = here.filter(here.days_in_stage > here.standard_days)
    out = out.select(out["__name"], out["__acc"], out.current, since=out.current_since,
                     last_ts=out.last_ts, days_in_stage=out.days_in_stage,
                     standard_days=out.standard_days,
                     over_days=out.days_in_stage - out.standard_days)
    out = out.join(stages.select("stage", "stage_index"), out.current == stages.stage_index)
    out = out.select(**{account: out["__name"]}, stage=out.stage, stage_index=out.stage_index,
                     since=out.since, last_ts=out.last_ts, days_in_stage=out.days_in_stage,
                     standard_days=out.standard_days, over_days=out.over_days,
                     __acc=out["__acc"])
    return out.order_by([ibis.desc("over_days"), "__acc"]).drop("__acc")
