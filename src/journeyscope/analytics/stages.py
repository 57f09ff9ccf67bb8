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

import ibis
import ibis.expr.types as ir

from journeyscope.analytics.base import US_PER_DAY, AnalysisError, stage_table
from journeyscope.model.types import JourneyMap


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
    latest event), `current_since` (when the account last arrived in it) and `last_ts`."""
    n = len(journey_map.stages)
    si, nsi = journey[stage_index], journey[next_stage_index]
    aggs: dict[str, ir.Value] = {}
    for k in range(n):
        aggs[f"entered_{k}"] = journey[ts].min(where=si == k)
        aggs[f"exited_{k}"] = journey[next_ts].min(where=(si == k) & (nsi > k))
    aggs["current"] = si.argmax(journey[step])
    aggs["arrived"] = journey[next_ts].max(where=nsi != si)
    aggs["last_ts"] = journey[ts].max()
    keys = [journey[account].name(account)] + ([journey[by].name(by)] if by else [])
    wide = journey.group_by(keys).aggregate(**aggs)
    if n == 0:
        return wide.mutate(current_since=wide.arrived).drop("arrived")
    entered_current = wide.current.cases(
        *[(k, wide[f"entered_{k}"]) for k in range(n)], else_=ibis.null("timestamp")
    )
    return wide.mutate(current_since=wide.arrived.coalesce(entered_current)).drop("arrived")


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
    value; an account column (of `dimensions`) is joined on."""
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
    right = dimensions.select(dimensions[account].name("__account"), dimensions[by])
    return progress.left_join(right, progress[account] == right["__account"]).drop("__account")


def _per_stage(wide: ir.Table, n: int, stages: ir.Table, names: list[str]) -> ir.Table:
    """Unpivot `<name>_<k>` columns of a small table into one row per stage position."""
    crossed = wide.cross_join(stages)
    columns = {
        name: crossed.stage_index.cases(
            *[(k, crossed[f"{name}_{k}"]) for k in range(n)], else_=ibis.null()
        )
        for name in names
    }
    keep = [c for c in wide.columns if not any(c.startswith(f"{name}_") for name in names)]
    return crossed.select(*keep, *stages.columns, **columns)


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(den > 0, num.cast("float64") / den.cast("float64"), ibis.null("float64"))


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
) -> ir.Table:
    """The account-level funnel: one row per stage (and `by` value) with `accounts` counted in
    the stage, `share` of all accounts (of the group), and from the stage before: `converted`,
    `conversion`, `drop_off` and `drop_off_rate`.

    `by` is an event column (persona, channel: an account counts in a group through that
    group's events) or a column of `dimensions` (`base.account_dimensions`: segment, cohort,
    first_channel, ...).
    """
    n = len(journey_map.stages)
    p = _grouped(journey, journey_map, by=by, dimensions=dimensions, progress=progress,
                 account=account, ts=ts, stage_index=stage_index)
    reached: list[ir.BooleanValue] = []
    for k in range(n):
        here = p[f"entered_{k}"].notnull()
        if strict and k > 0:
            here = reached[k - 1] & here & (p[f"entered_{k}"] >= p[f"entered_{k - 1}"])
        reached.append(here)
    aggs: dict[str, ir.Value] = {"total": p.count()}
    for k in range(n):
        aggs[f"accounts_{k}"] = reached[k].cast("int64").sum()
        # Stage 0 has no stage before it; its conversion columns come out null below.
        before = reached[k - 1] if k > 0 else reached[k]
        aggs[f"converted_{k}"] = (reached[k] & before).cast("int64").sum()
        aggs[f"previous_{k}"] = before.cast("int64").sum()
    wide = (p.group_by(by) if by else p).aggregate(**aggs)
    stages = stage_table(journey_map).select("stage_index", "stage", "stage_name")
    long = _per_stage(wide, n, stages, ["accounts", "converted", "previous"])
    first = long.stage_index == 0
    out = long.mutate(
        share=_ratio(long.accounts, long.total),
        previous=ibis.ifelse(first, ibis.null("int64"), long.previous),
        converted=ibis.ifelse(first, ibis.null("int64"), long.converted),
        conversion=ibis.ifelse(first, ibis.null("float64"), _ratio(long.converted, long.previous)),
        drop_off=ibis.ifelse(first, ibis.null("int64"), long.previous - long.converted),
    )
    out = out.mutate(drop_off_rate=_ratio(out.drop_off, out.previous))
    cols = ([by] if by else []) + ["stage_index", "stage", "stage_name", "accounts", "share",
                                   "previous", "converted", "conversion", "drop_off",
                                   "drop_off_rate", "total"]
    return out.select(*cols).order_by([*([by] if by else []), "stage_index"])


