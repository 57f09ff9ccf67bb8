"""The buying committee on hand-made journeys (conftest.JOURNEYS), on every engine.

Personas the tiny map expects: aware {user (ad), buyer (call)}, consider {buyer, it (demo),
user (webinar)}, decide {buyer, user (proposal)}, onboard {user}, cessation {buyer}.
"""

from __future__ import annotations

import pytest

from journeyscope.analytics.committee import (
    committee_by_stage,
    persona_reach,
    personas_per_stage,
    win_rate_by_coverage,
)


def test_distinct_personas_per_stage_per_account(events, tiny_map, by):
    rows = by(personas_per_stage(events, tiny_map), "account", "stage")
    assert rows[("A1", "aware")]["personas"] == 2  # user and buyer
    assert rows[("A1", "consider")]["personas"] == 1
    assert rows[("A2", "consider")]["personas"] == 1
    assert ("A3", "consider") not in rows


def test_committee_by_stage_against_the_expected_personas(events, tiny_map, by):
    rows = by(committee_by_stage(events, tiny_map), "stage")
    aware = rows["aware"]
    assert aware["accounts"] == 4
    assert aware["personas_mean"] == pytest.approx(1.5)  # 2, 1, 1, 2
    assert aware["personas_max"] == 2 and aware["expected_personas"] == 2
    assert rows["consider"]["expected_personas"] == 3
    assert rows["cessation"]["accounts"] == 0 and rows["cessation"]["personas_mean"] is None


def test_win_rate_by_coverage_counts_personas_before_the_decision(events, tiny_map, by):
    rows = by(win_rate_by_coverage(events, tiny_map), "coverage")
    # A3 met one persona (lost); A1, A2, A4 two each, two of them won
    assert set(rows) == {1, 2}
    assert (rows[1]["accounts"], rows[1]["won"], rows[1]["win_rate"]) == (1, 0, 0.0)
    assert rows[2]["win_rate"] == pytest.approx(2 / 3)
    assert rows[2]["coverage_share"] == pytest.approx(2 / 3)


def test_personas_never_reached_in_a_stage(events, tiny_map, by):
    rows = by(persona_reach(events, tiny_map), "stage", "persona")
    assert rows[("decide", "user")]["never_reached"] is True
    assert rows[("decide", "user")]["accounts"] == 2
    assert rows[("decide", "buyer")]["never_reached"] is False
    assert rows[("aware", "user")]["reach_share"] == pytest.approx(0.75)
    # nobody reached cessation at all: not the persona's absence
    assert rows[("cessation", "buyer")]["never_reached"] is False


def test_win_rate_with_and_without_the_persona_in_the_stage(events, tiny_map, by):
    it = by(persona_reach(events, tiny_map), "stage", "persona")[("consider", "it")]
    assert it["win_rate_engaged"] == 0.0  # A2 lost
    assert it["win_rate_absent"] == pytest.approx(1.0)  # A1 and A4 won
    assert it["win_lift"] == 0.0


def test_persona_reach_by_touchpoint(events, tiny_map, by):
    rows = by(persona_reach(events, tiny_map, by="touchpoint"), "touchpoint", "persona")
    assert rows[("proposal", "user")]["never_reached"] is True
    assert rows[("demo", "it")]["engaged"] == 1
    with pytest.raises(ValueError, match="stage' or 'touchpoint"):
        persona_reach(events, tiny_map, by="channel")


def test_events_without_a_persona_take_their_contacts(journeys, tiny_map, by):
    # A's events (contacts A-x, A-y) lose their persona below; the contacts table names it
    events, contacts = journeys(
        {"A": [(0, "ad", "x"), (1, "call", "y")], "B": [(0, "ad", "user")]},
        contacts=[{"contact_id": "A-x", "persona": "user"},
                  {"contact_id": "A-y", "persona": "buyer"},
                  {"contact_id": "B-user", "persona": "buyer"}],
    )
    events = events.mutate(persona=events.persona.isin(["user"]).ifelse(events.persona, None))
    rows = by(personas_per_stage(events, tiny_map, contacts=contacts), "account", "stage")
    assert rows[("A", "aware")]["personas"] == 2
    # an event's own persona wins over its contact's
    reach = by(persona_reach(events, tiny_map, contacts=contacts), "stage", "persona")
    assert reach[("aware", "user")]["engaged"] == 2  # A through its contact, B its own
    assert reach[("aware", "buyer")]["engaged"] == 1


def test_one_engagement_table_serves_every_committee_analysis(events, tiny_map):
    from journeyscope.analytics.committee import engagement

    engaged = engagement(events)
    for analysis in (committee_by_stage, win_rate_by_coverage, persona_reach):
        alone = analysis(events, tiny_map).to_pyarrow().to_pylist()
        assert analysis(events, tiny_map, engaged=engaged).to_pyarrow().to_pylist() == alone
