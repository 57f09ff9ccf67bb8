"""Paths on a small hand-made journey, on every engine: the directly-follows graph over
touchpoints, stages and a column without precomputed successors, variants, Sankey flows and
won against lost paths, each counted by hand."""

from __future__ import annotations

import pyarrow as pa
import pytest

from journeyscope.analytics.base import (
    AnalysisError,
    account_outcomes,
    journey_steps,
    prepare,
    with_steps,
)
from journeyscope.analytics.journey import Codes
from journeyscope.analytics.paths import (
    account_moves,
    coded_steps,
    compare_paths,
    compare_table,
    directly_follows,
    edge_stats,
    sankey,
    variants,
)
from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "hand-made",
    "stages": [
        {"id": "a", "name": "A", "time_standard": "P10D"},
        {"id": "b", "name": "B", "time_standard": "P5D"},
        {"id": "c", "name": "C"},
    ],
    "touchpoints": [
        {"id": "ta", "stage": "a", "name": "TA", "owner": "sales", "next": ["tb"],
         "match": {"activity": ["ta"]}},
        {"id": "tb", "stage": "b", "name": "TB", "owner": "sales", "next": ["tc", "td"],
         "match": {"activity": ["tb"]}},
        {"id": "tc", "stage": "c", "name": "TC", "owner": "success",
         "match": {"activity": ["tc"]}},
        {"id": "td", "stage": "c", "name": "TD", "owner": "success",
         "match": {"activity": ["td"]}},
        {"id": "te", "stage": "c", "name": "TE"},
    ],
    "outcomes": {"won": {"activity": ["won"]}, "lost": {"activity": ["lost"]}},
})
STAGE = {"ta": "a", "tb": "b", "tc": "c", "td": "c"}


def ev(account, tp, day, *, outcome=None, persona=None, month=1, channel="web"):
    return {"account_id": account, "ts": f"2024-{month:02d}-{day:02d}",
            "activity": tp or outcome or "x", "touchpoint": tp, "stage": STAGE.get(tp),
            "outcome": outcome, "persona": persona, "owner": "team", "channel": channel}


# A1 goes a -> b -> c (7 days in b: over its 5-day standard) and is won.
# A2 goes a -> b, is lost on day 3, goes back to a and on to b again on day 20, and stays.
# A3 starts in b, then a, then c: in every stage, but never in the map's order.
# A4 is only in a, then lost (an outcome event, not a touchpoint); it started in February.
EVENTS = [
    ev("A1", "ta", 1, persona="cfo"), ev("A1", "tb", 3, persona="cfo", channel="email"),
    ev("A1", "tc", 10, persona="user"), ev("A1", None, 11, outcome="won"),
    ev("A2", "ta", 1), ev("A2", "tb", 2), ev("A2", None, 3, outcome="lost"), ev("A2", "ta", 4),
    ev("A2", "tb", 20),
    ev("A3", "tb", 1), ev("A3", "ta", 2), ev("A3", None, 3), ev("A3", "tc", 5),
    ev("A4", "ta", 1, month=2, persona="cfo"), ev("A4", None, 2, outcome="lost", month=2),
]
ACCOUNTS = [{"account_id": "A1", "segment": "smb"}, {"account_id": "A2", "segment": "smb"},
            {"account_id": "A3", "segment": "ent"}, {"account_id": "A4", "segment": "ent"}]
DAY = 86400.0


@pytest.fixture
def tables(load):
    src = load(events=EVENTS, accounts=ACCOUNTS)
    prepared = prepare(src.table("events"), MAP)
    return prepared, journey_steps(prepared), account_outcomes(prepared)


def edges(expr):
    return {(r["source"], r["target"]): r for r in expr.to_pyarrow().to_pylist()}


def test_directly_follows_over_touchpoints_counts_moves_and_their_durations(tables):
    _, journey, _ = tables
    out = edges(directly_follows(journey, activity="touchpoint"))
    assert {k: r["frequency"] for k, r in out.items()} == {
        ("ta", "tb"): 3, ("tb", "tc"): 1, ("tb", "ta"): 2, ("ta", "tc"): 1}
    ab = out[("ta", "tb")]  # A1 2 days, A2 1 day and 16 days
    assert ab["mean_seconds"] == pytest.approx(19 / 3 * DAY)
    assert ab["median_seconds"] == pytest.approx(2 * DAY)
    assert (ab["min_seconds"], ab["max_seconds"]) == (pytest.approx(DAY), pytest.approx(16 * DAY))


