"""From any source relation to canonical staged relations.

A reader describes its source as a DuckDB relation (`Source`: the SQL of a FROM item, its
column names and types, and where known the SQL of each row's position). `stage_source` maps its
columns onto the canonical ones (`ColumnMapping`), converts timestamps and numbers in the engine,
keeps unmapped columns as a JSON `attributes` object, and flags rows that break a rule (no
account, no timestamp or one that does not parse, no activity, a number that is not one).

Sources the engine reads cheaply and in parallel with their positions (`Source.as_view`:
Parquet) are staged as a view: one aggregate pass checks every rule (reading only the columns
the rules need) and counts the events without an account, and the importer later reads the view
once more, straight into the workspace. Other sources are staged by one
``CREATE TEMP TABLE ... AS SELECT`` that flags bad rows as it copies. Either way, only when some
row is bad does a further pass find the rows' positions and reasons: to raise a located
`SourceError`, or, with ``skip_bad_rows``, to report what was skipped.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from journeyscope import hints
from journeyscope.events import schema
from journeyscope.events.errors import SourceError
from journeyscope.events.readers.mapping import ALIASES, ColumnMapping, TableMapping
from journeyscope.events.readers.textfile import GzipCheck
from journeyscope.events.readers.timestamps import (
    TimestampFormat,
    detect_format,
    quote_literal,
    timestamp_sql,
    typed_timestamp_sql,
)
from journeyscope.events.staging import POSITION, Staged

MAX_REPORTED_SKIPS = 20
_NUMERIC = {"value", "score"}
_ACCOUNT_HINTS = ("name", "segment", "industry", "size", "region")
_CONTACT_HINTS = ("email", "title")
_counter = itertools.count(1)


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Join:
    """Columns looked up in another file by a key (a mapping's ``join:``): each source row
    gets the first matching row's `columns`; rows without a match get NULLs."""

    file: str
    right_sql: str  # a FROM item
    on: str
    columns: list[tuple[str, str]]

    def apply(self, left_sql: str) -> str:
        picked = ", ".join(f"any_value({q(n)}) AS {q(n)}" for n, _ in self.columns)
        cols = ", ".join(f"r.{q(n)}" for n, _ in self.columns)
        return (f"(SELECT l.*, {cols} FROM {left_sql} AS l LEFT JOIN (SELECT {q(self.on)}, "
                f"{picked} FROM {self.right_sql} GROUP BY {q(self.on)}) AS r "
                f"ON l.{q(self.on)} = r.{q(self.on)})")


@dataclass
class Source:
    """One source as a relation: `from_sql` is a FROM item, `columns` its (name, DuckDB type)
    in order. `position_sql`, when given, is an expression over `from_sql` giving each row's
    position (``line`` or ``row`` per `position_label`); when None, a second pass numbers the
    rows in reading order. `attribute_types` gives a DuckDB type for attributes kept as JSON
    (XES knows its values' types; text sources do not)."""

    file: str
    from_sql: str
    columns: list[tuple[str, str]]
    position_sql: str | None = None
    position_label: str = "row"
    attribute_types: dict[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()  # helper columns that are not data (e.g. an XES line number)
    join: Join | None = None
    # Stage as a view over the source rather than a copy (needs `position_sql`).
    as_view: bool = False

    @property
    def relation(self) -> str:
        """The FROM item of the source's rows, with joined columns when there is a join."""
        return self.join.apply(self.from_sql) if self.join else self.from_sql

    @property
    def all_columns(self) -> list[tuple[str, str]]:
        return self.columns + (self.join.columns if self.join else [])

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.all_columns if n not in self.hidden]

    def type_of(self, name: str) -> str:
        return dict(self.all_columns)[name]


@dataclass
class _Check:
    column: str
    bad_sql: str  # true when the row breaks the rule
    reason: str
    value_sql: str | None  # the offending source value, when there is one


def stage_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    mapping: ColumnMapping | None = None,
    *,
    skip_bad_rows: bool = False,
    source_name: str | None = None,
) -> Staged:
    """Load `source` into canonical temp tables and return their names."""
    mapping = mapping or ColumnMapping()
    if source.join is not None:
        _check_join(source, source.join)
    _check_mapped_columns_exist(source, mapping)
    n = next(_counter)
    tables = _decide_tables(source, mapping)
    staged = Staged(events=None, accounts=None, contacts=None,
                    source=source_name or source.file, rows=0)
    used: set[str] = set()
    if "events" in tables:
        staged.events = f"_js_stage_{n}_events"
        staged.events_view = source.as_view and source.position_sql is not None
        settled = _stage_events(con, source, mapping, staged.events, used,
                                skip_bad_rows=skip_bad_rows, source_name=staged.source,
                                as_view=staged.events_view)
        staged.rows, staged.skipped, staged.skipped_rows = settled.rows, settled.skipped, \
            settled.bad
        staged.missing_accounts = settled.missing_accounts
    for table in ("accounts", "contacts"):
        if table in tables:
            name = f"_js_stage_{n}_{table}"
            settled = _stage_entities(con, source, mapping, table, name,
                                      skip_bad_rows=skip_bad_rows)
            setattr(staged, table, name)
            staged.skipped.extend(settled.skipped)
            staged.skipped_rows = max(staged.skipped_rows, settled.bad)
            if staged.events is None:
                staged.rows += settled.rows
    return staged


