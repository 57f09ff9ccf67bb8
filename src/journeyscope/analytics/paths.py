"""Paths: the directly-follows graph over touchpoints, stages or any activity column (how often
one step follows another and how long it takes), the top variants (whole paths) with their
counts and durations, Sankey flows between stages or touchpoints, and the paths of won accounts
against those of lost ones.

The input is a table with steps (`base.with_steps` over all events for process mining over
activities, `base.journey_steps` for touchpoints and stages): each row already knows its
successor, so no analysis here sorts the events again. The directly-follows graph and the
variants equal pm4py's `discover_dfg`, `discover_performance_dfg` and `get_variants` on the same
events (tests/analytics/test_pm4py_parity.py); durations are in seconds as there.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import US_PER_DAY, US_PER_SECOND, AnalysisError


def _successor(steps: ir.Table, activity: str, next_activity: str | None, *, account: str,
               ts: str, order: str | None) -> tuple[ir.Table, str]:
    """`steps` with the successor column of `activity` (computed with one more window pass
    only when the table does not have it already)."""
    if activity not in steps.columns:
        raise AnalysisError(f"no column {activity!r} in the events; they have: "
                            + ", ".join(steps.columns))
    target = next_activity or f"next_{activity}"
    if target in steps.columns and "gap_us" in steps.columns:
        return steps, target
    order_by = [steps[ts]] + ([steps[order]] if order and order in steps.columns else [])
    w = ibis.window(group_by=steps[account], order_by=order_by)
    out = steps.mutate(**{target: steps[activity].lead().over(w), "__next_ts": steps[ts].lead().over(w)})
    out = out.mutate(gap_us=out["__next_ts"].delta(out[ts], unit="microsecond")).drop("__next_ts")
    return out, target


def directly_follows(
    steps: ir.Table,
    *,
    activity: str = "activity",
    next_activity: str | None = None,
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    gap: str = "gap_us",
) -> ir.Table:
    """The directly-follows graph of `activity`: one row per (`source`, `target`) pair of
    consecutive events of an account, with its `frequency` and the time between the two in
    seconds (`mean_seconds`, `median_seconds`, `min_seconds`, `max_seconds`).

    `next_activity` names the successor column (default `next_<activity>`); events without an
    activity (null) take part as a gap in the path, as in pm4py.
    """
    steps, target = _successor(steps, activity, next_activity, account=account, ts=ts,
                               order=order)
    edges = steps.filter(steps[target].notnull() & steps[activity].notnull())
    seconds = edges[gap].cast("float64") / US_PER_SECOND
    return edges.group_by(
        edges[activity].name("source"), edges[target].name("target")
    ).aggregate(
        frequency=edges.count(),
        mean_seconds=seconds.mean(),
        median_seconds=seconds.median(),
        min_seconds=seconds.min(),
        max_seconds=seconds.max(),
    ).order_by([ibis.desc("frequency"), "source", "target"])


def activity_codes(steps: ir.Table, activity: str = "activity") -> list[str]:
    """The distinct values of an activity column, sorted (one small query): the dictionary
    that turns activities into small integers for the heavy grouping of variants."""
    values = steps.select(steps[activity].name("v")).distinct().to_pyarrow().column("v")
    return sorted(v for v in values.to_pylist() if v is not None)


def variants(
    steps: ir.Table,
    *,
    activity: str = "activity",
    account: str = "account_id",
    ts: str = "ts",
    step: str = "step",
    top: int | None = None,
    values: list[str] | None = None,
) -> ir.Table:
    """The variants: one row per distinct path (the account's activities in order), with the
    number of `accounts` that took it, their `share`, its `length`, and the duration of those
    accounts' paths in days (`mean_days`, `median_days`, `min_days`, `max_days`), most
    frequent first; `top` keeps the first n.

    The paths are grouped as lists of small integer codes (`values`, the dictionary of the
    activity column; looked up with `activity_codes` when not given) and decoded at the end,
    because grouping millions of lists of strings is what makes variants slow.
    """
    if values is None:
        values = activity_codes(steps, activity)
    dictionary = ibis.memtable(pa.table({
        "__value": pa.array(values, pa.string()),
        "__code": pa.array(range(len(values)), pa.int16()),
    }))
    coded = steps.left_join(dictionary, steps[activity] == dictionary["__value"])
    code = coded["__code"].fill_null(-1)
    # Ordered aggregation is not portable (PySpark), so collect (step, code) and sort.
    per_account = coded.group_by(coded[account].name("__account")).aggregate(
        path=ibis.struct({"s": coded[step], "c": code}).collect(),
        first=coded[ts].min(),
        last=coded[ts].max(),
    )
    per_account = per_account.mutate(
        path=per_account.path.sort().map(lambda s: s.c),
        days=per_account["last"].delta(per_account["first"], unit="microsecond").cast("float64")
        / US_PER_DAY,
    )
    total = per_account.count().as_scalar()
    grouped = per_account.group_by("path").aggregate(
        accounts=per_account.count(),
        mean_days=per_account.days.mean(),
        median_days=per_account.days.median(),
        min_days=per_account.days.min(),
        max_days=per_account.days.max(),
    )
    grouped = grouped.order_by([ibis.desc("accounts"), "path"])
    if top is not None:
        grouped = grouped.limit(top)
    names = ibis.literal(values + [None], type="array<string>")
    return grouped.select(
        variant=grouped.path.map(lambda c: names[ibis.ifelse(c < 0, len(values), c)]),
        accounts=grouped.accounts,
        share=grouped.accounts.cast("float64") / total,
        length=grouped.path.length(),
        mean_days=grouped.mean_days,
        median_days=grouped.median_days,
        min_days=grouped.min_days,
        max_days=grouped.max_days,
    )


LEVELS = {"stage": ("stage", "next_stage"), "touchpoint": ("touchpoint", "next_touchpoint")}


def _level(level: str) -> tuple[str, str]:
    try:
        return LEVELS[level]
    except KeyError:
        raise AnalysisError(f"unknown level {level!r}: use stage or touchpoint") from None


def sankey(
    journey: ir.Table,
    *,
    level: str = "stage",
    account: str = "account_id",
) -> ir.Table:
    """Sankey flows between stages (or touchpoints) along the journey: one row per `source`
    to `target` move between two different consecutive stages (touchpoints), with the number
    of `moves` and of distinct `accounts` that made it. Staying put is not a flow."""
    node, nxt = _level(level)
    moves = journey.filter(journey[nxt].notnull() & (journey[nxt] != journey[node]))
    return moves.group_by(moves[node].name("source"), moves[nxt].name("target")).aggregate(
        moves=moves.count(), accounts=moves[account].nunique()
    ).order_by([ibis.desc("moves"), "source", "target"])


def compare_paths(
    journey: ir.Table,
    outcomes: ir.Table,
    *,
    level: str = "touchpoint",
    account: str = "account_id",
    ts: str = "ts",
    next_ts: str = "next_ts",
) -> ir.Table:
    """The paths of won accounts against those of lost ones, up to the decision (the account's
    first won, else lost, outcome): for each move `source` to `target` (touchpoints, or stages
    with `level="stage"`), the won and lost accounts that made it, their shares of all won and
    all lost accounts, and `difference` (won share minus lost share). A repeat of the same
    step counts as a move too, from the node to itself."""
    node, nxt = _level(level)
    decided = outcomes.filter(outcomes.won | outcomes.lost)
    decided = decided.select(
        decided[account].name("__account"),
        won=decided.won,
        decision=ibis.ifelse(decided.won, decided.won_ts, decided.lost_ts),
    )
    totals = decided.aggregate(
        won_total=decided.won.cast("int64").sum(),
        lost_total=(~decided.won).cast("int64").sum(),
    )
    j = journey.join(decided, journey[account] == decided["__account"])
    before = j.filter(j[nxt].notnull() & (j[next_ts] <= j.decision))
    # One row per account and move, then plain sums: cheaper than two distinct counts.
    made = before.select(before[account].name("__a"), before[node].name("source"),
                         before[nxt].name("target"), won=before.won).distinct()
    per_edge = made.group_by("source", "target").aggregate(
        won_accounts=made.won.cast("int64").sum(),
        lost_accounts=(~made.won).cast("int64").sum(),
    )
    out = per_edge.cross_join(totals)
    won_share = ibis.ifelse(out.won_total > 0,
                            out.won_accounts.cast("float64") / out.won_total, ibis.null("float64"))
    lost_share = ibis.ifelse(out.lost_total > 0,
                             out.lost_accounts.cast("float64") / out.lost_total,
                             ibis.null("float64"))
    out = out.mutate(won_share=won_share, lost_share=lost_share)
    out = out.mutate(difference=out.won_share - out.lost_share)
    out = out.select("source", "target", "won_accounts", "lost_accounts", "won_share",
                     "lost_share", "difference", "won_total", "lost_total")
    return out.order_by([ibis.desc(out["difference"].abs()), "source", "target"])
