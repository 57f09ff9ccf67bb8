"""What the CRM adapters share: reading an export's CSV files into DuckDB, finding columns by
their standard header names, parsing dates, numbers and flags in SQL with located errors, and
staging canonical events, accounts and contacts.

Every file of an export is loaded as text (`all_varchar`) into a temp table whose `rowid` is
the data row (0-based, header excluded), so that a value that does not parse is reported with
its file, data row, column and value. Nothing here loops over rows in Python.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from journeyscope.events import schema
from journeyscope.events.errors import SourceError
from journeyscope.events.staging import ORIGIN_FILE, ORIGIN_ROW, Staged

HEADER_BYTES = 256 * 1024  # a header row longer than this is not a CRM export
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_counter = itertools.count(1)


class CrmExportError(SourceError):
    """A CRM export that cannot be read: says file, data row, column, value and why."""


def norm(name: str) -> str:
    """A header as compared: case, surrounding quotes and repeated blanks do not matter."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lower().split())


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def temp_name(prefix: str) -> str:
    return f"crm_{prefix}_{next(_counter)}"


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """The files of an export: a folder stands for the CSV files directly inside it."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and p.suffix.lower() in CSV_SUFFIXES))
        else:
            out.append(path)
    return out


def _decode_head(raw: bytes) -> tuple[str, str]:
    """Text of the first bytes of a file and the DuckDB encoding to read it with."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="ignore"), "utf-16"
    text = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(text, final=False), "utf-8"
    except UnicodeDecodeError:
        # Exports saved by Excel on Windows are cp1252; Latin-1 reads them without failing.
        return text.decode("latin-1"), "latin-1"


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


@dataclass(frozen=True)
class Header:
    """The header row of one export file."""

    path: Path
    names: tuple[str, ...]
    delimiter: str
    encoding: str

    @property
    def normalised(self) -> frozenset[str]:
        return frozenset(norm(n) for n in self.names)

    def has(self, *names: str) -> bool:
        """True when every one of `names` is a column."""
        have = self.normalised
        return all(norm(n) in have for n in names)

    def has_any(self, *names: str) -> bool:
        have = self.normalised
        return any(norm(n) in have for n in names)

    def index(self, name: str) -> int | None:
        """Position of the first column called `name` (compared as `norm` does)."""
        wanted = norm(name)
        return next((i for i, n in enumerate(self.names) if norm(n) == wanted), None)


def read_header(path: Path) -> Header | None:
    """The header row of a CSV file, or None when the file is no readable CSV."""
    if not path.is_file() or path.suffix.lower() not in CSV_SUFFIXES:
        return None
    try:
        with path.open("rb") as fh:
            raw = fh.read(HEADER_BYTES)
    except OSError:
        return None
    if not raw:
        return None
    text, encoding = _decode_head(raw)
    if "\x00" in text:
        return None  # binary
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = _sniff_delimiter(first)
    try:
        row = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    names = tuple(n.replace("\ufeff", "").strip() for n in row)
    if len(names) < 2 or any("\x00" in n for n in names):
        return None
    return Header(path, names, delimiter, encoding)


@dataclass
class RawFile:
    """One export file loaded as text columns into a temp table."""

    path: Path
    table: str
    header: Header
    rows: int
    bad_rows: set[int] = field(default_factory=set)

    def column(self, *aliases: str) -> str | None:
        """The quoted column of the first alias the file has, or None."""
        for alias in aliases:
            index = self.header.index(alias)
            if index is not None:
                return quote(column_names(self.header.names)[index])
        return None

    def require(self, what: str, *aliases: str) -> str:
        col = self.column(*aliases)
        if col is None:
            raise CrmExportError(
                str(self.path),
                f"the {what} column is missing: expected a column named "
                + " or ".join(repr(a) for a in aliases)
                + f"; the file has {', '.join(repr(n) for n in self.header.names[:30])}",
                column=aliases[0],
            )
        return col


