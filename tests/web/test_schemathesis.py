"""A schemathesis run over the API's OpenAPI description: whatever schema-shaped (and
schema-breaking) input it generates, the API never answers with a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from journeyscope.store import users

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from journeyscope.web import WebSettings, create_app

    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    app = create_app(WebSettings(data_dir=data_dir, database_url="", secret_key="s" * 32,
                                 demo=False))
    from fastapi.testclient import TestClient

    with app.state.db.write() as s:
        user = users.create_user(s, "fuzz@example.com", "a long password", admin=True)
        _, secret = users.create_token(s, user, "fuzz")
    client = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    workspace = client.post("/api/workspaces", json={"name": "Fuzz"}).json()["id"]
    client.post(f"/api/workspaces/{workspace}/maps", json={"name": "Map", "template": "b2b"})
    app.state.fuzz_token = secret
    yield app
    app.state.uploads.shutdown()
    app.state.measurements.shutdown()
    app.state.db.dispose()


def test_api_never_answers_with_a_server_error(api_app) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    auth = {"Authorization": f"Bearer {api_app.state.fuzz_token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                                f"{response.text[:300]}")

        check()
    assert operations >= 25
    assert failures == []
