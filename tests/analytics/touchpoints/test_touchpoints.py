"""Touchpoint measures on hand-made journeys (conftest.JOURNEYS), on every engine."""

from __future__ import annotations

import pytest

from journeyscope.analytics.handovers import designed_handovers
from journeyscope.analytics.touchpoints import touchpoint_kpis, touchpoint_stats


def test_reach_counts_accounts_contacts_and_events(events, tiny_map, by):
    rows = by(touchpoint_stats(events, tiny_map), "touchpoint")
    ad = rows["ad"]
    assert (ad["accounts"], ad["contacts"], ad["events"]) == (3, 3, 3)
    assert ad["reach_share"] == pytest.approx(0.75)
    assert ad["frequency"] == pytest.approx(1.0)
    assert rows["kickoff"]["accounts"] == 2


def test_every_touchpoint_of_the_map_has_a_row_in_map_order(events, tiny_map, by):
    table = touchpoint_stats(events, tiny_map).to_pyarrow()
    assert table.column("touchpoint").to_pylist() == [t.id for t in tiny_map.touchpoints]
    exit_row = by(touchpoint_stats(events, tiny_map), "touchpoint")["exit"]
    assert exit_row["accounts"] == 0 and exit_row["reach_share"] == 0.0
    assert exit_row["frequency"] is None and exit_row["conversion"] is None


def test_conversion_is_moving_to_a_later_stage_or_a_positive_outcome_afterwards(
        events, tiny_map, by):
    rows = by(touchpoint_stats(events, tiny_map), "touchpoint")
    assert rows["ad"]["conversion"] == pytest.approx(2 / 3)  # A3 was lost in awareness
    assert rows["call"]["conversion"] == pytest.approx(1.0)
    assert rows["demo"]["conversion"] == pytest.approx(2 / 3)  # A2 lost after its demo
    assert rows["proposal"]["conversion"] == pytest.approx(1.0)
    # nothing after onboarding but cessation, which is an exit, not progress
    assert rows["kickoff"]["conversion"] == 0.0


def test_cessation_is_not_progress(journeys, tiny_map, by):
    events = journeys({
        "A": [(0, "kickoff", "user"), (5, "exit", "buyer")],
        "B": [(0, "kickoff", "user"), (5, "renewed")],
    })
    assert by(touchpoint_stats(events, tiny_map), "touchpoint")["kickoff"][
        "conversion"] == pytest.approx(0.5)


def test_win_rate_compares_accounts_in_the_stage_with_and_without_the_touchpoint(
        journeys, tiny_map, by):
    events = journeys({
        "B1": [(0, "webinar"), (1, "demo"), (2, "deal_won", None, 10.0)],
        "B2": [(0, "webinar"), (1, "demo"), (2, "deal_lost")],
        "B3": [(0, "webinar"), (1, "deal_won", None, 10.0)],
        "B4": [(0, "webinar"), (1, "deal_lost")],
        "B5": [(0, "webinar"), (1, "deal_lost")],
        "B6": [(0, "webinar"), (1, "deal_lost")],
        "B7": [(0, "ad"), (1, "deal_lost")],  # never in the demo's stage: not compared
    })
    demo = by(touchpoint_stats(events, tiny_map), "touchpoint")["demo"]
    assert demo["stage_accounts"] == 6
    assert demo["win_rate_met"] == pytest.approx(0.5)
    assert demo["win_rate_not_met"] == pytest.approx(0.25)
    assert demo["win_lift"] == pytest.approx(2.0)


def test_a_touchpoint_met_after_the_decision_does_not_count_for_the_win_rate(
        events, tiny_map, by):
    rows = by(touchpoint_stats(events, tiny_map), "touchpoint")
    kickoff = rows["kickoff"]
    assert kickoff["met_before_decision"] == 0
    assert kickoff["win_rate_met"] is None
    ad = rows["ad"]
    assert ad["win_rate_met"] == pytest.approx(2 / 3)
    assert ad["win_rate_not_met"] == 0.0  # A2, lost
    assert ad["win_lift"] is None  # no rate to compare with


def test_time_to_next_step_is_the_gap_to_the_accounts_next_event(events, tiny_map, by):
    ad = by(touchpoint_stats(events, tiny_map), "touchpoint")["ad"]
    # gaps 1, 2, 1 days
    assert ad["time_to_next_median_days"] == pytest.approx(1.0)
    assert ad["time_to_next_p75_days"] == pytest.approx(1.5)
    assert ad["time_to_next_p90_days"] == pytest.approx(1.8)


def test_satisfaction_is_the_mean_score_and_nps_only_where_the_map_asks(
        journeys, tiny_map, by):
    events = journeys({
        "A": [(0, "kickoff", "user", None, 5.0), (1, "kickoff", "user", None, 3.0)],
        "B": [(0, "kickoff", "user", None, 4.0)],
    })
    row = by(touchpoint_stats(events, tiny_map), "touchpoint")["kickoff"]
    assert row["scored"] == 3 and row["score_mean"] == pytest.approx(4.0)
    assert row["nps"] is None  # the kickoff's KPI is a CSAT


