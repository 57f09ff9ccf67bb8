"""Engines: the workspace opens read-only on DuckDB, PySpark reads its Parquet export, and the
whole analysis gives the same tables on both."""

from __future__ import annotations

import math

import pytest

from journeyscope.analytics.analyze import analyze
from journeyscope.analytics.engine import EngineError, from_arrow, open_workspace
from journeyscope.events.errors import WorkspaceError
from journeyscope.model.templates import template_path

from .conftest import build_demo_workspace


def test_duckdb_opens_the_workspace_read_only(demo_workspace):
    src = open_workspace(demo_workspace)
    try:
        assert src.table("events").count().to_pyarrow().as_py() > 0
        assert src.meta["map_name"] == "B2B customer journey"
        with pytest.raises(Exception, match="read-only"):
            src.backend.con.execute("DELETE FROM events")
    finally:
        src.close()


def test_opening_the_workspace_loads_ibis_s_result_converter(demo_workspace):
    """Ibis imports its converter of DuckDB's results (and pandas with it) the first time it
    is asked: the workspace loads it when it opens, in a fresh process as on the command
    line, whether or not an analysis has started importing it on a thread of its own."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "from journeyscope.analytics.analyze import _import_converter\n"
        "from journeyscope.analytics.engine import open_workspace\n"
        "assert 'ibis.backends.duckdb.converter' not in sys.modules\n"
        "if sys.argv[2] == 'beside':\n"
        "    threading.Thread(target=_import_converter, daemon=True).start()\n"
        "source = open_workspace(sys.argv[1])\n"
        "assert 'ibis.backends.duckdb.converter' in sys.modules\n"
        "print(source.table('events').count().to_pyarrow().as_py())\n"
    )
    for how in ("alone", "beside"):
        out = subprocess.run([sys.executable, "-c", code, str(demo_workspace), how],
                             capture_output=True, text=True, check=True)
        assert int(out.stdout) > 0, how


def test_threads_query_the_workspace_at_once_and_see_what_each_kept(demo_workspace):
    from concurrent.futures import ThreadPoolExecutor

    import ibis

    from journeyscope.analytics.engine import materialize, parallel

    src = open_workspace(demo_workspace)
    try:
        assert parallel(src)
        events = src.table("events")
        kept = materialize(events.group_by("account_id").aggregate(n=events.count()))
        channels = ibis.memtable({"channel": ["web", "email"]})

        def count(_: int) -> tuple[int, int]:
            # Another cursor per thread: the kept table and the in-memory table are seen
            # by every one of them.
            web = events.semi_join(channels, "channel")
            return (kept.n.sum().to_pyarrow().as_py(), web.count().to_pyarrow().as_py())

        with ThreadPoolExecutor(max_workers=2) as pool:
            got = list(pool.map(count, range(4)))
        total = events.count().to_pyarrow().as_py()
        web = events.filter(events.channel.isin(["web", "email"])).count().to_pyarrow().as_py()
        assert got == [(total, web)] * 4
    finally:
        src.close()


@pytest.mark.parametrize("reads_memtable", [False, True])
def test_one_query_over_several_kept_tables_is_their_union(demo_workspace, reads_memtable):
    """`kept_union` compiles the query once and changes the table's name for the others
    (or builds each, when the query reads an in-memory table of its own): the rows of the
    queries, one after the other."""
    import ibis

    from journeyscope.analytics.engine import keep_arrow, kept_union, release

    src = open_workspace(demo_workspace)
    try:
        events = src.table("events")
        data = events.select("account_id", "channel", "ts").to_pyarrow()
        cuts = [0, 5, 1000, data.num_rows]
        pieces = [keep_arrow(src.backend, data.slice(lo, hi - lo)) for lo, hi in
                  zip(cuts, cuts[1:], strict=False)]
        web = ibis.memtable({"channel": ["web"]})

        def make(t):
            if reads_memtable:
                t = t.semi_join(web, "channel")
            return t.group_by("account_id").aggregate(n=t.count(), first=t.ts.min())

        got = kept_union(pieces, make).to_pyarrow()
        want = ibis.union(*(make(p) for p in pieces), distinct=False).to_pyarrow()
        key = [("account_id", "ascending"), ("n", "ascending"), ("first", "ascending")]
        assert got.num_rows == want.num_rows > 0
        assert got.sort_by(key).to_pylist() == want.sort_by(key).to_pylist()
        for p in pieces:
            release(p)
    finally:
        src.close()


def test_queries_side_by_side_share_the_cores_and_the_setting_is_put_back(demo_workspace):
    from journeyscope.analytics.engine import cores_shared

    src = open_workspace(demo_workspace)
    con = src.backend.con

    def threads() -> int:
        return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])

    try:
        con.execute("SET threads = 4")
        with cores_shared(src, 2):
            assert threads() == 2
            assert src.table("events").count().to_pyarrow().as_py() > 0
        assert threads() == 4
        with cores_shared(src, 8):  # never fewer than one
            assert threads() == 1
        assert threads() == 4
        with pytest.raises(RuntimeError), cores_shared(src, 2):
            raise RuntimeError("a failing section")
        assert threads() == 4
        con.execute("SET threads = 1")
        with cores_shared(src, 2):  # nothing to share
            assert threads() == 1
    finally:
        src.close()


def test_an_analysis_puts_the_threads_of_a_source_it_is_given_back(demo_workspace):
    src = open_workspace(demo_workspace)
    try:
        src.backend.con.execute("SET threads = 2")
        result = analyze(template_path("b2b"), src)
        assert result.tables["stages.funnel"].num_rows > 0
        got = src.backend.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        assert int(got) == 2
    finally:
        src.close()


def test_one_workspace_file_analysed_twice_at_once_in_one_process(demo_workspace):
    """Connections to one file share DuckDB's database and what is attached to it: each
    analysis connection has a scratch database of its own, and lets it go when closed."""
    from concurrent.futures import ThreadPoolExecutor

    first, second = open_workspace(demo_workspace), open_workspace(demo_workspace)
    try:
        assert first.backend.con.scratch != second.backend.con.scratch
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda src: analyze(template_path("b2b"), src),
                                    [first, second]))
        funnels = [r.tables["stages.funnel"].to_pylist() for r in results]
        assert funnels[0] == funnels[1] and funnels[0]
    finally:
        first.close()
    try:
        attached = {r[0] for r in second.backend.con.execute(
            "SELECT database_name FROM duckdb_databases()").fetchall()}
        assert second.backend.con.scratch in attached
        assert first.backend.con.scratch not in attached
        assert second.table("events").count().to_pyarrow().as_py() > 0
    finally:
        second.close()


def test_no_query_of_an_analysis_runs_on_ibis_s_default_connection(demo_workspace,
                                                                     monkeypatch):
    """Ibis runs an expression of in-memory tables alone on its default DuckDB connection,
    which every thread of the process shares: two analyses at once in one process (two
    workspaces in the web app) would meet there and DuckDB refuses a connection's second call
    at once. Every query of a run goes to the run's own connection (the variants of events
    in journey order did not)."""
    import ibis

    default = ibis.get_backend()
    real = type(default)._to_duckdb_relation
    on_default = []

    def spy(self, expr, **kwargs):
        if self is default:
            on_default.append(expr)
        return real(self, expr, **kwargs)

    monkeypatch.setattr(type(default), "_to_duckdb_relation", spy)
    result = analyze(template_path("b2b"), demo_workspace)
    assert result.meta["journey_order"] and result.tables["paths.variants"].num_rows > 0
    assert on_default == []


def test_a_file_that_is_not_a_workspace_is_refused(tmp_path):
    fake = tmp_path / "notes.duckdb"
    fake.write_text("hello")
    with pytest.raises(WorkspaceError, match="cannot be opened as a DuckDB workspace"):
        open_workspace(fake)


def test_an_unknown_engine_is_refused():
    with pytest.raises(EngineError, match="unknown engine 'polars'"):
        from_arrow({}, engine="polars")


def test_an_unknown_table_names_the_ones_there(demo_workspace):
    src = open_workspace(demo_workspace)
    try:
        with pytest.raises(WorkspaceError, match="has no table 'deals'; it has: accounts"):
            src.table("deals")
    finally:
        src.close()


@pytest.mark.spark
@pytest.mark.slow
def test_spark_reads_a_parquet_export_made_once(demo_workspace, tmp_path):
    export = tmp_path / "export"
    src = open_workspace(demo_workspace, engine="spark", parquet_dir=export)
    events = src.table("events").count().to_pyarrow().as_py()
    duck = open_workspace(demo_workspace)
    assert events == duck.table("events").count().to_pyarrow().as_py()
    duck.close()
    stamp = (export / "events.parquet").stat().st_mtime
    open_workspace(demo_workspace, engine="spark", parquet_dir=export)
    assert (export / "events.parquet").stat().st_mtime == stamp


def _norm(v, digits: int):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, digits)
    if isinstance(v, list):
        return tuple(_norm(x, digits) for x in v)
    return v


def _same(a, b) -> bool:
    """Equal tables up to row order and the last bits of floating point."""
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        return False

    def rows(t):
        return sorted(t.to_pylist(), key=lambda r: repr([_norm(v, 3) for v in r.values()]))

    for x, y in zip(rows(a), rows(b), strict=True):
        for k in x:
            u, v = _norm(x[k], 12), _norm(y[k], 12)
            if isinstance(u, float) and isinstance(v, float):
                if u != pytest.approx(v, rel=1e-6, abs=1e-9):
                    return False
            elif u != v:
                return False
    return True


@pytest.mark.spark
@pytest.mark.slow
def test_the_whole_analysis_is_the_same_on_spark_and_duckdb(tmp_path_factory):
    ws = build_demo_workspace(tmp_path_factory.mktemp("parity"), 150, 4)
    b2b = template_path("b2b")
    duck = analyze(b2b, ws)
    spark = analyze(b2b, ws, engine="spark")
    assert spark.meta["engine"] == "spark"
    assert set(spark.tables) == set(duck.tables)
    differ = [name for name in duck.tables if not _same(duck[name], spark[name])]
    assert differ == []