def column_names(names: Sequence[str]) -> list[str]:
    """Unique column names for a header row: a repeated or blank header gets a suffix."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        base = name or f"column{i + 1}"
        key = base.lower()
        seen[key] = seen.get(key, 0) + 1
        out.append(base if seen[key] == 1 else f"{base}_{seen[key]}")
    return out


def load(con: duckdb.DuckDBPyConnection, header: Header, prefix: str) -> RawFile:
    """Load one export file as all-text columns into a temp table."""
    table = temp_name(prefix)
    names = ", ".join(literal(n) for n in column_names(header.names))
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT * FROM read_csv({literal(str(header.path))}, "
            f"header = true, all_varchar = true, delim = {literal(header.delimiter)}, "
            f"quote = '\"', escape = '\"', encoding = {literal(header.encoding)}, "
            f"names = [{names}], null_padding = false, strict_mode = true)"
        )
    except duckdb.Error as exc:
        message = str(exc).split("\n\n")[0].strip()
        raise CrmExportError(str(header.path), f"not a readable CSV export: {message}") from None
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return RawFile(header.path, table, header, rows)


# ---------------------------------------------------------------------------------------------
# Values, parsed in SQL


# What the value helpers give for a column the file does not have.
ABSENT = ("NULL", "NULL::VARCHAR", "NULL::DOUBLE", "NULL::TIMESTAMP", "NULL::BOOLEAN")


def text(col: str | None) -> str:
    """A text cell: blank is NULL."""
    return "NULL::VARCHAR" if col is None else f"NULLIF(TRIM({col}), '')"


def first_id(col: str | None) -> str:
    """The first of a ';'-separated list of ids (HubSpot's association columns)."""
    if col is None:
        return "NULL::VARCHAR"
    return f"NULLIF(TRIM(split_part(regexp_replace({col}, '[,]', ';', 'g'), ';', 1)), '')"


_OFFSET_RE = r"\d:\d\d(:\d\d([.,]\d+)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$"
_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y",
            "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M", "%Y/%m/%d")


def timestamp(col: str | None) -> str:
    """A date or date-time cell as a naive UTC TIMESTAMP (NULL when blank or unparseable).

    ISO values with an offset or Z are converted to UTC; values without one are taken as UTC.
    """
    if col is None:
        return "NULL::TIMESTAMP"
    v = f"TRIM({col})"
    formats = ", ".join(literal(f) for f in _FORMATS)
    return (
        f"CASE WHEN NULLIF({v}, '') IS NULL THEN NULL::TIMESTAMP "
        f"WHEN regexp_matches({v}, {literal(_OFFSET_RE)}) "
        f"THEN TRY_CAST({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
        f"ELSE COALESCE(TRY_CAST({v} AS TIMESTAMP), TRY_STRPTIME({v}, [{formats}])) END"
    )


def number(col: str | None) -> str:
    """A money or count cell ('1,250.00', '$ 900', '1200.0') as DOUBLE."""
    if col is None:
        return "NULL::DOUBLE"
    cleaned = f"regexp_replace(TRIM({col}), '[^0-9.eE+-]', '', 'g')"
    return f"CASE WHEN NULLIF(TRIM({col}), '') IS NULL THEN NULL::DOUBLE " \
           f"ELSE TRY_CAST({cleaned} AS DOUBLE) END"


_TRUE = "('true', '1', 'yes', 'y', 't')"
_FALSE = "('false', '0', 'no', 'n', 'f')"


def flag(col: str | None) -> str:
    """A true/false cell as BOOLEAN (NULL when blank or not a flag)."""
    if col is None:
        return "NULL::BOOLEAN"
    v = f"lower(TRIM({col}))"
    return f"CASE WHEN {v} IN {_TRUE} THEN true WHEN {v} IN {_FALSE} THEN false END"


_KINDS = {"timestamp": (timestamp, "a date or date-time (e.g. 2024-03-31 or "
                                   "2024-03-31T14:05:00Z)"),
          "number": (number, "a number"),
          "flag": (flag, "true or false")}


def check(con: duckdb.DuckDBPyConnection, raw: RawFile, kind: str, columns: Iterable[str | None],
          *, skip_bad_rows: bool, skipped: list[str]) -> None:
    """Fail (or, skipping, mark the rows bad) where a non-blank cell does not parse as `kind`."""
    parse, meaning = _KINDS[kind]
    for col in columns:
        if col is None:
            continue
        bad = (f"SELECT rowid, {col} FROM {raw.table} "
               f"WHERE NULLIF(TRIM({col}), '') IS NOT NULL AND ({parse(col)}) IS NULL "
               f"ORDER BY rowid")
        rows = con.execute(bad + ("" if skip_bad_rows else " LIMIT 1")).fetchall()
        name = col.strip('"').replace('""', '"')
        for rowid, value in rows:
            # Rows count from 1 after the header, as a spreadsheet shows them less one.
            error = CrmExportError(str(raw.path), f"is not {meaning}", row=rowid + 1,
                                   column=name, value=value)
            if not skip_bad_rows:
                raise error
            if rowid not in raw.bad_rows:
                raw.bad_rows.add(rowid)
                skipped.append(str(error))