def test_directly_follows_over_stages_keeps_repeats_of_a_stage(load):
    events = [ev("X", "ta", 1), ev("X", "ta", 2), ev("X", "tb", 5)]
    journey = journey_steps(prepare(load(events=events).table("events"), MAP))
    out = edges(directly_follows(journey, activity="stage"))
    assert {k: r["frequency"] for k, r in out.items()} == {("a", "a"): 1, ("a", "b"): 1}
    assert out[("a", "b")]["max_seconds"] == pytest.approx(3 * DAY)


def test_directly_follows_of_a_column_without_successors_computes_them(tables):
    prepared, _, _ = tables
    steps = with_steps(prepared)
    out = edges(directly_follows(steps, activity="channel"))
    # Over all events: A1 web, email, web, web; A2 5 x web; A3 4 x web; A4 2 x web.
    assert {k: r["frequency"] for k, r in out.items()} == {
        ("web", "email"): 1, ("email", "web"): 1, ("web", "web"): 1 + 4 + 3 + 1}
    with pytest.raises(AnalysisError, match="no column 'colour'"):
        directly_follows(steps, activity="colour")


def test_variants_count_accounts_per_path_with_durations(load):
    events = [ev("P", "ta", 1), ev("P", "tb", 3), ev("Q", "ta", 5), ev("Q", "tb", 9),
              ev("R", "tb", 1), ev("R", "ta", 2), ev("S", "ta", 1)]
    steps = with_steps(prepare(load(events=events).table("events"), MAP))
    out = variants(steps).to_pyarrow().to_pylist()
    assert [(r["variant"], r["accounts"], r["length"]) for r in out] == [
        (["ta", "tb"], 2, 2), (["ta"], 1, 1), (["tb", "ta"], 1, 2)]
    top = out[0]
    assert top["share"] == pytest.approx(0.5)
    assert (top["mean_days"], top["median_days"]) == (pytest.approx(3.0), pytest.approx(3.0))
    assert (top["min_days"], top["max_days"]) == (pytest.approx(2.0), pytest.approx(4.0))
    assert [r["variant"] for r in variants(steps, top=1).to_pyarrow().to_pylist()] == [
        ["ta", "tb"]]


def test_variants_keep_file_order_for_events_at_the_same_time(load):
    events = [ev("P", "tb", 1), ev("P", "ta", 1), ev("Q", "ta", 1), ev("Q", "tb", 1)]
    table = load(events=events).table("events")
    for steps in (with_steps(table.mutate(stage_index=0)), coded_steps(table)):
        got = {tuple(r["variant"]): r["accounts"] for r in variants(steps).to_pyarrow().to_pylist()}
        assert got == {("tb", "ta"): 1, ("ta", "tb"): 1}


@pytest.mark.parametrize("size", [3, 200, 20_000, 70_000])
@pytest.mark.parametrize("kept", [True, False], ids=["kept", "derived"])
def test_variants_of_coded_steps_decode_any_dictionary_and_order_ties_by_name(load, size, kept):
    """Codes in an order that is not their names' (as the map's touchpoints are), with
    dictionaries of one, two and three key characters per code, on a kept table (32-bit
    packing: its largest step is looked up) and on a derived one (64-bit): ties go by the
    names, a missing activity (a null) after every name, a shorter path before its longer
    ones."""
    names = tuple(f"n{i:05d}" for i in range(size))[::-1]  # code 0 has the last name
    last, first = 0, size - 1
    rows = []
    for account, path in {"P": [last, first], "Q": [first, last], "R": [first],
                          "S": [first, None], "T": [last, first]}.items():
        rows += [{"account_id": account, "step": i, "touchpoint": c, "gap_us": 86_400_000_000}
                 for i, c in enumerate(path)]
    steps = load(events=pa.Table.from_pylist(rows, schema=pa.schema([
        ("account_id", pa.string()), ("step", pa.int64()), ("touchpoint", pa.int32()),
        ("gap_us", pa.int64())]))).table("events")
    if not kept:
        steps = steps.mutate(gap_us=steps.gap_us + 0)
    got = variants(steps, activity="touchpoint", codes=Codes({"touchpoint": names}))
    out = got.to_pyarrow().to_pylist()
    assert [(r["variant"], r["accounts"], r["length"]) for r in out] == [
        ([names[last], names[first]], 2, 2),
        ([names[first]], 1, 1), ([names[first], names[last]], 1, 2),
        ([names[first], None], 1, 2)]
    assert out[0]["share"] == pytest.approx(0.4)


