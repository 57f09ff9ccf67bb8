"""Importing sources into a workspace: all or nothing.

`import_sources` reads every source into temp tables first (CRM exports through their adapter,
everything else through `journeyscope.events.readers`), so that a broken file stops the import
before the workspace is touched. Then, in one transaction: identity (accounts for events and
contacts that lack one), personas (when a map is given), the event key, duplicates dropped
(within the batch and against the workspace), matching of the new events, insertion, the import
log, commit. Any error rolls the transaction back and leaves the workspace as it was.

The event key is the MD5 of an event's own values (account, contact, time, activity, channel,
owner, value, score, text, attributes; not the file name), so the same event read again, from
the same file or from another export that overlaps it, is recognised and not added twice.
Identical rows within one source are different events that happen to look alike (a log may
record the same step twice in a second): each gets its occurrence number in its key, so a
re-import still recognises every one of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from journeyscope.events import schema
from journeyscope.events.crm import split_sources
from journeyscope.events.errors import SourceError
from journeyscope.events.identity import assign_accounts
from journeyscope.events.personas import assign_personas
from journeyscope.events.readers import detect_format, read_source, sniff_format
from journeyscope.events.readers.mapping import ColumnMapping, MappingFile
from journeyscope.events.staging import Staged, event_key_sql
from journeyscope.events.workspace import Workspace
from journeyscope.model.types import JourneyMap

# progress(step description, amount done, total or None)
Progress = Callable[[str, float, float | None], None]

_EVENT_NAMES = tuple(c.name for c in schema.ALL_EVENT_COLUMNS)


@dataclass
class SourceSummary:
    """One source of an import: what was read and what it added."""

    file: str
    kind: str  # csv, parquet, jsonl, xes, or the CRM's name
    rows: int
    added: int = 0
    duplicates: int = 0
    skipped: int = 0


@dataclass
class ImportSummary:
    """What an import did. `matched` is None when no map was used."""

    sources: list[SourceSummary] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    accounts: int = 0
    contacts: int = 0
    first_ts: dt.datetime | None = None
    last_ts: dt.datetime | None = None
    matched: int | None = None
    skipped: list[str] = field(default_factory=list)
    skipped_rows: int = 0
    notes: list[str] = field(default_factory=list)  # identity and persona reports

    @property
    def matched_share(self) -> float | None:
        if self.matched is None:
            return None
        return self.matched / self.events if self.events else 0.0


@dataclass
class _Read:
    staged: Staged
    summary: SourceSummary
    files: list[Path]


def import_sources(
    workspace: Workspace,
    paths: Sequence[Path | str],
    *,
    journey_map: JourneyMap | None = None,
    mapping: MappingFile | ColumnMapping | None = None,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
    map_origin: str | None = None,
) -> ImportSummary:
    """Import `paths` into `workspace` in one transaction and say what was added.

    `mapping` is one column mapping for every source, or a mapping file whose per-file
    sections pick the mapping by file name. Without `journey_map`, the map stored in the
    workspace by an earlier import (if any) matches the new events.
    """
    con = workspace.con
    report = progress or (lambda *_: None)
    files = _expand(paths)
    checksums = _Checksums(files)
    reads: list[_Read] = []
    try:
        _read_all(con, paths, mapping, reads, skip_bad_rows=skip_bad_rows, report=report)
        matcher = journey_map or workspace.journey_map()
        summary = ImportSummary(matched=0 if matcher is not None else None)
        con.execute("BEGIN TRANSACTION")
        try:
            _in_transaction(workspace, reads, summary, journey_map, matcher, checksums,
                            skip_bad_rows=skip_bad_rows, report=report, map_origin=map_origin)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for read in reads:
            for table in read.staged.tables():
                con.execute(f"DROP TABLE IF EXISTS {table}")
    return summary


# ---------------------------------------------------------------------------------------------
# Reading (before the transaction: a broken file never touches the workspace)


def _read_all(con: duckdb.DuckDBPyConnection, paths: Sequence[Path | str],
              mapping: MappingFile | ColumnMapping | None, reads: list[_Read], *,
              skip_bad_rows: bool, report: Progress) -> None:
    groups, others = _split(paths)
    total = float(sum(_size(f) for _, fs in groups for f in fs) + sum(_size(f) for f in others))
    done = 0.0
    for adapter, group in groups:
        report(f"reading {adapter.label} export", done, total)
        staged = adapter.read(con, group, skip_bad_rows=skip_bad_rows)
        reads.append(_Read(staged, SourceSummary(staged.source, adapter.name, staged.rows,
                                                 skipped=_skipped(staged)), group))
        done += sum(_size(f) for f in group)
    for path in others:
        base, size = done, float(_size(path))

        def tick(n: int, _base: float = base, _size: float = size, _name: str = path.name
                 ) -> None:
            nonlocal done
            done = min(done + n, _base + _size)
            report(f"reading {_name}", done, total)

        report(f"reading {path.name}", done, total)
        staged = read_source(con, path, mapping=_mapping_for(mapping, path),
                             skip_bad_rows=skip_bad_rows, progress=tick)
        kind = detect_format(path) or sniff_format(path)
        reads.append(_Read(staged, SourceSummary(str(path), kind, staged.rows,
                                                 skipped=_skipped(staged)), [path]))
        done = base + size
    report("read", total, total)


def _skipped(staged: Staged) -> int:
    return staged.skipped_rows or len(staged.skipped)


def _split(paths: Sequence[Path | str]) -> tuple[list, list[Path]]:
    """CRM exports (by CRM, for their adapter) and the other sources (for the readers)."""
    groups, others = split_sources(paths)
    return groups, _expand(others)


def _expand(paths: Sequence[Path | str]) -> list[Path]:
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and detect_format(p) is not None))
        else:
            out.append(path)
    return out


def _mapping_for(mapping: MappingFile | ColumnMapping | None, path: Path) -> ColumnMapping | None:
    if isinstance(mapping, MappingFile):
        return mapping.for_file(path)
    return mapping


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Checksums:
    """SHA-256 of each source, computed in a thread while the engine reads (hashlib releases
    the GIL), for the import log."""

    def __init__(self, files: list[Path]) -> None:
        self.values: dict[Path, str | None] = {}
        self._thread = threading.Thread(target=self._run, args=(files,), daemon=True)
        self._thread.start()

    def _run(self, files: list[Path]) -> None:
        for path in files:
            try:
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    while chunk := fh.read(1 << 22):
                        digest.update(chunk)
                self.values[path] = digest.hexdigest()
            except OSError:
                self.values[path] = None

    def get(self, path: Path) -> str | None:
        self._thread.join()
        return self.values.get(path)


# ---------------------------------------------------------------------------------------------
# The transaction


def _in_transaction(
    workspace: Workspace, reads: list[_Read], summary: ImportSummary,
    journey_map: JourneyMap | None, matcher: JourneyMap | None, checksums: _Checksums, *,
    skip_bad_rows: bool, report: Progress, map_origin: str | None,
) -> None:
    con = workspace.con
    report("identifying accounts", 0, None)
    for read in reads:
        _identity(con, read, summary, matcher, skip_bad_rows=skip_bad_rows)
        summary.skipped.extend(read.staged.skipped)
        summary.skipped_rows += read.summary.skipped
    report("checking for duplicates", 0, None)
    events = [r for r in reads if r.staged.events]
    for read in events:
        _prepare_events(con, read.staged.events)
    _drop_duplicates(con, events)
    if matcher is not None:
        report("matching to the map", 0, None)
        from journeyscope.events.matching import apply_matching

        summary.matched = sum(apply_matching(con, matcher, table=r.staged.events)
                              for r in events)
    report("saving", 0, None)
    summary.accounts = _new_accounts(con, reads)
    columns = ", ".join(_EVENT_NAMES)
    spans = []
    for read in events:
        table = read.staged.events
        n, first, last = con.execute(f"SELECT count(*), min(ts), max(ts) FROM {table}"
                                     ).fetchone()
        read.summary.added = int(n)
        spans += [t for t in (first, last) if t is not None]
        con.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM {table}")
    summary.events = sum(r.summary.added for r in events)
    summary.first_ts, summary.last_ts = (min(spans), max(spans)) if spans else (None, None)
    for read in reads:
        _merge_entities(con, read.staged.accounts, "accounts")
        summary.contacts += _merge_entities(con, read.staged.contacts, "contacts")
        summary.duplicates += read.summary.duplicates
        summary.sources.append(read.summary)
    if journey_map is not None:
        workspace.set_journey_map(journey_map, origin=map_origin)
    _log(con, reads, checksums)
    report("done", 1, 1)


def _identity(con: duckdb.DuckDBPyConnection, read: _Read, summary: ImportSummary,
              journey_map: JourneyMap | None, *, skip_bad_rows: bool) -> None:
    staged = read.staged
    summary.notes.extend(assign_accounts(con, staged).lines())
    if journey_map is not None:
        summary.notes.extend(assign_personas(con, staged, journey_map).lines())
    if not staged.events:
        return
    missing, example = con.execute(
        f"SELECT count(*), any_value(coalesce(contact_id, activity)) FROM {staged.events} "
        "WHERE account_id IS NULL").fetchone()
    if not missing:
        return
    reason = (f"{missing} event{'s have' if missing > 1 else ' has'} no account and none could "
              "be found from a contact or an e-mail domain")
    if not skip_bad_rows:
        raise SourceError(staged.source, reason + "; give the account_id column, or import the "
                          "contacts with their accounts", column="account_id", value=example,
                          has_value=True)
    con.execute(f"DELETE FROM {staged.events} WHERE account_id IS NULL")
    staged.skipped.append(f"{staged.source}: column account_id: {reason}")
    read.summary.skipped += int(missing)
    read.summary.rows -= int(missing)


def _prepare_events(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Give a staged events table every column of the workspace's, the event key included
    (readers compute it while reading; other stagings get it here), and make keys unique
    within the source: a repeated identical row gets its occurrence number (``#2``, ``#3``)."""
    have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    for column in schema.ALL_EVENT_COLUMNS:
        if column.name not in have and column.name != "event_key":
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column.name} {column.sql_type}")
    if "event_key" not in have:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (event_key), "
                    f"{event_key_sql()} AS event_key FROM (SELECT *, NULL AS event_key "
                    f"FROM {table})")
    # Counting distinct 64-bit hashes is twice as fast as counting the keys; a collision only
    # sends the table through the exact step below, which then changes nothing.
    repeated = con.execute(f"SELECT count(*) - count(DISTINCT hash(event_key)) FROM {table}"
                           ).fetchone()[0]
    if repeated:
        con.execute(
            f"UPDATE {table} SET event_key = {table}.event_key || '#' || d.n FROM (SELECT rowid "
            f"AS r, row_number() OVER (PARTITION BY event_key ORDER BY rowid) AS n FROM {table}"
            f") AS d WHERE {table}.rowid = d.r AND d.n > 1")


