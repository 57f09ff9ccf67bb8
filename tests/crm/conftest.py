"""Fixtures of the CRM adapter tests: the fixture exports, a DuckDB file, and an independent
count of what the exports hold (Python's csv module, not the adapters' SQL)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

CRM = Path(__file__).resolve().parents[1] / "data" / "crm"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "crm.duckdb"))
    yield connection
    connection.close()


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The data rows of an export, read independently of the adapters."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def export_file(folder: str, contains: str) -> Path:
    matches = [p for p in (CRM / folder).iterdir() if contains in p.name]
    assert len(matches) == 1, matches
    return matches[0]


def activity_counts(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    return dict(con.execute(f"SELECT activity, count(*) FROM {table} GROUP BY 1").fetchall())
