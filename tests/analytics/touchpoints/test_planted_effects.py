"""The demo data's planted effects, found by the touchpoint, handover, committee and attribution
analyses on a real workspace (generated, imported, opened read-only), checked against the
generator's TRUTH.json."""

from __future__ import annotations

import json

import pytest

from journeyscope.analytics.attribution import MODELS, attribution
from journeyscope.analytics.base import account_outcomes, materialise, prepare, with_steps
from journeyscope.analytics.committee import persona_reach
from journeyscope.analytics.engine import open_workspace
from journeyscope.analytics.handovers import designed_handovers
from journeyscope.analytics.touchpoints import touchpoint_stats
from journeyscope.events.demo import generate
from journeyscope.events.importer import import_sources
from journeyscope.events.workspace import Workspace
from journeyscope.model.templates import load_template

pytestmark = pytest.mark.slow

ACCOUNTS = 8000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    journey_map = load_template("b2b")
    generate(ACCOUNTS, seed=11, out_dir=folder / "data")
    with Workspace.create(folder / "ws.duckdb") as ws:
        import_sources(ws, [folder / "data" / "accounts.csv", folder / "data" / "contacts.csv"],
                       journey_map=journey_map)
        import_sources(ws, [folder / "data" / "events.parquet"], journey_map=journey_map)
    source = open_workspace(folder / "ws.duckdb")
    prepared = prepare(source.table("events"), journey_map)
    # as an analysis run does: the wide columns no analysis here reads stay behind
    prepared = prepared.drop(*[c for c in ("text", "attributes", "event_key", "source")
                               if c in prepared.columns])
    events = materialise(with_steps(prepared))
    outcomes = materialise(account_outcomes(events))
    truth = json.loads((folder / "data" / "TRUTH.json").read_text())
    yield events, outcomes, journey_map, truth["effects"]
    source.close()


def test_the_reference_check_doubles_the_win_rate(demo, by):
    events, outcomes, journey_map, truth = demo
    rows = by(touchpoint_stats(events, journey_map, outcomes=outcomes), "touchpoint")
    planted = truth["touchpoint_win_rate"]
    ref = rows[planted["touchpoint"]]
    assert ref["win_lift"] == pytest.approx(planted["observed"]["with_to_without"], rel=0.25)
    lifts = {tp: r["win_lift"] for tp, r in rows.items()
             if r["win_lift"] is not None and r["met_before_decision"] >= 100}
    assert max(lifts, key=lifts.get) == planted["touchpoint"]


def test_data_migration_runs_over_its_time_standard(demo, by):
    events, outcomes, journey_map, truth = demo
    planted = truth["pain_point"]
    rows = by(touchpoint_stats(events, journey_map, outcomes=outcomes), "touchpoint")
    migration = rows[planted["touchpoint"]]
    assert migration["time_standard_days"] == pytest.approx(planted["time_standard_days"])
    assert migration["over_standard_share"] == pytest.approx(
        planted["observed"]["late_share"], abs=0.1)
    assert migration["score_mean"] == pytest.approx(planted["observed"]["mean_csat"], abs=0.05)
    shares = {tp: r["over_standard_share"] for tp, r in rows.items()
              if r["over_standard_share"] is not None}
    assert max(shares, key=shares.get) == planted["touchpoint"]


def test_the_late_sdr_handover_halves_conversion(demo, by):
    events, _, journey_map, truth = demo
    planted = truth["handover_delay"]
    rows = by(designed_handovers(events, journey_map), "source", "target")
    h = rows[(planted["from_touchpoint"], planted["to_touchpoint"])]
    assert h["time_standard_days"] == pytest.approx(planted["time_standard_days"])
    ratio = h["conversion_breach"] / h["conversion_within"]
    assert ratio == pytest.approx(planted["observed"]["late_to_on_time"], abs=0.15)
    drops = {k: r["conversion_breach"] / r["conversion_within"] for k, r in rows.items()
             if r["conversion_within"] and r["conversion_breach"] is not None}
    assert min(drops, key=drops.get) == (planted["from_touchpoint"], planted["to_touchpoint"])


def test_deals_without_the_end_user_in_decision_are_won_half_as_often(demo, by):
    events, outcomes, journey_map, truth = demo
    planted = truth["persona_absence"]
    rows = by(persona_reach(events, journey_map, outcomes=outcomes), "stage", "persona")
    eu = rows[(planted["stage"], planted["persona"])]
    assert eu["win_rate_absent"] / eu["win_rate_engaged"] == pytest.approx(
        planted["observed"]["absent_to_present"], abs=0.15)
    in_stage = {p: r["win_lift"] for (s, p), r in rows.items() if s == planted["stage"]}
    assert max(in_stage, key=in_stage.get) == planted["persona"]


def test_attribution_shares_out_the_whole_won_value(demo):
    events, outcomes, journey_map, truth = demo
    observed = truth["pain_point"]["observed"]
    results = attribution(events, journey_map, outcomes=outcomes)
    expected_total = observed["won_accounts"] * observed["mean_value_won"]
    for result in results.values():
        assert result.total_won_value == pytest.approx(expected_total, rel=1e-6)
        for model in MODELS:
            assert sum(result.credits(model).values()) == pytest.approx(
                result.total_won_value, rel=1e-9), model
    # every won journey starts in awareness, so first touch credits only awareness touchpoints
    awareness = {t.id for t in journey_map.touchpoints_in("awareness")}
    firsts = {k for k, v in results["touchpoint"].credits("first").items() if v}
    assert firsts <= awareness | {"(no touch)"}
