"""Stages: funnel (any order and strict), conversion and drop-off, time in stage against the
standard, regressions and stalled accounts, on a small hand-made journey whose results are
counted by hand, on every engine."""

from __future__ import annotations

import datetime as dt

import pytest

from journeyscope.analytics.base import (
    AnalysisError,
    account_dimensions,
    account_outcomes,
    journey_steps,
    prepare,
)
from journeyscope.analytics.stages import (
    funnel,
    regressions,
    stage_progress,
    stalled,
    time_in_stage,
)
from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "stages",
    "stages": [
        {"id": "a", "name": "A", "time_standard": "P10D"},
        {"id": "b", "name": "B", "time_standard": "P5D"},
        {"id": "c", "name": "C"},
    ],
    "touchpoints": [
        {"id": "ta", "stage": "a", "name": "TA", "next": ["tb"]},
        {"id": "tb", "stage": "b", "name": "TB", "next": ["tc"]},
        {"id": "tc", "stage": "c", "name": "TC"},
    ],
})
STAGE = {"ta": "a", "tb": "b", "tc": "c"}


def _ev(account, tp, day, *, outcome=None, persona=None, month=1):
    return {"account_id": account, "ts": f"2024-{month:02d}-{day:02d}", "activity": tp or "x",
            "touchpoint": tp, "stage": STAGE.get(tp), "outcome": outcome, "persona": persona,
            "owner": "team", "channel": "web"}


# A1 goes a -> b -> c (7 days in b: over its 5-day standard).
# A2 goes a -> b, back to a, and to b again on day 20, where it still is.
# A3 starts in b, then a, then c: in every stage, but never in the map's order.
# A4 is only in a, then lost (an outcome event, not a touchpoint) and started in February.
EVENTS = [
    _ev("A1", "ta", 1, persona="cfo"), _ev("A1", "tb", 3, persona="cfo"),
    _ev("A1", "tc", 10, persona="user"),
    _ev("A2", "ta", 1), _ev("A2", "tb", 2), _ev("A2", "ta", 4), _ev("A2", "tb", 20),
    _ev("A3", "tb", 1), _ev("A3", "ta", 2), _ev("A3", None, 3), _ev("A3", "tc", 5),
    _ev("A4", "ta", 1, month=2, persona="cfo"), _ev("A4", None, 2, outcome="lost", month=2),
]
ACCOUNTS = [{"account_id": "A1", "segment": "smb"}, {"account_id": "A2", "segment": "smb"},
            {"account_id": "A3", "segment": "ent"}, {"account_id": "A4", "segment": "ent"}]


@pytest.fixture
def journey(load):
    src = load(events=EVENTS, accounts=ACCOUNTS)
    prepared = prepare(src.table("events"), MAP)
    outcomes = account_outcomes(prepared)
    return journey_steps(prepared), account_dimensions(outcomes, src.table("accounts")), outcomes


def rows(expr, *keys):
    out = expr.to_pyarrow().to_pylist()
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in out}


def test_funnel_counts_an_account_once_per_stage_it_reached(journey):
    steps, _, _ = journey
    out = rows(funnel(steps, MAP), "stage")
    assert [out[s]["accounts"] for s in "abc"] == [4, 3, 2]  # A2 enters a and b twice
    assert out["a"]["conversion"] is None and out["a"]["drop_off"] is None
    assert out["b"]["converted"] == 3 and out["b"]["drop_off"] == 1  # A4 stops in a
    assert out["b"]["conversion"] == pytest.approx(3 / 4)
    assert out["c"]["previous"] == 3 and out["c"]["converted"] == 2  # A1 and A3
    assert out["c"]["drop_off_rate"] == pytest.approx(1 / 3)
    assert out["c"]["share"] == pytest.approx(2 / 4)


def test_strict_funnel_counts_only_accounts_that_kept_the_map_order(journey):
    steps, _, _ = journey
    out = rows(funnel(steps, MAP, strict=True), "stage")
    # A3 entered b before a, so it counts in a only; A2 counts in a and b; A1 everywhere.
    assert [out[s]["accounts"] for s in "abc"] == [4, 2, 1]
    assert out["b"]["drop_off"] == 2 and out["c"]["conversion"] == pytest.approx(1 / 2)


def test_funnel_by_account_dimension_splits_accounts_by_segment_and_cohort(journey):
    steps, dims, _ = journey
    seg = rows(funnel(steps, MAP, by="segment", dimensions=dims), "segment", "stage")
    assert seg[("smb", "c")]["accounts"] == 1 and seg[("smb", "b")]["accounts"] == 2
    assert seg[("ent", "a")]["accounts"] == 2 and seg[("ent", "b")]["accounts"] == 1
    assert seg[("ent", "b")]["total"] == 2
    cohort = rows(funnel(steps, MAP, by="cohort", dimensions=dims), "cohort", "stage")
    assert cohort[("2024-02", "a")]["accounts"] == 1 and cohort[("2024-02", "b")]["accounts"] == 0
    assert cohort[("2024-01", "c")]["accounts"] == 2


def test_funnel_by_persona_counts_an_account_through_that_personas_events(journey):
    steps, _, _ = journey
    out = rows(funnel(steps, MAP, by="persona"), "persona", "stage")
    # cfo: A1 in a and b, A4 in a; user: A1 in c only.
    assert [out[("cfo", s)]["accounts"] for s in "abc"] == [2, 1, 0]
    assert [out[("user", s)]["accounts"] for s in "abc"] == [0, 0, 1]


def test_funnel_by_unknown_column_says_what_is_available(journey):
    steps, dims, _ = journey
    with pytest.raises(AnalysisError, match="cannot group by 'region'.*segment"):
        funnel(steps, MAP, by="region", dimensions=dims.drop("region"))


