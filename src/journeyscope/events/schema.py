"""The canonical event table and its companions (accounts, contacts), as ../shared/DESIGN.md fixes
them. Every reader maps its source onto these columns; every analysis reads them.

Timestamps are stored as naive TIMESTAMP values that mean UTC (readers convert), so that DuckDB,
Parquet and Spark agree without a session time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type
    arrow_type: pa.DataType
    required: bool
    meaning: str


EVENT_COLUMNS: tuple[Column, ...] = (
    Column("account_id", "VARCHAR", pa.string(), True, "the buying organisation"),
    Column("contact_id", "VARCHAR", pa.string(), False, "the person at the account"),
    Column("ts", "TIMESTAMP", pa.timestamp("us"), True, "when it happened (UTC)"),
    Column("activity", "VARCHAR", pa.string(), True, "what happened, in the source's words"),
    Column("channel", "VARCHAR", pa.string(), False, "web, email, phone, event, meeting, ..."),
    Column("owner", "VARCHAR", pa.string(), False, "vendor-side team or person responsible"),
    Column("persona", "VARCHAR", pa.string(), False, "the contact's buying-committee role"),
    Column("value", "DOUBLE", pa.float64(), False, "money attached (deal, invoice, renewal)"),
    Column("score", "DOUBLE", pa.float64(), False, "satisfaction, NPS or rating as given"),
    Column("text", "VARCHAR", pa.string(), False, "free-text feedback, ticket or message"),
    Column("source", "VARCHAR", pa.string(), False, "originating system or file"),
)

# Added by journeyscope, not by sources.
DERIVED_EVENT_COLUMNS: tuple[Column, ...] = (
    Column("attributes", "VARCHAR", pa.string(), False,
           "other source attributes, as a JSON object (kept from XES and wide CSVs)"),
    Column("event_key", "BIGINT", pa.int64(), False,
           "identity of the event (a 63-bit hash of its own values; with them, it tells "
           "duplicates apart): re-importing the same event adds nothing"),
    Column("seq", "BIGINT", pa.int64(), False,
           "import order: the event's position in its source file, after every event imported "
           "before it; orders events of an account that share a timestamp"),
    Column("touchpoint", "VARCHAR", pa.string(), False, "the map's touchpoint (matching)"),
    Column("stage", "VARCHAR", pa.string(), False, "the touchpoint's stage (matching)"),
    Column("outcome", "VARCHAR", pa.string(), False,
           "won, lost, churned, renewed or expanded (matching)"),
)

ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("account_id", "VARCHAR", pa.string(), True, "the buying organisation"),
    Column("name", "VARCHAR", pa.string(), False, "its name"),
    Column("segment", "VARCHAR", pa.string(), False, "enterprise, mid-market, SMB, ..."),
    Column("industry", "VARCHAR", pa.string(), False, "its industry"),
    Column("size", "VARCHAR", pa.string(), False, "employees or a size band"),
    Column("region", "VARCHAR", pa.string(), False, "its region"),
    Column("value", "DOUBLE", pa.float64(), False, "its value (annual contract value)"),
)

CONTACT_COLUMNS: tuple[Column, ...] = (
    Column("contact_id", "VARCHAR", pa.string(), True, "the person"),
    Column("account_id", "VARCHAR", pa.string(), False, "their organisation"),
    Column("email", "VARCHAR", pa.string(), False, "their e-mail address"),
    Column("title", "VARCHAR", pa.string(), False, "their job title"),
    Column("persona", "VARCHAR", pa.string(), False, "their buying-committee role"),
)

EVENT_COLUMN_NAMES = tuple(c.name for c in EVENT_COLUMNS)
REQUIRED_EVENT_COLUMNS = tuple(c.name for c in EVENT_COLUMNS if c.required)
ALL_EVENT_COLUMNS = EVENT_COLUMNS + DERIVED_EVENT_COLUMNS


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=not c.required) for c in columns])


def create_table_sql(table: str, columns: tuple[Column, ...]) -> str:
    body = ",\n  ".join(
        f"{c.name} {c.sql_type}{' NOT NULL' if c.required else ''}" for c in columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n)"


EVENTS_SCHEMA = arrow_schema(ALL_EVENT_COLUMNS)
ACCOUNTS_SCHEMA = arrow_schema(ACCOUNT_COLUMNS)
CONTACTS_SCHEMA = arrow_schema(CONTACT_COLUMNS)
