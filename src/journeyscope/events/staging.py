"""What a reader or a CRM adapter hands to the importer: the names of DuckDB temp relations
that hold one source's rows in canonical columns, before identity, personas, event keys and
matching.

Every reader (`journeyscope.events.readers`) and every CRM adapter (`journeyscope.events.crm`)
returns a `Staged`; the importer (`journeyscope.events.importer`) takes it from there, all inside
one connection and one transaction. A source the engine reads natively and cheaply (Parquet) is
staged as a *view* over the file, so that its rows are read once more, straight into the
workspace, instead of being copied first; text sources and CRM exports are staged as temp
tables (parsing them twice would cost more than the copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# What makes an event the same event: its own values, not the file it came from nor what
# journeyscope derives (persona, touchpoint, ...). See `event_key_sql`.
KEY_COLUMNS = ("account_id", "contact_id", "ts", "activity", "channel", "owner", "value",
               "score", "text", "attributes")
# The position of each row in its source (1-based), where a staged relation carries it.
POSITION = "_js_pos"
# Where a staged event was read, when a source of several files knows it (a CRM export's
# events): the file and its data row.
ORIGIN_FILE, ORIGIN_ROW = "_js_file", "_js_row"


def event_key_sql(prefix: str = "") -> str:
    """DuckDB SQL of the event key: the engine's 64-bit `hash` of the key columns' values
    (NULLs included), shifted right by one bit to fit a signed BIGINT. It is about four times
    cheaper than an MD5 of the values joined as text. The key finds an event's copies fast; it
    does not decide alone: a duplicate or a repeated event is one whose key *and* values are
    equal (`KEY_COLUMNS`), so two different events that happen to share a key are both kept.
    DuckDB does not promise `hash` stays the same across its versions: a workspace records the
    key of a fixed probe event (`key_probe_sql`) and its keys are computed again when this
    engine gives another (`journeyscope.events.workspace`). `prefix` qualifies the columns
    (``"s."``).

    >>> event_key_sql().startswith("CAST((hash(account_id, contact_id, ts")
    True
    """
    columns = ", ".join(prefix + c for c in KEY_COLUMNS)
    return f"CAST((hash({columns}) >> 1) AS BIGINT)"


def key_probe_sql() -> str:
    """SQL of the key this engine gives a fixed event: a workspace stores it with its keys, so
    that keys made by an engine whose `hash` differs are recognised (and computed again)."""
    probe = ("SELECT 'acme' AS account_id, NULL::VARCHAR AS contact_id, "
             "TIMESTAMP '2024-03-01 09:00:00' AS ts, 'demo' AS activity, 'web' AS channel, "
             "NULL::VARCHAR AS owner, 12.5::DOUBLE AS value, NULL::DOUBLE AS score, "
             "'' AS text, '{\"a\":1}' AS attributes")
    return f"SELECT CAST({event_key_sql()} AS VARCHAR) FROM ({probe})"


def same_event_sql(left: str, right: str) -> str:
    """SQL that is true when rows `left` and `right` (table aliases) hold the same event: equal
    keys and equal values in every key column (NULL equal to NULL)."""
    values = " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in KEY_COLUMNS)
    return f"{left}.event_key = {right}.event_key AND {values}"


def occurrence_key_sql(key: str, occurrence: str) -> str:
    """The key of the `occurrence`-th (2, 3, ...) of several identical events of one source:
    the hash of the first one's key and the occurrence, so that a re-import of the same source
    gives every one of them the same key again."""
    return f"CAST((hash({key}, CAST({occurrence} AS BIGINT)) >> 1) AS BIGINT)"


@dataclass
class Staged:
    """One source loaded into temp relations with canonical columns.

    `events` holds `schema.EVENT_COLUMNS` plus `attributes` (JSON text or NULL), and may hold
    `_js_pos` (each row's position in its source, 1-based; without it a table's `rowid`
    orders the rows) and `event_key` (otherwise the importer computes it as it inserts).
    `events_view` says that `events` is a view over the source file rather than a temp table:
    the importer reads it once more instead of updating it. `missing_accounts` counts the
    events without an `account_id` when the reader knows it (None: not counted). `accounts`
    holds `schema.ACCOUNT_COLUMNS`; `contacts` holds `schema.CONTACT_COLUMNS`. A relation a
    source does not have is None. `rows` counts the source's rows that were read (events, or
    accounts and contacts for a source without events); `skipped` lists rows dropped by
    ``skip_bad_rows`` as human-readable, located reasons (the first few, then a count), and
    `skipped_rows` counts them all. `row_positions` says that a row's position is a data row
    of one file (a CRM export's events, drawn from several files, have none to report).
    `owned` names further temp tables that the staged relations read from, dropped with them.
    `notes` are for the import's summary (an encoding that was guessed).

    >>> Staged(events="stg_events_1", accounts=None, contacts=None, source="a.csv", rows=3).rows
    3
    """

    events: str | None
    accounts: str | None
    contacts: str | None
    source: str
    rows: int
    skipped: list[str] = field(default_factory=list)
    skipped_rows: int = 0
    events_view: bool = False
    missing_accounts: int | None = None
    row_positions: bool = True
    owned: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[str]:
        """The temp tables this staging holds (the events view not included)."""
        names = [self.accounts, self.contacts] + ([] if self.events_view else [self.events])
        return [t for t in names if t] + list(self.owned)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop every temp relation of this staging."""
        if self.events and self.events_view:
            con.execute(f"DROP VIEW IF EXISTS {self.events}")
        for table in self.tables():
            con.execute(f"DROP TABLE IF EXISTS {table}")
        if self.accounts:  # an export's web domains of its accounts (`crm.common`)
            con.execute(f"DROP TABLE IF EXISTS {self.accounts}_domains")
