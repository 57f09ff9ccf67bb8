"""Attribution against values worked out by hand on small journeys, on every engine.

The tiny map's stages: aware (0), consider (1, the lead-creation stage of W and Z), decide (2,
the opportunity-creation stage), onboard, cessation.
"""

from __future__ import annotations

import itertools
import math

import pytest

from journeyscope.analytics.attribution import (
    MODELS,
    NO_TOUCH,
    attribution,
    markov_credits,
    shapley_credits,
)

# Every journey its own account, so that the credits of one can be read off alone.
FOUR_TOUCHES = {"A": [(0, "ad"), (1, "call"), (3, "demo"), (5, "proposal"),
                      (6, "deal_won", None, 100.0), (10, "kickoff")]}


def credits(result, model: str) -> dict[str, float]:
    return {k: v for k, v in result.credits(model).items() if v}


def test_positional_models_on_a_four_touch_journey(journeys, tiny_map):
    result = attribution(journeys(FOUR_TOUCHES), tiny_map)["touchpoint"]
    expected = {
        "first": {"ad": 100},
        "last": {"proposal": 100},
        "linear": {"ad": 25, "call": 25, "demo": 25, "proposal": 25},
        "u_shaped": {"ad": 40, "call": 10, "demo": 10, "proposal": 40},
        # first ad, lead creation demo (first touch in consider), opportunity proposal
        "w_shaped": {"ad": 30, "call": 10, "demo": 30, "proposal": 30},
        "full_path": {"ad": 22.5, "call": 10, "demo": 22.5, "proposal": 45},
        "j_shaped": {"ad": 20, "call": 10, "demo": 10, "proposal": 60},
        "inverse_j": {"ad": 60, "call": 10, "demo": 10, "proposal": 20},
    }
    for model, want in expected.items():
        assert credits(result, model) == pytest.approx(want), model
    assert "kickoff" not in result.credits("linear")  # after the win


def test_time_decay_halves_the_weight_every_half_life(journeys, tiny_map):
    result = attribution(journeys(FOUR_TOUCHES), tiny_map, half_life="P7D")["touchpoint"]
    ages = {"ad": 6, "call": 5, "demo": 3, "proposal": 1}  # days before the win
    weights = {k: 2 ** (-a / 7) for k, a in ages.items()}
    total = sum(weights.values())
    assert credits(result, "time_decay") == pytest.approx(
        {k: 100 * w / total for k, w in weights.items()})
    one_day = attribution(journeys(FOUR_TOUCHES), tiny_map, half_life="P1D")["touchpoint"]
    assert one_day.credits("time_decay")["proposal"] > result.credits("time_decay")["proposal"]


def test_a_single_touch_takes_all_the_value_in_every_model(journeys, tiny_map):
    result = attribution(journeys({"A": [(0, "call"), (2, "deal_won", None, 300.0)]}),
                         tiny_map)["touchpoint"]
    for model in MODELS:
        assert credits(result, model) == pytest.approx({"call": 300}), model


def test_two_touches_share_by_the_documented_conventions(journeys, tiny_map):
    # both in awareness: W and Z find no lead or opportunity touch
    result = attribution(journeys({"A": [(0, "ad"), (1, "call"), (2, "deal_won", None, 80.0)]}),
                         tiny_map)["touchpoint"]
    assert credits(result, "u_shaped") == pytest.approx({"ad": 40, "call": 40})
    assert credits(result, "j_shaped") == pytest.approx({"ad": 20, "call": 60})
    assert credits(result, "inverse_j") == pytest.approx({"ad": 60, "call": 20})
    # W: only the first touch is a key touch; it takes the missing keys' 60 %
    assert credits(result, "w_shaped") == pytest.approx({"ad": 72, "call": 8})
    # Z: first and last are key touches and nothing is left for others
    assert credits(result, "full_path") == pytest.approx({"ad": 40, "call": 40})


def test_w_shaped_with_a_lead_touch_and_no_opportunity_touch(journeys, tiny_map):
    result = attribution(journeys({"A": [(0, "call"), (1, "demo"), (3, "deal_won", None, 200.0)]}),
                         tiny_map)["touchpoint"]
    assert credits(result, "w_shaped") == pytest.approx({"call": 100, "demo": 100})


