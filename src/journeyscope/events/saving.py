"""Saving one staged source's events into the workspace: one ``INSERT ... SELECT``, then the
few fixes that need the inserted rows.

The insert reads the staged relation once (for Parquet, the file itself) and in the same pass
gives every event its persona (from its contact, when a map is used), its event key (a hash
of its own values, `staging.event_key_sql`), its import order (`seq`: its
position in the source after the workspace's last event) and its touchpoint, stage and outcome
(a join with the map's results for the few distinct values the rules read,
`matching.match_lookup`): no copy of the source, no UPDATE of millions of rows.

Then, among the new rows only: identical events of the source (same key and same values) are
numbered, each occurrence after the first getting a key of its own
(`staging.occurrence_key_sql`). The pass that counts the new rows for the summary also counts
their distinct keys; only when two share one does a GROUP BY find them, and only they are
touched. When the workspace already held events, the new rows whose key and values an older
row holds are deleted again (duplicates): numbering comes first, so this cannot be a filter on
the insert. Everything runs in the importer's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from journeyscope.events import schema
from journeyscope.events.matching import MatchLookup, match_lookup
from journeyscope.events.staging import (
    KEY_COLUMNS,
    POSITION,
    Staged,
    event_key_sql,
    occurrence_key_sql,
    same_event_sql,
)
from journeyscope.model.types import JourneyMap

_CANONICAL = tuple(c.name for c in schema.EVENT_COLUMNS) + ("attributes",)
_PERSONAS = "js_contact_personas"


@dataclass
class Saved:
    """What saving one source did: events added, duplicates dropped, their time span and how
    many a touchpoint or an outcome matched; `top` is the highest `seq` given."""

    added: int
    duplicates: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    matched: int
    top: int


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def position_sql(columns: list[str], prefix: str = "") -> str:
    """Each row's position in its source: the staged `_js_pos`, else the temp table's row
    number (tables are written in source order and keep their row ids when rows are
    deleted)."""
    return f"{prefix}{POSITION}" if POSITION in columns else f"{prefix}rowid + 1"


def key_sql(columns: list[str], prefix: str = "") -> str:
    """The event key: the staged one when identity already computed it, else computed now."""
    return f"{prefix}event_key" if "event_key" in columns else event_key_sql(prefix)


def persona_lookup(con: duckdb.DuckDBPyConnection) -> str | None:
    """A temp table (contact_id, persona) of the workspace's contacts with a persona, for the
    events of this import (their contacts were merged into the workspace first); None when
    there are none."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_PERSONAS} AS SELECT contact_id, persona "
                "FROM contacts WHERE persona IS NOT NULL AND contact_id IS NOT NULL")
    if con.execute(f"SELECT count(*) FROM {_PERSONAS}").fetchone()[0]:
        return _PERSONAS
    con.execute(f"DROP TABLE {_PERSONAS}")
    return None


def save_events(con: duckdb.DuckDBPyConnection, staged: Staged, *, base: int,
                journey_map: JourneyMap | None, personas: str | None,
                known_events: bool) -> Saved:
    """Insert `staged.events` into ``events`` with keys, `seq` = `base` + position, personas
    from `personas` (a `persona_lookup`) and matching with `journey_map`; number repeated
    events; drop those the workspace held already (only looked for when `known_events`)."""
    assert staged.events is not None
    columns = columns_of(con, staged.events)
    values = {c: f"s.{c}" if c in columns else "NULL" for c in _CANONICAL}
    joins = ""
    if personas is not None:
        values["persona"] = f"coalesce({values['persona']}, p.persona)"
        joins = f" LEFT JOIN {personas} AS p ON p.contact_id = s.contact_id"
    values["event_key"] = key_sql(columns, "s.")
    values["seq"] = f"{int(base)} + {position_sql(columns, 's.')}"
    prepared = (f"SELECT {', '.join(f'{v} AS {c}' for c, v in values.items())} "
                f"FROM {staged.events} AS s{joins}")
    lookup = _lookup(con, journey_map, staged.events, prepared, columns,
                     with_personas=personas is not None)
    names = list(values)
    if lookup is not None:
        con.execute(f"INSERT INTO events ({', '.join(names)}, touchpoint, stage, outcome) "
                    f"SELECT c.*, m.touchpoint, m.stage, m.outcome FROM ({prepared}) AS c "
                    f"LEFT JOIN {lookup.table} AS m ON {lookup.on('c.')}")
        lookup.drop(con)
    else:
        con.execute(f"INSERT INTO events ({', '.join(names)}) {prepared}")
    saved, maybe_repeated = _saved(con, base)
    if maybe_repeated:
        number_repeats(con, base)
    duplicates = drop_known(con, base) if known_events else 0
    if duplicates:
        saved, _ = _saved(con, base)
    saved.duplicates = duplicates
    return saved


