"""The workspace: one DuckDB file holding the canonical tables an analysis reads.

Tables: ``events`` (`schema.ALL_EVENT_COLUMNS`), ``accounts``, ``contacts``, ``imports`` (one
row per imported source: file, rows, checksum, time) and ``meta`` (format version, and the map
used for matching, so that a later import matches the same way).

The connection runs with ``TimeZone = 'UTC'`` (readers rely on it), a memory limit
(JOURNEYSCOPE_MEMORY_LIMIT) and a spill folder next to the file.

>>> import tempfile, pathlib
>>> with Workspace.create(pathlib.Path(tempfile.mkdtemp()) / "w.duckdb") as ws:
...     ws.info().events
0
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from journeyscope import settings
from journeyscope.events import schema
from journeyscope.events.errors import WorkspaceError
from journeyscope.events.saving import rekey
from journeyscope.events.staging import key_probe_sql
from journeyscope.model.types import JourneyMap

# 2: event keys are numbers (HUGEINT, from MD5) and events carry their import order (`seq`).
# 3: event keys are the engine's 64-bit hash (BIGINT), told apart by the events' values, and the
#    workspace records the key of a probe event (`key_probe`). A format 2 workspace is upgraded
#    when it is opened for writing (its keys computed again); read-only, it is read as it is.
FORMAT_VERSION = 3

IMPORTS_SQL = """CREATE TABLE IF NOT EXISTS imports (
  id INTEGER NOT NULL,
  source VARCHAR NOT NULL,
  format VARCHAR,
  rows BIGINT NOT NULL,
  added BIGINT NOT NULL,
  duplicates BIGINT NOT NULL,
  skipped BIGINT NOT NULL,
  checksum VARCHAR,
  imported_at TIMESTAMP NOT NULL
)"""
META_SQL = "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"


@dataclass
class WorkspaceInfo:
    """What a workspace holds, for `journeyscope workspace info`."""

    path: str
    format_version: int
    events: int
    accounts: int  # distinct accounts among events and the accounts table
    contacts: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    matched: int
    map_name: str | None
    imports: int
    sources: list[tuple[str, int]] = field(default_factory=list)  # (source, events)

    @property
    def matched_share(self) -> float | None:
        return self.matched / self.events if self.events and self.map_name else None


class Workspace:
    """An open workspace file. Use `create`, `open` or `open_or_create`; close it (or use it
    as a context manager) to release the file for other processes. `created` says whether
    this opening created the file. To import into a workspace that may not exist yet, use
    `open_for_import`, which removes it again when its first import fails."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, *,
                 created: bool = False) -> None:
        self.path = path
        self.con = con
        self.created = created

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str) -> Workspace:
        """Create a new, empty workspace file (refuses to overwrite an existing file)."""
        path = Path(path)
        if path.exists():
            raise WorkspaceError(f"{path}: already exists; open it, or choose a new file")
        if not path.parent.exists():
            raise WorkspaceError(f"{path}: the folder {path.parent} does not exist")
        ws = cls(path, _connect(path), created=True)
        ws._create_tables()
        return ws

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> Workspace:
        """Open an existing workspace file."""
        path = Path(path)
        if not path.is_file():
            raise WorkspaceError(f"{path}: no such workspace (create one by importing into it)")
        ws = cls(path, _connect(path, read_only=read_only))
        ws._check_format(read_only=read_only)
        return ws

    @classmethod
    def open_or_create(cls, path: Path | str) -> Workspace:
        """Open the workspace file, or create it if missing (see `created`)."""
        path = Path(path)
        return cls.open(path) if path.exists() else cls.create(path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _create_tables(self) -> None:
        con = self.con
        con.execute("BEGIN")
        con.execute(_events_table_sql())
        con.execute(schema.create_table_sql("accounts", schema.ACCOUNT_COLUMNS))
        con.execute(schema.create_table_sql("contacts", schema.CONTACT_COLUMNS))
        con.execute(IMPORTS_SQL)
        con.execute(META_SQL)
        con.execute("INSERT INTO meta VALUES ('format_version', ?), ('created_at', ?)",
                    [str(FORMAT_VERSION), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])
        self.set_meta("key_probe", _key_probe(con))
        con.execute("COMMIT")

    def _check_format(self, *, read_only: bool = False) -> None:
        tables = {r[0] for r in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
        missing = {"events", "accounts", "contacts", "imports", "meta"} - tables
        if missing:
            self.close()
            raise WorkspaceError(f"{self.path}: not a journeyscope workspace (no "
                                 f"{', '.join(sorted(missing))} table)")
        version = self.get_meta("format_version")
        if version is None or not version.isdigit():
            self.close()
            raise WorkspaceError(f"{self.path}: not a journeyscope workspace (no format version)")
        if int(version) > FORMAT_VERSION:
            self.close()
            raise WorkspaceError(f"{self.path}: workspace format {version} is newer than this "
                                 f"journeyscope understands ({FORMAT_VERSION}); upgrade it")
        if int(version) == 2 and not read_only:
            self._upgrade_from_2()
        elif int(version) < 2:
            self.close()
            raise WorkspaceError(
                f"{self.path}: workspace format {version} is older than this journeyscope's "
                f"({FORMAT_VERSION}) and has no import order, so it cannot be upgraded in "
                "place; import your sources again into a new workspace")

    def _upgrade_from_2(self) -> None:
        """Format 2 to 3 in one transaction: MD5 keys (HUGEINT) become hash keys (BIGINT)."""
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute("ALTER TABLE events ALTER event_key TYPE BIGINT USING NULL")
            rekey(con)
            self.set_meta("key_probe", _key_probe(con))
            self.set_meta("format_version", str(FORMAT_VERSION))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self.close()
            raise

    def check_keys(self) -> bool:
        """Make the events' keys this engine's: when the workspace's keys were made by an
        engine whose `hash` gives another key for the probe event (another DuckDB version),
        compute every key again, so that re-imported events are still recognised. Call inside
        the import's transaction; True when the keys were computed again."""
        probe = _key_probe(self.con)
        if self.get_meta("key_probe") == probe:
            return False
        rekey(self.con)
        self.set_meta("key_probe", probe)
        return True

    # -- meta --------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def journey_map(self) -> JourneyMap | None:
        """The map the workspace's events were matched with, if any."""
        raw = self.get_meta("map")
        return JourneyMap.model_validate(json.loads(raw)) if raw else None

    def set_journey_map(self, journey_map: JourneyMap, *, origin: str | None = None) -> None:
        """Remember the map used for matching (call inside the import's transaction)."""
        self.set_meta("map", journey_map.model_dump_json(exclude_defaults=True))
        self.set_meta("map_name", journey_map.name)
        self.set_meta("map_origin", origin)

    # -- summary -----------------------------------------------------------------------------

    def info(self) -> WorkspaceInfo:
        """Counts, time span, sources and matching of the workspace."""
        con = self.con
        events, first, last, matched = con.execute(
            "SELECT count(*), min(ts), max(ts), count(*) FILTER (WHERE touchpoint IS NOT NULL "
            "OR outcome IS NOT NULL) FROM events").fetchone()
        accounts = con.execute(
            "SELECT count(*) FROM (SELECT account_id FROM events UNION "
            "SELECT account_id FROM accounts) WHERE account_id IS NOT NULL").fetchone()[0]
        contacts = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
        imports = con.execute("SELECT count(*) FROM imports").fetchone()[0]
        sources = [(s or "(none)", int(n)) for s, n in con.execute(
            "SELECT source, count(*) FROM events GROUP BY source ORDER BY 2 DESC, 1").fetchall()]
        return WorkspaceInfo(
            path=str(self.path), format_version=int(self.get_meta("format_version") or 0),
            events=int(events), accounts=int(accounts), contacts=int(contacts), first_ts=first,
            last_ts=last, matched=int(matched), map_name=self.get_meta("map_name"),
            imports=int(imports), sources=sources,
        )


    def sort_events(self) -> int:
        """Store the events in journey order: each account's events together, in time order,
        events at the same time in import order. The analyses then step them as they read
        them, without sorting (`analytics.ordered`); nothing else changes (the events, their
        keys and import order are the same). One transaction: all or nothing. Imports append
        in file order, so a file that is not in that order, or a second import, undoes it.
        Returns the number of events."""
        con = self.con
        columns = ", ".join(c.name for c in schema.ALL_EVENT_COLUMNS)
        con.execute("BEGIN")
        try:
            con.execute(schema.create_table_sql("events_in_order", schema.ALL_EVENT_COLUMNS))
            con.execute(f"INSERT INTO events_in_order ({columns}) SELECT {columns} FROM events "
                        "ORDER BY account_id, ts, seq")
            con.execute("DROP TABLE events")
            con.execute("ALTER TABLE events_in_order RENAME TO events")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        # The old rows' space is free for the next writes; the file does not grow.
        con.execute("CHECKPOINT")
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def _key_probe(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute(key_probe_sql()).fetchone()[0])


def _events_table_sql() -> str:
    """The events table (`schema.ALL_EVENT_COLUMNS`)."""
    return schema.create_table_sql("events", schema.ALL_EVENT_COLUMNS)


@contextmanager
def open_for_import(path: Path | str) -> Iterator[Workspace]:
    """The workspace at `path`, created if missing; a workspace created here is removed again
    (with its `.wal` and `.tmp` spill folder) when the import fails, so that a failed first
    import leaves nothing behind. `journeyscope import` imports through it.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "new.duckdb"
    >>> with open_for_import(path) as ws:
    ...     raise ValueError("the import failed")
    Traceback (most recent call last):
    ...
    ValueError: the import failed
    >>> path.exists()
    False
    """
    # Whether this call created the file, as `create` knows it: a check before opening could
    # count a file another process created in between as ours, and remove it.
    ws = Workspace.open_or_create(path)
    try:
        yield ws
    except BaseException:
        ws.close()
        if ws.created:
            for leftover in (ws.path, ws.path.with_name(ws.path.name + ".wal")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(ws.path.with_name(ws.path.name + ".tmp"), ignore_errors=True)
        raise
    ws.close()


def _connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    config = {
        # Checked here, so that a bad value is reported as the setting's, not the file's.
        "memory_limit": settings.memory_limit(settings.MEMORY_LIMIT),
        "temp_directory": str(path.with_name(path.name + ".tmp")),
        # Imports rely on it: a temp table keeps its source's row order (row ids are positions),
        # and an INSERT ... SELECT writes the rows in the order read.
        "preserve_insertion_order": True,
    }
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise WorkspaceError(f"{path}: in use by another journeyscope process") from None
        raise WorkspaceError(f"{path}: not a workspace file ({message})") from None
    con.execute("SET TimeZone = 'UTC'")
    # An import shows its own progress; DuckDB's own bar would print over it.
    con.execute("SET enable_progress_bar = false")
    return con