def test_time_in_stage_runs_from_entry_to_the_first_move_forward(journey):
    steps, _, _ = journey
    out = rows(time_in_stage(steps, MAP), "stage")
    a, b, c = out["a"], out["b"], out["c"]
    # a: A1 2 days, A2 1 day (a to b on day 2), A3 3 days (a to c); A4 never left.
    assert (a["entered"], a["exited"], a["open"]) == (4, 3, 1)
    assert a["median_days"] == pytest.approx(2.0)
    assert a["p75_days"] == pytest.approx(2.5) and a["p90_days"] == pytest.approx(2.8)
    assert a["standard_days"] == 10.0 and a["breach_share"] == 0.0
    # b: only A1 moved on (7 days > 5); A2 is there now; A3 went back to a.
    assert (b["entered"], b["exited"], b["open"], b["breaches"]) == (3, 1, 1, 1)
    assert b["breach_share"] == 1.0 and b["mean_days"] == pytest.approx(7.0)
    # c has no standard and nobody left it.
    assert c["standard_days"] is None and c["breach_share"] is None and c["open"] == 2


def test_an_account_lost_in_a_stage_is_not_open_there(journey):
    steps, _, outcomes = journey
    # A4 never left a, then was lost: without the outcomes it counts as in a now.
    out = rows(time_in_stage(steps, MAP, outcomes=outcomes), "stage")
    assert (out["a"]["entered"], out["a"]["exited"], out["a"]["open"]) == (4, 3, 0)
    assert out["b"]["open"] == 1 and out["c"]["open"] == 2  # A2; A1 and A3


def test_time_in_stage_by_segment(journey):
    steps, dims, _ = journey
    out = rows(time_in_stage(steps, MAP, by="segment", dimensions=dims), "segment", "stage")
    assert out[("smb", "a")]["median_days"] == pytest.approx(1.5)  # A1 2 days, A2 1 day
    assert out[("ent", "a")]["exited"] == 1 and out[("ent", "a")]["open"] == 1


def test_regressions_count_moves_back_from_where_to_where(journey):
    steps, _, _ = journey
    out = regressions(steps, MAP).to_pyarrow().to_pylist()
    assert len(out) == 1
    (r,) = out
    # A2 went b -> a on day 4, A3 b -> a on day 2 (the unmatched event between is skipped).
    assert (r["from_stage"], r["to_stage"], r["moves"], r["accounts"]) == ("b", "a", 2, 2)
    assert r["share"] == pytest.approx(2 / 3)


def test_stalled_lists_open_accounts_past_the_standard_and_skips_lost_ones(journey):
    steps, _, outcomes = journey
    # By default now is the latest event, A4's loss on Feb 2: A2 has been in b for 13 days.
    (now,) = stalled(steps, MAP, outcomes).to_pyarrow().to_pylist()
    assert now["account_id"] == "A2" and now["days_in_stage"] == pytest.approx(13.0)
    out = stalled(steps, MAP, outcomes, now=dt.datetime(2024, 3, 1)).to_pyarrow().to_pylist()
    # A2 has been in b since Jan 20 (41 days > 5); A4 is lost; A1 and A3 are in c (no standard).
    assert [(r["account_id"], r["stage"]) for r in out] == [("A2", "b")]
    assert out[0]["since"] == dt.datetime(2024, 1, 20)
    assert out[0]["days_in_stage"] == pytest.approx(41.0)
    assert out[0]["over_days"] == pytest.approx(36.0)


def test_progress_can_be_computed_once_and_passed_on(journey):
    steps, _, _ = journey
    progress = stage_progress(steps, MAP)
    assert rows(funnel(steps, MAP, progress=progress), "stage") == rows(funnel(steps, MAP),
                                                                       "stage")
    p = rows(progress, "account_id")
    assert p["A2"]["current"] == 1 and p["A2"]["current_since"] == dt.datetime(2024, 1, 20)
    assert p["A3"]["current"] == 2 and p["A3"]["exited_1"] is None


@pytest.mark.parametrize("n_stages", [1, 3, 7])
def test_stages_reached_per_account_and_value_match_a_count_by_hand(n_stages):
    """`reached_patterns` (on DuckDB the stages reached as bits of one integer) counts each
    (account, value) once by the set of stages below `n_stages` it met; a null stage or one
    past the last meets none."""
    import ibis
    import numpy as np
    import pyarrow as pa

    from journeyscope.analytics.stages import reached_patterns

    rng = np.random.default_rng(n_stages)
    rows = [(int(a), None if p == 4 else int(p), None if s == 8 else int(s))
            for a, p, s in zip(rng.integers(0, 80, 1500), rng.integers(0, 5, 1500),
                               rng.integers(0, 9, 1500), strict=True)]
    rows += [(500, 1, None), (501, None, 8)]  # values that reach no stage at all
    touches = ibis.memtable(pa.table({
        "account": pa.array([r[0] for r in rows], pa.int32()),
        "persona": pa.array([r[1] for r in rows], pa.int16()),
        "stage_index": pa.array([r[2] for r in rows], pa.int16())}))
    met: dict[tuple, set] = {}
    for a, p, s in rows:
        met.setdefault((a, p), set()).update({s} if s is not None and s < n_stages else set())
    want: dict[tuple, int] = {}
    for (_, p), stages_met in met.items():
        key = (p, *(k in stages_met for k in range(n_stages)))
        want[key] = want.get(key, 0) + 1
    got = reached_patterns(touches, n_stages, by="persona")
    assert got.column_names == ["persona", *[f"r{k}" for k in range(n_stages)], "n"]
    assert {tuple(r.values())[:-1]: r["n"] for r in got.to_pylist()} == want
