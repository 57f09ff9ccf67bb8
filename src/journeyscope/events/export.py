"""Exporting the workspace's events: CSV, Parquet (by DuckDB's COPY, in the engine) and XES
(streamed in Arrow batches, so process-mining tools such as pm4py or ProM can read our data).

Timestamps leave as UTC and say so: ``2024-03-01T14:05:00.000000Z`` in CSV, a UTC-adjusted
TIMESTAMP in Parquet, ``+00:00`` in XES. Importing an export again adds nothing: the event key
is made of the same values.

In XES each account is a trace (``concept:name`` = account_id); the activity is the event's
``concept:name``, the owner its ``org:resource``; the other canonical columns and the kept
attributes are event attributes, and attributes that came from a trace (``case:<key>``) go back
to the trace.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

import duckdb

from journeyscope.errors import JourneyscopeError
from journeyscope.events import schema

FORMATS = ("csv", "parquet", "xes")
BATCH_ROWS = 50_000
# Characters XML 1.0 does not allow at all; they cannot be escaped, only dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XES_EVENT_COLUMNS = ("contact_id", "channel", "persona", "value", "score", "text", "source")
# Matching results travel under journeyscope's prefix: readers drop them (matching recomputes).
_XES_DERIVED = ("touchpoint", "stage", "outcome")


class ExportError(JourneyscopeError):
    """The export cannot be written (unknown format, folder missing)."""

    exit_code = 2


def format_for(path: Path, fmt: str | None = None) -> str:
    """The export format: given, or from the file's extension (``.csv[.gz]``, ``.parquet``,
    ``.xes[.gz]``)."""
    if fmt:
        if fmt.lower() not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt.lower()
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xes": "xes"}.get(
        suffixes[-1] if suffixes else "")
    if kind is None:
        raise ExportError(f"{path}: cannot tell the format from the name; end it in .csv, "
                          ".parquet or .xes (optionally .gz), or give --format")
    return kind


def export_events(
    con: duckdb.DuckDBPyConnection, path: Path | str, *, fmt: str | None = None,
    table: str = "events", progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write `table` (canonical events) to `path`; returns the number of events written."""
    path = Path(path)
    kind = format_for(path, fmt)
    if not path.parent.exists():
        raise ExportError(f"{path}: the folder {path.parent} does not exist")
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    names = [c.name for c in schema.ALL_EVENT_COLUMNS]
    # Ties in time keep the import order: process-mining tools read equal timestamps in file
    # order.
    order = "ORDER BY account_id, ts, seq"
    target = "'" + str(path).replace("'", "''") + "'"
    if kind == "csv":
        cols = ", ".join(
            "strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts" if n == "ts" else n for n in names)
        gz = ", COMPRESSION gzip" if path.suffix.lower() == ".gz" else ""
        con.execute(f"COPY (SELECT {cols} FROM {table} {order}) TO {target} "
                    f"(FORMAT csv, HEADER{gz})")
    elif kind == "parquet":
        cols = ", ".join("CAST(ts AS TIMESTAMPTZ) AS ts" if n == "ts" else n for n in names)
        con.execute(f"COPY (SELECT {cols} FROM {table} {order}) TO {target} (FORMAT parquet)")
    else:
        with _open_text(path) as fh:
            _write_xes(fh, _batches(con, f"SELECT {', '.join(names)} FROM {table} {order}"),
                       total=int(total), progress=progress)
    if progress is not None:
        progress(int(total), int(total))
    return int(total)


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "wt", encoding="utf-8", newline="\n")  # type: ignore[return-value]
    return path.open("w", encoding="utf-8", newline="\n")


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[dict]]:
    # A cursor of its own, so that a result the caller left open on `con` does not get in
    # the way of streaming.
    cursor = con.cursor()
    try:
        for batch in cursor.sql(sql).to_arrow_reader(BATCH_ROWS):
            yield batch.to_pylist()
    finally:
        cursor.close()


def _attr(value: object) -> str:
    return quoteattr(_NOT_XML.sub("", str(value)))


def _typed(key: str, value: object) -> str:
    k = _attr(key)
    if isinstance(value, bool):
        return f'<boolean key={k} value="{"true" if value else "false"}"/>'
    if isinstance(value, int):
        return f'<int key={k} value="{value}"/>'
    if isinstance(value, float):
        return f'<float key={k} value="{value!r}"/>'
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return f"<string key={k} value={_attr(value)}/>"


def _when(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<global scope="trace">
\t\t<string key="concept:name" value="__INVALID__"/>
\t</global>
\t<global scope="event">
\t\t<string key="concept:name" value="__INVALID__"/>
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
\t</global>
\t<classifier name="Activity" keys="concept:name"/>
\t<string key="source" value="journeyscope"/>
"""


def _write_xes(fh: IO[str], batches: Iterator[list[dict]], *, total: int,
               progress: Callable[[int, int], None] | None) -> None:
    fh.write(_HEADER)
    current: object = object()
    written = 0
    for rows in batches:
        out: list[str] = []
        for row in rows:
            attributes = json.loads(row["attributes"]) if row["attributes"] else {}
            if row["account_id"] != current:
                if written or out:
                    out.append("\t</trace>\n")
                current = row["account_id"]
                out.append(f"\t<trace>\n\t\t<string key=\"concept:name\" "
                           f"value={_attr(current)}/>\n")
                for key, value in attributes.items():
                    if key.startswith("case:") and key != "case:concept:name":
                        out.append(f"\t\t{_typed(key[5:], value)}\n")
            out.append("\t\t<event>\n")
            out.append(f"\t\t\t<string key=\"concept:name\" value={_attr(row['activity'])}/>\n")
            out.append(f"\t\t\t<date key=\"time:timestamp\" value=\"{_when(row['ts'])}\"/>\n")
            if row["owner"] is not None:
                out.append(f"\t\t\t<string key=\"org:resource\" value={_attr(row['owner'])}/>\n")
            for column in _XES_EVENT_COLUMNS:
                if row[column] is not None:
                    out.append(f"\t\t\t{_typed(column, row[column])}\n")
            for column in _XES_DERIVED:
                if row[column] is not None:
                    out.append(f"\t\t\t{_typed('journeyscope:' + column, row[column])}\n")
            for key, value in attributes.items():
                if not key.startswith("case:") and value is not None:
                    out.append(f"\t\t\t{_typed(key, value)}\n")
            out.append("\t\t</event>\n")
        fh.write("".join(out))
        written += len(rows)
        if progress is not None:
            progress(written, total)
    if written:
        fh.write("\t</trace>\n")
    fh.write("</log>\n")