def _drop_duplicates(con: duckdb.DuckDBPyConnection, reads: list[_Read]) -> None:
    """Delete from each staged table the events an earlier source of this import, or the
    workspace, already holds; count them as duplicates of their source."""
    workspace_has_events = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)").fetchone()[0] > 0
    for i, read in enumerate(reads):
        table = read.staged.events
        earlier = [r.staged.events for r in reads[:i]]
        if workspace_has_events:
            earlier.append("events")
        for other in earlier:
            deleted = con.execute(f"DELETE FROM {table} WHERE event_key IN "
                                  f"(SELECT event_key FROM {other})").fetchone()[0]
            read.summary.duplicates += int(deleted)


def _new_accounts(con: duckdb.DuckDBPyConnection, reads: list[_Read]) -> int:
    """Accounts of this import (its events' and its account rows') the workspace lacks."""
    parts = [f"SELECT account_id FROM {r.staged.events}" for r in reads if r.staged.events]
    parts += [f"SELECT account_id FROM {r.staged.accounts}" for r in reads if r.staged.accounts]
    if not parts:
        return 0
    row = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT account_id FROM ({' UNION ALL '.join(parts)}) "
        "WHERE account_id IS NOT NULL) n WHERE NOT EXISTS (SELECT 1 FROM events e WHERE "
        "e.account_id = n.account_id) AND NOT EXISTS (SELECT 1 FROM accounts a WHERE "
        "a.account_id = n.account_id)").fetchone()
    return int(row[0])


def _merge_entities(con: duckdb.DuckDBPyConnection, staged: str | None, table: str) -> int:
    """Add new accounts or contacts and fill in what known ones lack; returns rows added."""
    if not staged:
        return 0
    columns = schema.ACCOUNT_COLUMNS if table == "accounts" else schema.CONTACT_COLUMNS
    key = columns[0].name
    names = [c.name for c in columns]
    sets = ", ".join(f"{c} = coalesce(s.{c}, {table}.{c})" for c in names[1:])
    con.execute(f"UPDATE {table} SET {sets} FROM {staged} s WHERE {table}.{key} = s.{key}")
    added = con.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join('s.' + n for n in names)} "
        f"FROM {staged} s WHERE s.{key} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {table} t WHERE t.{key} = s.{key})").fetchone()[0]
    return int(added)


def _log(con: duckdb.DuckDBPyConnection, reads: list[_Read], checksums: _Checksums) -> None:
    next_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM imports").fetchone()[0]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for read in reads:
        s = read.summary
        digest = ",".join(filter(None, (checksums.get(f) for f in read.files))) or None
        con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [next_id, s.file, s.kind, s.rows, s.added, s.duplicates, s.skipped,
                     digest, now])
