"""The coded journey without a sort: events stored in journey order (each account's events
together, in time order, then import order) are stepped as they are read; any other order is
sorted by the window pass. Both give the same steps, row for row, and the same analysis."""

from __future__ import annotations

import math
import shutil
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from journeyscope.analytics import journey, ordered, paths
from journeyscope.analytics.analyze import analyze
from journeyscope.analytics.base import AnalysisError
from journeyscope.analytics.engine import materialize, open_workspace
from journeyscope.model.templates import load_template
from journeyscope.model.types import JourneyMap

from .conftest import events_table, shuffled_copy

MAP = JourneyMap.model_validate({
    "name": "order",
    "stages": [{"id": "s1", "name": "S1"}, {"id": "s2", "name": "S2"}],
    "touchpoints": [
        {"id": "demo", "stage": "s1", "name": "Demo", "match": {"activity": ["demo"]}},
        {"id": "kickoff", "stage": "s2", "name": "Kickoff", "match": {"activity": ["kickoff"]}},
    ],
})
KEY = [("account_id", "ascending"), ("step", "ascending")]


def _ev(account: str, ts: str, touchpoint: str | None = "demo", **kw) -> dict:
    stage = {"demo": "s1", "kickoff": "s2", None: None}[touchpoint]
    return {"account_id": account, "activity": touchpoint or "web", "ts": ts,
            "touchpoint": touchpoint, "stage": stage, **kw}


def _both(events):
    """The steps without a sort (None when the order does not allow it) and by the window.
    The steps without a sort tell that they hold (`on_read`) exactly when they do."""
    codes = journey.dictionaries(events, MAP)
    facts = materialize(journey.account_facts(events))
    told = []
    fast = journey.ordered_journey(events, facts, codes, on_read=lambda: told.append(True))
    assert told == ([] if fast is None else [True])
    fast = None if fast is None else fast.table
    sorted_ = materialize(journey.coded_journey(events, facts, codes)).to_pyarrow()
    return fast, sorted_, journey.kept_journey(events, facts, codes)[0].to_pyarrow()


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema == b.schema
    assert a.sort_by(KEY).to_pylist() == b.sort_by(KEY).to_pylist()


ORDERED = [
    _ev("B", "2024-01-01 09:00", channel="web", owner="marketing"),
    _ev("B", "2024-01-01 09:00", "kickoff", owner="sales"),  # same time: import order
    _ev("B", "2024-01-01 09:00", None),                      # not a touchpoint: left out
    _ev("B", "2024-01-02 09:00", channel=None, owner=None, persona="champion"),
    _ev("A", "2024-02-01 09:00", "kickoff", channel="email"),  # accounts in any order
    _ev("A", "2024-02-03 09:00", owner="onboarding"),
    _ev("C", "2024-03-01 09:00", channel="phone"),
]


def test_events_in_journey_order_are_stepped_as_they_are_read(load):
    source = load(events=ORDERED)
    fast, sorted_, kept = _both(source.table("events"))
    if source.engine != "duckdb":
        assert fast is None  # the window pass on other engines
        return
    assert fast is not None
    _same(fast, sorted_)
    _same(kept, sorted_)
    b = [r for r in fast.sort_by(KEY).to_pylist() if r["account_id"] == 1]  # A, B, C
    # The last of an account has no next step; a null owner or channel next is null.
    assert len(b) == 3 and b[1]["owner"] is not None and b[2]["owner"] is None
    assert [r["next_owner"] for r in b] == [b[1]["owner"], None, None]
    assert [r["next_channel"] for r in b] == [None, None, None]


