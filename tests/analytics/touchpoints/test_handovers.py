"""Handovers on hand-made journeys (conftest.JOURNEYS), on every engine.

The tiny map's designed handovers: ad -> call (marketing to sdr), call -> demo (sdr to sales,
P2D), webinar -> demo (marketing to sales), proposal -> kickoff (sales to onboarding, P3D).
"""

from __future__ import annotations

import pytest

from journeyscope.analytics.handovers import (
    designed_handovers,
    handover_matrix,
    owner_changes,
)


def test_designed_handover_gap_breach_and_conversion(events, tiny_map, by):
    rows = by(designed_handovers(events, tiny_map), "source", "target")
    h = rows[("call", "demo")]
    # gaps: A1 2 days, A2 4 days (in breach of P2D), A4 1 day
    assert (h["source_accounts"], h["accounts"]) == (3, 3)
    assert h["gap_median_days"] == pytest.approx(2.0)
    assert h["gap_p90_days"] == pytest.approx(3.6)
    assert h["time_standard_days"] == pytest.approx(2.0)
    assert h["breach_share"] == pytest.approx(1 / 3)
    assert h["conversion"] == pytest.approx(2 / 3)
    assert h["conversion_within"] == pytest.approx(1.0)
    assert h["conversion_breach"] == 0.0


def test_designed_handover_counts_only_accounts_that_reached_the_target(events, tiny_map, by):
    rows = by(designed_handovers(events, tiny_map), "source", "target")
    h = rows[("ad", "call")]
    assert (h["source_accounts"], h["accounts"]) == (3, 2)  # A3 never got a call
    assert h["reach_rate"] == pytest.approx(2 / 3)
    assert h["breach_share"] is None  # the link has no time standard
    later = rows[("proposal", "kickoff")]
    assert later["gap_median_days"] == pytest.approx(5.5)  # 5 and 6 days
    assert later["breach_share"] == pytest.approx(1.0)


def test_a_designed_handover_nobody_made_is_reported_unobserved(events, tiny_map, by):
    h = by(designed_handovers(events, tiny_map), "source", "target")[("webinar", "demo")]
    assert h["observed"] is False and h["accounts"] == 0
    assert h["gap_median_days"] is None


def test_the_gap_runs_from_the_last_source_event_before_the_target(journeys, tiny_map, by):
    events = journeys({"A": [(0, "call"), (3, "call"), (4, "ad"), (5, "demo"), (9, "call")]})
    h = by(designed_handovers(events, tiny_map), "source", "target")[("call", "demo")]
    assert h["gap_median_days"] == pytest.approx(2.0)  # day 3 to day 5, whatever in between


def test_matrix_counts_every_change_of_owner(events, tiny_map, by):
    rows = by(handover_matrix(events, tiny_map), "from_owner", "to_owner")
    assert set(rows) == {("marketing", "sdr"), ("sdr", "sales"), ("sales", "onboarding"),
                         ("marketing", "sales")}
    sdr = rows[("sdr", "sales")]
    assert (sdr["handovers"], sdr["accounts"]) == (3, 3)
    assert sdr["gap_median_days"] == pytest.approx(2.0)
    onboarding = rows[("sales", "onboarding")]  # deal won (sales) to kickoff: 4 and 5 days
    assert onboarding["gap_median_days"] == pytest.approx(4.5)
    assert all(r["designed"] for r in rows.values())


def test_owner_changes_the_map_does_not_design_are_flagged(journeys, tiny_map, by):
    events = journeys({"A": [(0, "call"), (1, "ad"), (2, "call")]})
    rows = by(owner_changes(events, tiny_map), "from_touchpoint", "to_touchpoint")
    assert rows[("call", "ad")]["designed"] is False  # sdr back to marketing
    assert rows[("ad", "call")]["designed"] is True
    assert rows[("ad", "call")]["designed_link"] is True
    assert rows[("call", "ad")]["designed_link"] is False
    assert rows[("call", "ad")]["handovers"] == 1


def test_an_event_without_an_owner_takes_its_touchpoints_owner(journeys, tiny_map, by):
    events = journeys({"A": [(0, "call", None, None, None, ""), (2, "demo", None, None, None, "")]})
    rows = by(handover_matrix(events, tiny_map), "from_owner", "to_owner")
    assert rows[("sdr", "sales")]["handovers"] == 1


def test_an_owner_on_the_event_wins_over_the_designed_one(journeys, tiny_map, by):
    events = journeys({"A": [(0, "call", None, None, None, "sales"), (2, "demo")]})
    assert by(handover_matrix(events, tiny_map), "from_owner", "to_owner") == {}


def test_precomputed_intermediates_give_the_same_handovers(events, tiny_map):
    from journeyscope.analytics.base import account_outcomes
    from journeyscope.analytics.touchpoints import account_touchpoints

    alone = designed_handovers(events, tiny_map).to_pyarrow()
    shared = designed_handovers(events, tiny_map, outcomes=account_outcomes(events),
                                per_account=account_touchpoints(events)).to_pyarrow()
    assert shared.to_pylist() == alone.to_pylist()


def test_waits_measured_once_for_every_measured_link_give_the_same_handovers(events, tiny_map):
    from journeyscope.analytics.touchpoints import account_touchpoints, link_waits, measured_links

    per_account = account_touchpoints(events)
    pairs, sources = measured_links(tiny_map)
    waits = link_waits(per_account, events, pairs, sources=sources)
    alone = designed_handovers(events, tiny_map).to_pyarrow()
    shared = designed_handovers(events, tiny_map, per_account=per_account,
                                waits=waits).to_pyarrow()
    assert shared.to_pylist() == alone.to_pylist()


def test_owners_read_as_they_are_give_the_same_changes_when_every_event_has_one(events,
                                                                                tiny_map):
    """With no event lacking an owner (the caller has counted), the owners are read as they
    are, without the touchpoints' designed owners: the same changes."""
    from journeyscope.analytics.handovers import owner_change_events

    assert events.filter(events.owner.isnull()).count().to_pyarrow().as_py() == 0
    key = [("account", "ascending"), ("ts", "ascending")]
    looked_up = owner_change_events(events, tiny_map).to_pyarrow().sort_by(key)
    as_they_are = owner_change_events(events, tiny_map, every_owner=True).to_pyarrow()
    assert looked_up.num_rows > 0
    assert as_they_are.sort_by(key).to_pylist() == looked_up.to_pylist()


def test_an_analysis_gives_the_same_handovers_whether_events_name_their_owner_or_not(
        demo_workspace, tmp_path):
    """The demo's events carry their touchpoints' designed owners. With half of them left
    without one, the analysis looks the designed owners up (it reads the owners as they are
    only when none is missing) and finds the same handovers."""
    import shutil

    import duckdb

    from journeyscope.analytics.analyze import analyze
    from journeyscope.model.templates import load_template

    template = load_template("b2b")
    copy = tmp_path / "ownerless.duckdb"
    shutil.copy(demo_workspace, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE events SET owner = NULL WHERE touchpoint IS NOT NULL AND seq % 2 = 0")
    assert con.execute("SELECT count(*) FROM events WHERE touchpoint IS NOT NULL "
                       "AND owner IS NULL").fetchone()[0] > 0
    con.close()
    full, half = analyze(template, demo_workspace), analyze(template, copy)
    for name in ("handovers.matrix", "handovers.changes", "handovers.designed"):
        assert full[name].num_rows > 0
        assert half[name].to_pylist() == full[name].to_pylist(), name
