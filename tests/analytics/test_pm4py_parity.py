"""The directly-follows graph, its edge durations and the variants equal pm4py's
`discover_dfg`, `discover_performance_dfg` and `get_variants` on the real public logs in
../shared/data/event_logs, on every engine. pm4py (AGPL) is the oracle here, never a
dependency of the package.

Both sides read the very same events (pm4py's own reading of each log), so a difference can only
come from the analyses. Ties in time keep the file's order on both sides (`seq`).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from journeyscope.analytics.base import with_steps
from journeyscope.analytics.paths import coded_steps, directly_follows, variants

with contextlib.redirect_stdout(io.StringIO()):  # pm4py prints a licence banner on import
    import pm4py

LOGS = ["helpdesk.xes.gz", "receipt.csv", "bpic2012.xes.gz"]
CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


def _read(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        # pm4py's own notices (an optional faster XES parser, pandas deprecations) are theirs.
        warnings.simplefilter("ignore")
        if path.suffix == ".csv":
            df = pd.read_csv(path, usecols=[CASE, ACTIVITY, TIME, "org:resource"])
            df[TIME] = pd.to_datetime(df[TIME], utc=True, format="ISO8601")
            return df
        return pm4py.read_xes(str(path), show_progress_bar=False)


@pytest.fixture(scope="module", params=LOGS)
def log(request: pytest.FixtureRequest, shared_data: Path) -> tuple[str, pd.DataFrame]:
    return request.param, _read(shared_data / "event_logs" / request.param)


def _events(df: pd.DataFrame) -> pa.Table:
    ts = df[TIME].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return pa.table({
        "account_id": pa.array(df[CASE].astype(str).tolist(), pa.string()),
        "ts": pa.array(ts.to_numpy(), pa.timestamp("us")),
        "activity": pa.array(df[ACTIVITY].astype(str).tolist(), pa.string()),
        "seq": pa.array(range(len(df)), pa.int64()),
    })


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def oracle(log: tuple[str, pd.DataFrame]) -> dict:
    _, df = log
    dfg, _, _ = _quiet(pm4py.discover_dfg, df)
    perf, _, _ = _quiet(pm4py.discover_performance_dfg, df)
    return {"dfg": dict(dfg), "perf": dict(perf), "variants": dict(_quiet(pm4py.get_variants, df))}


@pytest.fixture(params=["strings", "codes"])
def steps(request, load, log):
    """The steps both ways: `with_steps` over the activity strings, and `coded_steps` (the
    activity as small integers, the fast path of the benchmark)."""
    _, df = log
    events = load(events=_events(df)).table("events")
    if request.param == "codes":
        return coded_steps(events)
    return with_steps(events, touchpoint="activity", stage="activity", owner="activity")


def test_directly_follows_graph_and_edge_durations_equal_pm4py(steps, oracle, log):
    ours = directly_follows(steps).to_pyarrow().to_pylist()
    got = {(r["source"], r["target"]): r["frequency"] for r in ours}
    assert got == oracle["dfg"], log[0]
    assert len(got) > 10
    assert set(got) == set(oracle["perf"])
    for r in ours:
        want = oracle["perf"][(r["source"], r["target"])]
        for measure in ("mean", "median", "min", "max"):
            assert r[f"{measure}_seconds"] == pytest.approx(want[measure], rel=1e-9, abs=1e-6), (
                log[0], r["source"], r["target"], measure)


def test_variants_and_their_counts_equal_pm4py(steps, oracle, log):
    ours = variants(steps).to_pyarrow().to_pylist()
    got = {tuple(r["variant"]): r["accounts"] for r in ours}
    assert got == oracle["variants"], log[0]
    counts = [r["accounts"] for r in ours]
    assert counts == sorted(counts, reverse=True)
    assert sum(r["share"] for r in ours) == pytest.approx(1.0)