@pytest.mark.parametrize("case", ["interleaved", "time", "tie"])
def test_events_out_of_journey_order_are_sorted_with_the_same_result(load, case):
    rows = list(ORDERED)
    if case == "interleaved":  # A's events on both sides of C's
        rows[5], rows[6] = rows[6], rows[5]
    elif case == "time":  # one of B's events before an earlier one
        rows[0], rows[3] = rows[3], rows[0]
    table = events_table(rows)
    if case == "tie":  # two events at the same time against their import order
        seq = table.column("seq").to_pylist()
        seq[0], seq[1] = seq[1], seq[0]
        table = table.set_column(table.column_names.index("seq"), "seq", pa.array(seq, pa.int64()))
    source = load(events=table)
    fast, sorted_, kept = _both(source.table("events"))
    assert fast is None
    _same(kept, sorted_)


@pytest.mark.parametrize("sample", [ordered.SAMPLE, 2])
def test_an_account_in_two_runs_is_sorted_whatever_the_first_rows_show(load, monkeypatch,
                                                                        sample):
    """A's events on both sides of C's, each run in time order: found in the first rows read,
    or past them (two rows here) once all are read, by the accounts' codes."""
    monkeypatch.setattr(ordered, "SAMPLE", sample)
    rows = list(ORDERED)
    rows[5], rows[6] = rows[6], rows[5]
    source = load(events=rows)
    fast, sorted_, kept = _both(source.table("events"))
    assert fast is None
    _same(kept, sorted_)


def test_long_dictionaries_are_looked_up_in_arrow(load):
    """Seventy owners: a dictionary that long is a join in the engine, which would not keep
    the order of the rows, so the fast path looks its codes up itself."""
    rows = [_ev(f"a{i // 3:03d}", f"2024-01-{1 + i % 3:02d} 09:00", owner=f"owner-{i % 70:02d}")
            for i in range(210)]
    source = load(events=rows)
    fast, sorted_, _ = _both(source.table("events"))
    if source.engine == "duckdb":
        assert fast is not None
        _same(fast, sorted_)


@pytest.mark.parametrize("names", [[], ["b"], ["b", "o'brien", "a"]])
def test_a_short_dictionary_s_codes_are_positions_and_null_elsewhere(names):
    """The constant map DuckDB looks codes up in and the list index other engines use give
    the same codes: a name's position, null for null and for a name not in the dictionary."""
    import ibis

    con = ibis.duckdb.connect()
    values = ["a", None, "o'brien", "zz", "b"]
    t = con.create_table("t", ibis.memtable(pa.table({"c": pa.array(values, pa.string())})))
    want = [names.index(v) if v in names else None for v in values]
    for engine in ("duckdb", "another"):
        got = t.select(x=journey.code_of(t.c, names, engine=engine)).to_pyarrow()
        assert got.column("x").type == pa.int16() and got.column("x").to_pylist() == want


@pytest.mark.parametrize("size", [0, 2, 7, journey.BITMASK_UP_TO, journey.BITMASK_UP_TO + 1])
def test_distinct_codes_counted_as_bits_are_the_distinct_count(size):
    """Counting a short dictionary's codes as bits gives `nunique`'s count per group: nulls
    not counted, a group of nulls only counts 0, the highest code counts once."""
    import ibis

    con = ibis.duckdb.connect()
    rng = np.random.default_rng(size)
    top = max(size - 1, 0)
    groups = rng.integers(0, 40, 3000).tolist() + [90, 91, 91, 92, 92, 92]
    codes_ = (rng.integers(0, max(size, 1), 3000).tolist() if size else [None] * 3000) \
        + [None, None, top if size else None, top if size else None, 0 if size else None, None]
    codes_ = [None if i % 7 == 0 else c for i, c in enumerate(codes_)]
    t = con.create_table("t", ibis.memtable(pa.table({
        "g": pa.array(groups, pa.int32()), "c": pa.array(codes_, pa.int16())})))
    names = journey.Codes({"persona": tuple(f"p{i}" for i in range(size))})
    got = t.group_by("g").aggregate(n=journey.distinct_count(t.c, names, "persona"))
    want = t.group_by("g").aggregate(n=t.c.nunique())
    got, want = (x.order_by("g").to_pyarrow() for x in (got, want))
    assert got.column("n").type == pa.int64() and got.equals(want)
    assert dict(zip(*got.to_pydict().values(), strict=True))[90] == 0


