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

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import US_PER_DAY, US_PER_SECOND, AnalysisError


@dataclass(frozen=True)
class CodedSteps:
    """The steps of one activity column with the activity as a small integer: `table` has
    `account`, `step`, `code`, `next_code` and `gap_us`; `values[code]` is the activity
    (`len(values)` stands for a missing one). Made by `coded_steps`; `directly_follows` and
    `variants` read it without touching a string until they decode their small results."""

    table: ir.Table
    values: tuple[str, ...]
    account: str = "account_id"


def activity_codes(events: ir.Table, activity: str = "activity") -> list[str]:
    """The distinct values of an activity column, sorted (one small query): the dictionary
    that turns activities into small integers for the heavy grouping."""
    values = events.select(events[activity].name("v")).distinct().to_pyarrow().column("v")
    return sorted(v for v in values.to_pylist() if v is not None)


def _encode(events: ir.Table, activity: str, values: list[str] | tuple[str, ...]) -> ir.Value:
    dictionary = ibis.memtable(pa.table({
        "__value": pa.array(list(values), pa.string()),
        "__code": pa.array(range(len(values)), pa.int16()),
    }))
    return events.left_join(dictionary, events[activity] == dictionary["__value"])


def coded_steps(
    events: ir.Table,
    *,
    activity: str = "activity",
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    values: list[str] | None = None,
) -> CodedSteps:
    """The steps of `activity` over millions of events, for `directly_follows` and `variants`:
    the activity becomes a small integer (a join with its dictionary of distinct values, from
    `values` or one query), then one sort and one window pass carry only integers along.

    Ties in time keep the import order (`order`, when the column exists), as in `with_steps`.
    """
    if activity not in events.columns:
        raise AnalysisError(f"no column {activity!r} in the events; they have: "
                            + ", ".join(events.columns))
    if values is None:
        values = activity_codes(events, activity)
    keep = [c for c in (account, ts, order) if c and c in events.columns] + [activity]
    coded = _encode(events.select(*keep), activity, values)
    coded = coded.select(*[c for c in keep if c != activity],
                         code=coded["__code"].fill_null(len(values)).cast("int16"))
    order_by = [coded[ts]] + ([coded[order]] if order and order in coded.columns else [])
    w = ibis.window(group_by=coded[account], order_by=order_by)
    stepped = coded.select(
        coded[account],
        step=ibis.row_number().over(w),
        code=coded.code,
        next_code=coded.code.lead().over(w).cast("int16"),
        gap_us=coded[ts].lead().over(w).cast("timestamp").delta(coded[ts], unit="microsecond"),
    )
    return CodedSteps(stepped, tuple(values), account)


def _ordered_list(t: ir.Table, value: ir.Value, order: ir.Value) -> ir.ArrayValue:
    """`value` collected in `order` within each group. DuckDB aggregates in order directly;
    PySpark cannot (ordered aggregation is not supported there), so elsewhere (order, value)
    pairs are collected and sorted, which gives the same list."""
    if t._find_backend(use_default=True).name == "duckdb":
        return value.collect(order_by=order)
    return ibis.struct({"s": order, "c": value}).collect().sort().map(lambda s: s.c)


def _decode(codes: ir.IntegerValue, values: tuple[str, ...]) -> ir.StringValue:
    # Code len(values), a missing activity, indexes the trailing null.
    names = ibis.literal(list(values) + [None], type="array<string>")
    return names[codes]


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
    nxt = steps[activity].lead().over(w).cast(steps[activity].type().copy(nullable=True))
    out = steps.mutate(**{target: nxt, "__next_ts": steps[ts].lead().over(w).cast("timestamp")})
    out = out.mutate(gap_us=out["__next_ts"].delta(out[ts], unit="microsecond")).drop("__next_ts")
    return out, target


def _follows(edges: ir.Table, source: ir.Value, target: ir.Value, gap: str) -> ir.Table:
    seconds = edges[gap].cast("float64") / US_PER_SECOND
    return edges.group_by(source.name("source"), target.name("target")).aggregate(
        frequency=edges.count(),
        mean_seconds=seconds.mean(),
        median_seconds=seconds.median(),
        min_seconds=seconds.min(),
        max_seconds=seconds.max(),
    )


def directly_follows(
    steps: ir.Table | CodedSteps,
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

    `steps` is a table with steps (`next_activity` names the successor column, default
    `next_<activity>`, computed when missing) or the `CodedSteps` of `coded_steps` (then
    `activity` and `next_activity` are not used). Events without an activity (null) take part
    as a gap in the path, as in pm4py.
    """
    if isinstance(steps, CodedSteps):
        t = steps.table
        edges = t.filter(t.next_code.notnull() & (t.code < len(steps.values))
                         & (t.next_code < len(steps.values)))
        graph = _follows(edges, edges.code, edges.next_code, "gap_us")
        graph = graph.mutate(source=_decode(graph.source, steps.values),
                             target=_decode(graph.target, steps.values))
    else:
        steps, target = _successor(steps, activity, next_activity, account=account, ts=ts,
                                   order=order)
        edges = steps.filter(steps[target].notnull() & steps[activity].notnull())
        graph = _follows(edges, edges[activity], edges[target], gap)
    return graph.order_by([ibis.desc("frequency"), "source", "target"])


def variants(
    steps: ir.Table | CodedSteps,
    *,
    activity: str = "activity",
    account: str = "account_id",
    step: str = "step",
    gap: str = "gap_us",
    top: int | None = None,
    values: list[str] | None = None,
) -> ir.Table:
    """The variants: one row per distinct path (the account's activities in order), with the
    number of `accounts` that took it, their `share`, its `length`, and the duration of those
    accounts' paths in days (`mean_days`, `median_days`, `min_days`, `max_days`), most
    frequent first; `top` keeps the first n.

    `steps` is a table with `step` and `gap_us` (`base.with_steps`, `base.journey_steps`) or
    the `CodedSteps` of `coded_steps`. Paths are grouped as lists of small integer codes
    (`values`, the dictionary of the activity column, looked up when not given) and decoded at
    the end, because grouping millions of lists of strings is what makes variants slow.
    """
    if isinstance(steps, CodedSteps):
        values = list(steps.values)
        t, account, code = steps.table, steps.account, steps.table.code
        step, gap = "step", "gap_us"
    else:
        if values is None:
            values = activity_codes(steps, activity)
        t = _encode(steps, activity, values)
        code = t["__code"].fill_null(len(values))
    # The gaps add up to the time from the first to the last event of the path.
    per_account = t.group_by(t[account].name("__account")).aggregate(
        path=_ordered_list(t, code, t[step]), us=t[gap].sum(),
    )
    per_account = per_account.mutate(days=per_account.us.fill_null(0).cast("float64") / US_PER_DAY)
    grouped = per_account.group_by("path").aggregate(
        accounts=per_account.count(),
        mean_days=per_account.days.mean(),
        median_days=per_account.days.median(),
        min_days=per_account.days.min(),
        max_days=per_account.days.max(),
    )
    # The total over a window of the small grouped table: a scalar subquery would group the
    # accounts' paths a second time.
    grouped = grouped.mutate(total=grouped.accounts.sum().over(ibis.window()))
    grouped = grouped.order_by([ibis.desc("accounts"), "path"])
    if top is not None:
        grouped = grouped.limit(top)
    vals = tuple(values)
    return grouped.select(
        variant=grouped.path.map(lambda c: _decode(c, vals)),
        accounts=grouped.accounts,
        share=grouped.accounts.cast("float64") / grouped.total,
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