def stage_checked(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    mapping: ColumnMapping | None,
    *,
    check: GzipCheck,
    located: Callable[[duckdb.Error], SourceError],
    skip_bad_rows: bool = False,
    source_name: str | None = None,
) -> Staged:
    """`stage_source` of a text file whose gzip stream `check` verifies as the engine reads it
    (DuckDB checks no CRC). The stream's damage, if any, is the error: corrupt data reads as
    garbage and explains whatever else went wrong. Otherwise an engine error is `located`."""
    try:
        staged = stage_source(con, source, mapping, skip_bad_rows=skip_bad_rows,
                              source_name=source_name)
    except (duckdb.Error, SourceError) as exc:
        if (problem := check.problem()) is not None:
            raise problem from None
        if isinstance(exc, SourceError):
            raise
        raise located(exc) from None
    if (problem := check.problem()) is not None:
        staged.drop(con)
        raise problem
    return staged


# ---------------------------------------------------------------------------------------------
# What the source holds


def _check_join(source: Source, join: Join) -> None:
    own = [n for n, _ in source.columns]
    if join.on not in own:
        raise SourceError(source.file, f"the mapping joins {join.file} on {join.on!r}, which is "
                          f"not a column of this file; its columns are: {', '.join(own)}",
                          column=join.on)
    clash = [n for n, _ in join.columns if n in own]
    if clash:
        raise SourceError(source.file, f"the join with {join.file} would add columns this file "
                          f"already has ({', '.join(clash)}); list the join's columns",
                          column=clash[0])


