"""Importing sources into a workspace: all or nothing.

`import_sources` reads and checks every source first (CRM exports through their adapter,
everything else through `journeyscope.events.readers`), so that a broken file stops the import
before the workspace is touched. Then, in one transaction: identity and personas of the
contacts, which are merged into the workspace first so that events find them; then, source by
source, identity of the events that lack an account (only when some do), and one insert that
reads the source once more and gives every event its persona, event key, import order and
touchpoint (`journeyscope.events.saving`); repeated identical events numbered and events the
workspace held already dropped, among the new rows only; new accounts; the import log; commit.
Any error rolls the transaction back and leaves the workspace as it was.

The event key is a 63-bit hash of an event's own values (account, contact, time, activity,
channel, owner, value, score, text, attributes; not the file name), so the same event read
again, from the same file or from another export that overlaps it, is recognised (same key,
same values) and not added twice. Identical rows within one source are different events that
happen to look alike (a log may record the same step twice in a second): each gets its
occurrence number in its key, so a re-import still recognises every one of them.

Events without an account whose contact is at a free-mail address cannot be attributed to any
account: they are left out, and the summary says how many and of how many contacts. Any other
event without an account stops the import with a located error (or is skipped with
``skip_bad_rows``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from journeyscope import hints
from journeyscope.events import schema
from journeyscope.events.crm import split_sources
from journeyscope.events.errors import SourceError
from journeyscope.events.identity import assign_accounts, counted, drop_free_mail_events
from journeyscope.events.personas import assign_personas
from journeyscope.events.readers import detect_format, read_source, sniff_format
from journeyscope.events.readers.canonical import MAX_REPORTED_SKIPS
from journeyscope.events.readers.mapping import ColumnMapping, MappingFile
from journeyscope.events.saving import (
    columns_of,
    last_seq,
    persona_lookup,
    position_sql,
    save_events,
)
from journeyscope.events.staging import ORIGIN_FILE, ORIGIN_ROW, POSITION, Staged, event_key_sql
from journeyscope.events.workspace import Workspace
from journeyscope.model.types import JourneyMap

# progress(step description, amount done, total or None)
Progress = Callable[[str, float, float | None], None]



@dataclass
class SourceSummary:
    """One source of an import: what was read and what it added."""

    file: str
    kind: str  # csv, parquet, jsonl, xes, or the CRM's name
    rows: int
    added: int = 0
    duplicates: int = 0  # rows the workspace had already
    skipped: int = 0
    free_mail: int = 0  # events left out: no account, contact at a free-mail address
    # What `added` and `duplicates` count: "events", or for a source without events the
    # "accounts" or "contacts" (or "accounts and contacts") its rows went to.
    table: str = "events"


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
    free_mail_events: int = 0  # left out: no account, contact at a free-mail address
    free_mail_contacts: int = 0
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
        summary = ImportSummary(matched=0 if matcher is not None else None,
                                notes=[n for r in reads for n in r.staged.notes])
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
            read.staged.drop(con)
        con.execute("DROP TABLE IF EXISTS js_contact_personas")
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
        reads.append(_Read(staged, SourceSummary(staged.source, adapter.name,
                                                 staged.rows + _skipped(staged),
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
        reads.append(_Read(staged, SourceSummary(str(path), kind, staged.rows + _skipped(staged),
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
    if workspace.check_keys():
        summary.notes.append("the workspace's event keys were computed again: they were made by "
                             "a DuckDB whose hash function differs from this one's")
    start = last_seq(con)
    for read in reads:
        _contacts(con, read, summary, matcher)
    contacts_added: dict[int, int] = {}
    for i, read in enumerate(reads):
        # Events look their contacts up in the workspace: this import's are merged first.
        contacts_added[i] = _merge_entities(con, read.staged.contacts, "contacts")
        summary.contacts += contacts_added[i]
    personas = persona_lookup(con) if matcher is not None else None
    base = start
    events = [r for r in reads if r.staged.events]
    for i, read in enumerate(events):
        report("identifying accounts", i, len(events))
        _place_events(con, read, summary, skip_bad_rows=skip_bad_rows)
        report("saving", i, len(events))
        saved = save_events(con, read.staged, base=base, journey_map=matcher,
                            personas=personas, known_events=base > 0)
        read.summary.added, read.summary.duplicates = saved.added, saved.duplicates
        summary.events += saved.added
        if matcher is not None:
            summary.matched = (summary.matched or 0) + saved.matched
        spans = [t for t in (saved.first_ts, saved.last_ts, summary.first_ts, summary.last_ts)
                 if t is not None]
        summary.first_ts, summary.last_ts = (min(spans), max(spans)) if spans else (None, None)
        base = max(base, saved.top)
    report("saving accounts", 0, None)
    summary.accounts = _new_accounts(con, reads, start)
    for i, read in enumerate(reads):
        summary.skipped.extend(read.staged.skipped)
        summary.skipped_rows += read.summary.skipped
        accounts_added = _merge_entities(con, read.staged.accounts, "accounts")
        if not read.staged.events:
            _count_entities(read, accounts_added, contacts_added[i])
        summary.duplicates += read.summary.duplicates
        summary.sources.append(read.summary)
    if summary.free_mail_events:
        summary.notes.append(
            f"{counted(summary.free_mail_events, 'event')} of "
            f"{counted(summary.free_mail_contacts, 'contact')} at free-mail domains have no "
            "account and were not imported; give them an account id to keep them")
    if journey_map is not None:
        workspace.set_journey_map(journey_map, origin=map_origin)
    _log(con, reads, checksums)
    report("done", 1, 1)


def _contacts(con: duckdb.DuckDBPyConnection, read: _Read, summary: ImportSummary,
              journey_map: JourneyMap | None) -> None:
    """Identity and personas of a source's contacts (its events come later)."""
    staged = read.staged
    if not staged.contacts:
        return
    only = replace(staged, events=None)
    summary.notes.extend(assign_accounts(con, only).lines())
    staged.accounts = only.accounts  # accounts formed from e-mail domains
    if journey_map is not None:
        summary.notes.extend(assign_personas(con, only, journey_map).lines())