def test_key_touches_that_fall_on_one_touch_add_up(journeys, tiny_map):
    # demo is first touch and lead creation; proposal is opportunity; call (after) is last
    events = journeys({"A": [(0, "demo"), (1, "proposal"), (2, "call"),
                             (3, "deal_won", None, 60.0)]})
    result = attribution(events, tiny_map)["touchpoint"]
    assert credits(result, "w_shaped") == pytest.approx({"demo": 36, "proposal": 18, "call": 6})
    assert credits(result, "full_path") == pytest.approx({"demo": 30, "proposal": 15, "call": 15})


def test_lead_and_opportunity_stages_can_be_chosen(journeys, tiny_map):
    result = attribution(journeys(FOUR_TOUCHES), tiny_map, lead_stage="decide",
                         opportunity_stage="consider")["touchpoint"]
    assert credits(result, "w_shaped") == pytest.approx(
        {"ad": 30, "call": 10, "demo": 30, "proposal": 30})
    with pytest.raises(ValueError, match="not a stage of the map"):
        attribution(journeys(FOUR_TOUCHES), tiny_map, lead_stage="nowhere")


def test_a_half_life_must_be_positive(journeys, tiny_map):
    with pytest.raises(ValueError, match="half-life must be positive"):
        attribution(journeys(FOUR_TOUCHES), tiny_map, half_life="P0D")


MARKOV = {
    "X1": [(0, "ad"), (1, "call"), (2, "deal_won", None, 100.0)],
    "X2": [(0, "ad"), (1, "deal_lost")],
    "X3": [(0, "call"), (1, "deal_won", None, 100.0)],
}


def test_markov_removal_effect_by_hand(journeys, tiny_map):
    # start -> ad 2/3, call 1/3; ad -> call 1/2, null 1/2; call -> conversion 1.
    # P = 2/3 * 1/2 + 1/3 = 2/3; without ad 1/3 (effect 1/2); without call 0 (effect 1).
    results = attribution(journeys(MARKOV), tiny_map)
    assert credits(results["touchpoint"], "markov") == pytest.approx(
        {"ad": 200 / 3, "call": 400 / 3})
    # by channel (ad is web, call is phone), from the window over the touches
    assert credits(results["channel"], "markov") == pytest.approx(
        {"web": 200 / 3, "phone": 400 / 3})


def test_markov_from_the_journeys_next_touch_equals_the_window(journeys, tiny_map):
    from journeyscope.analytics.base import account_outcomes, journey_steps

    events = journeys(MARKOV)
    journey = journey_steps(events)  # has next_touchpoint: no window of attribution's own
    result = attribution(journey, tiny_map, keys=("touchpoint",),
                         outcomes=account_outcomes(events))["touchpoint"]
    assert credits(result, "markov") == pytest.approx({"ad": 200 / 3, "call": 400 / 3})


def test_shapley_value_by_hand(journeys, tiny_map):
    # v({call}) = 100, v({ad, call}) = 200, v({ad}) = 0:
    # ad = (0 + 100) / 2, call = (100 + 200) / 2
    result = attribution(journeys(MARKOV), tiny_map)["touchpoint"]
    assert credits(result, "shapley") == pytest.approx({"ad": 50, "call": 150})


def _brute_force_shapley(worth: dict[frozenset, float], players: list[str]) -> dict[str, float]:
    n = len(players)
    out = {p: 0.0 for p in players}
    for p in players:
        others = [q for q in players if q != p]
        for size in range(n):
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                out[p] += weight * (worth.get(s | {p}, 0.0) - worth.get(s, 0.0))
    return out


