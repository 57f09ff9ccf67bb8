"""What every analysis starts from: matched events with their stage position, the step to the
next event of the same account, and one row per account with its outcomes.

Each analysis module is a function of an events table (and the map) to a result table, written
once as Ibis expressions so that DuckDB and PySpark run it unchanged. Sorting ten million events
by account and time is the expensive part, so `with_steps` does it once (one window pass adds the
next event's time, touchpoint, stage and owner to each event); the analyses read those columns
instead of sorting again. `analyze` does the same over small integer codes instead of names
(`journey.build`) and keeps the result.

The analyses of the map (stages, touchpoints, handovers, conformance, ...) read
`journey_steps`: the same one pass over only the events matched to a touchpoint, so that the
next step of a touchpoint is the next touchpoint, not an unmatched web hit or an outcome event
(outcomes are read from `account_outcomes`). Process mining over any activity column (paths,
the pm4py comparison) reads `with_steps` over all events.

Column names are keyword arguments with the canonical names as defaults.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import OUTCOMES, JourneyMap, parse_duration


class AnalysisError(JourneyscopeError):
    """An analysis was asked for something its input cannot give (an unknown column)."""

    exit_code = 2


US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND

# Columns of the events that `journey_steps` leaves out.
JOURNEY_LEAVES_OUT = ("text", "attributes", "event_key", "source")

# Columns `with_steps` adds.
STEP_COLUMNS = (
    "step", "next_ts", "next_touchpoint", "next_stage", "next_stage_index", "next_owner",
    "next_activity", "gap_us",
)


def ratio(num: float | None, den: float | None) -> float | None:
    """num / den for a result table: None when den is not positive or either is None, as a
    ratio in the engine (`ifelse(den > 0, num / den, null)`) gives.

    >>> ratio(1, 4), ratio(1, 0), ratio(None, 2)
    (0.25, None, None)
    """
    if num is None or den is None or den <= 0:
        return None
    return num / den


def days(us: float | None) -> float | None:
    """Microseconds as days (None stays None)."""
    return us / US_PER_DAY if us is not None else None


def distinct_rows(table: ir.Table) -> ir.Table:
    """The distinct rows of `table`, as a GROUP BY of all its columns: DuckDB's grouping reads
    the dictionary-compressed strings of a workspace column as they are stored, its DISTINCT
    does not (the five coded columns of ten million events: 0.03 s against 0.22 s).

    >>> import pyarrow as pa
    >>> t = ibis.memtable(pa.table({"a": ["x", "y", "x"]}))
    >>> sorted(distinct_rows(t).to_pyarrow().column("a").to_pylist())
    ['x', 'y']
    """
    return table.group_by(*table.columns).aggregate()


def materialise(table: ir.Table) -> ir.Table:
    """Compute `table` once and keep it in the engine (`engine.materialize`: a kept table on
    DuckDB, a cached DataFrame on Spark), for intermediates that several analyses read (the
    steps, the outcomes)."""
    from journeyscope.analytics.engine import materialize

    return materialize(table)


def stage_index(journey_map: JourneyMap, stage: ir.StringColumn) -> ir.IntegerColumn:
    """The 0-based position of each event's stage in the map (null when unmatched)."""
    positions = {s.id: i for i, s in enumerate(journey_map.stages)}
    if not positions:
        return ibis.null().cast("int16")
    return stage.cases(*positions.items(), else_=ibis.null()).cast("int16")


def prepare(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    match: bool | None = None,
    stage: str = "stage",
) -> ir.Table:
    """Events ready for analysis: matched to the map's touchpoints, stages and outcomes (when
    they are not yet, or when `match` is True) and with `stage_index`."""
    needs_match = match if match is not None else not {"touchpoint", "stage", "outcome"} <= set(
        events.columns
    )
    if needs_match:
        from journeyscope.events.matching import match_table

        matched = ("touchpoint", "stage", "outcome")
        events = events.drop(*[c for c in matched if c in events.columns])
        events = match_table(events, journey_map)
    return events.mutate(stage_index=stage_index(journey_map, events[stage]))