def _count_entities(read: _Read, accounts: int, contacts: int) -> None:
    """For a source without events: what its rows added to accounts and contacts, the rest
    being rows of accounts or contacts the workspace knew (or repeated in the source)."""
    staged, summary = read.staged, read.summary
    tables = [t for t, name in (("accounts", staged.accounts), ("contacts", staged.contacts))
              if name]
    summary.table = " and ".join(tables) or "events"
    summary.added = accounts + contacts
    if len(tables) == 1:
        summary.duplicates = max(summary.rows - summary.skipped - summary.added, 0)


def _place_events(con: duckdb.DuckDBPyConnection, read: _Read, summary: ImportSummary, *,
                  skip_bad_rows: bool) -> None:
    """Accounts for the source's events that lack one, by their contact or its e-mail domain
    (`identity.assign_accounts`): only when some do, on a temp table of the events whose
    keys are taken first, from the values the source gives. Then events at free-mail
    addresses are left out and any other event without an account is an error (or skipped)."""
    staged = read.staged
    assert staged.events is not None
    missing = staged.missing_accounts
    if missing is None:
        missing = con.execute(f"SELECT count(*) FROM {staged.events} WHERE account_id IS NULL"
                              ).fetchone()[0]
    if not missing:
        return
    _materialise(con, staged)
    only = replace(staged, contacts=None)
    report = assign_accounts(con, only)
    staged.accounts = only.accounts
    # Events the identity report counts as without an account are dropped or fail below.
    report.unassigned = [u for u in report.unassigned if u[0] != "events"]
    summary.notes.extend(report.lines())
    events, contacts = drop_free_mail_events(con, staged.events)
    read.summary.free_mail += events
    summary.free_mail_events += events
    summary.free_mail_contacts += contacts
    unplaced = _unplaced(con, read, limit=MAX_REPORTED_SKIPS if skip_bad_rows else 1)
    if not unplaced:
        return
    left = unplaced[0][0]
    if not skip_bad_rows:
        first = _unplaced_error(*unplaced[0][1:], file=read.summary.file)
        if left > 1:
            first.reason += (f" ({left - 1} more event{'s' if left > 2 else ''} without an "
                             f"account after it; {hints.SKIP_BAD_ROWS()})")
        first.reason += "; give the account_id column, or import the contacts with their accounts"
        first.args = (first._render(),)
        raise first
    con.execute(f"DELETE FROM {staged.events} WHERE account_id IS NULL")
    staged.skipped.extend(str(_unplaced_error(*u[1:], file=read.summary.file)) for u in unplaced)
    if left > len(unplaced):
        staged.skipped.append(f"{read.summary.file}: and {left - len(unplaced)} more events "
                              "without an account skipped")
    read.summary.skipped += left


