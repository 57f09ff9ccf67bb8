"""Sources that carry their own column names and types: Parquet and JSON Lines.

Both are read by DuckDB (`read_parquet`, `read_json`) inside the engine. Parquet numbers its
rows itself (``file_row_number``), so a bad row is located without a second read. JSON Lines
timestamps are read as text and converted by journeyscope, because an engine's guess could drop
an offset or read day and month the wrong way round.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from journeyscope.events.errors import SourceError
from journeyscope.events.readers import textfile
from journeyscope.events.readers.canonical import Join, Source, stage_checked, stage_source
from journeyscope.events.readers.mapping import ColumnMapping
from journeyscope.events.readers.timestamps import quote_literal
from journeyscope.events.staging import Staged

# DuckDB's JSON reader will not buffer less than this, whatever the setting says.
JSON_MIN_OBJECT_BYTES = 16 * 1024 * 1024
_TEMPORAL = ("DATE", "TIME", "TIMESTAMP")
_JSON_LINE_RE = re.compile(r"line (\d+)")


def read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping | None = None, *,
    skip_bad_rows: bool = False, source_name: str | None = None, join: Join | None = None,
) -> Staged:
    """Stage a Parquet file."""
    file = str(path)
    from_sql = f"read_parquet({quote_literal(str(path))}, file_row_number=true)"
    try:
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {from_sql}")
                   .fetchall()]
    except duckdb.Error as exc:
        raise SourceError(file, f"not a readable Parquet file: {_first_line(exc)}") from None
    # Parquet is read in parallel with each row's number: staged as a view and read again
    # straight into the workspace, never copied.
    source = Source(file=file, from_sql=from_sql, columns=columns,
                    position_sql="src.file_row_number + 1", hidden=("file_row_number",),
                    join=join, as_view=True)
    try:
        return stage_source(con, source, mapping, skip_bad_rows=skip_bad_rows,
                            source_name=source_name)
    except duckdb.Error as exc:
        raise SourceError(file, f"the Parquet file cannot be read: {_first_line(exc)}") from None


def read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping | None = None, *,
    skip_bad_rows: bool = False, max_line_bytes: int, source_name: str | None = None,
    join: Join | None = None,
) -> Staged:
    """Stage a JSON Lines file (one JSON object per line; plain or gzip)."""
    file = str(path)
    cap = max(int(max_line_bytes), JSON_MIN_OBJECT_BYTES)
    base = (f"read_json({quote_literal(str(path))}, format='newline_delimited', "
            f"records=true, maximum_object_size={cap}")
    check = textfile.GzipCheck(path, file=file)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {base})").fetchall()
    except duckdb.Error as exc:
        raise check.problem() or _json_error(exc, path, file=file, cap=cap) from None
    columns = []
    for name, sql_type, *_ in described:
        # Temporal guesses become text again, for journeyscope's own timestamp handling.
        columns.append((name, "VARCHAR" if sql_type.startswith(_TEMPORAL) else sql_type))
    spec = ", ".join(f"{quote_literal(n)}: {quote_literal(t)}" for n, t in columns)
    from_sql = f"{base}, columns={{{spec}}})"
    source = Source(file=file, from_sql=from_sql, columns=columns, join=join)
    return stage_checked(con, source, mapping, check=check,
                         located=lambda exc: _json_error(exc, path, file=file, cap=cap),
                         skip_bad_rows=skip_bad_rows, source_name=source_name)


def _json_error(exc: duckdb.Error, path: Path, *, file: str, cap: int) -> SourceError:
    message = _first_line(exc)
    if "gzip" in message.lower():
        return textfile.find_gzip_end(path, file=file)
    if "maximum_object_size" in message:
        found = textfile.find_long_line(path, cap, file=file)
        if found is not None:
            return found
    if "unicode" in message.lower() or "utf-8" in message.lower():
        found = textfile.find_bad_bytes(path, "utf_8", file=file)
        if found is not None:
            return found
    if "malformed" in message.lower():
        found = find_bad_json_line(path, cap, file=file)
        if found is not None:
            return found
    line = _JSON_LINE_RE.search(message)
    return SourceError(file, f"not valid JSON Lines: {message}",
                       line=int(line.group(1)) if line else None)


def find_bad_json_line(path: Path, cap: int, *, file: str) -> SourceError | None:
    """The first line that is not one JSON object (the engine reports where it noticed, which
    can be a line later). Reads line by line, none longer than `cap`."""
    with textfile.open_binary(path) as fh:
        number = 0
        while True:
            raw = fh.readline(cap + 1)
            if not raw:
                return None
            number += 1
            if len(raw) > cap and not raw.endswith(b"\n"):
                return textfile.find_long_line(path, cap, file=file)
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError as exc:
                reason = getattr(exc, "msg", str(exc))
                return SourceError(file, f"not valid JSON Lines: {reason}", line=number,
                                   value=raw.decode("utf-8", "replace").strip())
            if not isinstance(value, dict):
                return SourceError(file, "not valid JSON Lines: each line must be one JSON "
                                   "object", line=number, value=raw.decode("utf-8", "replace"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for prefix in ("Invalid Input Error: ", "IO Error: ", "Conversion Error: "):
        text = text.removeprefix(prefix)
    return text
