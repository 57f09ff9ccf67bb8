"""Readers: one source file into canonical staged tables (see `journeyscope.events.staging`).

`read_source` recognises the format by the file's name and, failing that, by its first bytes:
CSV and other delimited text, Parquet, JSON Lines and XES, each also gzipped where that makes
sense. All of them load in the engine (DuckDB's `read_csv`, `read_parquet`, `read_json`), except
XES, which journeyscope parses itself in bounded memory.

>>> detect_format(Path("log.xes.gz"))
'xes'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from journeyscope import settings
from journeyscope.events.errors import SourceError
from journeyscope.events.readers import textfile
from journeyscope.events.readers.canonical import Join
from journeyscope.events.readers.delimited import csv_relation, read_delimited
from journeyscope.events.readers.mapping import (
    ColumnMapping,
    JoinSpec,
    MappingFile,
    builtin_mappings,
    load_mapping,
)
from journeyscope.events.readers.parquet_json import read_jsonl, read_parquet
from journeyscope.events.readers.xes import read_xes
from journeyscope.events.staging import Staged

FORMATS = ("csv", "parquet", "jsonl", "xes")
# The names each format is recognised by; any of them may end in one of COMPRESSED too.
SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".xes": "xes", ".xml": "xes",
}
COMPRESSED = (".gz", ".gzip")


def detect_format(path: Path) -> str | None:
    """The format a file's name says (``csv``, ``parquet``, ``jsonl``, ``xes``), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    return SUFFIXES.get(suffixes[-1]) if suffixes else None


def sniff_format(path: Path) -> str:
    """The format the file's first bytes suggest (for names that say nothing)."""
    with path.open("rb") as fh:
        if fh.read(4) == b"PAR1":
            return "parquet"
    head = textfile.read_sample(path, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<log", b"<!")):
        return "xes"
    if head.startswith(b"{"):
        return "jsonl"
    return "csv"


def max_line_bytes() -> int:
    """The line limit from the settings (JOURNEYSCOPE_IMPORT_MAX_LINE_BYTES)."""
    raw = settings.IMPORT_MAX_LINE_BYTES.get()
    try:
        value = int(raw)
    except ValueError:
        raise SourceError(settings.IMPORT_MAX_LINE_BYTES.env,
                          f"{raw!r} is not a number of bytes") from None
    if value < 64:
        raise SourceError(settings.IMPORT_MAX_LINE_BYTES.env, f"{value} bytes is too small")
    return value


def read_source(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    *,
    mapping: ColumnMapping | None = None,
    skip_bad_rows: bool = False,
    source_name: str | None = None,
    format: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Staged:
    """Load one file into canonical temp tables of `con` and return their names.

    `source_name` fills the `source` column when the mapping does not (default: the file
    name); `progress` is called with byte counts where a reader can tell them (XES).
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "no such file")
    if path.is_dir():
        raise SourceError(str(path), "is a folder; name the files in it")
    fmt = format or detect_format(path) or sniff_format(path)
    if fmt not in FORMATS:
        raise SourceError(str(path), f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    name = source_name or path.name
    limit = max_line_bytes()
    join = (_join(con, path, mapping.join, max_line_bytes=limit)
            if mapping is not None and mapping.join is not None else None)
    if fmt == "parquet":
        return read_parquet(con, path, mapping, skip_bad_rows=skip_bad_rows, source_name=name,
                            join=join)
    if fmt == "jsonl":
        return read_jsonl(con, path, mapping, skip_bad_rows=skip_bad_rows,
                          max_line_bytes=limit, source_name=name, join=join)
    if fmt == "xes":
        return read_xes(con, path, mapping, skip_bad_rows=skip_bad_rows, max_line_bytes=limit,
                        source_name=name, progress=progress, join=join)
    return read_delimited(con, path, mapping, skip_bad_rows=skip_bad_rows,
                          max_line_bytes=limit, source_name=name, join=join)


def _join(con: duckdb.DuckDBPyConnection, path: Path, spec: JoinSpec, *,
          max_line_bytes: int) -> Join:
    """The other file of a mapping's ``join:`` as a relation, its key and columns checked."""
    other = Path(spec.file)
    if not other.is_absolute():
        other = path.parent / other
    where = f"the mapping's join with {spec.file}"
    if not other.is_file():
        raise SourceError(str(path), f"{where}: no such file {other}")
    fmt = detect_format(other) or sniff_format(other)
    if fmt == "csv":
        sql, columns = csv_relation(other, max_line_bytes=max_line_bytes)
    elif fmt == "parquet":
        sql = f"read_parquet({_literal(str(other))})"
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()]
    elif fmt == "jsonl":
        sql = f"read_json({_literal(str(other))}, format='newline_delimited')"
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()]
    else:
        raise SourceError(str(other), f"{where}: a file to join must be CSV, Parquet or JSON Lines")
    names = [n for n, _ in columns]
    if spec.on not in names:
        raise SourceError(str(other), f"{where}: the key column {spec.on!r} is not in it; its "
                          f"columns are: {', '.join(names)}", column=spec.on)
    wanted = list(spec.columns) if spec.columns is not None else [n for n in names
                                                                   if n != spec.on]
    for column in wanted:
        if column not in names:
            raise SourceError(str(other), f"{where}: no column {column!r}; its columns are: "
                              f"{', '.join(names)}", column=column)
    types = dict(columns)
    return Join(str(other), sql, spec.on, [(c, types[c]) for c in wanted])


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = [
    "COMPRESSED", "FORMATS", "SUFFIXES", "ColumnMapping", "MappingFile", "builtin_mappings",
    "detect_format", "load_mapping", "read_source", "sniff_format",
]