def test_coded_steps_give_the_same_graph_and_variants_as_strings(tables, load):
    prepared, _, _ = tables
    plain = with_steps(prepared)
    coded = coded_steps(prepared, activity="activity")
    assert edges(directly_follows(coded)) == edges(directly_follows(plain))
    assert variants(coded).to_pyarrow().to_pylist() == variants(plain).to_pyarrow().to_pylist()
    # An activity missing from the dictionary stays in the path as a null, never a wrong name.
    partial = coded_steps(prepared, activity="activity", values=["ta", "tb"])
    got = {tuple(r["variant"]) for r in variants(partial).to_pyarrow().to_pylist()}
    assert ("ta", "tb", None, "won") not in got and ("ta", "tb", None, None) in got
    with pytest.raises(AnalysisError, match="no column 'colour'"):
        coded_steps(prepared, activity="colour")


def test_sankey_counts_moves_between_different_stages(tables):
    _, journey, _ = tables
    out = edges(sankey(journey, level="stage"))
    assert {k: (r["moves"], r["accounts"]) for k, r in out.items()} == {
        ("a", "b"): (3, 2), ("b", "a"): (2, 2), ("b", "c"): (1, 1), ("a", "c"): (1, 1)}
    tps = edges(sankey(journey, level="touchpoint"))
    assert tps[("ta", "tb")]["moves"] == 3
    with pytest.raises(AnalysisError, match="unknown level 'owner'"):
        sankey(journey, level="owner")


def test_compare_paths_sets_won_against_lost_moves_before_the_decision(tables):
    _, journey, outcomes = tables
    out = compare_paths(journey, outcomes).to_pyarrow().to_pylist()
    # Won: A1 (ta->tb, tb->tc). Lost: A2 (ta->tb before its loss on day 3), A4 (no move).
    # A3 has no outcome; A2's moves after its loss do not count.
    assert [(r["source"], r["target"]) for r in out] == [("tb", "tc"), ("ta", "tb")]
    bc, ab = out
    assert (bc["won_accounts"], bc["lost_accounts"], bc["difference"]) == (1, 0, 1.0)
    assert (ab["won_share"], ab["lost_share"]) == (1.0, 0.5)
    assert (ab["won_total"], ab["lost_total"]) == (1, 2)


def test_accounts_counted_in_the_moves_per_account_are_those_of_the_steps(tables):
    """`account_moves` (one row per account and move, with its first time) gives the graph's
    distinct accounts and won against lost the same counts as the steps themselves."""
    _, journey, outcomes = tables
    moves = account_moves(journey, source="touchpoint", target="next_touchpoint")
    rows = {(r["account"], r["source"], r["target"]): r["first_ts"]
            for r in moves.to_pyarrow().to_pylist()}
    # A2 went ta -> tb twice: first on day 2 (before its loss on day 3), again on day 20.
    assert set(rows) == {("A1", "ta", "tb"), ("A1", "tb", "tc"), ("A2", "ta", "tb"),
                         ("A2", "tb", "ta"), ("A3", "tb", "ta"), ("A3", "ta", "tc")}
    assert rows[("A2", "ta", "tb")].day == 2 and rows[("A2", "tb", "ta")].day == 4
    kw = dict(source="touchpoint", target="next_touchpoint")
    by_edge = [("source", "ascending"), ("target", "ascending")]
    assert edge_stats(journey, **kw, moves=moves).sort_by(by_edge) == \
        edge_stats(journey, **kw).sort_by(by_edge)
    compared = compare_table(journey, outcomes, moves=moves)
    assert compared == compare_table(journey, outcomes)
    lost = {(r["source"], r["target"]): r["lost_accounts"] for r in compared.to_pylist()}
    assert lost == {("ta", "tb"): 1, ("tb", "tc"): 0}


def test_coded_steps_of_a_log_with_more_activities_than_a_16_bit_code_holds(load):
    """33,000 distinct activities: the codes are 32-bit then (a 16-bit code would overflow)."""
    n = 33_000
    acts = [f"a{i:05d}" for i in range(n)]
    rows = [{"account_id": "X", "ts": "2024-01-01", "activity": acts[-1]},
            {"account_id": "X", "ts": "2024-01-02", "activity": acts[0]},
            {"account_id": "X", "ts": "2024-01-03", "activity": acts[-2]}]
    rows += [{"account_id": f"Z{i}", "ts": "2024-01-01", "activity": a}
             for i, a in enumerate(acts)]
    table = pa.Table.from_pylist(rows)
    table = table.set_column(1, "ts", table.column("ts").cast(pa.timestamp("us")))
    coded = coded_steps(load(events=table).table("events"))
    longest = max(variants(coded).to_pyarrow().to_pylist(), key=lambda r: r["length"])
    assert longest["variant"] == [acts[-1], acts[0], acts[-2]]
    assert edges(directly_follows(coded)).keys() == {(acts[-1], acts[0]), (acts[0], acts[-2])}
