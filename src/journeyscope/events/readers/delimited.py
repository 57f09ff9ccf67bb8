"""CSV and other delimited text (also gzipped): dialect, encoding and header detection in
Python on a bounded sample, then DuckDB's own `read_csv` reads the whole file in the engine.

The reader is strict: a row with more or fewer fields than the header, an unterminated quote,
bytes that are not the file's encoding, a line over the size limit or a truncated or corrupt
gzip each stop the import with the line where it happens.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import duckdb

from journeyscope.events.errors import SourceError
from journeyscope.events.readers import textfile
from journeyscope.events.readers.canonical import Join, Source, stage_checked
from journeyscope.events.readers.mapping import ColumnMapping
from journeyscope.events.readers.timestamps import quote_literal
from journeyscope.events.staging import Staged

DELIMITERS = (",", ";", "\t", "|")
_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL_RE = re.compile(r"Original Line: (.*)")


def read_delimited(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping | None = None, *,
    skip_bad_rows: bool = False, max_line_bytes: int, source_name: str | None = None,
    join: Join | None = None,
) -> Staged:
    """Stage a delimited text file (CSV, TSV, semicolon-separated; plain or gzip)."""
    mapping = mapping or ColumnMapping()
    file = str(path)
    sample = textfile.read_sample(path, min(textfile.SAMPLE_BYTES, max_line_bytes + 1),
                                  file=file)
    if not sample.strip():
        raise SourceError(file, "the file is empty: no header row and no data")
    encoding = (textfile.codec_name(mapping.encoding) if mapping.encoding
                else textfile.detect_encoding(sample, file=file))
    note = None if mapping.encoding else textfile.guessed_note(encoding, file=path.name)
    text = textfile.text_sample(sample, encoding)
    if "\n" not in text and len(sample) > max_line_bytes:
        raise textfile.find_long_line(path, max_line_bytes, file=file) or AssertionError
    delimiter = mapping.delimiter or sniff_delimiter(text)
    header = _header(text, delimiter, file=file)
    workdir: Path | None = None
    target = path
    duck_encoding = textfile.DUCKDB_ENCODINGS.get(encoding)
    try:
        if duck_encoding is None:
            workdir = Path(tempfile.mkdtemp(prefix="journeyscope-"))
            target = workdir / (path.name + ".utf8.csv")
            textfile.transcode_to_utf8(path, encoding, target, file=file)
            duck_encoding = "utf-8"
        source = Source(
            file=file,
            from_sql=_read_csv_sql(target, header, delimiter, duck_encoding, max_line_bytes,
                                   gzip=textfile.is_gzip(target)),
            columns=[(h, "VARCHAR") for h in header],
            join=join,
        )
        staged = stage_checked(
            con, source, mapping, check=textfile.GzipCheck(target, file=file),
            located=lambda exc: _located(exc, path, encoding, max_line_bytes, file=file),
            skip_bad_rows=skip_bad_rows, source_name=source_name)
        if note:
            staged.notes.append(note)
        return staged
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def csv_relation(path: Path, *, max_line_bytes: int, encoding: str | None = None,
                 delimiter: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """A FROM item reading `path` as text columns, and its columns (for a mapping's join)."""
    file = str(path)
    sample = textfile.read_sample(path, min(textfile.SAMPLE_BYTES, max_line_bytes + 1),
                                  file=file)
    codec = textfile.codec_name(encoding) if encoding else textfile.detect_encoding(
        sample, file=file)
    duck_encoding = textfile.DUCKDB_ENCODINGS.get(codec)
    if duck_encoding is None:
        raise SourceError(file, f"a file to join must be UTF-8, UTF-16 or Latin-1, not {codec}")
    text = textfile.text_sample(sample, codec)
    sep = delimiter or sniff_delimiter(text)
    header = _header(text, sep, file=file)
    sql = _read_csv_sql(path, header, sep, duck_encoding, max_line_bytes,
                        gzip=textfile.is_gzip(path))
    return sql, [(h, "VARCHAR") for h in header]


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the sample's lines into the same number (> 1) of fields most
    consistently; ',' when none does."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = lines[:500]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delimiter, quotechar='"')]
        except csv.Error:
            continue
        if not counts:
            continue
        width = counts[0]
        if width < 2:
            continue
        share = sum(1 for c in counts if c == width) / len(counts)
        score = (share, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header(text: str, delimiter: str, *, file: str) -> list[str]:
    try:
        row = next(csv.reader(text.splitlines()[:1], delimiter=delimiter, quotechar='"'))
    except (csv.Error, StopIteration):
        raise SourceError(file, "the header row cannot be read", line=1) from None
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, raw in enumerate(row):
        name = raw.strip().lstrip("\ufeff") or f"column{i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _read_csv_sql(path: Path, header: list[str], delimiter: str, encoding: str,
                  max_line_bytes: int, *, gzip: bool) -> str:
    columns = ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in header)
    return (
        f"read_csv({quote_literal(str(path))}, delim={quote_literal(delimiter)}, quote='\"', "
        f"escape='\"', header=true, auto_detect=false, columns={{{columns}}}, "
        f"strict_mode=true, null_padding=false, encoding={quote_literal(encoding)}, "
        f"max_line_size={int(max_line_bytes)}, compression={'gzip' if gzip else 'none'!r})"
    )


def _located(exc: duckdb.Error, path: Path, encoding: str, max_line_bytes: int, *,
             file: str) -> SourceError:
    """DuckDB's CSV error, turned into a located SourceError."""
    message = str(exc)
    if "GZIP" in message.upper() or "gzip" in message:
        return textfile.find_gzip_end(path, file=file)
    if "Maximum line size" in message or "maximum line size" in message.lower():
        found = textfile.find_long_line(path, max_line_bytes, file=file)
        if found is not None:
            return found
    if "Invalid unicode" in message or "byte sequence" in message:
        found = textfile.find_bad_bytes(path, encoding, file=file)
        if found is not None:
            return found
    line_match = _LINE_RE.search(message)
    original = _ORIGINAL_RE.search(message)
    line = int(line_match.group(1)) if line_match else None
    value = original.group(1) if original else None
    expected = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if expected:
        reason = (f"the row has {expected.group(2)} fields where the header has "
                  f"{expected.group(1)} (a stray delimiter or quote?)")
    elif "quote" in message.lower():
        reason = "a quoted field is not closed"
    else:
        reason = message.splitlines()[0].removeprefix("Invalid Input Error: ")
    return SourceError(file, reason, line=line, value=value)