def test_nps_from_promoters_and_detractors(journeys, tiny_map, by):
    tiny_map.touchpoints[-1].kpis = [
        type(tiny_map.touchpoints[0].kpis[0])(name="NPS", measure="nps", target=30)
    ]
    events = journeys({"A": [(0, "exit", "buyer", None, 10.0), (1, "exit", "buyer", None, 9.0),
                             (2, "exit", "buyer", None, 7.0), (3, "exit", "buyer", None, 3.0)]})
    row = by(touchpoint_stats(events, tiny_map), "touchpoint")["exit"]
    assert row["nps"] == pytest.approx(25.0)  # (2 promoters - 1 detractor) / 4


def test_kpis_are_judged_against_their_targets_in_their_units(events, tiny_map, by):
    stats = touchpoint_stats(events, tiny_map)
    kpis = by(touchpoint_kpis(stats, tiny_map, handovers=designed_handovers(events, tiny_map)),
              "touchpoint", "kpi")
    reached = kpis[("ad", "Accounts reached")]
    assert (reached["actual"], reached["met"]) == (3.0, True)
    share = kpis[("ad", "Share reached")]
    assert share["actual"] == pytest.approx(75.0) and share["met"] is False
    assert kpis[("call", "Calls to later stage")]["actual"] == pytest.approx(1.0)
    days = kpis[("demo", "Days to next")]  # demo gaps 2, 4, 1 days; lower is better
    assert days["actual"] == pytest.approx(2.0) and days["met"] is True
    gap = kpis[("demo", "Gap from the call")]  # call -> demo: 2, 4, 1 days
    assert gap["actual"] == pytest.approx(2.0) and gap["measured_by"] == "handovers"
    assert kpis[("proposal", "Win rate")]["met"] is True
    csat = kpis[("kickoff", "Kickoff CSAT")]
    assert csat["actual"] == pytest.approx(4.0) and csat["met"] is True


def test_kpis_another_analysis_measures_are_left_open_and_say_which(events, tiny_map, by):
    kpis = by(touchpoint_kpis(touchpoint_stats(events, tiny_map), tiny_map), "touchpoint", "kpi")
    in_stage = kpis[("proposal", "Days in decision")]
    assert in_stage["actual"] is None and in_stage["met"] is None
    assert in_stage["measured_by"] == "stages"
    # without the handover table the handover gap is not measured
    assert kpis[("demo", "Gap from the call")]["actual"] is None


def test_precomputed_intermediates_give_the_same_stats(events, tiny_map):
    from journeyscope.analytics.base import account_outcomes
    from journeyscope.analytics.touchpoints import account_touchpoints

    alone = touchpoint_stats(events, tiny_map).to_pyarrow()
    shared = touchpoint_stats(events, tiny_map, outcomes=account_outcomes(events),
                              per_account=account_touchpoints(events)).to_pyarrow()
    assert shared.to_pylist() == alone.to_pylist()


def test_time_at_the_touchpoint_against_its_own_time_standard(journeys, tiny_map, by):
    tiny_map.touchpoint("demo").time_standard = "P3D"
    events = journeys({
        "A": [(0, "demo"), (2, "ad"), (4, "demo")],  # 4 days at the demo: over P3D
        "B": [(0, "demo"), (1, "demo")],  # 1 day
        "C": [(0, "demo")],  # one event: no time at all
    })
    demo = by(touchpoint_stats(events, tiny_map), "touchpoint")["demo"]
    assert demo["time_at_median_days"] == pytest.approx(1.0)
    assert demo["time_at_p90_days"] == pytest.approx(3.4)
    assert demo["time_standard_days"] == pytest.approx(3.0)
    assert demo["over_standard_share"] == pytest.approx(1 / 3)
    assert by(touchpoint_stats(events, tiny_map), "touchpoint")["ad"]["over_standard_share"] is None


def test_kpis_come_in_the_maps_order(events, tiny_map):
    table = touchpoint_kpis(touchpoint_stats(events, tiny_map), tiny_map).to_pyarrow()
    assert table.column("kpi").to_pylist() == [
        k.name for tp in tiny_map.touchpoints for k in tp.kpis]


@pytest.mark.parametrize("coded", [False, True])
def test_contacts_per_touchpoint_are_the_distinct_pairs_as_names_or_codes(coded):
    """The distinct contacts met at each touchpoint, counted (on DuckDB with a short
    dictionary) as the bits of each contact's touchpoints: the same as counting the distinct
    (touchpoint, contact) pairs, keyed by code, with events of no contact or no touchpoint
    left out and a touchpoint no contact met absent."""
    import ibis
    import numpy as np
    import pyarrow as pa

    from journeyscope.analytics.journey import Codes
    from journeyscope.analytics.touchpoints import contacts_reached

    names = tuple(f"tp{i}" for i in range(30))
    rng = np.random.default_rng(7)
    tps = [None if i % 11 == 0 else names[int(x)]
           for i, x in enumerate(rng.integers(0, 29, 4000))]
    contacts = [None if i % 13 == 0 else f"c{int(x)}"
                for i, x in enumerate(rng.integers(0, 300, 4000))]
    want: dict[int, set] = {}
    for tp, c in zip(tps, contacts, strict=True):
        if tp is not None and c is not None:
            want.setdefault(names.index(tp), set()).add(c)
    column = pa.array([None if t is None else names.index(t) for t in tps], pa.int16()) \
        if coded else pa.array(tps, pa.string())
    events = ibis.memtable(pa.table({"touchpoint": column, "contact_id": contacts}))
    got = contacts_reached(events, codes=Codes({"touchpoint": names}))
    assert got == {k: len(v) for k, v in want.items()} and 29 not in got