def _check_mapped_columns_exist(source: Source, mapping: ColumnMapping) -> None:
    for table in ("events", "accounts", "contacts"):
        tm = mapping.table(table)
        if not tm:
            continue
        for canonical, column in tm.columns.items():
            if column not in source.names:
                close = difflib.get_close_matches(column, source.names, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise SourceError(
                    source.file, f"the mapping takes {table}.{canonical} from column "
                    f"{column!r}, which is not in the file; {hint}the file's columns are: "
                    f"{', '.join(source.names)}", column=column)


def _decide_tables(source: Source, mapping: ColumnMapping) -> list[str]:
    names = source.names
    out = []
    if mapping.accounts:
        out.append("accounts")
    if mapping.contacts:
        out.append("contacts")
    has = {c: _feeds(mapping, c, names, "events") for c in schema.EVENT_COLUMN_NAMES}
    if mapping.events or has["ts"] or has["activity"] or not out:
        looks_like_entities = not has["ts"] and not has["activity"] and not mapping.events
        if looks_like_entities and not out:
            lower = {x.lower() for x in names}
            if "contact_id" in lower and any(h in lower for h in _CONTACT_HINTS):
                return ["contacts"]
            if "account_id" in lower and any(h in lower for h in _ACCOUNT_HINTS):
                return ["accounts"]
        for required in ("ts", "activity"):
            if not has[required]:
                _missing(source, required)
        if not (has["account_id"] or has["contact_id"]):
            _missing(source, "account_id")
        out.insert(0, "events")
    return out


def _feeds(mapping: ColumnMapping, canonical: str, names: list[str], table: str) -> bool:
    tm = mapping.table(table)
    if tm is not None and canonical in tm.constants:
        return True
    return mapping.source_column(canonical, names, table=table) is not None


def _missing(source: Source, canonical: str) -> None:
    aliases = [a for a in ALIASES.get(canonical, (canonical,)) if a != canonical]
    alias_text = f" (nor {', '.join(repr(a) for a in aliases)})" if aliases else ""
    raise SourceError(
        source.file, f"the required column is missing: no column {canonical!r}{alias_text} in "
        f"the file and none mapped to it; the file's columns are: {', '.join(source.names)}; "
        f"{hints.MAP_COLUMN(column=canonical)}", column=canonical)


# ---------------------------------------------------------------------------------------------
# Events


def _stage_events(
    con: duckdb.DuckDBPyConnection, source: Source, mapping: ColumnMapping, table: str,
    used: set[str], *, skip_bad_rows: bool, source_name: str, as_view: bool,
) -> _Settled:
    tm = mapping.events
    names = source.names
    timezone = mapping.timezone or "UTC"
    exprs: dict[str, str] = {}
    checks: list[_Check] = []
    texts: dict[str, str] = {}  # text columns read from a source column: their raw text
    for col in schema.EVENT_COLUMNS:
        src = mapping.source_column(col.name, names, table="events")
        if src is not None:
            used.add(src)
        exprs[col.name] = _column_expr(con, source, col.name, src, tm, timezone, mapping,
                                       checks)
        if src is not None and exprs[col.name] == given_text(f"CAST(src.{q(src)} AS VARCHAR)"):
            texts[col.name] = f"CAST(src.{q(src)} AS VARCHAR)"
    if "source" not in tm.constants and mapping.source_column("source", names) is None:
        exprs["source"] = quote_literal(source_name)
    # Derived columns (a journeyscope export read back) are recomputed, not kept; a source's
    # own `attributes` JSON is merged with its other unmapped columns.
    derived = {c.name for c in schema.DERIVED_EVENT_COLUMNS}
    derived |= {n for n in names if n.startswith("journeyscope:")}
    rest = sorted(n for n in names if n not in used and n not in derived)
    exprs["attributes"] = _attributes_expr(source, rest, own="attributes" in names)
    checks[:0] = _required_checks(source, exprs, mapping, names)
    bad = " OR ".join(f"({c.bad_sql})" for c in checks) or "false"
    if as_view:
        return _stage_view(con, source, table, exprs, texts, bad, checks,
                           skip_bad_rows=skip_bad_rows)
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT {_select(source, exprs)},\n  "
                f"({bad}) AS _js_bad\nFROM {source.relation} AS src")
    return _settle(con, source, table, checks, skip_bad_rows=skip_bad_rows,
                   account="account_id")


def _select(source: Source, exprs: dict[str, str]) -> str:
    select = ",\n  ".join(f"{e} AS {q(c)}" for c, e in exprs.items())
    if source.position_sql is not None:
        select += f",\n  {source.position_sql} AS {POSITION}"
    return select