@pytest.mark.parametrize("keys", [[1, 5, 61], [0], [12, 5, 5], [70], [-1, 3], []])
def test_codes_tested_as_bits_are_in_the_list_as_isin_says(keys):
    """A code's bit in one constant answers `isin` for codes (null stays null), whatever the
    column holds: codes past the 64 bits and negative ones are in no list."""
    import ibis

    con = ibis.duckdb.connect()
    t = con.create_table("t", ibis.memtable(pa.table({"c": pa.array(
        [0, 1, 5, None, 63, 64, 100, -1, 61, 12, 3], pa.int16())})))
    got = t.select(x=journey.is_one_of(t.c, keys)).to_pyarrow().column("x").to_pylist()
    assert got == t.select(x=t.c.isin(keys)).to_pyarrow().column("x").to_pylist()


def _chunked(values: list, cuts: list[int], dtype: pa.DataType) -> pa.ChunkedArray:
    bounds = [0, *cuts, len(values)]
    return pa.chunked_array([pa.array(values[lo:hi], dtype)
                             for lo, hi in zip(bounds, bounds[1:], strict=False)], dtype)


@pytest.mark.parametrize("cuts", [[], [1], [3], [4, 5], [2, 6, 7], [8]])
def test_leads_across_chunks_are_the_next_row_s_value_of_the_same_account(cuts):
    """DuckDB hands ten million rows over in chunks; each row's lead is the next row's value
    wherever the chunks end, null at an account's last row, and null where the value is."""
    accounts = ["a", "a", "a", "b", "b", "c", "c", "c", "d"]
    values = [1, None, 3, 4, 5, None, 7, 8, 9]
    data = pa.table({"a": _chunked(accounts, cuts, pa.string()),
                     "ts": _chunked(list(range(9)), cuts, pa.timestamp("us"))})
    r = ordered.runs(data, account="a", ts="ts", order=None)
    col = _chunked(values, cuts, pa.int16())
    want = [values[i + 1] if i + 1 < 9 and accounts[i + 1] == accounts[i] else None
            for i in range(9)]
    lead = r.lead(col)
    assert lead.type == pa.int16() and lead.to_pylist() == want
    assert r.lead(col.combine_chunks()).to_pylist() == want
    # Nothing copied: the leads read the column's own buffers.
    first = next(c for c in col.chunks if len(c) > 1)
    assert any(c.buffers()[1].address == first.buffers()[1].address for c in lead.chunks)


def test_the_whole_analysis_is_the_same_whatever_order_the_events_are_stored_in(
        demo_workspace, tmp_path):
    template = load_template("b2b")
    source = open_workspace(demo_workspace)
    events = source.table("events")
    codes = journey.dictionaries(events, template)
    facts = materialize(journey.account_facts(events))
    assert journey.ordered_journey(events, facts, codes) is not None  # stored in order
    source.close()
    shuffled = shuffled_copy(demo_workspace, tmp_path)
    source = open_workspace(shuffled)
    assert journey.ordered_journey(source.table("events"), facts_of(source), codes) is None
    source.close()
    a = analyze(template, demo_workspace).to_dict()["tables"]
    b = analyze(template, shuffled).to_dict()["tables"]
    assert a.keys() == b.keys()
    for name in a:
        assert _same_values(a[name], b[name]), name


