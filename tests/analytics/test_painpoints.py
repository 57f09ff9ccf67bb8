"""The ranked pain points on a hand-counted subscription journey, on every engine."""

from __future__ import annotations

import pytest

from journeyscope.analytics.base import (
    account_dimensions,
    account_outcomes,
    journey_steps,
    prepare,
)
from journeyscope.analytics.painpoints import _higher, rank_painpoints

from .journeys_g import ACCOUNTS, EVENTS, MAP, ev


@pytest.fixture
def ranked(load):
    src = load(events=EVENTS, accounts=ACCOUNTS)
    events = prepare(src.table("events"), MAP)
    dims = account_dimensions(account_outcomes(events), src.table("accounts"))
    rows = rank_painpoints(journey_steps(events), MAP, dims).to_pylist()
    return {r["touchpoint"]: r for r in rows}, [r["touchpoint"] for r in rows]


def test_customers_revenue_ranks_before_pipeline(ranked):
    _, order = ranked
    # kickoff: A (100) and C (80); renewal talk: A churned after it (100); demo: D lost (40 of
    # pipeline at the 3-of-4 win rate); contract: B's late handover, before its win (0).
    assert order == ["kickoff", "renew", "demo", "contract"]


def test_signals_of_the_worst_touchpoint_are_counted_per_account(ranked):
    rows, _ = ranked
    k = rows["kickoff"]
    assert k["revenue_at_risk"] == 180.0 and k["pipeline_at_risk"] == 0.0
    assert (k["accounts"], k["affected_accounts"]) == (3, 2)
    assert k["negative_feedback"] == 1  # A rated 1 of 5
    assert k["delay"] == 1  # A: 8 days at a 5-day touchpoint
    assert k["back_and_forth"] == 1  # C went back to a demo
    assert k["drop_off"] == 0 and k["churn"] == 0  # too few customers for a churn test


def test_each_pain_point_carries_evidence_and_the_maps_opportunities(ranked):
    rows, _ = ranked
    k = rows["kickoff"]
    assert k["evidence"][0] == ("1 of 3 accounts that gave feedback were negative "
                                "(mean score 3.3)")
    assert "(median 3 days at the touchpoint against 5)" in k["evidence"][1]
    assert k["pain_points"] == ["Kickoff confuses", "Kickoff drags on"]  # high severity first
    assert k["opportunities"] == ["Clear agenda", "Shorter kickoff"]


def test_drop_off_and_late_handover_are_found(ranked):
    rows, _ = ranked
    assert rows["demo"]["drop_off"] == 1 and rows["demo"]["pipeline_at_risk"] == 30.0
    assert rows["renew"]["drop_off"] == 1 and rows["renew"]["revenue_at_risk"] == 100.0
    assert rows["contract"]["delay"] == 1 and rows["contract"]["revenue_at_risk"] == 0.0


def test_offboarding_that_churned_customers_end_with_is_no_drop_off(load):
    src = load(events=[*EVENTS, ev("A", "goodbye", 31)], accounts=ACCOUNTS)
    events = prepare(src.table("events"), MAP)
    dims = account_dimensions(account_outcomes(events), src.table("accounts"))
    rows = {r["touchpoint"]: r for r in rank_painpoints(journey_steps(events), MAP, dims)
            .to_pylist()}
    assert "goodbye" not in rows  # A, the only customer there, churned: that is leaving
    assert "renew" not in rows  # and renewal talks are no longer where A ended
    assert list(rows)[:2] == ["kickoff", "demo"]


def test_churn_lift_needs_a_real_difference_and_customers_who_stayed():
    assert _higher(30, 100, 10, 100)
    assert not _higher(12, 100, 10, 100)  # within chance
    assert not _higher(9, 9, 1, 100)  # too few customers met it
    assert not _higher(20, 25, 10, 100)  # only 5 who met it stayed: part of leaving


def test_a_late_link_is_late_even_when_the_account_comes_back_to_its_source(load):
    # F waited 4 days from its contract to its kickoff (the link's standard is 2 days), then
    # signed a contract again: the wait runs from the last contract *before* the kickoff, as
    # the designed handovers measure it, not from the later one (a negative wait, never late).
    returns = [ev("F", "contract", 1), ev("F", "kickoff", 5), ev("F", "contract", 8)]
    src = load(events=[*EVENTS, *returns],
               accounts=[*ACCOUNTS, {"account_id": "F", "segment": "smb", "value": 10.0}])
    events = prepare(src.table("events"), MAP)
    dims = account_dimensions(account_outcomes(events), src.table("accounts"))
    rows = {r["touchpoint"]: r for r in rank_painpoints(journey_steps(events), MAP, dims)
            .to_pylist()}
    assert rows["contract"]["delay"] == 2  # B and F


def test_waits_measured_once_for_every_measured_link_give_the_same_ranking(load):
    from journeyscope.analytics.touchpoints import account_touchpoints, link_waits, measured_links

    src = load(events=EVENTS, accounts=ACCOUNTS)
    events = prepare(src.table("events"), MAP)
    dims = account_dimensions(account_outcomes(events), src.table("accounts"))
    journey = journey_steps(events)
    links = measured_links(MAP)
    assert links is not None
    pairs, sources = links
    waits = link_waits(account_touchpoints(journey), journey, pairs, sources=sources)
    alone = rank_painpoints(journey, MAP, dims).to_pylist()
    assert rank_painpoints(journey, MAP, dims, waits=waits).to_pylist() == alone
    assert any(r["delay"] for r in alone)  # a late handover is among what the waits decide