def _saved(con: duckdb.DuckDBPyConnection, base: int) -> tuple[Saved, bool]:
    """What the rows after `base` hold, and whether two of them share a key (their distinct
    keys are counted in the same pass; a shared one sends them through `number_repeats`)."""
    added, first, last, matched, top, distinct = con.execute(
        "SELECT count(*), min(ts), max(ts), count(*) FILTER (WHERE touchpoint IS NOT NULL OR "
        f"outcome IS NOT NULL), coalesce(max(seq), {int(base)}), "
        f"count(DISTINCT event_key) FROM events "
        f"WHERE seq > {int(base)}").fetchone()
    return Saved(int(added), 0, first, last, int(matched), int(top)), distinct < added


def _lookup(con: duckdb.DuckDBPyConnection, journey_map: JourneyMap | None, relation: str,
            prepared: str, columns: list[str], *, with_personas: bool) -> MatchLookup | None:
    """The map's results for the distinct values of the rows about to be inserted. Read from
    the staged relation itself unless the rules read the persona an event takes from its
    contact (then from the rows as they will be, contact join included)."""
    if journey_map is None:
        return None
    uses_persona = any(rule.persona for t in journey_map.touchpoints for rule in t.match) or \
        any(rule.persona for _, rules in journey_map.outcomes.items() for rule in rules)
    if with_personas and uses_persona:
        return match_lookup(con, journey_map, f"({prepared})", columns=_CANONICAL)
    return match_lookup(con, journey_map, relation, columns=columns)


def number_repeats(con: duckdb.DuckDBPyConnection, base: int) -> int:
    """Give the second, third... of identical new events (rows after `base` sharing a key and
    every value of `staging.KEY_COLUMNS`) keys of their own, in source order; returns how many
    were renumbered. Different events that merely share a key keep it."""
    shared = (f"SELECT event_key FROM events WHERE seq > {int(base)} GROUP BY event_key "
              "HAVING count(*) > 1")
    if not con.execute(f"SELECT count(*) FROM ({shared})").fetchone()[0]:
        return 0
    same = ", ".join(("event_key", *KEY_COLUMNS))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE js_repeats AS SELECT seq, event_key, row_number() OVER "
        f"(PARTITION BY {same} ORDER BY seq) AS n FROM events WHERE seq > {int(base)} AND "
        f"event_key IN ({shared})")
    changed = con.execute(
        f"UPDATE events SET event_key = {occurrence_key_sql('r.event_key', 'r.n')} "
        "FROM js_repeats AS r WHERE events.seq = r.seq AND r.n > 1").fetchone()[0]
    con.execute("DROP TABLE js_repeats")
    return int(changed)


def drop_known(con: duckdb.DuckDBPyConnection, base: int) -> int:
    """Delete the new rows (after `base`) whose key and values an older row holds; returns
    how many."""
    row = con.execute(
        f"DELETE FROM events WHERE seq > {int(base)} AND seq IN (SELECT n.seq FROM events AS n "
        f"JOIN events AS o ON {same_event_sql('n', 'o')} WHERE n.seq > {int(base)} AND "
        f"o.seq <= {int(base)})").fetchone()
    return int(row[0]) if row else 0


def rekey(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the key of every event of the workspace again (with this engine's hash), the
    repeated ones numbered in import order, as an import would have numbered them."""
    con.execute(f"UPDATE events SET event_key = {event_key_sql()}")
    number_repeats(con, 0)


def last_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The workspace's highest import order so far (0 when it has no events)."""
    return int(con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