@pytest.mark.parametrize("slice_rows", [1, 997, 10**9])
def test_an_aggregate_per_account_over_slices_of_accounts_is_the_whole_ones(
        demo_workspace, monkeypatch, slice_rows):
    """Steps in journey order are aggregated slice by slice, each slice whole accounts: the
    rows are those of one aggregate over all the steps (a slice of one row still holds its
    account whole; one larger than the steps is the plain aggregate)."""
    source = open_workspace(demo_workspace)
    try:
        j = journey.build(source.table("events"), load_template("b2b"))
        assert j.in_order is not None

        def per_touchpoint(s):
            return s.group_by(account=s.account_id, touchpoint=s.touchpoint).aggregate(
                n=s.count(), first_ts=s.ts.min(), last_step=s.step.max())

        whole = per_touchpoint(j.steps).to_pyarrow()
        monkeypatch.setattr(journey, "SLICE_ROWS", slice_rows)
        sliced = j.per_accounts(per_touchpoint).to_pyarrow()
        key = [("account", "ascending"), ("touchpoint", "ascending")]
        assert sliced.num_rows == whole.num_rows
        assert sliced.sort_by(key).to_pylist() == whole.sort_by(key).to_pylist()
    finally:
        source.close()


def facts_of(source):
    return materialize(journey.account_facts(source.table("events")))


def _same_values(a, b) -> bool:
    """Equal, floating-point values to 1e-9 (relative): the engine adds in parallel, in an
    order that changes from run to run, so the last bits of a sum do (rounding both sides to
    a fixed number of places can still split two such sums at a rounding boundary)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_values(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_values(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _steps_rows(steps) -> list[dict]:
    return sorted(steps.table.to_pyarrow().to_pylist(), key=lambda r: (r["account_id"],
                                                                       r["step"]))


@pytest.mark.parametrize("names", [3, 70], ids=["short", "long"])
@pytest.mark.parametrize("stored", ["ordered", "shuffled"])
def test_kept_coded_steps_equal_the_window_pass_in_any_order(load, engine, names, stored):
    """The path analyses' coded steps (the pm4py comparison's): the same whether read in
    journey order or sorted, with a short dictionary (a list index in the engine) or a long
    one (looked up in Arrow), a null activity and one missing from the dictionary."""
    rows = []
    for a in range(12):
        for i in range(5):
            activity = None if (a, i) == (3, 2) else f"act-{(a * 7 + i) % names:02d}"
            rows.append({"account_id": f"acc-{a:02d}", "activity": activity,
                         "ts": f"2024-01-{1 + i // 2:02d} 0{i % 2}:00"})
    table = events_table(rows)
    if stored == "shuffled":
        table = table.take(sorted(range(table.num_rows), key=lambda i: (i * 37) % 61))
    events = load(events=table).table("events")
    values = sorted({r["activity"] for r in rows if r["activity"]})[1:]  # one left out
    kept = paths.coded_steps(events, values=values, keep=True)
    window = paths.coded_steps(events, values=values)
    assert kept.values == window.values
    assert _steps_rows(kept) == _steps_rows(window)
    fast = paths._ordered_steps(events, activity="activity", account="account_id", ts="ts",
                                order="seq", values=values)
    assert (fast is not None) == (stored == "ordered" and engine == "duckdb")
    assert paths.directly_follows(kept).to_pyarrow().equals(
        paths.directly_follows(window).to_pyarrow())
    assert paths.variants(kept).to_pyarrow().equals(paths.variants(window).to_pyarrow())
    with pytest.raises(AnalysisError, match="no column 'colour'"):
        paths.coded_steps(events, activity="colour", keep=True)


def test_variants_of_a_journey_in_order_are_the_engines(demo_workspace):
    """The variants read off the journey's Arrow data in journey order (no aggregate, no
    sort) are the variants the engine groups, path for path, with the same durations."""
    source = open_workspace(demo_workspace)
    try:
        built = journey.build(source.table("events"), load_template("b2b"))
        assert built.in_order is not None
        kwargs = {"activity": "touchpoint", "codes": built.codes}
        fast = paths.variants(built.steps, in_order=built.in_order, **kwargs).to_pyarrow()
        engine = paths.variants(built.steps, **kwargs).to_pyarrow()
        assert fast.num_rows == engine.num_rows > 100
        assert _same_values(fast.to_pylist(), engine.to_pylist())
    finally:
        source.close()


@pytest.mark.parametrize("persona", [None, "champion"])
def test_events_without_their_contacts_personas_are_analysed_as_if_they_had_them(
        demo_workspace, tmp_path, persona):
    """Events imported before their contacts lack the personas the contacts give: an analysis
    finds them (checked while the facts are made) and gives what it gives with them."""
    copy = tmp_path / "lacking.duckdb"
    shutil.copy(demo_workspace, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE events SET persona = NULL WHERE contact_id IS NOT NULL")
    con.close()
    from journeyscope.analytics.analyze import _persona_gap

    source = open_workspace(copy)
    assert _persona_gap(source.table("events"), source.table("contacts"))  # what is tested
    source.close()
    template = load_template("b2b")
    a = analyze(template, demo_workspace, persona=persona).to_dict()["tables"]
    b = analyze(template, copy, persona=persona).to_dict()["tables"]
    assert a.keys() == b.keys()
    for name in a:
        assert _same_values(a[name], b[name]), name



@pytest.mark.parametrize("stored", ["ordered", "shuffled"])
def test_the_steps_say_whether_a_column_holds_a_null(load, stored):
    """Read off the Arrow data of steps in journey order, else counted by the engine: B has
    an event without an owner, then none has."""
    rows = list(ORDERED)
    if stored == "shuffled":
        rows[5], rows[6] = rows[6], rows[5]
    j = journey.build(load(events=rows).table("events"), MAP)
    assert (j.in_order is not None) == (stored == "ordered" and j.kept_steps._find_backend(
        use_default=True).name == "duckdb")
    assert j.has_nulls("owner") and j.has_nulls("channel")
    assert not j.has_nulls("touchpoint")
    owned = [{**r, "owner": r.get("owner") or "sales"} for r in rows]
    assert not journey.build(load(events=owned).table("events"), MAP).has_nulls("owner")


def _feedback_threads(monkeypatch) -> list[str]:
    """The names of the threads that make the voice of the customer's events, run by run."""
    from journeyscope.analytics.analyze import _Run

    made = _Run._feedback
    names: list[str] = []

    def watched(self, *args):
        names.append(threading.current_thread().name)
        return made(self, *args)

    monkeypatch.setattr(_Run, "_feedback", watched)
    return names


