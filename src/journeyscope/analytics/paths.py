"""Paths: the directly-follows graph over touchpoints, stages or any activity column (how often
one step follows another and how long it takes), the top variants (whole paths) with their
counts and durations, Sankey flows between stages or touchpoints, and the paths of won accounts
against those of lost ones.

The input is a table with steps (`base.with_steps` over all events for process mining over
activities, `base.journey_steps` for touchpoints and stages, or the coded steps of
`journey.build` with `codes=`): each row already knows its successor, so no analysis here sorts
the events again. The directly-follows graph and the variants equal pm4py's `discover_dfg`,
`discover_performance_dfg` and `get_variants` on the same events
(tests/analytics/test_pm4py_parity.py); durations are in seconds as there.

The graph, the Sankey flows, the moves of conformance and the regressions of stages all count
pairs of consecutive steps: `edge_stats` is that one query (per level), and `graph_table` and
`sankey_table` shape its small result, so that an analysis run reads the steps once for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyscope.analytics.base import (
    US_PER_DAY,
    US_PER_SECOND,
    AnalysisError,
    distinct_rows,
    materialise,
)
from journeyscope.analytics.engine import keep_arrow
from journeyscope.analytics.journey import LOOKUP_JOIN_FROM, STRINGS, Codes, code_of
from journeyscope.analytics.ordered import InOrder, read_in_order, small_pages


@dataclass(frozen=True)
class CodedSteps:
    """The steps of one activity column with the activity as a small integer: `table` has
    `account`, `step`, `code`, `next_code` and `gap_us`; `values[code]` is the activity
    (`len(values)` stands for a missing one). Made by `coded_steps`; `directly_follows` and
    `variants` read it without touching a string until they decode their small results."""

    table: ir.Table
    values: tuple[str, ...]
    account: str = "account_id"
    # The table's Arrow data when it is in journey order (`coded_steps` with `keep`).
    in_order: InOrder | None = None


def activity_codes(events: ir.Table, activity: str = "activity") -> list[str]:
    """The distinct values of an activity column, sorted (one small query): the dictionary
    that turns activities into small integers for the heavy grouping."""
    values = distinct_rows(events.select(events[activity].name("v"))).to_pyarrow().column("v")
    return sorted(v for v in values.to_pylist() if v is not None)


def _code_type(values: list[str] | tuple[str, ...]) -> dt.DataType:
    """The integer type of the codes of `values` (and of the missing code, len(values))."""
    return dt.int16 if len(values) < 2**15 - 1 else dt.int32


def _encode(events: ir.Table, activity: str, values: list[str] | tuple[str, ...]) -> ir.Value:
    dictionary = ibis.memtable(pa.table({
        "__value": pa.array(list(values), pa.string()),
        "__code": pa.array(range(len(values)), _code_type(values).to_pyarrow()),
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
    keep: bool = False,
) -> CodedSteps:
    """The steps of `activity` over millions of events, for `directly_follows` and `variants`:
    the activity becomes a small integer (a join with its dictionary of distinct values, from
    `values` or one query), then one sort and one window pass carry only integers along.

    Ties in time keep the import order (`order`, when the column exists), as in `with_steps`.
    With `keep`, the steps are computed once and kept in the engine for the analyses that read
    them: then, on DuckDB, events stored in journey order are read in that order without the
    sort (`ordered.runs`). The same steps either way.
    """
    if activity not in events.columns:
        raise AnalysisError(f"no column {activity!r} in the events; they have: "
                            + ", ".join(events.columns))
    if values is None:
        values = activity_codes(events, activity)
    if keep:
        with small_pages():
            data = _ordered_steps(events, activity=activity, account=account, ts=ts,
                                  order=order, values=values)
        if data is not None:
            backend = events._find_backend(use_default=True)
            return CodedSteps(keep_arrow(backend, data.table), tuple(values), account, data)
    keep_columns = [c for c in (account, ts, order) if c and c in events.columns] + [activity]
    coded = _encode(events.select(*keep_columns), activity, values)
    # The account as a dense integer too: the sort and the grouping by account are then on
    # integers (the ids are one small distinct query and a join away).
    ids = distinct_rows(events.select(__id=events[account]))
    ids = ids.mutate(__a=ibis.row_number().over(ibis.window(order_by=ids["__id"])).cast("int32"))
    coded = coded.join(ids, coded[account] == ids["__id"])
    coded = coded.select(*[coded[c] for c in keep_columns if c not in (activity, account)],
                         **{account: coded["__a"]},
                         code=coded["__code"].fill_null(len(values)).cast(_code_type(values)))
    order_by = [coded[ts]] + ([coded[order]] if order and order in coded.columns else [])
    w = ibis.window(group_by=coded[account], order_by=order_by)
    stepped = coded.select(
        coded[account],
        step=ibis.row_number().over(w).cast("int32"),
        code=coded.code,
        next_code=coded.code.lead().over(w).cast(_code_type(values)),
        gap_us=coded[ts].lead().over(w).cast("timestamp").delta(coded[ts], unit="microsecond"),
    )
    return CodedSteps(materialise(stepped) if keep else stepped, tuple(values), account)


def _ordered_steps(events: ir.Table, *, activity: str, account: str, ts: str,
                   order: str | None, values: list[str]) -> InOrder | None:
    """The table of `coded_steps` from events read in the order they are stored, when that
    is journey order (`ordered.runs`); None when it is not, or off DuckDB."""
    if account not in events.columns:
        return None
    when = events[ts].type() if ts in events.columns else None
    if when is None or not when.is_timestamp() or when.scale not in (None, 6):
        return None  # the gaps are microseconds of the timestamps' own unit
    keep = {c: events[c] for c in (account, ts, order) if c and c in events.columns}
    code_type = _code_type(values)
    if len(values) < LOOKUP_JOIN_FROM:
        # A short dictionary is looked up in the engine (`code_of` keeps the scan's order, a
        # join would not): no activity name comes out.
        engine = events._find_backend(use_default=True).name
        keep["__code"] = code_of(events[activity], values, engine=engine)  # int16
    else:
        keep["__name"] = events[activity]
    read = read_in_order(events.select(**keep), account=account, ts=ts, order=order)
    if read is None:
        return None
    data, r = read
    if data.column(ts).type != pa.timestamp("us", data.column(ts).type.tz):
        return None
    # The accounts numbered in the order of their ids, as `coded_steps` numbers them.
    rank = np.empty(len(r.heads), dtype=np.int32)
    rank[pc.sort_indices(r.heads).to_numpy()] = np.arange(len(r.heads), dtype=np.int32)
    if "__code" in data.column_names:
        # A name not in the dictionary is null: the missing code, as a null activity is.
        code = data.column("__code").combine_chunks().fill_null(len(values))
    else:
        code = pc.index_in(data.column("__name").combine_chunks(),
                           value_set=pa.array(list(values), pa.string())).fill_null(len(values))
    code = code.cast(code_type.to_pyarrow())
    us = data.column(ts).combine_chunks().cast(pa.int64())
    return InOrder.of(pa.table({
        account: r.repeat(rank),
        "step": r.step(),
        "code": code,
        "next_code": r.lead(code),
        "gap_us": pc.subtract(r.lead(us), us),
    }), r, us)


@ibis.udf.scalar.builtin(name="chr")
def _chr(code: int) -> str:
    """The character of a code point (DuckDB's and Spark's `chr`)."""


# A path is keyed by a string of one character per step: digits of base _BASE, each written
# as the ASCII character 1 + digit (never NUL), `_width` of them per code so that every code
# of the dictionary fits (one for up to 126 values, two for up to 15,876, ...).
_BASE = 126


def _width(values: int) -> int:
    """Characters per code for a dictionary of `values` values and the missing code."""
    width, room = 1, _BASE
    while room < values + 1:
        width, room = width + 1, room * _BASE
    return width


def _path_key(value: ir.IntegerValue, order: ir.IntegerValue, width: int, *,
              max_order: int | None = None) -> ir.StringValue:
    """The key string of each group's `value`s (codes, never null) in `order` (distinct within
    a group, as a step is).

    The codes are collected unordered, packed with their position (order * 2^bits + code) and
    sorted as plain integers: an aggregate with its own ORDER BY would sort millions of rows
    once more. Strings then group and sort faster than lists, in DuckDB and Spark alike. The
    packed integers are 32-bit where `max_order` (an upper bound of `order`) says they fit,
    else 64-bit (lists of half the size sort a quarter faster)."""
    bits = (_BASE**width).bit_length()  # every code of the dictionary fits
    if max_order is not None and (max_order + 1) << bits < 2**31:
        packed = order.cast("int32") * (1 << bits) + value.cast("int32")
    else:
        packed = order.cast("int64") * (1 << bits) + value.cast("int64")
    mask = 1 << bits

    def chars(x: ir.IntegerValue) -> ir.StringValue:
        code = x % mask
        if width == 1:  # the code is a digit already
            return _chr((code + 1).cast("int32"))
        out = None
        for i in reversed(range(width)):
            digit = (code // (_BASE**i)) % _BASE if i else code % _BASE
            ch = _chr((digit + 1).cast("int32"))
            out = ch if out is None else out + ch
        return out

    # Never null: on DuckDB, collected without the filter for nulls it would pay for (PySpark
    # drops nulls anyway and has no such option).
    nulls = value._find_backend(use_default=True).name == "duckdb"
    return packed.collect(include_null=nulls).sort().map(chars).join("")


def _key_bytes(keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The characters of key strings (`_path_key`, ASCII) as bytes, and each key's offsets."""
    if keys.null_count:
        raise AnalysisError("a path without a key: the steps have an account without steps")
    width = np.int64 if pa.types.is_large_string(keys.type) else np.int32
    offsets = np.frombuffer(keys.buffers()[1], width)[keys.offset:keys.offset + len(keys) + 1]
    data = keys.buffers()[2]
    if data is None or not len(keys):
        return np.zeros(0, np.uint8), np.zeros(len(keys) + 1, np.int64)
    return np.frombuffer(data, np.uint8)[offsets[0]:offsets[-1]], \
        (offsets - offsets[0]).astype(np.int64)


