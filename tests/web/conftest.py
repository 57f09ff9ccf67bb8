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


# -- the app in process ------------------------------------------------------------------------

PASSWORD = "correct horse battery"


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from journeyscope.web import WebSettings, create_app

    application = create_app(WebSettings(data_dir=tmp_path / "data", database_url=database_url,
                                         secret_key="test-secret-key-of-some-length", demo=False))
    yield application
    application.state.uploads.shutdown()
    application.state.measurements.shutdown()
    application.state.db.dispose()


def make_user(app, email: str, admin: bool = False) -> None:  # type: ignore[no-untyped-def]
    from journeyscope.store import users

    with app.state.db.write() as s:
        users.create_user(s, email, PASSWORD, admin=admin)


def api_client(app, email: str):  # type: ignore[no-untyped-def]
    """A TestClient that authenticates with an API token of `email` (created if needed)."""
    from fastapi.testclient import TestClient

    from journeyscope.store import users

    with app.state.db.write() as s:
        user = users.user_by_email(s, email) or users.create_user(s, email, PASSWORD)
        _, secret = users.create_token(s, user, "tests")
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


def browser_client(app, email: str):  # type: ignore[no-untyped-def]
    """A TestClient signed in through the login form, with its CSRF token in `.csrf`."""
    import re

    from fastapi.testclient import TestClient

    from journeyscope.store import users

    with app.state.db.write() as s:
        if users.user_by_email(s, email) is None:
            users.create_user(s, email, PASSWORD)
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "csrf_token": token, "next": "/"})
    assert answer.status_code == 200, answer.text
    client.csrf = token  # type: ignore[attr-defined]
    return client


@pytest.fixture
def owner(app):  # type: ignore[no-untyped-def]
    return api_client(app, "owner@example.com")


@pytest.fixture
def workspace(owner) -> int:  # type: ignore[no-untyped-def]
    answer = owner.post("/api/workspaces", json={"name": "Acme"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.fixture
def map_id(owner, workspace: int) -> int:  # type: ignore[no-untyped-def]
    answer = owner.post(f"/api/workspaces/{workspace}/maps", json={"name": "Buyers",
                                                                   "template": "b2b"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def join(app, owner, workspace: int, email: str, role: str):  # type: ignore[no-untyped-def]
    """A client of a new member with `role`, joined by an invitation link."""
    client = api_client(app, email)
    link = owner.post(f"/api/workspaces/{workspace}/invitations", json={"role": role}).json()
    token = link["url"].rsplit("/", 1)[1]
    assert client.post(f"/api/invitations/{token}/accept").status_code == 200
    return client
