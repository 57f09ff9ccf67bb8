"""Steps without a sort, for events stored in journey order.

Every analysis of paths needs each account's events in time order: the window pass of
`journey.coded_journey` and `paths.coded_steps` sorts ten million events for it, which is two
thirds of that pass. But events are often stored in that order already: each account's events
together, in time order (then import order at the same time), as the demo data is written, as
an XES log holds its traces and as many exports come. DuckDB returns a scan with filters and
projections in the order it stores the rows, so such events can be stepped as they are read:
`runs` reads the accounts' runs off the rows and checks the order (it is never assumed), and
the caller builds its steps from them in Arrow. Anything else (accounts interleaved, an event
before an earlier one, a tie against import order, another engine) gives None, and the caller
sorts as before. The steps are the same, row for row, either way.

>>> data = pa.table({"a": ["x", "x", "y"], "ts": pa.array([1, 2, 1], pa.timestamp("us"))})
>>> r = runs(data, account="a", ts="ts", order=None)
>>> r.step().to_pylist(), r.lead(data.column("ts").combine_chunks().cast(pa.int64())).to_pylist()
([0, 1, 0], [2, None, None])
>>> runs(data.take([0, 2, 1]), account="a", ts="ts", order=None) is None  # x, y, x
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Runs:
    """The accounts' runs of rows of a table in journey order."""

    rows: int
    starts: np.ndarray  # the first row of each account's run
    lengths: np.ndarray  # the rows of each run
    heads: pa.Array  # the account of each run, once each
    followed: pa.Array  # per row: whether the next row is the same account's

    def repeat(self, per_run: np.ndarray) -> pa.Array:
        """A value per run (say, the account's code), on each of its rows."""
        return pa.array(np.repeat(per_run, self.lengths))

    def step(self) -> pa.Array:
        """Each row's position in its account's run (0, 1, ...), as the window's row number."""
        step = np.arange(self.rows, dtype=np.int32)
        step -= np.repeat(self.starts.astype(np.int32), self.lengths)
        return pa.array(step)

    def lead(self, col: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        """The next row's value of `col` (of a fixed-width type) where the next row is the
        same account's, else null: the window's `lead`.

        Nothing is copied: within each chunk of `col`, the leads are its own values one
        further on (the chunk's data buffer read from the next value, under a bitmap of the
        rows followed by their account's next), and the last row of a chunk takes the first
        value of the next chunk. Copying ten million values instead (one contiguous lead)
        took about 0.1 s per column of the preparation's single-threaded end, nearly all of
        it the first touch of fresh memory."""
        chunks = [c for c in (col.chunks if isinstance(col, pa.ChunkedArray) else [col])
                  if len(c)]
        pieces, start = [], 0
        for i, chunk in enumerate(chunks):
            rows = len(chunk)
            if rows > 1:
                body = chunk.slice(1)  # no copy: the same buffers, one value further on
                valid = self.followed.slice(start, rows - 1)
                if body.null_count:
                    valid = pc.and_(valid, body.is_valid())
                # A validity bitmap is read at the data's offset: bit `offset + j` is row j's.
                bits = pa.concat_arrays([pa.array(np.zeros(body.offset, bool)), valid])
                pieces.append(pa.Array.from_buffers(
                    col.type, rows - 1, [bits.buffers()[1], body.buffers()[1]],
                    offset=body.offset))
            end = start + rows - 1
            if i + 1 < len(chunks) and self.followed[end].as_py():
                pieces.append(chunks[i + 1].slice(0, 1))
            else:
                pieces.append(pa.nulls(1, col.type))
            start += rows
        return pa.chunked_array(pieces, col.type)


try:  # numpy's switch for asking the kernel for huge pages for large arrays
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # another numpy: leave its default
    _set_madvise_hugepage = None


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Large numpy arrays without the kernel's huge pages, for the steps' arrays: numpy asks
    for them by default, and on a machine whose memory is fragmented the kernel then
    compacts memory before it hands them out. Measured on ten million steps: making them took
    0.4 to 0.7 s with huge pages against 0.1 s without. numpy's setting is the process's; it
    is put back as it was."""
    if _set_madvise_hugepage is None:
        yield
        return
    before = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(before)


# Rows read first to see whether a table can be in journey order at all (`read_in_order`).
SAMPLE = 65_536


def read_in_order(table: ir.Table, *, account: str, ts: str, order: str | None,
                  whole: bool = True) -> tuple[pa.Table, Runs] | None:
    """`table` read as stored, with its runs, if it is in journey order (`runs`) on DuckDB,
    which returns a scan with filters and projections in that order; None otherwise. Its
    first rows are read first, so that events in another order cost nothing more than the
    sort they need. `whole` as for `runs`."""
    if table._find_backend(use_default=True).name != "duckdb":
        return None
    if runs(table.limit(SAMPLE).to_pyarrow(), account=account, ts=ts, order=order) is None:
        return None
    data = table.to_pyarrow()
    r = runs(data, account=account, ts=ts, order=order, whole=whole)
    return None if r is None else (data, r)


@dataclass(frozen=True)
class InOrder:
    """Steps made in journey order (`journey.ordered_journey`, `paths.coded_steps` with
    `keep`), with what `paths.variants` reads off them without the engine: each account's
    first row and the time from its first step to its last."""

    table: pa.Table
    starts: np.ndarray
    us: np.ndarray  # microseconds, per account (run)

    @classmethod
    def of(cls, table: pa.Table, r: Runs, ts: pa.ChunkedArray | pa.Array) -> InOrder:
        column = ts if isinstance(ts, pa.ChunkedArray) else pa.chunked_array([ts])
        first, last = (_take(column, rows).cast(pa.int64()).to_numpy()
                       for rows in (r.starts, r.starts + r.lengths - 1))
        return cls(table, r.starts, last - first)


def runs(data: pa.Table, *, account: str, ts: str, order: str | None,
         whole: bool = True) -> Runs | None:
    """The runs of `data` if its rows are in journey order: each account's rows together, in
    `ts` order, rows at the same time in `order` order (without an `order` column, no two rows
    of an account at the same time). None if they are not, or a key is null. `whole=False`
    leaves out the check that each account's rows are one run (no head twice), for a caller
    that checks it on the heads' codes, cheaper than on the heads themselves.

    The rows are compared with the one before them in Arrow, whose memory pool keeps its
    pages: fresh arrays of ten million rows cost more in page faults than in arithmetic."""
    n = data.num_rows
    if n == 0:
        return None
    accounts, when = data.column(account), data.column(ts)
    if accounts.null_count or when.null_count or not pa.types.is_timestamp(when.type):
        return None
    change = pc.not_equal(accounts.slice(1), accounts.slice(0, n - 1))
    later = pc.or_(change, pc.greater(when.slice(1), when.slice(0, n - 1)))
    if not pc.all(later).as_py():
        # Only rows at the same time as the one before them may pass, by import order.
        if order is None or order not in data.column_names:
            return None
        at = pc.indices_nonzero(pc.invert(later))
        after = pc.add(at, 1)
        seq = data.column(order)
        if seq.null_count or not pc.all(pc.and_(
                pc.equal(when.take(after), when.take(at)),
                pc.greater(seq.take(after), seq.take(at)))).as_py():
            return None
    starts = np.concatenate(([0], pc.add(pc.indices_nonzero(change), 1).to_numpy()))
    heads = _take(accounts, starts)
    if whole and pc.count_distinct(heads).as_py() != len(heads):
        return None  # an account's rows in more than one run
    lengths = np.diff(np.append(starts, n))
    followed = pa.concat_arrays([*pc.invert(change).chunks, pa.array([False])])
    return Runs(n, starts, lengths, heads, followed)


def _take(column: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """The values at `rows` (ascending) of a chunked column, chunk by chunk: a take from the
    whole column would first copy all its chunks into one (a gigabyte of account ids)."""
    parts, first = [], 0
    for chunk in column.chunks:
        lo, hi = np.searchsorted(rows, [first, first + len(chunk)])
        if hi > lo:
            parts.append(chunk.take(pa.array(rows[lo:hi] - first)))
        first += len(chunk)
    return pa.concat_arrays(parts) if parts else pa.array([], column.type)
