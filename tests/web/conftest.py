"""Fixtures of the web app's tests: a store on a real SQLite file (and on PostgreSQL when
JOURNEYSCOPE_TEST_POSTGRES_URL is set), the app in process, and signed-in clients."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from journeyscope.store import Database, sqlite_url
from journeyscope.store.models import Base

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("JOURNEYSCOPE_TEST_POSTGRES_URL") else [])


def _reset_postgres(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file in tmp_path, or the test PostgreSQL server, emptied."""
    if request.param == "postgres":
        url = os.environ["JOURNEYSCOPE_TEST_POSTGRES_URL"]
        _reset_postgres(url)
        return url
    return sqlite_url(tmp_path / "data")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()
