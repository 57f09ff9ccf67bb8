"""XES event logs (IEEE 1849, plain or gzipped): a streaming parser of journeyscope's own.

pm4py reads XES too, but it is AGPL, so it stays a test oracle. This parser runs expat with
Python callbacks over 1 MB chunks and hands the events to DuckDB in Arrow batches, so memory is
bounded by one batch and one trace (a trace's events wait for the trace's attributes, which XES
allows after the events).

Mapping: the trace's ``concept:name`` becomes ``case:concept:name`` (and so ``account_id``),
other trace attributes ``case:<key>``; the event's ``concept:name`` is the activity,
``time:timestamp`` the timestamp and ``org:resource`` the owner. Everything else is kept in the
``attributes`` JSON column with its XES type (int, float, boolean as JSON numbers and booleans).
Nested attributes (lists, containers, attributes of attributes) are not kept.

Safety: a document type declaration (``<!DOCTYPE``), and with it every entity declaration,
is rejected before expat acts on it, so external entities and "billion laughs" cannot happen;
no element may span more than the line limit (a 2 GB attribute value is refused after the limit,
not buffered).
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable
from pathlib import Path
from pyexpat import ExpatError, ParserCreate

import duckdb
import pyarrow as pa

from journeyscope.events.errors import SourceError
from journeyscope.events.readers import textfile
from journeyscope.events.readers.canonical import Join, Source, q, stage_source
from journeyscope.events.readers.mapping import ColumnMapping
from journeyscope.events.staging import Staged

BATCH_EVENTS = 50_000
_ATTRIBUTE_TAGS = frozenset(("string", "date", "int", "float", "boolean", "id", "list",
                             "container"))
_SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN"}
LINE_COLUMN = "_xes_line"
_tables = itertools.count(1)

Progress = Callable[[int], None]


class _Rejected(Exception):
    """Raised inside an expat callback to stop parsing a hostile or broken document."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Collector:
    """The expat callbacks: events, with their traces' attributes, into batches of rows."""

    def __init__(self, parser,
                 flush: Callable[[list[dict[str, str]], list[int], list[str]], None]) -> None:
        self.parser = parser
        self.flush_batch = flush
        self.rows: list[dict[str, str]] = []
        self.lines: list[int] = []
        self.total = 0
        # key -> XES type of its values ("string" once they vary), event and trace keys apart
        self.event_types: dict[str, str] = {}
        self.trace_types: dict[str, str] = {}
        self.trace: dict[str, str] | None = None
        self.trace_events: list[dict[str, str]] = []
        self.trace_lines: list[int] = []
        self.event: dict[str, str] | None = None
        self.nested = 0  # depth inside an attribute element: its children are not kept

    def start(self, name: str, attrs: list[str]) -> None:
        if name in _ATTRIBUTE_TAGS:
            if self.nested == 0:
                # ordered_attributes: [name, value, name, value, ...]
                if len(attrs) == 4 and attrs[0] == "key" and attrs[2] == "value":
                    key, value = attrs[1], attrs[3]
                else:
                    found = dict(zip(attrs[::2], attrs[1::2], strict=False))
                    key, value = found.get("key"), found.get("value")
                if key is not None and value is not None:
                    event = self.event
                    if event is not None:
                        event[key] = value
                        types = self.event_types
                    elif self.trace is not None:
                        self.trace[key] = value
                        types = self.trace_types
                    else:
                        types = None
                    # A key's type is written down when first seen or when it changes (then it
                    # is "string" for good): one lookup per attribute, rarely a write.
                    if types is not None:
                        seen = types.get(key)
                        if seen != name:
                            types[key] = name if seen is None else "string"
            self.nested += 1
        elif name == "event":
            if self.trace is None:
                raise _Rejected("an <event> outside a <trace>; journeyscope reads XES logs whose "
                                "events are grouped in traces (one trace per account)")
            self.event = {}
            self.trace_events.append(self.event)
            self.trace_lines.append(self.parser.CurrentLineNumber)
        elif name == "trace":
            self.trace = {}
            self.trace_events, self.trace_lines = [], []

    def end(self, name: str) -> None:
        if self.nested:
            self.nested -= 1
        elif name == "event":
            self.event = None
        elif name == "trace" and self.trace is not None:
            case = {f"case:{k}": v for k, v in self.trace.items()}
            rows = self.rows
            for event in self.trace_events:
                rows.append({**case, **event} if case else event)
            self.lines.extend(self.trace_lines)
            self.total += len(self.trace_events)
            self.trace, self.trace_events, self.trace_lines = None, [], []
            if len(rows) >= BATCH_EVENTS:
                self.flush()

    def types(self) -> dict[str, str]:
        out = {f"case:{k}": t for k, t in self.trace_types.items()}
        for key, xes_type in self.event_types.items():
            out[key] = xes_type if out.get(key, xes_type) == xes_type else "string"
        return out

    def keys(self) -> list[str]:
        """Every key seen so far, as the rows name them (trace keys prefixed ``case:``)."""
        return list(dict.fromkeys([*(f"case:{k}" for k in self.trace_types), *self.event_types]))

    def flush(self) -> None:
        if self.rows:
            self.flush_batch(self.rows, self.lines, self.keys())
        self.rows, self.lines = [], []