def _digits_to_codes(data: np.ndarray, width: int) -> np.ndarray:
    """Key bytes (`_path_key`) back to codes (int8 for one character per code: Arrow takes
    them as dictionary indices as they are)."""
    if width == 1:
        return (data - np.uint8(1)).view(np.int8)
    digits = data.astype(np.int32).reshape(-1, width) - 1
    return digits @ (_BASE ** np.arange(width - 1, -1, -1, dtype=np.int32))


def _by_name(keys: pa.Array, values: tuple[str, ...], width: int) -> pa.Array:
    """Path keys that sort as the paths' names do: the keys themselves where the codes are in
    the order of their names, else the keys written again in ranks of the names (a missing
    activity, code len(values), last)."""
    order = sorted(range(len(values)), key=lambda c: values[c])
    if order == list(range(len(values))):
        return keys
    rank = np.empty(len(values) + 1, np.int32)
    rank[order] = np.arange(len(values), dtype=np.int32)
    rank[len(values)] = len(values)
    data, offsets = _key_bytes(keys)
    if width == 1:  # byte for byte
        table = np.arange(256, dtype=np.uint8)
        table[1:len(values) + 2] = rank + 1
        ranked = table[data]
    else:
        ranked = _codes_to_digits(rank[_digits_to_codes(data, width)], width)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(keys), [None, pa.py_buffer(offsets), pa.py_buffer(ranked)])