def with_steps(
    events: ir.Table,
    *,
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    touchpoint: str = "touchpoint",
    stage: str = "stage",
    owner: str = "owner",
    activity: str | None = "activity",
) -> ir.Table:
    """Each event with the next event of its account (one sort, one window pass).

    Ties in time keep the import order (`order`, when the column exists), as process-mining
    tools do. `gap_us` is the time to the next event in microseconds (null for the last).
    `activity=None` leaves `next_activity` out.
    """
    return _stepped(events, [events[account]], account=account, ts=ts, order=order,
                    touchpoint=touchpoint, stage=stage, owner=owner, activity=activity)


def _stepped(events: ir.Table, partition: list[ir.Value], *, account: str, ts: str,
             order: str | None, touchpoint: str, stage: str, owner: str,
             activity: str | None) -> ir.Table:
    order_by = [events[ts]] + ([events[order]] if order and order in events.columns else [])
    w = ibis.window(group_by=partition, order_by=order_by)

    def lead(column: str) -> ir.Column:
        # The last event has no next one: nullable even when the column is NOT NULL (Ibis
        # keeps the column's nullability, and a cached table would then reject the nulls).
        col = events[column]
        return col.lead().over(w).cast(col.type().copy(nullable=True))

    columns = {
        "step": ibis.row_number().over(w),
        "next_ts": lead(ts),
        "next_touchpoint": lead(touchpoint),
        "next_stage": lead(stage),
        "next_stage_index": lead("stage_index")
        if "stage_index" in events.columns else ibis.null().cast("int16"),
        "next_owner": lead(owner),
    }
    if activity is not None:
        columns["next_activity"] = lead(activity)
    stepped = events.mutate(**columns)
    return stepped.mutate(
        gap_us=stepped.next_ts.delta(stepped[ts], unit="microsecond")
    )


def journey_steps(
    events: ir.Table,
    *,
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    touchpoint: str = "touchpoint",
    stage: str = "stage",
    owner: str = "owner",
) -> ir.Table:
    """`with_steps` over the events matched to a touchpoint: the journey as the map sees it.

    `step` counts touchpoint events only, and `next_*` is the account's next touchpoint event.
    The bulky columns no analysis of the journey reads (`text`, `attributes`, `event_key`,
    `source`) are left out, because sorting and keeping them is most of the cost; free text
    is read from the events. Nothing reads the next activity of a touchpoint event, so
    `next_activity` is left out too.
    """
    matched = events.filter(events[touchpoint].notnull())
    matched = matched.drop(*[c for c in JOURNEY_LEAVES_OUT if c in matched.columns])
    return with_steps(matched, account=account, ts=ts, order=order, touchpoint=touchpoint,
                      stage=stage, owner=owner, activity=None)


def events_with_journey(
    events: ir.Table,
    *,
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    touchpoint: str = "touchpoint",
    stage: str = "stage",
    owner: str = "owner",
) -> ir.Table:
    """All events (without the bulky columns `journey_steps` leaves out) with the columns of
    `journey_steps` on the events matched to a touchpoint, from one sort: keep this one table
    and read the journey as `journey_of(table)`, instead of keeping the events and their
    journey as two tables of millions of rows.

    The events are sorted by account and, within it, touchpoint events apart from the others,
    so that the next step of a touchpoint event is the next touchpoint event. On the other
    events `step` and the `next_*` columns mean nothing and are null.
    """
    slim = events.drop(*[c for c in JOURNEY_LEAVES_OUT if c in events.columns])
    on = slim[touchpoint].notnull()
    stepped = _stepped(slim, [slim[account], on], account=account, ts=ts, order=order,
                       touchpoint=touchpoint, stage=stage, owner=owner, activity=None)
    added = [c for c in stepped.columns if c not in slim.columns]
    on_journey = stepped[touchpoint].notnull()
    masked = {c: ibis.ifelse(on_journey, stepped[c], ibis.null(stepped[c].type())) for c in added}
    return stepped.mutate(**masked)


def journey_of(events: ir.Table, *, touchpoint: str = "touchpoint") -> ir.Table:
    """The journey (`journey_steps`) within a table of `events_with_journey`."""
    return events.filter(events[touchpoint].notnull())


