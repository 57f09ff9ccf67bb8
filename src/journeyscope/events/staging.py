"""What a reader or a CRM adapter hands to the importer: the names of DuckDB temp tables that
hold one source's rows in canonical columns, before identity, personas, event keys and matching.

Every reader (`journeyscope.events.readers`) and every CRM adapter (`journeyscope.events.crm`)
returns a `Staged`; the importer (`journeyscope.events.importer`) takes it from there, all inside
one connection and one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What makes an event the same event: its own values, not the file it came from nor what
# journeyscope derives (persona, touchpoint, ...). See `event_key_sql`.
KEY_COLUMNS = ("account_id", "contact_id", "ts", "activity", "channel", "owner", "value",
               "score", "text", "attributes")
_KEY_TEXT = {"ts": "CAST(epoch_us({c}) AS VARCHAR)", "value": "CAST({c} AS VARCHAR)",
             "score": "CAST({c} AS VARCHAR)"}


def event_key_sql(prefix: str = "") -> str:
    """DuckDB SQL of the event key: the MD5 (hex) of the key columns' values, NULL kept apart
    from an empty text. Stable across DuckDB versions (MD5 is), so that re-importing a file
    next year still recognises its events. `prefix` qualifies the columns (``"s."``).

    >>> event_key_sql().startswith("md5(concat_ws(chr(31), coalesce(account_id, chr(0))")
    True
    """
    parts = []
    for column in KEY_COLUMNS:
        text = _KEY_TEXT.get(column, "{c}").format(c=prefix + column)
        parts.append(f"coalesce({text}, chr(0))")
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


@dataclass
class Staged:
    """One source loaded into temp tables with canonical columns.

    `events` holds `schema.EVENT_COLUMNS` plus `attributes` (JSON text or NULL); `accounts` holds
    `schema.ACCOUNT_COLUMNS`; `contacts` holds `schema.CONTACT_COLUMNS`. Readers also give
    events their `event_key` (`event_key_sql`, computed in the same pass); the importer adds it
    to a staged events table that lacks it. A table a source does
    not have is None. `rows` counts the source's rows that were read (events, or accounts and
    contacts for a source without events); `skipped` lists rows dropped by ``skip_bad_rows``
    as human-readable, located reasons (the first few, then a count), and `skipped_rows`
    counts them all.

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

    def tables(self) -> list[str]:
        """The temp tables this staging holds (to drop them when done)."""
        return [t for t in (self.events, self.accounts, self.contacts) if t]
