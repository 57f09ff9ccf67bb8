"""The shared starting points of every analysis: steps (one window pass), the journey of
touchpoint events, one table holding both, per-account outcomes and dimensions, the stage
table, and keeping intermediates, on every engine."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest

from journeyscope.analytics import journey
from journeyscope.analytics.attribution import attribution, journey_touches
from journeyscope.analytics.base import (
    JOURNEY_LEAVES_OUT,
    account_dimensions,
    account_outcomes,
    events_with_journey,
    journey_of,
    journey_steps,
    materialise,
    prepare,
    stage_table,
    with_steps,
)
from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "base",
    "stages": [{"id": "s1", "name": "S1", "time_standard": "P2W"}, {"id": "s2", "name": "S2"}],
    "touchpoints": [
        {"id": "demo", "stage": "s1", "name": "Demo", "match": {"activity": ["demo"]}},
        {"id": "kickoff", "stage": "s2", "name": "Kickoff", "match": {"activity": ["kickoff"]}},
    ],
    "outcomes": {"won": {"activity": ["won"]}, "lost": {"activity": ["lost"]}},
})


def _ev(account, activity, ts, **kw):
    return {"account_id": account, "activity": activity, "ts": ts, "text": "hi", **kw}


# X: web, demo, won (with value), kickoff; two events at the same time keep file order.
# Y: demo then lost, in March.
EVENTS = [
    _ev("X", "web", "2024-01-01 09:00", channel="web"),
    _ev("X", "demo", "2024-01-02 09:00", channel="video", owner="sales"),
    _ev("X", "won", "2024-01-03 09:00", value=100.0),
    _ev("X", "won", "2024-01-03 09:00", value=50.0),
    _ev("X", "kickoff", "2024-01-03 09:00", owner="onboarding"),
    _ev("Y", "demo", "2024-03-01 09:00", channel="email", owner="sales"),
    _ev("Y", "lost", "2024-03-05 09:00"),
]


@pytest.fixture
def source(load):
    return load(events=EVENTS, accounts=[{"account_id": "X", "segment": "smb"},
                                         {"account_id": "Z", "segment": "ent"}])


@pytest.fixture
def events(source):
    return prepare(source.table("events"), MAP, match=True)


def rows(expr, key="account_id", order=("step",)):
    out = expr.to_pyarrow().to_pylist()
    return sorted(out, key=lambda r: (r[key], *[(r[o] is None, r[o]) for o in order]))


def test_with_steps_orders_by_time_then_file_order_and_adds_the_next_event(events):
    out = [r for r in rows(with_steps(events)) if r["account_id"] == "X"]
    assert [r["activity"] for r in out] == ["web", "demo", "won", "won", "kickoff"]
    assert [r["step"] for r in out] == [0, 1, 2, 3, 4]
    assert out[0]["next_activity"] == "demo" and out[0]["gap_us"] == 86_400_000_000
    assert out[2]["gap_us"] == 0 and out[2]["value"] == 100.0  # the tie keeps file order
    assert out[-1]["next_ts"] is None and out[-1]["gap_us"] is None


def test_journey_steps_skip_events_without_a_touchpoint(events):
    out = rows(journey_steps(events))
    assert [(r["account_id"], r["touchpoint"], r["step"]) for r in out] == [
        ("X", "demo", 0), ("X", "kickoff", 1), ("Y", "demo", 0)]
    demo = out[0]
    assert (demo["next_touchpoint"], demo["next_stage"], demo["next_stage_index"]) == (
        "kickoff", "s2", 1)
    assert demo["next_owner"] == "onboarding" and demo["gap_us"] == 86_400_000_000
    assert not set(JOURNEY_LEAVES_OUT) & set(journey_steps(events).columns)
    assert "next_activity" not in journey_steps(events).columns


def test_one_table_holds_the_events_and_their_journey(events):
    both = events_with_journey(events)
    assert both.count().to_pyarrow().as_py() == len(EVENTS)
    journey = rows(journey_of(both))
    assert journey == rows(journey_steps(events).select(*journey_of(both).columns))
    others = [r for r in both.to_pyarrow().to_pylist() if r["touchpoint"] is None]
    assert len(others) == 4
    assert all(r["step"] is None and r["next_ts"] is None and r["gap_us"] is None
               for r in others)


def test_account_outcomes_say_when_and_how_each_account_ended(events):
    out = {r["account_id"]: r for r in account_outcomes(events).to_pyarrow().to_pylist()}
    x, y = out["X"], out["Y"]
    assert x["won"] and not x["lost"] and x["won_value"] == 150.0
    assert x["won_ts"] == dt.datetime(2024, 1, 3, 9) and x["first_channel"] == "web"
    assert (x["cohort"], y["cohort"]) == ("2024-01", "2024-03")
    assert y["lost"] and y["won_value"] == 0.0 and y["events"] == 2


def test_accounts_are_numbered_in_the_order_of_their_ids_before_anything_is_joined(load):
    """`account_outcomes(code=)` numbers the accounts 0, 1, ... in the order of their ids
    (bytes, not the order they come in), and the facts take that number as their code with
    the accounts table's columns beside it, on every engine."""
    src = load(events=[_ev(a, "demo", "2024-01-01 09:00") for a in ("b", "B", "a", "b", "c")],
               accounts=[{"account_id": "c", "segment": "ent"},
                         {"account_id": "a", "segment": "smb"}])
    events = prepare(src.table("events"), MAP, match=True)
    out = account_outcomes(events, code="n").to_pyarrow().to_pylist()
    assert sorted((r["account_id"], r["n"]) for r in out) == [
        ("B", 0), ("a", 1), ("b", 2), ("c", 3)]
    facts = journey.account_facts(events, src.table("accounts")).to_pyarrow().to_pylist()
    assert sorted((r["account_id"], r["account_text"], r["segment"]) for r in facts) == [
        (0, "B", None), (1, "a", "smb"), (2, "b", None), (3, "c", "ent")]
    assert "n" not in account_outcomes(events).columns


