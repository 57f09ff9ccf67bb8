"""Conformance of a small hand-made journey to its map's designed links, on every engine:
fitness, undesigned moves, unmet touchpoints and untravelled links, counted by hand."""

from __future__ import annotations

import pytest

from journeyscope.analytics.base import journey_steps, prepare
from journeyscope.analytics.conformance import (
    designed_links,
    fitness,
    undesigned_moves,
    unmet_touchpoints,
    untravelled_links,
)
from journeyscope.model.types import JourneyMap

# Designed: ta -> tb -> tc and tb -> td (a handover from sales to success, 3 days).
MAP = JourneyMap.model_validate({
    "name": "conformance",
    "stages": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}, {"id": "c", "name": "C"}],
    "touchpoints": [
        {"id": "ta", "stage": "a", "name": "TA", "owner": "sales", "next": ["tb"],
         "match": {"activity": ["ta"]}},
        {"id": "tb", "stage": "b", "name": "TB", "owner": "sales",
         "next": ["tc", {"to": "td", "time_standard": "P3D"}], "match": {"activity": ["tb"]}},
        {"id": "tc", "stage": "c", "name": "TC", "owner": "sales", "match": {"activity": ["tc"]}},
        {"id": "td", "stage": "c", "name": "TD", "owner": "success",
         "match": {"activity": ["td"]}},
        {"id": "te", "stage": "c", "name": "TE", "owner": "success"},
    ],
})


def _ev(account, activity, day):
    return {"account_id": account, "ts": f"2024-01-{day:02d}", "activity": activity}


# A1: ta tb tc, all designed. A2: ta tb ta tb: tb -> ta is not designed. A3: tb ta tc: neither
# move is designed. A4: ta ta, a repeat only, which is no move. A5: a web visit no rule matches.
EVENTS = [
    _ev("A1", "ta", 1), _ev("A1", "tb", 2), _ev("A1", "tc", 4),
    _ev("A2", "ta", 1), _ev("A2", "tb", 2), _ev("A2", "ta", 3), _ev("A2", "tb", 5),
    _ev("A3", "tb", 1), _ev("A3", "web_visit", 2), _ev("A3", "ta", 3), _ev("A3", "tc", 9),
    _ev("A4", "ta", 1), _ev("A4", "ta", 2),
    _ev("A5", "web_visit", 1),
]


@pytest.fixture
def journey(load):
    return journey_steps(prepare(load(events=EVENTS).table("events"), MAP, match=True))


def test_fitness_is_the_share_of_accounts_whose_every_move_is_designed(journey):
    (out,) = fitness(journey, MAP).to_pyarrow().to_pylist()
    # Accounts on the journey: A1..A4 (A5 met no touchpoint). A1 and A4 fit.
    assert (out["accounts"], out["fitting_accounts"]) == (4, 2)
    assert out["fitness"] == pytest.approx(0.5)
    # Moves: A1 2, A2 3, A3 2 = 7, of which designed: A1 2, A2 2 (ta->tb twice) = 4.
    assert (out["moves"], out["designed_moves"]) == (7, 4)
    assert out["move_fitness"] == pytest.approx(4 / 7)


def test_undesigned_moves_are_listed_most_frequent_first(journey):
    out = undesigned_moves(journey, MAP).to_pyarrow().to_pylist()
    assert [(r["source"], r["target"], r["moves"], r["accounts"]) for r in out] == [
        ("tb", "ta", 2, 2), ("ta", "tc", 1, 1)]
    tb_ta, ta_tc = out
    assert (tb_ta["source_stage"], tb_ta["target_stage"]) == ("b", "a")
    assert tb_ta["median_days"] == pytest.approx(1.5)  # A2 one day, A3 two (over the web visit)
    assert ta_tc["share"] == pytest.approx(1 / 7)


def test_unmet_touchpoints_and_untravelled_links_show_design_nobody_meets(journey):
    unmet = unmet_touchpoints(journey, MAP).to_pyarrow().to_pylist()
    assert [(r["touchpoint"], r["has_rules"]) for r in unmet] == [("td", True), ("te", False)]
    assert unmet[0]["owner"] == "success"
    links = untravelled_links(journey, MAP).to_pyarrow().to_pylist()
    assert [(r["source"], r["target"], r["handover"]) for r in links] == [("tb", "td", True)]


def test_designed_links_carry_stages_handovers_and_standards():
    out = designed_links(MAP).to_pyarrow().to_pylist()
    assert [(r["source"], r["target"]) for r in out] == [("ta", "tb"), ("tb", "tc"), ("tb", "td")]
    assert [r["handover"] for r in out] == [False, False, True]
    assert out[2]["standard_days"] == 3.0 and out[0]["standard_days"] is None