def _threads(source) -> int:
    return int(source.backend.con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_the_feedback_is_made_beside_the_steps_when_the_events_are_in_journey_order(
        demo_workspace, tmp_path, monkeypatch):
    """Events in journey order: the voice of the customer's events are made once, on a thread
    of their own, while the steps are made, and the sections read them (the tables are those
    of the shuffled copy, where a section makes them: the whole-analysis test above). The
    engine's threads are as they were after the run."""
    names = _feedback_threads(monkeypatch)
    template = load_template("b2b")
    source = open_workspace(demo_workspace)
    before = _threads(source)
    result = analyze(template, source)
    assert names == ["journeyscope-feedback"]
    assert _threads(source) == before
    source.close()
    assert result["voc.by_touchpoint"].num_rows > 0
    names.clear()
    analyze(template, shuffled_copy(demo_workspace, tmp_path))
    assert len(names) == 1 and names[0] != "journeyscope-feedback"


def test_a_failure_making_the_feedback_early_is_the_run_s_error(demo_workspace, monkeypatch):
    """The feedback made beside the steps fails: the section that reads it makes it again
    and the run fails with that error; the engine's threads are put back."""
    from journeyscope.analytics.analyze import _Run

    names: list[str] = []

    def broken(self, *args):
        names.append(threading.current_thread().name)
        raise AnalysisError("the feedback cannot be read")

    monkeypatch.setattr(_Run, "_feedback", broken)
    source = open_workspace(demo_workspace)
    before = _threads(source)
    with pytest.raises(AnalysisError, match="the feedback cannot be read"):
        analyze(load_template("b2b"), source)
    assert names[0] == "journeyscope-feedback" and len(names) >= 2
    assert _threads(source) == before
    source.close()