def test_the_first_channel_is_the_earliest_event_s_even_when_it_has_none(load):
    """An account's first channel is its earliest event's channel, null when that event has
    none (not the earliest channel given), on every engine."""
    src = load(events=[
        _ev("A", "web", "2024-01-02 09:00", channel="web"),
        _ev("A", "demo", "2024-01-01 09:00"),
        _ev("B", "demo", "2024-01-05 09:00", channel="email"),
        _ev("B", "web", "2024-01-03 09:00", channel="video"),
        _ev("B", "web", "2024-01-04 09:00"),
    ])
    out = account_outcomes(prepare(src.table("events"), MAP, match=True))
    assert {r["account_id"]: r["first_channel"] for r in out.to_pyarrow().to_pylist()} == {
        "A": None, "B": "video"}


def test_account_dimensions_join_the_accounts_table(events, source):
    outcomes = account_outcomes(events)
    out = {r["account_id"]: r for r in account_dimensions(outcomes, source.table("accounts"))
           .to_pyarrow().to_pylist()}
    # Y has no row in the accounts table; Z has no events, so it is no account of the data.
    assert out["X"]["segment"] == "smb" and out["Y"]["segment"] is None and "Z" not in out
    assert account_dimensions(outcomes) is outcomes


def test_stage_table_gives_positions_and_standards_in_days():
    out = stage_table(MAP).to_pyarrow().to_pylist()
    assert [(r["stage_index"], r["stage"], r["standard_days"]) for r in out] == [
        (0, "s1", 14.0), (1, "s2", None)]


def test_materialise_keeps_a_table_whose_nulls_survive(events):
    kept = materialise(journey_steps(events))
    assert rows(kept) == rows(journey_steps(events))
    assert all(t.nullable for t in kept.schema().values())


def test_the_coded_journey_carries_the_next_touch_of_every_attribution_key(events):
    """The attribution's transitions read each key's `next_<key>` from the journey; a key
    without one would sort every touch again (a window over all of them)."""
    built = journey.build(events, MAP)
    touches = journey_touches(built.steps, built.facts, codes=built.codes)
    keys = inspect.signature(attribution).parameters["keys"].default
    assert [k for k in keys if f"next_{k}" not in touches.columns] == []
    by_step = sorted(built.steps.to_pyarrow().to_pylist(), key=lambda r: (r["account_id"],
                                                                          r["step"]))
    x = [r for r in by_step if r["account_id"] == by_step[0]["account_id"]]
    assert [r["next_channel"] for r in x] == [r["channel"] for r in x[1:]] + [None]
