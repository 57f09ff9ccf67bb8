"""Personas from the map's job-title rules, in SQL."""

from __future__ import annotations

import duckdb
import pytest

from journeyscope.events import schema
from journeyscope.events.personas import PersonaRuleError, assign_personas
from journeyscope.events.staging import Staged
from journeyscope.model.templates import load_template
from journeyscope.model.types import JourneyMap

MAP = JourneyMap(
    name="m",
    stages=[{"id": "s", "name": "S"}],
    personas=[
        {"id": "cio", "name": "CIO", "titles": [r"(?i)\bcio\b", "(?i)chief information"]},
        {"id": "it", "name": "IT", "titles": [r"(?i)\bit\b"]},
        {"id": "buyer", "name": "Buyer", "titles": ["Procurement"]},  # case-sensitive
        {"id": "user", "name": "User"},
    ],
)


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "p.duckdb"))
    yield c
    c.close()


def _staged(con, contacts, events):
    con.execute("CREATE TEMP TABLE sc (contact_id VARCHAR, account_id VARCHAR, email VARCHAR, "
                "title VARCHAR, persona VARCHAR)")
    if contacts:
        con.executemany("INSERT INTO sc VALUES (?, 'A', NULL, ?, ?)", contacts)
    con.execute("CREATE TEMP TABLE se (contact_id VARCHAR, persona VARCHAR, activity VARCHAR)")
    if events:
        con.executemany("INSERT INTO se VALUES (?, ?, 'x')", events)
    return Staged(events="se", accounts=None, contacts="sc", source="t", rows=len(events))


def test_first_persona_in_map_order_wins_and_rules_search_the_title(con):
    staged = _staged(con, [["1", "CIO and IT lead", None], ["2", "Head of IT", None],
                           ["3", "Deputy Chief Information Officer", None],
                           ["4", "procurement manager", None], ["5", "Procurement Lead", None],
                           ["6", "Chief Pilot", "user"], ["7", "", None], ["8", None, None]], [])
    report = assign_personas(con, staged, MAP)
    got = dict(con.execute("SELECT contact_id, persona FROM sc").fetchall())
    assert got == {"1": "cio", "2": "it", "3": "cio", "4": None, "5": "buyer", "6": "user",
                   "7": None, "8": None}
    assert report.contacts_matched == 5
    assert report.contacts_without_title == 2
    assert report.unmatched_titles == [("procurement manager", 1)]


def test_unmatched_titles_are_counted_most_frequent_first(con):
    staged = _staged(con, [[str(i), t, None] for i, t in enumerate(
        ["Chef", "Chef", "Chef", "Pilot", "Pilot", "Baker", "CIO"])], [])
    report = assign_personas(con, staged, MAP)
    assert report.unmatched_titles == [("Chef", 3), ("Pilot", 2), ("Baker", 1)]
    assert any("6 contacts whose title no persona rule matches" in line
               for line in report.lines())


def test_events_take_their_contacts_persona_also_from_the_workspace(con):
    con.execute(schema.create_table_sql("contacts", schema.CONTACT_COLUMNS))
    con.execute("INSERT INTO contacts VALUES ('old', 'A', NULL, 'CIO', 'cio')")
    staged = _staged(con, [["1", "IT Manager", None]],
                     [["1", None], ["old", None], ["1", "given"], [None, None], ["nobody", None]])
    report = assign_personas(con, staged, MAP)
    got = [r[0] for r in con.execute("SELECT persona FROM se ORDER BY rowid").fetchall()]
    assert got == ["it", "cio", "given", None, None]
    assert report.events_from_contact == 2


def test_template_titles_place_a_real_buying_committee(con):
    staged = _staged(con, [["1", "Chief Financial Officer", None], ["2", "VP Finance", None],
                           ["3", "Purchasing Manager", None], ["4", "Enterprise Architect", None],
                           ["5", "Founder & CEO", None]], [])
    assign_personas(con, staged, load_template("b2b"))
    got = dict(con.execute("SELECT contact_id, persona FROM sc").fetchall())
    assert got == {"1": "economic-buyer", "2": "economic-buyer", "3": "procurement",
                   "4": "technical-evaluator", "5": "executive-sponsor"}


def test_a_title_rule_re2_cannot_run_names_the_persona(con):
    bad = JourneyMap(name="m", personas=[
        {"id": "cio", "name": "CIO", "titles": ["(?i)cio(?!ffice)"]}])
    staged = _staged(con, [["1", "CIO", None]], [])
    with pytest.raises(PersonaRuleError, match=r"personas\[0\] \(cio\)\.titles\[0\]"):
        assign_personas(con, staged, bad)