def _codes_to_digits(codes: np.ndarray, width: int) -> np.ndarray:
    """Codes as key bytes (`_path_key`): the inverse of `_digits_to_codes`."""
    if width == 1:
        return np.add(codes, 1, dtype=np.uint8, casting="unsafe")
    powers = _BASE ** np.arange(width - 1, -1, -1, dtype=np.int32)
    return ((codes[:, None] // powers) % _BASE + 1).astype(np.uint8).ravel()


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


def account_moves(
    steps: ir.Table,
    *,
    source: str,
    target: str,
    account: str = "account_id",
    next_ts: str = "next_ts",
) -> ir.Table:
    """One row per account and pair of consecutive steps (`source`, `target`) it made, staying
    put included: `account`, `source`, `target` and `first_ts`, when it first reached `target`
    that way. What `edge_stats` (its distinct accounts), `compare_table` and the conformance's
    misfits count accounts in, a quarter of the steps' rows at ten million events."""
    moved = steps.filter(steps[target].notnull() & steps[source].notnull())
    return moved.group_by(account=moved[account], source=moved[source],
                          target=moved[target]).aggregate(first_ts=moved[next_ts].min())


def edge_stats(
    steps: ir.Table,
    *,
    source: str,
    target: str,
    account: str = "account_id",
    gap: str = "gap_us",
    durations: bool = True,
    accounts: bool = True,
    moves: ir.Table | None = None,
) -> pa.Table:
    """One row per (`source`, `target`) pair of consecutive steps, in the steps' own keys (names
    or codes): `frequency`; with `durations`, the time between the two in seconds
    (`mean_seconds`, `median_seconds`, `min_seconds`, `max_seconds`); with `accounts`, the
    distinct accounts that made the move (`accounts`, counted where source and target differ:
    staying put is no move), from `moves` when given (`account_moves` of the same steps, keys
    and accounts: one row per account and move, so a count is the distinct accounts). One
    query; the result is small."""
    edges = steps.filter(steps[target].notnull() & steps[source].notnull())
    aggs: dict[str, ir.Value] = {"frequency": edges.count()}
    if durations:
        # Over the integer microseconds, in seconds after: the median of integers is the
        # cheaper one to find (a quarter of this query's time on ten million steps).
        us = edges[gap]
        aggs |= {f"{name}_seconds": agg.cast("float64") / US_PER_SECOND for name, agg in (
            ("mean", us.mean()), ("median", us.median()), ("min", us.min()), ("max", us.max()))}
    out = edges.group_by(edges[source].name("source"), edges[target].name("target"))
    out = out.aggregate(**aggs)
    if accounts:
        # A grouping of its own, joined on: beside the other aggregates and with a filter,
        # DuckDB counts distinct values several times slower (0.3 s of this query's 0.55 s on
        # ten million steps, against 0.13 s alone).
        if moves is not None:
            moved = moves.filter(moves.source != moves.target)
            made = moved.group_by(__s=moved.source, __t=moved.target).aggregate(
                __accounts=moved.count())
        else:
            moved = edges.filter(edges[source] != edges[target])
            made = moved.group_by(moved[source].name("__s"), moved[target].name("__t"))
            made = made.aggregate(__accounts=moved[account].nunique())
        joined = out.left_join(made, (out.source == made["__s"]) & (out.target == made["__t"]))
        out = joined.select(*[joined[c] for c in out.columns],
                            accounts=joined["__accounts"].fill_null(0))
    return out.to_pyarrow()


GRAPH_SCHEMA = pa.schema([
    ("source", pa.string()), ("target", pa.string()), ("frequency", pa.int64()),
    ("mean_seconds", pa.float64()), ("median_seconds", pa.float64()),
    ("min_seconds", pa.float64()), ("max_seconds", pa.float64()),
])
SANKEY_SCHEMA = pa.schema([("source", pa.string()), ("target", pa.string()),
                           ("moves", pa.int64()), ("accounts", pa.int64())])


def _named(edges: pa.Table, codes: Codes, kind: str) -> list[dict[str, Any]]:
    rows = edges.to_pylist()
    for r in rows:
        r["source"], r["target"] = codes.name(kind, r["source"]), codes.name(kind, r["target"])
    return rows


def graph_table(edges: pa.Table, *, codes: Codes = STRINGS, kind: str = "") -> pa.Table:
    """The directly-follows graph from `edge_stats`: names decoded, most frequent first."""
    rows = _named(edges, codes, kind)
    rows.sort(key=lambda r: (-r["frequency"], r["source"], r["target"]))
    return pa.Table.from_pylist([{c: r[c] for c in GRAPH_SCHEMA.names} for r in rows],
                                schema=GRAPH_SCHEMA)


def sankey_table(edges: pa.Table, *, codes: Codes = STRINGS, kind: str = "") -> pa.Table:
    """The Sankey flows from `edge_stats` (with `accounts`): moves between two different
    consecutive nodes, most moves first."""
    rows = [r for r in _named(edges, codes, kind) if r["source"] != r["target"]]
    rows.sort(key=lambda r: (-r["frequency"], r["source"], r["target"]))
    return pa.Table.from_pylist(
        [{"source": r["source"], "target": r["target"], "moves": r["frequency"],
          "accounts": r["accounts"]} for r in rows], schema=SANKEY_SCHEMA)


def directly_follows(
    steps: ir.Table | CodedSteps,
    *,
    activity: str = "activity",
    next_activity: str | None = None,
    account: str = "account_id",
    ts: str = "ts",
    order: str | None = "seq",
    gap: str = "gap_us",
    codes: Codes = STRINGS,
) -> ir.Table:
    """The directly-follows graph of `activity`: one row per (`source`, `target`) pair of
    consecutive events of an account, with its `frequency` and the time between the two in
    seconds (`mean_seconds`, `median_seconds`, `min_seconds`, `max_seconds`).

    `steps` is a table with steps (`next_activity` names the successor column, default
    `next_<activity>`, computed when missing) or the `CodedSteps` of `coded_steps` (then
    `activity` and `next_activity` are not used). Events without an activity (null) take part
    as a gap in the path, as in pm4py. `codes` decodes a coded activity column.
    """
    if isinstance(steps, CodedSteps):
        t = steps.table
        known = t.filter((t.code < len(steps.values)) & (t.next_code < len(steps.values)))
        edges = edge_stats(known, source="code", target="next_code", account=steps.account,
                           accounts=False)
        codes, activity = Codes({"code": steps.values}), "code"
    else:
        steps, target = _successor(steps, activity, next_activity, account=account, ts=ts,
                                   order=order)
        edges = edge_stats(steps, source=activity, target=target, account=account, gap=gap,
                           accounts=False)
    return ibis.memtable(graph_table(edges, codes=codes, kind=activity))


def variants(
    steps: ir.Table | CodedSteps,
    *,
    activity: str = "activity",
    account: str = "account_id",
    step: str = "step",
    gap: str = "gap_us",
    top: int | None = None,
    values: list[str] | None = None,
    codes: Codes = STRINGS,
    max_step: int | None = None,
    in_order: InOrder | None = None,
) -> ir.Table:
    """The variants: one row per distinct path (the account's activities in order), with the
    number of `accounts` that took it, their `share`, its `length`, and the duration of those
    accounts' paths in days (`mean_days`, `median_days`, `min_days`, `max_days`), most
    frequent first (then by the path's names); `top` keeps the first n.

    `steps` is a table with `step` and `gap_us` (`base.with_steps`, `base.journey_steps`, the
    coded steps of `journey.build` with `codes=`) or the `CodedSteps` of `coded_steps`. Paths
    are grouped as short key strings of small integer codes (`values`, the dictionary of the
    activity column, looked up when not given; one character per code, `_path_key`) and
    decoded at the end, because grouping and sorting millions of lists, of strings or even of
    integers, is what makes variants slow. `max_step`, an upper bound of the steps
    (the number of events will do), lets the engine sort smaller integers; on a kept table
    (`base.materialise`) it is looked up. `in_order`, the Arrow data of `steps` when they are
    in journey order (`journey.build`'s `in_order`; a `CodedSteps` of `coded_steps(..., keep=True)`
    brings its own), gives the same keys without the engine: each account's codes lie
    together, in order, and are its key as they are (`_keys_in_order`).
    """
    ordered: tuple[InOrder, str, list[str]] | None = None
    if isinstance(steps, CodedSteps) and steps.in_order is not None:
        ordered = steps.in_order, "code", list(steps.values)
    elif in_order is not None and codes.coded(activity):
        ordered = in_order, activity, list(codes.values[activity])
    if ordered is not None:
        data, column, names = ordered
        # The keys are an in-memory table: grouped by the steps' engine, not by Ibis's
        # default connection, which analyses in other threads of the process share (DuckDB
        # refuses a connection's second call at once).
        backend = (steps.table if isinstance(steps, CodedSteps) else steps)._find_backend(
            use_default=True)
        with small_pages():
            return ibis.memtable(variant_table(_keys_in_order(
                data, code=column, missing=len(names), width=_width(len(names))),
                names, top=top, backend=backend))
    if isinstance(steps, CodedSteps):
        values = list(steps.values)
        t, account, code = steps.table, steps.account, steps.table.code
        step, gap = "step", "gap_us"
    elif codes.coded(activity):
        values = list(codes.values[activity])
        t = steps
        code = t[activity].fill_null(len(values))
    else:
        if values is None:
            values = activity_codes(steps, activity)
        t = _encode(steps, activity, values)
        code = t["__code"].fill_null(len(values))
    if max_step is None and isinstance(t.op(), ops.DatabaseTable):
        # A kept table: its engine knows the largest step from the table's statistics.
        max_step = t[step].max().to_pyarrow().as_py()
    # The gaps add up to the time from the first to the last event of the path.
    per_account = t.group_by(t[account].name("__account")).aggregate(
        path=_path_key(code, t[step], _width(len(values)), max_order=max_step),
        us=t[gap].sum(),
    )
    return ibis.memtable(variant_table(per_account, values, top=top))


def _keys_in_order(steps: InOrder, *, code: str, missing: int, width: int) -> ir.Table:
    """One row per account of steps in journey order, as `variants` makes it in the engine:
    its path's key string (`_path_key`) and `us`, the time from its first step to its last.
    The keys are the codes' characters as they lie, cut at each account's first row: no
    aggregate, no sort."""
    n = steps.table.num_rows
    col = steps.table.column(code).combine_chunks()
    codes = (col.fill_null(missing) if col.null_count else col).to_numpy()
    chars = _codes_to_digits(codes, width)
    ends = np.append(steps.starts, n) * width
    if ends[-1] < 2**31:
        keys = pa.Array.from_buffers(pa.string(), len(steps.starts), [
            None, pa.py_buffer(ends.astype(np.int32)), pa.py_buffer(chars)])
    else:
        keys = pa.Array.from_buffers(pa.large_string(), len(steps.starts), [
            None, pa.py_buffer(ends.astype(np.int64)), pa.py_buffer(chars)])
    return ibis.memtable(pa.table({"path": keys, "us": pa.array(steps.us, pa.int64())}))


def variant_table(per_account: ir.Table, values: list[str] | tuple[str, ...], *,
                  top: int | None = None, backend: Any = None) -> pa.Table:
    """The variants (see `variants`) as an Arrow table, from one row per account with its
    `path` (the key string of its codes of `values`, `_path_key`; len(values) for a missing
    activity) and `us` (its duration). The engine groups the keys, one small query; the order,
    the shares and the names are made here on the small result. The names come as a
    dictionary-encoded list (`.cast(VARIANT_SCHEMA)` for plain strings). `backend` runs the
    query when `per_account` is an in-memory table (else its own engine does)."""
    per_account = per_account.mutate(days=per_account.us.fill_null(0).cast("float64") / US_PER_DAY)
    grouped = per_account.group_by("path").aggregate(
        accounts=per_account.count(),
        mean_days=per_account.days.mean(),
        median_days=per_account.days.median(),
        min_days=per_account.days.min(),
        max_days=per_account.days.max(),
    )
    grouped = grouped.to_pyarrow() if backend is None else backend.to_pyarrow(grouped)
    vals = tuple(values)
    width = _width(len(vals))
    keys = grouped.column("path").combine_chunks()
    # Most accounts first, ties by the paths' names (element by element, a prefix first).
    accounts = grouped.column("accounts").combine_chunks()
    picked = pc.sort_indices(
        pa.table({"accounts": accounts, "by_name": _by_name(keys, vals, width)}),
        sort_keys=[("accounts", "descending"), ("by_name", "ascending")])
    if top is not None:
        picked = picked.slice(0, max(top, 0))
    total = pc.sum(accounts).as_py() or 0
    # The picked keys decoded, under the names as a dictionary (code len(values), a missing
    # activity, is the trailing null): no string is copied, however many paths there are.
    data, offsets = _key_bytes(keys.take(picked))
    names = pa.array([*vals, None], pa.string())
    variant = pa.ListArray.from_arrays(
        pa.array((offsets // width).astype(np.int32)),
        pa.DictionaryArray.from_arrays(pa.array(_digits_to_codes(data, width)), names))
    out = grouped.drop(["path"]).take(picked)
    share = pc.divide(out.column("accounts").cast(pa.float64()), float(total)) if total \
        else pa.nulls(len(out), pa.float64())
    return pa.table({
        "variant": variant, "accounts": out.column("accounts"), "share": share,
        "length": pc.list_value_length(variant).cast(pa.int64()),
        **{c: out.column(c) for c in ("mean_days", "median_days", "min_days", "max_days")},
    })


VARIANT_SCHEMA = pa.schema([
    ("variant", pa.list_(pa.string())), ("accounts", pa.int64()), ("share", pa.float64()),
    ("length", pa.int64()), ("mean_days", pa.float64()), ("median_days", pa.float64()),
    ("min_days", pa.float64()), ("max_days", pa.float64()),
])


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
    codes: Codes = STRINGS,
) -> ir.Table:
    """Sankey flows between stages (or touchpoints) along the journey: one row per `source`
    to `target` move between two different consecutive stages (touchpoints), with the number
    of `moves` and of distinct `accounts` that made it. Staying put is not a flow."""
    node, nxt = _level(level)
    moves = journey.filter(journey[nxt] != journey[node])
    edges = edge_stats(moves, source=node, target=nxt, account=account, durations=False)
    return ibis.memtable(sankey_table(edges, codes=codes, kind=node))


COMPARE_SCHEMA = pa.schema([
    ("source", pa.string()), ("target", pa.string()), ("won_accounts", pa.int64()),
    ("lost_accounts", pa.int64()), ("won_share", pa.float64()), ("lost_share", pa.float64()),
    ("difference", pa.float64()), ("won_total", pa.int64()), ("lost_total", pa.int64()),
])


def compare_paths(
    journey: ir.Table,
    outcomes: ir.Table,
    *,
    level: str = "touchpoint",
    account: str = "account_id",
    ts: str = "ts",
    next_ts: str = "next_ts",
    codes: Codes = STRINGS,
) -> ir.Table:
    """The paths of won accounts against those of lost ones, up to the decision (the account's
    first won, else lost, outcome): for each move `source` to `target` (touchpoints, or stages
    with `level="stage"`), the won and lost accounts that made it, their shares of all won and
    all lost accounts, and `difference` (won share minus lost share). A repeat of the same
    step counts as a move too, from the node to itself."""
    return ibis.memtable(compare_table(journey, outcomes, level=level, account=account, ts=ts,
                                       next_ts=next_ts, codes=codes))


def compare_table(
    journey: ir.Table,
    outcomes: ir.Table,
    *,
    level: str = "touchpoint",
    account: str = "account_id",
    ts: str = "ts",
    next_ts: str = "next_ts",
    codes: Codes = STRINGS,
    moves: ir.Table | None = None,
) -> pa.Table:
    """`compare_paths` as an Arrow table: two small queries, shaped here. `moves`, when given,
    are the journey's `account_moves` at this `level`: the accounts are counted in them (a
    move before the decision is one whose first time was before it)."""
    node, nxt = _level(level)
    decided = outcomes.filter(outcomes.won | outcomes.lost)
    decided = decided.select(
        decided[account].name("__account"),
        __won=decided.won,
        __decision=ibis.ifelse(decided.won, decided.won_ts, decided.lost_ts),
    )
    totals = decided.aggregate(won_total=decided["__won"].cast("int64").sum(),
                               lost_total=(~decided["__won"]).cast("int64").sum())
    totals = totals.to_pyarrow().to_pylist()[0]
    won_total, lost_total = totals["won_total"] or 0, totals["lost_total"] or 0
    # An account is won or lost, so distinct accounts of each kind per move are the moves'
    # accounts split by their outcome: one count per move and outcome (two filtered distinct
    # counts side by side cost DuckDB three times as much), paired up here.
    if moves is not None:
        j = moves.join(decided, moves.account == decided["__account"])
        before = j.filter(j.first_ts <= j["__decision"])
        split = before.group_by(before.source, before.target,
                                before["__won"].name("won")).aggregate(n=before.count())
    else:
        j = journey.join(decided, journey[account] == decided["__account"])
        before = j.filter(j[nxt].notnull() & (j[next_ts] <= j["__decision"]))
        split = before.group_by(before[node].name("source"), before[nxt].name("target"),
                                before["__won"].name("won"))
        split = split.aggregate(n=before[account].nunique())
    pairs: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in split.to_pyarrow().to_pylist():
        row = pairs.setdefault((r["source"], r["target"]), {
            "source": r["source"], "target": r["target"], "won_accounts": 0,
            "lost_accounts": 0})
        row["won_accounts" if r["won"] else "lost_accounts"] = r["n"]
    per_edge = pa.Table.from_pylist(list(pairs.values()), schema=pa.schema([
        ("source", split.schema()["source"].to_pyarrow()),
        ("target", split.schema()["target"].to_pyarrow()),
        ("won_accounts", pa.int64()), ("lost_accounts", pa.int64())]))
    rows = []
    for r in _named(per_edge, codes, node):
        won_share = r["won_accounts"] / won_total if won_total > 0 else None
        lost_share = r["lost_accounts"] / lost_total if lost_total > 0 else None
        rows.append({
            **r, "won_share": won_share, "lost_share": lost_share,
            "difference": None if won_share is None or lost_share is None
            else won_share - lost_share,
            "won_total": won_total, "lost_total": lost_total,
        })
    # Biggest difference first; a null difference sorts last, as in the engine.
    rows.sort(key=lambda r: (r["difference"] is None,
                             -abs(r["difference"]) if r["difference"] is not None else 0.0,
                             r["source"], r["target"]))
    return pa.Table.from_pylist(rows, schema=COMPARE_SCHEMA)
