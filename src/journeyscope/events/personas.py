"""Personas: a contact's buying-committee role from the map's job-title rules, and an event's
persona from its contact.

A contact without a persona gets the first persona, in map order, one of whose `titles`
regular expressions matches its job title (DuckDB `regexp_matches`, which searches: `cio`
matches "Deputy CIO"; write `(?i)` for case-insensitive rules, as the templates do). An event
without a persona takes its contact's. Titles no rule matches are reported with their counts so
that the rules can be completed. One SQL statement each, never a loop over contacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from journeyscope.errors import JourneyscopeError
from journeyscope.events.staging import Staged
from journeyscope.model.types import JourneyMap


class PersonaRuleError(JourneyscopeError):
    """A persona's title rule that the database's regular expressions (RE2) cannot run."""

    exit_code = 2


@dataclass
class PersonaReport:
    """Contacts and events given a persona, and the job titles no rule matched."""

    contacts_matched: int = 0
    contacts_without_title: int = 0
    events_from_contact: int = 0
    unmatched_titles: list[tuple[str, int]] = field(default_factory=list)  # (title, contacts)

    def lines(self, limit: int = 20) -> list[str]:
        out = [f"{self.contacts_matched} contacts given a persona by job title"]
        if self.events_from_contact:
            out.append(f"{self.events_from_contact} events given their contact's persona")
        if self.contacts_without_title:
            out.append(f"{self.contacts_without_title} contacts without a job title")
        if self.unmatched_titles:
            total = sum(n for _, n in self.unmatched_titles)
            out.append(f"{total} contacts whose title no persona rule matches:")
            out.extend(f"  {n:>6}  {title}" for title, n in self.unmatched_titles[:limit])
            if len(self.unmatched_titles) > limit:
                out.append(f"  ... and {len(self.unmatched_titles) - limit} more titles")
        return out


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def persona_case(journey_map: JourneyMap, title: str = "title") -> str | None:
    """SQL: the persona id of the first persona whose title rules match `title`, or NULL.
    None when the map has no title rules at all."""
    whens = []
    for persona in journey_map.personas:
        if persona.titles:
            cond = " OR ".join(f"regexp_matches({title}, {_literal(p)})" for p in persona.titles)
            whens.append(f"WHEN {cond} THEN {_literal(persona.id)}")
    if not whens:
        return None
    return f"CASE {' '.join(whens)} END"


def check_rules(con: duckdb.DuckDBPyConnection, journey_map: JourneyMap) -> None:
    """Fail with the persona and pattern when a title rule is not valid for the database.

    Map validation checks Python's syntax; DuckDB uses RE2, which has no look-arounds or
    back-references.
    """
    for index, persona in enumerate(journey_map.personas):
        for n, pattern in enumerate(persona.titles):
            try:
                con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()
            except duckdb.Error as exc:
                reason = str(exc).split("\n")[0]
                raise PersonaRuleError(
                    f"personas[{index}] ({persona.id}).titles[{n}]: {pattern!r} cannot be used "
                    f"to match job titles ({reason}); RE2 has no look-arounds or "
                    f"back-references"
                ) from None


def assign_personas(con: duckdb.DuckDBPyConnection, staged: Staged,
                    journey_map: JourneyMap) -> PersonaReport:
    """Give the staged contacts and events their persona; report titles no rule matched.

    Contacts already in the workspace (`contacts` table) count for the events of this source.
    """
    report = PersonaReport()
    check_rules(con, journey_map)
    case = persona_case(journey_map)
    if staged.contacts:
        c = staged.contacts
        if case is not None:
            # The rules run once per distinct title (a few hundred), not once per contact.
            con.execute(f"CREATE OR REPLACE TEMP TABLE js_title_personas AS SELECT title, "
                        f"{case} AS persona FROM (SELECT DISTINCT title FROM {c} WHERE persona "
                        f"IS NULL AND NULLIF(TRIM(title), '') IS NOT NULL)")
            con.execute(f"UPDATE {c} SET persona = t.persona FROM js_title_personas AS t "
                        f"WHERE {c}.persona IS NULL AND {c}.title = t.title "
                        f"AND t.persona IS NOT NULL")
            con.execute("DROP TABLE js_title_personas")
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE persona IS NOT NULL AND NULLIF(TRIM(title), '') "
            f"IS NOT NULL), count(*) FILTER (WHERE NULLIF(TRIM(title), '') IS NULL) "
            f"FROM {c}").fetchone()
        report.contacts_matched, report.contacts_without_title = int(row[0]), int(row[1])
        report.unmatched_titles = [
            (title, int(n)) for title, n in con.execute(
                f"SELECT TRIM(title) AS t, count(*) FROM {c} WHERE persona IS NULL AND "
                f"NULLIF(TRIM(title), '') IS NOT NULL GROUP BY t ORDER BY 2 DESC, 1").fetchall()
        ]
    if staged.events:
        sources = []
        if staged.contacts:
            sources.append(f"SELECT contact_id, persona, 0 AS rank FROM {staged.contacts}")
        row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'contacts' "
                          "AND NOT temporary").fetchone()
        if row and row[0]:
            sources.append("SELECT contact_id, persona, 1 AS rank FROM main.contacts")
        if sources:
            lookup = (f"(SELECT contact_id, arg_min(persona, rank) AS persona FROM "
                      f"({' UNION ALL '.join(sources)}) WHERE persona IS NOT NULL "
                      f"GROUP BY contact_id)")
            e = staged.events
            row = con.execute(f"SELECT count(*) FROM {e} JOIN {lookup} k ON k.contact_id = "
                              f"{e}.contact_id WHERE {e}.persona IS NULL").fetchone()
            report.events_from_contact = int(row[0])
            con.execute(f"UPDATE {e} SET persona = k.persona FROM {lookup} k "
                        f"WHERE {e}.persona IS NULL AND k.contact_id = {e}.contact_id")
    return report
