"""Matching: every event gets the map's touchpoint (and its stage) and outcome, from the match
rules, as one Ibis expression that runs in the engine (DuckDB here, PySpark unchanged).

A rule's fields are ANDed, the values of one field ORed, a touchpoint's rules ORed; the first
touchpoint in map order whose rules match wins, and likewise the first outcome in the order won,
lost, churned, renewed, expanded. `activity`, `channel`, `owner`, `source`, `persona` and
`attributes` compare whole values case-insensitively; `regex` searches the activity (write
`(?i)` for a case-insensitive pattern). An `attributes` key names a column of the events table
when there is one, else a key of the `attributes` JSON column. See docs/matching.md.

>>> import ibis
>>> from journeyscope.model.types import JourneyMap
>>> m = JourneyMap(name="m", stages=[{"id": "s", "name": "S"}], touchpoints=[
...     {"id": "demo", "stage": "s", "name": "Demo", "match": {"activity": ["Demo"]}}])
>>> t = ibis.memtable({"activity": ["demo", "call"]})
>>> match_table(t, m).touchpoint.to_list()
['demo', None]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import ibis
import ibis.expr.types as ir

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import JourneyMap, MatchRule

if TYPE_CHECKING:
    from journeyscope.events.workspace import Workspace

# The columns a rule field compares, by the rule field's name.
_FIELDS = ("activity", "channel", "owner", "source", "persona")


class MatchRuleError(JourneyscopeError):
    """A match rule the engine cannot run (a regular expression outside RE2, say)."""

    exit_code = 2


@dataclass(frozen=True)
class _Columns:
    activity: str
    channel: str
    owner: str
    source: str
    persona: str
    attributes: str


def _lower_values(values: Iterable[str]) -> list[str]:
    return sorted({v.lower() for v in values})


def _json_forms(values: Iterable[str]) -> list[str]:
    """A value as an attribute may hold it: plain (Spark's get_json_object) or JSON-quoted
    (DuckDB's JSON to text), lower-cased."""
    out = set()
    for v in values:
        out.add(v.lower())
        out.add(json.dumps(v, ensure_ascii=False).lower())
    return sorted(out)


def _used(journey_map: JourneyMap) -> tuple[set[str], set[str], bool]:
    """The rule fields and attribute keys the map's rules use, and whether any uses a regex."""
    fields: set[str] = set()
    keys: set[str] = set()
    regex = False
    for rules in [t.match for t in journey_map.touchpoints] + [
            r for _, r in journey_map.outcomes.items()]:
        for rule in rules:
            fields.update(f for f in _FIELDS if getattr(rule, f))
            keys.update(rule.attributes)
            regex = regex or bool(rule.regex)
    return fields, keys, regex


class _Compiler:
    """Builds the conditions of one map's rules over one table. Lower-cased columns and
    extracted attributes are computed once, as helper columns, and shared by every rule."""

    def __init__(self, table: ir.Table, journey_map: JourneyMap, cols: _Columns) -> None:
        self.cols = cols
        self.names = set(table.columns)
        fields, keys, _ = _used(journey_map)
        helpers: dict[str, ir.Value] = {}
        self.lowered: dict[str, str] = {}
        for field in sorted(fields):
            name = getattr(cols, field)
            if name in self.names:
                self.lowered[field] = f"__js_lc_{field}"
                helpers[self.lowered[field]] = table[name].cast("string").lower()
        self.attrs: dict[str, tuple[str, bool]] = {}  # key -> (helper, is a JSON value)
        for i, key in enumerate(sorted(keys)):
            if key in self.names and key != cols.attributes:
                self.attrs[key] = (f"__js_at_{i}", False)
                helpers[f"__js_at_{i}"] = table[key].cast("string").lower()
            elif cols.attributes in self.names:
                self.attrs[key] = (f"__js_at_{i}", True)
                value = table[cols.attributes].cast("json")[key].cast("string")
                helpers[f"__js_at_{i}"] = value.lower()
        self.helpers = list(helpers)
        self.table = table.mutate(**helpers) if helpers else table

    def field(self, field: str, values: list[str]) -> ir.BooleanValue:
        if field not in self.lowered:
            return ibis.literal(False)
        return self.table[self.lowered[field]].isin(_lower_values(values))

    def attribute(self, key: str, values: list[str]) -> ir.BooleanValue:
        if key not in self.attrs:
            return ibis.literal(False)
        helper, is_json = self.attrs[key]
        forms = _json_forms(values) if is_json else _lower_values(values)
        return self.table[helper].isin(forms)

    def rule(self, rule: MatchRule) -> ir.BooleanValue:
        parts: list[ir.BooleanValue] = []
        for field in _FIELDS:
            values = getattr(rule, field)
            if values:
                parts.append(self.field(field, values))
        if rule.regex:
            if self.cols.activity not in self.names:
                parts.append(ibis.literal(False))
            else:
                activity = self.table[self.cols.activity].cast("string")
                parts.append(_any(activity.re_search(p) for p in rule.regex))
        for key, values in rule.attributes.items():
            parts.append(self.attribute(key, values))
        out = parts[0]
        for part in parts[1:]:
            out = out & part
        # NULL columns make a comparison NULL; a rule that cannot be decided does not match.
        return out.fill_null(False)

    def rules(self, rules: list[MatchRule]) -> ir.BooleanValue:
        return _any(self.rule(r) for r in rules)


def _any(conditions: Iterable[ir.BooleanValue]) -> ir.BooleanValue:
    items = list(conditions)
    out = items[0]
    for item in items[1:]:
        out = out | item
    return out


def _cases(pairs: list[tuple[ir.BooleanValue, str]]) -> ir.StringValue:
    if not pairs:
        return ibis.null("string")
    return ibis.cases(*pairs, else_=ibis.null("string"))


def _touchpoint(c: _Compiler, journey_map: JourneyMap) -> ir.StringValue:
    """The first touchpoint, in map order, whose rules match each row (NULL when none)."""
    return _cases([(c.rules(t.match), t.id) for t in journey_map.touchpoints if t.match])


def _outcome(c: _Compiler, journey_map: JourneyMap) -> ir.StringValue:
    """The first outcome (won, lost, churned, renewed, expanded) whose rules match each row."""
    return _cases([(c.rules(rules), name) for name, rules in journey_map.outcomes.items()
                   if rules])


def stage_of(touchpoint: ir.StringValue, journey_map: JourneyMap) -> ir.StringValue:
    """The stage of a touchpoint id."""
    mapping = {t.id: t.stage for t in journey_map.touchpoints if t.match}
    if not mapping:
        return ibis.null("string")
    return touchpoint.substitute(mapping, else_=ibis.null("string"))


def match_table(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    activity: str = "activity",
    channel: str = "channel",
    owner: str = "owner",
    source: str = "source",
    persona: str = "persona",
    attributes: str = "attributes",
    touchpoint: str = "touchpoint",
    stage: str = "stage",
    outcome: str = "outcome",
) -> ir.Table:
    """`events` with `touchpoint`, `stage` and `outcome` set from the map's match rules
    (replacing columns of those names). Runs on any Ibis backend."""
    cols = _Columns(activity, channel, owner, source, persona, attributes)
    base = events.drop(*[c for c in (touchpoint, stage, outcome) if c in events.columns])
    c = _Compiler(base, journey_map, cols)
    matched = c.table.mutate(**{touchpoint: _touchpoint(c, journey_map),
                                outcome: _outcome(c, journey_map)})
    matched = matched.mutate(**{stage: stage_of(matched[touchpoint], journey_map)})
    return matched.drop(*c.helpers) if c.helpers else matched


# ---------------------------------------------------------------------------------------------
# The workspace (DuckDB)


def check_rules(con: duckdb.DuckDBPyConnection, journey_map: JourneyMap) -> None:
    """Fail, naming the rule, when a regular expression is not one DuckDB (RE2) can run."""
    places = [(f"touchpoints[{i}] ({t.id})", t.match)
              for i, t in enumerate(journey_map.touchpoints)]
    places += [(f"outcomes.{name}", rules) for name, rules in journey_map.outcomes.items()]
    for where, rules in places:
        for r, rule in enumerate(rules):
            for n, pattern in enumerate(rule.regex):
                try:
                    con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()
                except duckdb.Error as exc:
                    reason = str(exc).split("\n")[0]
                    raise MatchRuleError(
                        f"{where}.match[{r}].regex[{n}]: {pattern!r} cannot run in the "
                        f"database ({reason}); RE2 has no look-arounds or back-references"
                    ) from None


def _schema(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {name: dtype for name, dtype, *_ in rows}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_path(key: str) -> str:
    return "'$.\"" + key.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''") + "\"'"


@dataclass(frozen=True)
class MatchLookup:
    """The map's touchpoint, stage and outcome for every distinct combination of the values its
    rules read, as a small temp table (`table`: the key columns `aliases`, then `touchpoint`,
    `stage` and `outcome`). `plain` are the event columns the rules read, `json_keys` the
    keys of the `attributes` JSON they read. Join it to events with `on`."""

    table: str
    plain: tuple[str, ...]
    json_keys: tuple[str, ...]
    rows: int

    @property
    def aliases(self) -> list[str]:
        return [f"__k{i}" for i in range(len(self.plain) + len(self.json_keys))]

    def row_keys(self, prefix: str = "") -> list[str]:
        """SQL of each key over an events row; `prefix` qualifies the columns (``"e."``)."""
        return [prefix + _quote(c) for c in self.plain] + [
            f"CAST(CAST({prefix}attributes AS JSON) -> {_json_path(k)} AS VARCHAR)"
            for k in self.json_keys]

    def on(self, prefix: str, alias: str = "m") -> str:
        """The join condition of events (columns qualified by `prefix`) to the lookup
        (`alias`); NULL keys join NULL keys."""
        return " AND ".join(f"({e}) IS NOT DISTINCT FROM {alias}.{a}"
                            for e, a in zip(self.row_keys(prefix), self.aliases, strict=True))

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"DROP TABLE IF EXISTS {self.table}")


def match_lookup(con: duckdb.DuckDBPyConnection, journey_map: JourneyMap, relation: str, *,
                 columns: Iterable[str], where: str | None = None, matched_only: bool = True,
                 name: str = "js_match_result") -> MatchLookup | None:
    """Run the map's rules (`match_table`) on the distinct values of `relation` (rows
    selected by `where`) that the rules read, into temp table `name`. None when no rule reads
    a column `relation` has (then nothing matches). With `matched_only`, combinations that
    match nothing are left out (a LEFT JOIN gives them NULLs).

    Matching depends only on the columns the rules read, so per event it is a lookup in this
    small table, not a run through every rule.
    """
    check_rules(con, journey_map)
    have = set(columns)
    fields, keys, regex = _used(journey_map)
    plain = [f for f in _FIELDS if (f in fields or (f == "activity" and regex)) and f in have]
    plain += [k for k in sorted(keys) if k in have and k != "attributes" and k not in plain]
    json_keys = [k for k in sorted(keys) if k not in plain] if "attributes" in have else []
    if not plain and not json_keys:
        return None
    lookup = MatchLookup(name, tuple(plain), tuple(json_keys), 0)
    aliases = lookup.aliases
    scope = f" WHERE ({where})" if where else ""
    con.execute(f"DROP TABLE IF EXISTS {name}_keys; DROP TABLE IF EXISTS {name}")
    pairs = ", ".join(f"{e} AS {a}" for e, a in zip(lookup.row_keys(), aliases, strict=True))
    con.execute(f"CREATE TEMP TABLE {name}_keys AS SELECT DISTINCT {pairs} FROM {relation}{scope}")
    # The keys as an events-like table: the plain columns under their names, the attribute
    # keys rebuilt into an `attributes` JSON object holding only them.
    select = [f"{a} AS {_quote(c)}" for a, c in zip(aliases, plain, strict=False)]
    if json_keys:
        pairs = ", ".join(f"'{k.replace(chr(39), chr(39) * 2)}', {a}::JSON" for k, a in
                          zip(json_keys, aliases[len(plain):], strict=True))
        select.append(f"json_merge_patch('{{}}', json_object({pairs}))::VARCHAR AS attributes")
    select += aliases
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_view AS SELECT {', '.join(select)} "
                f"FROM {name}_keys")
    typed = {c: "string" for c in (*plain, *(["attributes"] if json_keys else []), *aliases)}
    matched = match_table(ibis.table(typed, name=f"{name}_view"), journey_map)
    if matched_only:
        matched = matched.filter(matched.touchpoint.notnull() | matched.outcome.notnull())
    matched = matched.select(*aliases, "touchpoint", "stage", "outcome")
    con.execute(f"CREATE TEMP TABLE {name} AS {ibis.to_sql(matched, dialect='duckdb')}")
    con.execute(f"DROP VIEW {name}_view; DROP TABLE {name}_keys")
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return MatchLookup(name, tuple(plain), tuple(json_keys), int(rows))


def apply_matching(con: duckdb.DuckDBPyConnection, journey_map: JourneyMap,
                   table: str = "events", *, where: str | None = None) -> int:
    """Set `touchpoint`, `stage` and `outcome` of every row of `table` (or of the rows the SQL
    condition `where` selects) from the map's rules, in the caller's transaction. Returns how
    many of those rows a touchpoint or an outcome matched.

    The rules run on the distinct values they read (`match_lookup`); one UPDATE then writes
    only the rows whose result changes, so matching again with the same map writes nothing.
    """
    columns = _schema(con, table)
    for name in ("touchpoint", "stage", "outcome"):
        if name not in columns:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {name} VARCHAR")
    also = f" AND ({where})" if where else ""
    lookup = match_lookup(con, journey_map, table, columns=columns, where=where,
                          matched_only=False)
    if lookup is None:
        con.execute(f"UPDATE {table} SET touchpoint = NULL, stage = NULL, outcome = NULL "
                    f"WHERE (touchpoint IS NOT NULL OR stage IS NOT NULL OR outcome IS NOT NULL)"
                    f"{also}")
        return 0
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM m.{c}"
                          for c in ("touchpoint", "stage", "outcome"))
    con.execute(f"UPDATE {table} SET touchpoint = m.touchpoint, stage = m.stage, "
                f"outcome = m.outcome FROM {lookup.table} AS m WHERE {lookup.on(table + '.')} "
                f"AND ({changed}){also}")
    lookup.drop(con)
    row = con.execute(f"SELECT count(*) FROM {table} WHERE (touchpoint IS NOT NULL "
                      f"OR outcome IS NOT NULL){also}").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class MatchSummary:
    """How much of a table the map's rules account for."""

    events: int
    matched: int  # to a touchpoint or an outcome
    to_touchpoint: int
    to_outcome: int

    @property
    def share(self) -> float:
        return self.matched / self.events if self.events else 0.0