def _stage_view(con: duckdb.DuckDBPyConnection, source: Source, view: str,
                exprs: dict[str, str], texts: dict[str, str], bad: str, checks: list[_Check],
                *, skip_bad_rows: bool) -> _Settled:
    """The events as a view over the source, after one aggregate pass that checks every rule,
    counts the events without an account and tells which text columns hold a value to trim or
    blank out: the others are read as they are (bad rows left out when skipping)."""
    needs = [f"bool_or({t} = '' OR prefix({t}, ' ') OR suffix({t}, ' '))" for t in texts.values()]
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (b), count(*) FILTER (NOT b AND a)"
        f"{''.join(', ' + n for n in needs)} FROM (SELECT *, ({bad}) AS b, "
        f"{exprs['account_id']} IS NULL AS a FROM {source.relation} AS src) AS src").fetchone()
    total, bad_rows, missing = (int(v) for v in row[:3])
    skipped = _handle_bad(con, source, checks, bad_rows, skip_bad_rows=skip_bad_rows)
    exprs = dict(exprs)
    for (column, text), needed in zip(texts.items(), row[3:], strict=True):
        if not needed:
            exprs[column] = text
    keep = f"\nWHERE NOT ({bad})" if bad_rows else ""
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT {_select(source, exprs)}\n"
                f"FROM {source.relation} AS src{keep}")
    return _Settled(total - bad_rows, skipped, bad_rows, missing)


def _column_expr(
    con: duckdb.DuckDBPyConnection, source: Source, canonical: str, src: str | None,
    tm: TableMapping, timezone: str, mapping: ColumnMapping, checks: list[_Check],
) -> str:
    sql_type = {c.name: c.sql_type for c in schema.ALL_EVENT_COLUMNS}.get(canonical, "VARCHAR")
    if canonical in tm.constants:
        raw = quote_literal(tm.constants[canonical])
    elif src is not None:
        raw = f"src.{q(src)}"
    else:
        return f"NULL::{sql_type}"
    if canonical == "ts":
        typed = typed_timestamp_sql(raw, source.type_of(src) if src else "VARCHAR",
                                    timezone=timezone)
        if typed is not None:
            return typed
        text = f"CAST({raw} AS VARCHAR)"
        fmt = _detect(con, source, text, src, mapping)
        expr = timestamp_sql(text, fmt, timezone=timezone)
        checks.append(_Check(
            "ts", f"{raw} IS NOT NULL AND {expr} IS NULL",
            f"is not a timestamp in {fmt.described}", text))
        return expr
    if canonical in _NUMERIC:
        expr = f"TRY_CAST({raw} AS DOUBLE)"
        checks.append(_Check(canonical, f"{raw} IS NOT NULL AND {expr} IS NULL",
                             "is not a number", f"CAST({raw} AS VARCHAR)"))
        return expr
    # Text: empty or blank strings mean 'not given', as they do in CSV exports.
    return given_text(f"CAST({raw} AS VARCHAR)")


def given_text(text: str) -> str:
    """SQL: the text without surrounding spaces, NULL when empty or blank. Only values that
    start or end with a space are trimmed (DuckDB's trim removes spaces alone): telling is
    cheaper than trimming every value.

    >>> given_text("x").startswith("CASE WHEN x = '' OR prefix(x, ' ')")
    True
    """
    return (f"CASE WHEN {text} = '' OR prefix({text}, ' ') OR suffix({text}, ' ') "
            f"THEN NULLIF(trim({text}), '') ELSE {text} END")


def _detect(con: duckdb.DuckDBPyConnection, source: Source, text: str, src: str | None,
            mapping: ColumnMapping) -> TimestampFormat:
    sample = [r[0] for r in con.execute(
        f"SELECT DISTINCT v FROM (SELECT {text} AS v FROM {source.relation} AS src "
        f"WHERE v IS NOT NULL LIMIT 20000) LIMIT 2000").fetchall()]
    return detect_format(con, sample, file=source.file, column=f"ts (from {src!r})"
                         if src and src != "ts" else "ts", explicit=mapping.timestamp_format)


def _required_checks(source: Source, exprs: dict[str, str], mapping: ColumnMapping,
                     names: list[str]) -> list[_Check]:
    def raw_of(canonical: str) -> str | None:
        src = mapping.source_column(canonical, names)
        return f"CAST(src.{q(src)} AS VARCHAR)" if src else None

    out = [_Check(
        "account_id", f"{exprs['account_id']} IS NULL AND {exprs['contact_id']} IS NULL",
        "is empty: every event needs an account (or a contact to find it by)", None)]
    out.append(_Check("ts", f"{exprs['ts']} IS NULL AND ({raw_of('ts') or 'NULL'}) IS NULL",
                      "is empty: every event needs a timestamp", None))
    out.append(_Check("activity", f"{exprs['activity']} IS NULL",
                      "is empty: every event needs an activity", None))
    return out