def test_shapley_equals_the_brute_force_value_of_the_coalition_game():
    rows = [
        {"coalition": "a\x1fb", "won_value": 120.0},
        {"coalition": "b", "won_value": 30.0},
        {"coalition": "a\x1fb\x1fc", "won_value": 90.0},
        {"coalition": "c", "won_value": 10.0},
    ]
    players = ["a", "b", "c"]
    sets = [(frozenset(r["coalition"].split("\x1f")), r["won_value"]) for r in rows]
    worth = {}
    for size in range(len(players) + 1):
        for s in itertools.combinations(players, size):
            worth[frozenset(s)] = sum(v for members, v in sets if members <= frozenset(s))
    assert shapley_credits(rows) == pytest.approx(_brute_force_shapley(worth, players))


def test_markov_credits_go_to_the_states_on_the_converting_paths():
    transitions = [
        {"source": "(start)", "target": "a", "n": 1},
        {"source": "a", "target": "(conversion)", "n": 1},
        {"source": "(start)", "target": "b", "n": 1},
        {"source": "b", "target": "(null)", "n": 1},
    ]
    assert markov_credits(transitions, 50.0) == pytest.approx({"a": 50.0, "b": 0.0})
    assert markov_credits(transitions, 0.0) == {"a": 0.0, "b": 0.0}


def test_every_model_sums_to_the_total_won_value(journeys, tiny_map):
    events = journeys({
        **FOUR_TOUCHES,
        "B": [(0, "ad"), (1, "call"), (2, "deal_won", None, 80.0)],
        "C": [(0, "call"), (1, "demo"), (3, "deal_won", None, 200.0)],
        "D": [(0, "demo"), (1, "proposal"), (2, "call"), (3, "deal_won", None, 60.0)],
        "E": [(0, "deal_won", None, 50.0)],  # won without a touch
        "F": [(0, "ad"), (1, "webinar"), (2, "deal_lost")],
    })
    results = attribution(events, tiny_map)
    for key, result in results.items():
        assert result.total_won_value == pytest.approx(490.0)
        for model in MODELS:
            assert sum(result.credits(model).values()) == pytest.approx(490.0), (key, model)
        assert result.credits("linear")[NO_TOUCH] == pytest.approx(50.0)


def test_attribution_by_channel_follows_the_events_channels(journeys, tiny_map):
    result = attribution(journeys(FOUR_TOUCHES), tiny_map, keys=("channel",))
    assert set(result) == {"channel"}
    # ad web, call phone, demo video, proposal email
    assert credits(result["channel"], "u_shaped") == pytest.approx(
        {"web": 40, "phone": 10, "video": 10, "email": 40})
    row = next(r for r in result["channel"].rows if r["key"] == "web")
    assert (row["touches"], row["journeys"]) == (1, 1)


def test_attribution_leaves_no_table_of_its_own_behind(tiny_map, arrow_events):
    from journeyscope.analytics.base import with_steps
    from journeyscope.analytics.engine import from_arrow

    source = from_arrow({"events": arrow_events(FOUR_TOUCHES)})
    try:
        attribution(with_steps(source.table("events")), tiny_map)
        # Kept tables are temporary or in the scratch database; Ibis's in-memory tables
        # (the map's) are Ibis's own.
        kept = source.backend.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE (temporary OR database_name = "
            f"'{source.backend.con.scratch}') AND table_name NOT LIKE 'ibis_%memtable%'"
        ).fetchall()
        assert kept == []
    finally:
        source.close()


def test_the_journey_is_read_from_events_with_journey(journeys, tiny_map):
    from journeyscope.analytics.base import account_outcomes, events_with_journey

    events = journeys(MARKOV)
    both = events_with_journey(events.drop("step", "next_ts", "next_touchpoint", "next_stage",
                                           "next_stage_index", "next_owner", "next_activity",
                                           "gap_us"))
    results = attribution(both, tiny_map, outcomes=account_outcomes(events))
    assert credits(results["touchpoint"], "markov") == pytest.approx(
        {"ad": 200 / 3, "call": 400 / 3})
    assert credits(results["touchpoint"], "shapley") == pytest.approx({"ad": 50, "call": 150})


