"""Fixtures of the import tests: workspaces and connections in tmp_path, small source files,
a snapshot of every workspace table to prove that a failed import changed nothing, and the
Python example of docs/import.md."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from journeyscope.events.workspace import Workspace

WORKSPACE_TABLES = ("events", "accounts", "contacts", "imports", "meta")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "import.md"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection as the workspace configures it (UTC session time zone)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "ws.duckdb")
    yield workspace
    workspace.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text or bytes, encoding='utf-8') -> path; a name ending in .gz is gzipped."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content.encode(encoding) if isinstance(content, str) else content
        if name.endswith(".gz"):
            data = gzip.compress(data)
        path.write_bytes(data)
        return path

    return _write


def snapshot(workspace: Workspace) -> dict[str, list[tuple]]:
    """Every row of every workspace table, in a stable order."""
    out = {}
    for table in WORKSPACE_TABLES:
        rows = workspace.con.execute(f"SELECT * FROM {table}").fetchall()
        out[table] = sorted(rows, key=repr)
    return out


def python_example() -> str:
    """The code of docs/import.md's "From Python" section."""
    section = DOCS.read_text().split("\n## From Python\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def small_line_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """A line limit of 1,000 bytes, to test the 2 GB-line guard with small files."""
    monkeypatch.setenv("JOURNEYSCOPE_IMPORT_MAX_LINE_BYTES", "1000")
    return 1000


EVENTS_CSV = """account_id,contact_id,ts,activity,channel,owner,value
acme,c1,2024-03-01 09:00:00,webinar_attended,video,marketing,
acme,c2,2024-03-02 10:30:00,demo_held,meeting,sales,
globex,c3,2024-03-03 11:00:00,deal_won,meeting,sales,12000.5
"""


@pytest.fixture
def events_csv(write: Callable[..., Path]) -> Path:
    return write("events.csv", EVENTS_CSV)