def _attributes_expr(source: Source, columns: list[str], *, own: bool = False) -> str:
    """A JSON object of `columns` (keys sorted, so that the event key does not depend on the
    order of a source's columns), merged into the source's own `attributes` when `own`."""
    own_sql = "NULLIF(trim(CAST(src.attributes AS VARCHAR)), '')"
    if not columns:
        return own_sql if own else "NULL::VARCHAR"
    parts = []
    for name in columns:
        raw = f"src.{q(name)}"
        wanted = source.attribute_types.get(name)
        value = f"TRY_CAST({raw} AS {wanted})" if wanted else raw
        key = quote_literal(json.dumps(name) + ":")
        # concat_ws skips NULLs, so absent attributes leave no trace in the JSON object.
        parts.append(f"CASE WHEN {value} IS NOT NULL THEN {key} || CAST(to_json({value}) AS "
                     f"VARCHAR) END")
    body = f"concat_ws(',', {', '.join(parts)})"
    built = f"CASE WHEN {body} = '' THEN NULL ELSE '{{' || {body} || '}}' END"
    if own:
        return (f"CASE WHEN {own_sql} IS NULL THEN {built} WHEN {built} IS NULL THEN {own_sql} "
                f"ELSE CAST(json_merge_patch({own_sql}, {built}) AS VARCHAR) END")
    return built


# ---------------------------------------------------------------------------------------------
# Accounts and contacts


def _stage_entities(
    con: duckdb.DuckDBPyConnection, source: Source, mapping: ColumnMapping, table: str,
    name: str, *, skip_bad_rows: bool,
) -> _Settled:
    columns = schema.ACCOUNT_COLUMNS if table == "accounts" else schema.CONTACT_COLUMNS
    key = columns[0].name
    tm = mapping.table(table) or TableMapping()
    exprs: dict[str, str] = {}
    checks: list[_Check] = []
    for col in columns:
        if col.name in tm.constants:
            raw = quote_literal(tm.constants[col.name])
        else:
            src = mapping.source_column(col.name, source.names, table=table)
            if src is None:
                if col.required:
                    _missing(source, col.name)
                exprs[col.name] = f"NULL::{col.sql_type}"
                continue
            raw = f"src.{q(src)}"
        if col.sql_type == "DOUBLE":
            exprs[col.name] = f"TRY_CAST({raw} AS DOUBLE)"
            checks.append(_Check(col.name, f"{raw} IS NOT NULL AND {exprs[col.name]} IS NULL",
                                 "is not a number", f"CAST({raw} AS VARCHAR)"))
        else:
            exprs[col.name] = given_text(f"CAST({raw} AS VARCHAR)")
    article = "an" if key[0] in "aeiou" else "a"
    checks.insert(0, _Check(key, f"{exprs[key]} IS NULL",
                            f"is empty: every row of {table} needs {article} {key}", None))
    select = ", ".join(f"{e} AS {q(c)}" for c, e in exprs.items())
    bad = " OR ".join(f"({c.bad_sql})" for c in checks)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT {select}, ({bad}) AS _js_bad "
                f"FROM {source.relation} AS src")
    settled = _settle(con, source, name, checks, skip_bad_rows=skip_bad_rows)
    # One row per key: a later row of the same account or contact fills what earlier ones lack.
    # Exports hold each once as a rule; counting the distinct keys is cheaper than grouping.
    rows, keys = con.execute(f"SELECT count(*), count(DISTINCT {q(key)}) FROM {name}").fetchone()
    if rows != keys:
        others = ", ".join(f"max({q(c.name)}) AS {q(c.name)}" for c in columns[1:])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {q(key)}, {others} "
                    f"FROM {name} GROUP BY {q(key)}")
    return settled


# ---------------------------------------------------------------------------------------------
# Bad rows


@dataclass
class _Settled:
    """A staged relation's good rows, the skipped ones (reported, and counted) and the events
    among the good rows without an account (None: not counted)."""

    rows: int
    skipped: list[str]
    bad: int
    missing_accounts: int | None = None