def _coded_journey():
    """Coded touches, one without a channel: account 0 (won on day 4) web, (no channel),
    phone; account 1 (lost) phone, web. The journey, the outcomes and the codes."""
    import datetime as dt

    import ibis
    import pyarrow as pa

    from journeyscope.analytics.journey import Codes

    day = dt.datetime(2024, 1, 1)
    rows = [(0, 0, 0, 0, 0, 1, 1), (0, 1, 1, 1, None, 2, 1), (0, 2, 2, 1, 1, None, None),
            (1, 0, 0, 1, 1, 1, 0), (1, 1, 1, 0, 0, None, None)]
    t16 = pa.int16()
    journey = ibis.memtable(pa.table({
        "account_id": pa.array([r[0] for r in rows], pa.int32()),
        "step": pa.array([r[1] for r in rows], pa.int32()),
        "ts": [day + dt.timedelta(days=r[2]) for r in rows],
        "stage_index": pa.array([0] * len(rows), t16),
        "touchpoint": pa.array([r[3] for r in rows], t16),
        "channel": pa.array([r[4] for r in rows], t16),
        "next_ts": [day + dt.timedelta(days=r[5]) if r[5] is not None else None for r in rows],
        "next_touchpoint": pa.array([rows[i + 1][3] if r[5] is not None else None
                                     for i, r in enumerate(rows)], t16),
        "next_channel": pa.array([rows[i + 1][4] if r[5] is not None else None
                                  for i, r in enumerate(rows)], t16),
    }))
    outcomes = ibis.memtable(pa.table({
        "account_id": pa.array([0, 1], pa.int32()), "won": [True, False],
        "won_ts": [day + dt.timedelta(days=4), None], "won_value": [10.0, None]}))
    codes = Codes({"touchpoint": ("ad", "call"), "channel": ("web", "phone")})
    return journey, outcomes, codes


def test_transitions_of_coded_touches_count_a_missing_key_as_unknown_filled_or_not():
    """Coded touches with a touch of no channel: the transitions are the same whether every
    touch's key is filled first or the counts' keys after, and the missing channel is the
    unknown state, between its neighbours."""
    from journeyscope.analytics.attribution import (
        CONVERSION,
        NULL,
        START,
        UNKNOWN,
        journey_touches,
        transition_table,
    )

    journey, outcomes, codes = _coded_journey()
    tables = [transition_table(journey_touches(journey, outcomes, codes=codes, fill=fill),
                               codes=codes) for fill in (True, False)]
    got = [{(r["by"], r["source"], r["target"]): r["n"] for r in t.to_pylist()} for t in tables]
    assert got[0] == got[1]
    channels = {k[1:]: n for k, n in got[1].items() if k[0] == "channel"}
    assert channels == {(START, "web"): 1, ("web", UNKNOWN): 1, (UNKNOWN, "phone"): 1,
                        ("phone", CONVERSION): 1, (START, "phone"): 1, ("phone", "web"): 1,
                        ("web", NULL): 1}


def test_coalitions_of_coded_touches_name_a_missing_key_unknown():
    """A short dictionary's sets are gathered as bits, the unknown key (code -1) among them:
    the won journey's channels are web, phone and the unknown one; the same sets as lists of
    names give."""
    from journeyscope.analytics.attribution import (
        SEPARATOR,
        UNKNOWN,
        coalition_table,
        journey_touches,
    )
    from journeyscope.analytics.journey import STRINGS

    journey, outcomes, codes = _coded_journey()
    touches = journey_touches(journey, outcomes, codes=codes)
    rows = coalition_table(touches, codes=codes).to_pylist()
    assert {(r["by"], r["coalition"]): (r["journeys"], r["touches"], r["won_value"])
            for r in rows} == {
        ("touchpoint", SEPARATOR.join(["ad", "call"])): (1, 3, 10.0),
        ("channel", SEPARATOR.join(sorted(["web", "phone", UNKNOWN]))): (1, 3, 10.0)}
    named = touches.mutate(touchpoint=touches.touchpoint.cases(
        (0, "ad"), (1, "call")), channel=touches.channel.cases(
        (0, "web"), (1, "phone"), else_=UNKNOWN))
    assert coalition_table(named, codes=STRINGS).to_pylist() == rows