def stage_table(journey_map: JourneyMap) -> ir.Table:
    """The map's stages as a small table: `stage_index`, `stage`, `stage_name` and the time
    standard in days (`standard_days`, null when the stage has none)."""
    stages = journey_map.stages
    return ibis.memtable(pa.table({
        "stage_index": pa.array(range(len(stages)), pa.int16()),
        "stage": pa.array([s.id for s in stages], pa.string()),
        "stage_name": pa.array([s.name for s in stages], pa.string()),
        "standard_days": pa.array(
            [parse_duration(s.time_standard).total_seconds() / 86400 if s.time_standard else None
             for s in stages], pa.float64()),
    }))


@ibis.udf.agg.builtin(name="arg_min_null")
def _arg_min_null(arg: str, val: dt.timestamp) -> str:  # type: ignore[valid-type]
    """DuckDB's `arg` of the row with the least `val`, null if that row's `arg` is."""


def first_value(column: ir.Column, by: ir.Column) -> ir.Scalar:
    """The value of `column` on the row where `by` is least (null if that row has none), as
    Ibis's `argmin`. On DuckDB, for strings, `ARG_MIN_NULL`: Ibis writes `argmin` as an
    ordered `FIRST`, which sorts each group's rows: the accounts' facts over ten million
    events took 0.43 s of CPU against 0.50 s (medians of seven)."""
    if column.type().is_string() and by.type().is_timestamp() \
            and column._find_backend(use_default=True).name == "duckdb":
        return _arg_min_null(column, by)
    return column.argmin(by)


def account_outcomes(
    events: ir.Table,
    *,
    account: str = "account_id",
    ts: str = "ts",
    outcome: str = "outcome",
    value: str = "value",
    channel: str = "channel",
    code: str | None = None,
) -> ir.Table:
    """One row per account: first and last event, first channel, cohort (the month of the first
    event, 'YYYY-MM'), and for each outcome (won, lost, churned, renewed, expanded) whether and
    when it happened; `won_value` is the sum of `value` on won events. With `code`, also the
    account's dense integer code in that column (0, 1, ... in the order of the ids), numbered
    before anything is joined on: the sort that numbers them then carries five columns, not
    every one (0.06 s of CPU less for 200,000 accounts)."""
    out = events.group_by(events[account]).aggregate(
        first_ts=events[ts].min(),
        last_ts=events[ts].max(),
        events=events.count(),
        first_channel=first_value(events[channel], events[ts]),
    )
    if code is not None:
        number = ibis.row_number().over(ibis.window(order_by=out[account]))
        out = out.mutate(**{code: number.cast("int32")})
    # Outcome events are a sliver of the events: the outcomes are aggregated over them alone
    # and joined on, instead of comparing every event with every outcome name.
    ended = events.filter(events[outcome].notnull())
    aggs: dict[str, ir.Value] = {}
    for name in OUTCOMES:
        hit = ended[outcome] == name
        aggs[f"{name}_ts"] = ended[ts].min(where=hit)
        aggs[name] = hit.any()
    aggs["won_value"] = ended[value].sum(where=ended[outcome] == "won")
    marks = ended.group_by(ended[account].name("__ended")).aggregate(**aggs)
    joined = out.left_join(marks, out[account] == marks["__ended"])
    columns: dict[str, ir.Value] = {}
    for name in OUTCOMES:
        columns[f"{name}_ts"] = joined[f"{name}_ts"]
        columns[name] = joined[name].fill_null(False)
    return joined.select(
        *out.columns, **columns, won_value=joined.won_value.fill_null(0.0),
        cohort=joined.first_ts.strftime("%Y-%m"),
    )


def account_dimensions(
    outcomes: ir.Table,
    accounts: ir.Table | None = None,
    *,
    account: str = "account_id",
) -> ir.Table:
    """The per-account table an analysis groups by: `account_outcomes` (cohort, first_channel,
    outcomes) with the columns of the accounts table (segment, industry, region, size, value)
    when there is one. Accounts without a row in `accounts` get nulls there."""
    if accounts is None:
        return outcomes
    extra = [c for c in accounts.columns if c != account and c not in outcomes.columns]
    right = accounts.select(accounts[account].name("__account"), *extra)
    joined = outcomes.left_join(right, outcomes[account] == right["__account"])
    return joined.drop("__account")