def _settle(con: duckdb.DuckDBPyConnection, source: Source, table: str, checks: list[_Check],
            *, skip_bad_rows: bool, account: str | None = None) -> _Settled:
    """Count rows; raise on bad rows, or drop and report them with ``skip_bad_rows``. The
    `_js_bad` flag stays (dropping a column would copy the table): readers of the table
    ignore it, and a deleted row keeps the `rowid`s of the others, which are positions."""
    missing_sql = f"count(*) FILTER (NOT _js_bad AND {account} IS NULL)" if account else "NULL"
    total, bad, missing = con.execute(
        f"SELECT count(*), count(*) FILTER (_js_bad), {missing_sql} FROM {table}").fetchone()
    skipped = _handle_bad(con, source, checks, int(bad), skip_bad_rows=skip_bad_rows)
    if bad:
        con.execute(f"DELETE FROM {table} WHERE _js_bad")
    return _Settled(int(total) - int(bad), skipped, int(bad),
                    None if missing is None else int(missing))


def _handle_bad(con: duckdb.DuckDBPyConnection, source: Source, checks: list[_Check], bad: int,
                *, skip_bad_rows: bool) -> list[str]:
    """Nothing when no row is bad; else raise the first bad row, located, or (skipping)
    the located reasons of the first few and a count of the rest."""
    if not bad:
        return []
    located = _locate_bad_rows(con, source, checks, limit=1 if not skip_bad_rows
                               else MAX_REPORTED_SKIPS)
    if not skip_bad_rows:
        first = located[0]
        if bad > 1:
            first.reason += (f" ({bad - 1} more bad row{'s' if bad > 2 else ''} after it; "
                             f"{hints.SKIP_BAD_ROWS()})")
            first.args = (first._render(),)
        raise first
    skipped = [str(e) for e in located]
    if bad > len(located):
        skipped.append(f"{source.file}: and {bad - len(located)} more bad rows skipped")
    return skipped


def _locate_bad_rows(con: duckdb.DuckDBPyConnection, source: Source, checks: list[_Check],
                     *, limit: int) -> list[SourceError]:
    numbered: str | None = None
    if source.position_sql is not None:
        from_sql, position = source.relation, source.position_sql
    else:
        numbered = f"_js_numbered_{next(_counter)}"
        from_sql, position = _numbered(con, source, numbered), "src._js_pos"
    try:
        return _bad_rows(con, source, checks, from_sql, position, limit=limit)
    finally:
        if numbered:
            con.execute(f"DROP TABLE IF EXISTS {numbered}")


def _bad_rows(con: duckdb.DuckDBPyConnection, source: Source, checks: list[_Check],
              from_sql: str, position: str, *, limit: int) -> list[SourceError]:
    bad = " OR ".join(f"({c.bad_sql})" for c in checks)
    cases = " ".join(f"WHEN {c.bad_sql} THEN {i}" for i, c in enumerate(checks))
    values = ", ".join(c.value_sql or "NULL::VARCHAR" for c in checks)
    rows = con.execute(
        f"SELECT {position} AS pos, CASE {cases} END AS which, [{values}] AS vals "
        f"FROM {from_sql} AS src WHERE {bad} ORDER BY pos LIMIT {limit}").fetchall()
    out = []
    for pos, which, vals in rows:
        check = checks[which]
        where = {source.position_label: int(pos)}
        out.append(SourceError(source.file, check.reason, column=check.column, value=vals[which],
                               has_value=check.value_sql is not None, **where))
    return out


def _numbered(con: duckdb.DuckDBPyConnection, source: Source, name: str) -> str:
    """The source again, with each row's position in reading order (the slow path only): the
    rows are stored in order in temp table `name` first, then joined."""
    previous = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {source.from_sql}")
    finally:
        con.execute(f"SET preserve_insertion_order = {str(bool(previous)).lower()}")
    numbered = f"(SELECT *, rowid + 1 AS _js_pos FROM {name})"
    return source.join.apply(numbered) if source.join else numbered