def time_in_stage(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str | None = None,
    dimensions: ir.Table | None = None,
    progress: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    stage_index: str = "stage_index",
) -> ir.Table:
    """Time in stage per stage (and `by` value): accounts `entered`, `exited` (moved on to a
    later stage) and `open` (in it now); days in stage `median_days`, `p75_days`, `p90_days`,
    `mean_days` of the exited; the stage's `standard_days` and the share of the exited that
    took longer (`breach_share`, `breaches`)."""
    n = len(journey_map.stages)
    p = _grouped(journey, journey_map, by=by, dimensions=dimensions, progress=progress,
                 account=account, ts=ts, stage_index=stage_index)
    stages = stage_table(journey_map)
    long = _per_stage(p, n, stages, ["entered", "exited"])
    days = long.exited.delta(long.entered, unit="microsecond").cast("float64") / US_PER_DAY
    long = long.mutate(days=days, is_current=long.current == long.stage_index)
    over = (long.days > long.standard_days).fill_null(False) & long.days.notnull()
    keys = ([by] if by else []) + ["stage_index", "stage", "stage_name", "standard_days"]
    out = long.group_by(keys).aggregate(
        entered=long.entered.count(),
        exited=long.days.count(),
        open=(long.is_current & long.entered.notnull()).cast("int64").sum(),
        median_days=long.days.median(),
        p75_days=long.days.quantile(0.75),
        p90_days=long.days.quantile(0.9),
        mean_days=long.days.mean(),
        breaches=over.cast("int64").sum(),
    )
    out = out.mutate(
        breach_share=ibis.ifelse(out.standard_days.isnull(), ibis.null("float64"),
                                 _ratio(out.breaches, out.exited)),
    )
    return out.order_by([*([by] if by else []), "stage_index"])


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
    n = len(journey_map.stages)
    moves = journey.filter(journey[next_stage_index] < journey[stage_index])
    counted = moves.group_by(
        moves[stage_index].name("from_index"), moves[next_stage_index].name("to_index")
    ).aggregate(moves=moves.count(), accounts=moves[account].nunique())
    if progress is None:
        progress = stage_progress(journey, journey_map, account=account, ts=ts,
                                  stage_index=stage_index)
    stages = stage_table(journey_map)
    entered = progress.aggregate(**{
        f"entered_{k}": progress[f"entered_{k}"].count() for k in range(n)})
    reached = _per_stage(entered, n, stages.select("stage_index"), ["entered"]).select(
        from_index="stage_index", entered="entered")
    src = stages.select(from_index="stage_index", from_stage="stage")
    dst = stages.select(to_index="stage_index", to_stage="stage")
    out = counted.join(src, "from_index").join(dst, "to_index").join(reached, "from_index")
    out = out.mutate(share=_ratio(out.accounts, out.entered))
    return out.select("from_stage", "to_stage", "from_index", "to_index", "moves", "accounts",
                      "entered", "share").order_by([ibis.desc("moves"), "from_index", "to_index"])


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
    accounts that were lost or churned (`outcomes` is `base.account_outcomes`). Columns:
    `stage`, `since`, `days_in_stage`, `standard_days`, `over_days`."""
    if progress is None:
        progress = stage_progress(journey, journey_map, account=account, ts=ts,
                                  stage_index=stage_index)
    at = ibis.literal(now, "timestamp") if now is not None else outcomes.last_ts.max().as_scalar()
    stages = stage_table(journey_map)
    ended = outcomes.filter(outcomes.lost | outcomes.churned)
    ended = ended.select(ended[account].name("__ended"))
    live = progress.anti_join(ended, progress[account] == ended["__ended"])
    here = live.join(stages, live.current == stages.stage_index)
    days = at.delta(here.current_since, unit="microsecond").cast("float64") / US_PER_DAY
    here = here.mutate(days_in_stage=days)
    out = here.filter(here.standard_days.notnull() & (here.days_in_stage > here.standard_days))
    out = out.select(
        out[account], "stage", "stage_index", since="current_since", last_ts="last_ts",
        days_in_stage="days_in_stage", standard_days="standard_days",
        over_days=out.days_in_stage - out.standard_days,
    )
    return out.order_by([ibis.desc("over_days"), account])