def good_rows(raw: RawFile) -> str:
    """A FROM clause over the file's rows that were not skipped as bad, each with where it
    comes from (`__js_file`, `__js_row`: the file and its data row, counted from 1 after the
    header), which `event_select` carries into the staged events."""
    where = ""
    if raw.bad_rows:
        where = f" WHERE rowid NOT IN ({', '.join(str(r) for r in sorted(raw.bad_rows))})"
    return (f"(SELECT *, {literal(str(raw.path))} AS __js_file, rowid + 1 AS __js_row "
            f"FROM {raw.table}{where})")


# ---------------------------------------------------------------------------------------------
# Staging canonical tables


EVENT_STAGE_COLUMNS = (*schema.EVENT_COLUMN_NAMES, "attributes")
_EVENT_TYPES = {c.name: c.sql_type for c in schema.ALL_EVENT_COLUMNS}


def event_select(
    from_sql: str,
    *,
    ts: str,
    activity: str,
    account_id: str = "NULL",
    contact_id: str = "NULL",
    channel: str = "NULL",
    owner: str = "NULL",
    value: str = "NULL",
    score: str = "NULL",
    text_: str = "NULL",
    source: str = "NULL",
    attributes: dict[str, str] | None = None,
    where: str | None = None,
) -> str:
    """A SELECT giving canonical event columns (plus `attributes` JSON) from `from_sql`."""
    # Attributes a file does not have are left out; json_merge_patch drops the NULL ones.
    attrs = {k: v for k, v in (attributes or {}).items() if v not in ABSENT}
    if attrs:
        pairs = ", ".join(f"{literal(k)}, {v}" for k, v in attrs.items())
        attributes_sql = f"json_merge_patch('{{}}', json_object({pairs}))::VARCHAR"
    else:
        attributes_sql = "NULL"
    values = {
        "account_id": account_id, "contact_id": contact_id, "ts": ts, "activity": activity,
        "channel": channel, "owner": owner, "persona": "NULL", "value": value, "score": score,
        "text": text_, "source": source, "attributes": attributes_sql,
    }
    cols = ", ".join(f"CAST({values[c]} AS {_EVENT_TYPES[c]}) AS {c}"
                     for c in EVENT_STAGE_COLUMNS)
    # Where each event comes from (`good_rows`), for errors that name a file and row.
    cols += f", __js_file AS {ORIGIN_FILE}, __js_row AS {ORIGIN_ROW}"
    return f"SELECT {cols} FROM {from_sql}" + (f" WHERE {where}" if where else "")


def create_events(con: duckdb.DuckDBPyConnection, selects: Sequence[str],
                  prefix: str) -> str | None:
    """Union the event SELECTs into one temp table; events without a time are left out."""
    if not selects:
        return None
    table = temp_name(prefix)
    union = "\nUNION ALL\n".join(selects)
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM ({union}) WHERE ts IS NOT NULL "
                f"AND activity IS NOT NULL")
    return table


def create_table(con: duckdb.DuckDBPyConnection, columns: tuple[schema.Column, ...],
                 selects: Sequence[str], prefix: str, key: str) -> str | None:
    """A temp table of canonical accounts or contacts, one row per `key` (the last one wins)."""
    if not selects:
        return None
    table = temp_name(prefix)
    names = ", ".join(c.name for c in columns)
    union = "\nUNION ALL\n".join(f"SELECT {names} FROM ({s})" for s in selects)
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT {names} FROM ("
        f"SELECT *, row_number() OVER (PARTITION BY {key}) AS __n FROM ({union}) "
        f"WHERE {key} IS NOT NULL) QUALIFY __n = count(*) OVER (PARTITION BY {key})"
    )
    return table