def match_summary(con: duckdb.DuckDBPyConnection, table: str = "events") -> MatchSummary:
    """Counts of events, matched events, and events with a touchpoint or an outcome."""
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE touchpoint IS NOT NULL OR outcome IS NOT NULL),"
        f" count(touchpoint), count(outcome) FROM {table}").fetchone()
    assert row is not None
    return MatchSummary(*(int(v) for v in row))


def unmatched_activities(con: duckdb.DuckDBPyConnection, table: str = "events"
                         ) -> list[tuple[str, str | None, int]]:
    """(activity, source, count) of the events no touchpoint or outcome matched, most first."""
    return [
        (activity, source, int(n)) for activity, source, n in con.execute(
            f"SELECT activity, source, count(*) AS n FROM {table} "
            f"WHERE touchpoint IS NULL AND outcome IS NULL GROUP BY activity, source "
            f"ORDER BY n DESC, activity, source NULLS FIRST").fetchall()
    ]


def rematch_workspace(workspace: Workspace, journey_map: JourneyMap, *,
                      origin: str | None = None) -> MatchSummary:
    """Match every event of a workspace to `journey_map` again and remember the map, in one
    transaction (all or nothing)."""
    con = workspace.con
    con.execute("BEGIN TRANSACTION")
    try:
        apply_matching(con, journey_map)
        workspace.set_journey_map(journey_map, origin=origin)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return match_summary(con)
