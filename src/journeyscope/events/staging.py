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
_KEY_TEXT = {"ts": "CAST(epoch_us({c}) AS VARCHAR)", "value": "CAST({c} AS VARCHAR)",
             "score": "CAST({c} AS VARCHAR)"}
# The position of each row in its source (1-based), where a staged relation carries it.
POSITION = "_js_pos"


def key_text_sql(prefix: str = "") -> str:
    """DuckDB SQL of the text an event key hashes: the key columns' values joined by the
    unit separator (chr 31), a NULL written as chr(0) so that it differs from an empty text.

    >>> key_text_sql().startswith("concat(coalesce(account_id, chr(0)), chr(31), ")
    True
    """
    parts = []
    for column in KEY_COLUMNS:
        text = _KEY_TEXT.get(column, "{c}").format(c=prefix + column)
        parts.append(f"coalesce({text}, chr(0))")
    return f"concat({', chr(31), '.join(parts)})"


def event_key_sql(prefix: str = "") -> str:
    """DuckDB SQL of the event key: the MD5 of `key_text_sql` as a number (DuckDB's
    `md5_number`, the digest read as a little-endian 128-bit integer), shifted right by one
    bit to fit a signed HUGEINT, which every engine and Arrow understand. Stable across
    DuckDB versions (MD5 is), so that re-importing a file next year still recognises its
    events; 127 bits leave no practical chance of two events sharing a key (at 100 million
    events, about 1 in 10^22). `prefix` qualifies the columns (``"s."``).

    >>> event_key_sql().startswith("CAST((md5_number(concat(coalesce(account_id, chr(0))")
    True
    """
    return f"CAST((md5_number({key_text_sql(prefix)}) >> 1) AS HUGEINT)"


def occurrence_key_sql(key: str, occurrence: str) -> str:
    """The key of the `occurrence`-th (2, 3, ...) of several identical events of one source:
    the MD5 number of the first one's key and the occurrence, so that a re-import of the same
    source gives every one of them the same key again."""
    return (f"CAST((md5_number(CAST({key} AS VARCHAR) || '#' || CAST({occurrence} AS VARCHAR))"
            f" >> 1) AS HUGEINT)")


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