def read_xes(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping | None = None, *,
    skip_bad_rows: bool = False, max_line_bytes: int, source_name: str | None = None,
    progress: Progress | None = None, join: Join | None = None,
) -> Staged:
    """Stage an XES log (plain or gzip) after parsing it in bounded memory."""
    file = str(path)
    raw_table, attribute_types = _parse_to_table(con, path, file=file,
                                                 max_bytes=max_line_bytes, progress=progress)
    try:
        described = con.execute(f"DESCRIBE {raw_table}").fetchall()
        columns = [(r[0], r[1]) for r in described]
        source = Source(
            file=file, from_sql=raw_table, columns=columns,
            position_sql=f"src.{q(LINE_COLUMN)}", position_label="line",
            attribute_types=attribute_types, hidden=(LINE_COLUMN,), join=join,
        )
        return stage_source(con, source, mapping, skip_bad_rows=skip_bad_rows,
                            source_name=source_name)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {raw_table}")


def _parse_to_table(con: duckdb.DuckDBPyConnection, path: Path, *, file: str, max_bytes: int,
                    progress: Progress | None) -> tuple[str, dict[str, str]]:
    """Parse the log into a temp table of text columns (one per attribute key) and return its
    name with the DuckDB types of the attributes whose XES type never varied."""
    table = f"_js_xes_{next(_tables)}"
    created: list[str] = []

    def flush(rows: list[dict[str, str]], lines: list[int], keys: list[str]) -> None:
        # The rows as one struct array: Arrow converts the dicts in C++ (a missing key is a
        # null), several times faster than a Python list per column.
        struct = pa.array(rows, type=pa.struct([(k, pa.string()) for k in keys]))
        arrays = dict(zip(keys, struct.flatten(), strict=True))
        arrays[LINE_COLUMN] = pa.array(lines, type=pa.int64())
        batch = pa.table(arrays)  # noqa: F841 - read by DuckDB's replacement scan below
        if not created:
            con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM batch")
            created.extend(batch.column_names)
        else:
            for key in batch.column_names:
                if key not in created:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {q(key)} VARCHAR")
                    created.append(key)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM batch")

    parser = ParserCreate()
    parser.ordered_attributes = True
    collector = _Collector(parser, flush)
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.StartDoctypeDeclHandler = _reject_doctype
    parser.EntityDeclHandler = _reject_entity
    parser.SetParamEntityParsing(0)  # XML_PARAM_ENTITY_PARSING_NEVER
    parser.buffer_text = True
    fed = 0
    # Chunks no bigger than the limit, so an element over it is caught before it is whole.
    step = max(1, min(textfile.CHUNK, max_bytes))
    try:
        with path.open("rb") as raw, (gzip.GzipFile(fileobj=raw) if textfile.is_gzip(path)
                                      else raw) as fh:
            position = 0  # in the file as stored, to report progress against its size
            while True:
                try:
                    chunk = fh.read(step)
                except (EOFError, OSError, zlib.error):
                    # Expat's line is where the lost chunk starts; count the lines exactly.
                    raise textfile.find_gzip_end(path, file=file) from None
                fed += len(chunk)
                parser.Parse(chunk, not chunk)
                # Expat holds an unfinished element in memory; refuse one over the limit.
                if fed - max(parser.CurrentByteIndex, 0) > max_bytes:
                    raise _Rejected(
                        f"no element ends within {max_bytes} bytes (the limit set by "
                        "JOURNEYSCOPE_IMPORT_MAX_LINE_BYTES): a giant value or a broken file")
                if progress is not None:
                    progress(raw.tell() - position)
                    position = raw.tell()
                if not chunk:
                    break
        collector.flush()
    except _Rejected as exc:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        raise _gzip_damage(path, file) or SourceError(
            file, exc.reason, line=parser.CurrentLineNumber) from None
    except ExpatError as exc:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        reason = _expat_reason(exc)
        raise _gzip_damage(path, file) or SourceError(file, reason, line=exc.lineno) from None
    except BaseException:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        raise
    if not created:
        raise SourceError(file, "the log holds no events (no <trace> with an <event>)")
    return table, {k: _SQL_TYPES[t] for k, t in collector.types().items() if t in _SQL_TYPES}


def _gzip_damage(path: Path, file: str) -> SourceError | None:
    """The error of a corrupt gzip stream, which can decompress to broken XML before its CRC
    at the end says so: the damage is the cause."""
    return textfile.gzip_problem(path, file=file) if textfile.is_gzip(path) else None


def _reject_doctype(name, sysid, pubid, has_internal_subset) -> None:  # noqa: ANN001
    raise _Rejected("the file declares a document type (<!DOCTYPE ...>); XES needs none, and "
                    "journeyscope refuses them because they can pull in external files or "
                    "expand entities without bound")


def _reject_entity(*_args) -> None:  # noqa: ANN002
    raise _Rejected("the file declares an entity (<!ENTITY ...>); journeyscope refuses them")


def _expat_reason(exc: ExpatError) -> str:
    message = str(exc).split(":")[0]
    if "no element found" in message:
        return "the XML ends before the log is complete (is the file truncated?)"
    if "undefined entity" in message:
        return "the file uses an entity that is not defined (entities are not allowed in XES)"
    return f"not well-formed XML: {message}"
