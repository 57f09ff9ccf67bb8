"""The engine fixture of the analytics suite: every test that takes `engine` (or `load`) runs on
DuckDB and again on PySpark in local mode (marker `spark`), with the same expected results.

A real gap of one engine is marked where it shows, with `pytest.mark.xfail(strict=True)` on
that engine's parameter only, never by skipping.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from journeyscope.analytics.engine import Source, from_arrow
from journeyscope.events.schema import ACCOUNTS_SCHEMA, EVENTS_SCHEMA

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]



def _spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine name; the spark parameter needs PySpark (installed by `.[spark]` in CI)."""
    if request.param == "spark" and not _spark_available():
        if os.environ.get("JOURNEYSCOPE_CI") == "1":
            pytest.fail("PySpark is not installed: pip install -e '.[spark]'")
        pytest.skip("PySpark is not installed: pip install -e '.[spark]'")
    return request.param


def events_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Canonical events from a few hand-written rows (missing columns are null; `ts` may be a
    date string like '2024-01-05' or '2024-01-05 10:00')."""
    names = [n for n in EVENTS_SCHEMA.names if n != "seq"]  # `seq` is appended below
    cols: dict[str, list[Any]] = {n: [] for n in names}
    for i, row in enumerate(rows):
        for n in names:
            v = row.get(n)
            if n == "ts" and isinstance(v, str):
                v = dt.datetime.fromisoformat(v)
            cols[n].append(v)
        unknown = set(row) - set(names) - {"seq"}
        assert not unknown, f"row {i}: unknown columns {unknown}"
    table = pa.table({n: pa.array(cols[n], EVENTS_SCHEMA.field(n).type) for n in names})
    return table.append_column("seq", pa.array(range(len(rows)), pa.int64()))


def accounts_table(rows: list[dict[str, Any]]) -> pa.Table:
    names = ACCOUNTS_SCHEMA.names
    return pa.table({n: pa.array([r.get(n) for r in rows], ACCOUNTS_SCHEMA.field(n).type)
                     for n in names})


@pytest.fixture
def load(engine: str) -> Callable[..., Source]:
    """`load(events=[...rows], accounts=[...rows])`: a Source on the test's engine."""
    opened: list[Source] = []

    def _load(**tables: Any) -> Source:
        arrow = {}
        for name, data in tables.items():
            if isinstance(data, pa.Table):
                arrow[name] = data
            elif name == "events":
                arrow[name] = events_table(data)
            elif name == "accounts":
                arrow[name] = accounts_table(data)
            else:
                arrow[name] = pa.Table.from_pylist(data)
        source = from_arrow(arrow, engine=engine, prefix=f"t{len(opened)}")
        opened.append(source)
        return source

    yield _load
    for source in opened:
        source.close()


def build_demo_workspace(folder: Path, accounts: int, seed: int) -> Path:
    """A workspace file of the demo data set, imported with the b2b template like a user
    would (`journeyscope demo-data` then `journeyscope import --map`)."""
    from journeyscope.events.demo import generate
    from journeyscope.events.importer import import_sources
    from journeyscope.events.workspace import Workspace
    from journeyscope.model.files import load_map
    from journeyscope.model.templates import template_path

    generate(accounts, seed, folder)
    path = folder / "ws.duckdb"
    with Workspace.create(path) as ws:
        import_sources(ws, [folder / "events.parquet", folder / "accounts.csv",
                            folder / "contacts.csv"], journey_map=load_map(template_path("b2b")))
    return path


def shuffled_copy(workspace: Path, folder: Path) -> Path:
    """A copy of `workspace` in `folder` with its events stored in a random order: the same
    data, out of journey order, so that every analysis sorts it."""
    import shutil

    import duckdb

    copy = folder / "shuffled.duckdb"
    shutil.copy(workspace, copy)
    con = duckdb.connect(str(copy))
    con.execute("CREATE TABLE events2 AS SELECT * FROM events ORDER BY hash(seq, 7)")
    con.execute("DROP TABLE events")
    con.execute("ALTER TABLE events2 RENAME TO events")
    con.close()
    return copy


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data of 2,000 accounts (seed 1) in a workspace; TRUTH.json beside it."""
    return build_demo_workspace(tmp_path_factory.mktemp("demo"), 2000, 1)