def _unplaced(con: duckdb.DuckDBPyConnection, read: _Read, *, limit: int) -> list[tuple]:
    """The first `limit` staged events without an account, in source order: (how many there
    are, file, row, contact). The file and row are those each event records when the source
    has several files (a CRM export), else the source's own row, when it numbers its rows."""
    staged = read.staged
    columns = columns_of(con, staged.events)
    if ORIGIN_FILE in columns:
        file, row = ORIGIN_FILE, ORIGIN_ROW
    else:
        file = "NULL::VARCHAR"
        row = position_sql(columns) if staged.row_positions else "NULL::BIGINT"
    order = position_sql(columns)
    return con.execute(
        f"SELECT count(*) OVER (), {file}, {row}, contact_id FROM {staged.events} "
        f"WHERE account_id IS NULL ORDER BY {file}, {order} LIMIT {int(limit)}").fetchall()


def _unplaced_error(origin: str | None, row: int | None, contact: str | None, *,
                    file: str) -> SourceError:
    """The located error of one event without an account."""
    found = (f"its contact {contact!r} has none and none could be found from an e-mail "
             "domain" if contact is not None else "it names no contact to find one by")
    return SourceError(origin or file, f"the event has no account: {found}", row=row,
                       column="account_id", value=None, has_value=True)


def _materialise(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Make the staged events a temp table that identity can update, with each row's event
    key and position (both from the source's own values and order)."""
    columns = columns_of(con, staged.events)
    extra = [] if "event_key" in columns else [f"{event_key_sql()} AS event_key"]
    if POSITION not in columns:
        extra.append(f"{position_sql(columns)} AS {POSITION}")
    if not extra and not staged.events_view:
        return
    select = f"SELECT *{''.join(', ' + e for e in extra)} FROM {staged.events}"
    if staged.events_view:
        table = staged.events + "_placed"
        con.execute(f"CREATE TEMP TABLE {table} AS {select}")
        con.execute(f"DROP VIEW {staged.events}")
        staged.events, staged.events_view = table, False
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged.events} AS {select}")


def _new_accounts(con: duckdb.DuckDBPyConnection, reads: list[_Read], start: int) -> int:
    """Accounts of this import (its events', after `seq` `start`, and its account rows') that
    the workspace lacked: neither older events nor the accounts table (not yet merged) have
    them."""
    parts = [f"SELECT account_id FROM events WHERE seq > {int(start)}"]
    parts += [f"SELECT account_id FROM {r.staged.accounts}" for r in reads if r.staged.accounts]
    older = (f" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq <= {int(start)} AND "
             "e.account_id = n.account_id)") if start > 0 else ""
    row = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT account_id FROM ({' UNION ALL '.join(parts)}) "
        "WHERE account_id IS NOT NULL) n WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE "
        f"a.account_id = n.account_id){older}").fetchone()
    return int(row[0])


def _merge_entities(con: duckdb.DuckDBPyConnection, staged: str | None, table: str) -> int:
    """Add new accounts or contacts and fill in what known ones lack; returns rows added."""
    if not staged:
        return 0
    columns = schema.ACCOUNT_COLUMNS if table == "accounts" else schema.CONTACT_COLUMNS
    key = columns[0].name
    names = [c.name for c in columns]
    select = (f"SELECT {', '.join('s.' + n for n in names)} FROM {staged} s "
              f"WHERE s.{key} IS NOT NULL")
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0]:
        # An empty table (a first import) has nothing to fill in or to skip.
        return int(con.execute(f"INSERT INTO {table} ({', '.join(names)}) {select}"
                               ).fetchone()[0])
    sets = ", ".join(f"{c} = coalesce(s.{c}, {table}.{c})" for c in names[1:])
    con.execute(f"UPDATE {table} SET {sets} FROM {staged} s WHERE {table}.{key} = s.{key}")
    added = con.execute(
        f"INSERT INTO {table} ({', '.join(names)}) {select} AND NOT EXISTS "
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