def row_select(from_sql: str, columns: tuple[schema.Column, ...], values: dict[str, str]) -> str:
    """A SELECT giving `columns` (typed) from `from_sql`; absent values are NULL."""
    cols = ", ".join(f"CAST({values.get(c.name, 'NULL')} AS {c.sql_type}) AS {c.name}"
                     for c in columns)
    return f"SELECT {cols} FROM {from_sql}"


def create_domains(con: duckdb.DuckDBPyConnection, accounts_table: str | None,
                   selects: Sequence[str]) -> None:
    """Known web domains of the accounts, as `<accounts table>_domains(domain, account_id)`:
    identity uses them to place contacts whose account id is missing."""
    if accounts_table is None or not selects:
        return
    union = "\nUNION ALL\n".join(selects)
    con.execute(
        f"CREATE TEMP TABLE {accounts_table}_domains AS SELECT DISTINCT domain, account_id FROM ("
        f"SELECT {domain_of('url')} AS domain, account_id FROM ({union})) "
        f"WHERE domain IS NOT NULL AND account_id IS NOT NULL"
    )


def domain_of(col: str) -> str:
    """The bare domain of a URL or host cell ('https://www.Acme.com/x' -> 'acme.com')."""
    return (f"NULLIF(regexp_replace(regexp_replace(lower(TRIM({col})), "
            f"'^[a-z]+://', ''), '^www\\.|[/:?#].*$', '', 'g'), '')")


# ---------------------------------------------------------------------------------------------
# The adapter skeleton


@dataclass
class Parts:
    """The SELECTs an adapter builds from an export, before they become temp tables."""

    events: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # SELECTs of (url, account_id)


class CrmAdapter:
    """Reads one CRM's export files (recognised by their header rows) into staged tables."""

    name: str = ""
    label: str = ""

    def classify(self, header: Header) -> str | None:
        """Which object of this CRM a file holds (`deals`, `Opportunity`...), or None."""
        raise NotImplementedError

    def build(self, con: duckdb.DuckDBPyConnection, files: dict[str, list[RawFile]],
              parts: Parts, *, skip_bad_rows: bool, skipped: list[str]) -> None:
        raise NotImplementedError

    def read(self, con: duckdb.DuckDBPyConnection, paths: Sequence[Path | str], *,
             skip_bad_rows: bool = False) -> Staged:
        """Load the export's files into temp tables of canonical events, accounts and contacts.

        Files this adapter does not recognise are an error: the importer splits mixed sources
        with `journeyscope.events.crm.split_sources` first.
        """
        files: dict[str, list[RawFile]] = {}
        expanded = expand(paths)
        for path in expanded:
            header = read_header(path)
            kind = self.classify(header) if header is not None else None
            if kind is None:
                raise CrmExportError(
                    str(path), f"not a {self.label} export file this adapter knows "
                    f"(see docs/crm.md for the files and their header rows)"
                )
            files.setdefault(kind, []).append(load(con, header, f"{self.name}_{kind.lower()}"))
        skipped: list[str] = []
        parts = Parts()
        self.build(con, files, parts, skip_bad_rows=skip_bad_rows, skipped=skipped)
        events = create_events(con, parts.events, f"{self.name}_events")
        accounts = create_table(con, schema.ACCOUNT_COLUMNS, parts.accounts,
                                f"{self.name}_accounts", "account_id")
        contacts = create_table(con, schema.CONTACT_COLUMNS, parts.contacts,
                                f"{self.name}_contacts", "contact_id")
        create_domains(con, accounts, parts.domains)
        for raws in files.values():
            for raw in raws:
                con.execute(f"DROP TABLE IF EXISTS {raw.table}")
        # `rows` counts what the importer adds: events (a CRM record gives several), or the
        # accounts and contacts of an export without activity.
        rows = _count(con, events) if events else _count(con, accounts) + _count(con, contacts)
        parents = {p.parent for p in expanded}
        where = (f"{parents.pop()}/ ({len(expanded)} files)" if len(parents) == 1
                 else ", ".join(str(p) for p in expanded))
        return Staged(events=events, accounts=accounts, contacts=contacts,
                      source=f"{self.label} export {where}", rows=rows, skipped=skipped,
                      skipped_rows=len(skipped), row_positions=False)


def _count(con: duckdb.DuckDBPyConnection, table: str | None) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table else 0
