"""`journeyscope serve` and `journeyscope users` as a person runs them: real processes, a real
port, and a server killed with SIGKILL right after a save, which must keep the save."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from journeyscope.cli import app as cli
from journeyscope.store import Database, sqlite_url
from journeyscope.store import maps as store_maps
from journeyscope.store import users as store_users


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, demo: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYSCOPE_DATABASE")}
    env.update(JOURNEYSCOPE_DATA_DIR=str(data_dir), JOURNEYSCOPE_DEMO="1" if demo else "0")
    return env


def _start(data_dir: Path, port: int, demo: bool = False) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "journeyscope.cli", "serve", "--port", str(port), "--data-dir",
         str(data_dir)], env=_env(data_dir, demo), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(process)
    raise AssertionError("serve did not answer within 120 s")


def _stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Stop the server (if running) and return what it printed."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        output = process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0]
    return output or ""


def _save_one(api: httpx.Client) -> httpx.Response:
    workspace = api.post("/api/workspaces", json={"name": "Acme"}).json()["id"]
    map_id = api.post(f"/api/workspaces/{workspace}/maps", json={"name": "Buyers"}).json()["id"]
    document = api.get(f"/api/maps/{map_id}").json()["document"]
    document["name"] = "Saved just before the crash"
    return api.put(f"/api/maps/{map_id}", json={"base_version": 1, "document": document})


def test_users_create_makes_an_admin_from_stdin(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JOURNEYSCOPE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JOURNEYSCOPE_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "create", "admin@example.com", "--password-stdin",
                                 "--admin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "created admin user admin@example.com" in result.output
    again = runner.invoke(cli, ["users", "create", "admin@example.com", "--password-stdin"],
                          input="another password\n")
    assert again.exit_code == 1
    assert "exists already" in again.output
    short = runner.invoke(cli, ["users", "create", "b@example.com", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    token = runner.invoke(cli, ["users", "token", "admin@example.com"])
    assert token.exit_code == 0 and token.output.startswith("jst_")
    db = Database(sqlite_url(tmp_path))
    with db.read() as s:
        user = store_users.authenticate(s, "admin@example.com", "a long password")
        assert user.is_admin
        assert store_users.token_user(s, token.output.strip()).email == "admin@example.com"
    db.dispose()


def test_users_commands_need_the_apps_database_and_say_where_they_looked(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("JOURNEYSCOPE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    elsewhere = tmp_path / "not-the-app"
    token = runner.invoke(cli, ["users", "token", "ana@example.com", "--data-dir", str(elsewhere)])
    assert token.exit_code == 1
    assert f"no app database in {elsewhere}: give the folder `journeyscope serve` uses" \
        in " ".join(token.output.split())
    assert not elsewhere.exists()  # nothing created where nothing was
    data = tmp_path / "data"
    created = runner.invoke(cli, ["users", "create", "ana@example.com", "--password-stdin",
                                  "--data-dir", str(data)], input="a long password\n")
    assert created.exit_code == 0, created.output
    unnamed = runner.invoke(cli, ["users", "token", "ana@example.com", "--name", " ",
                                  "--data-dir", str(data)])
    assert unnamed.exit_code == 1
    assert "token name: give the token a name of 1 to 200 characters" in unnamed.output
    named = runner.invoke(cli, ["users", "token", "ana@example.com", "--data-dir", str(data)])
    assert named.exit_code == 0 and named.output.startswith("jst_")


def test_killed_server_keeps_a_committed_save(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner = CliRunner()
    env = _env(data_dir, demo=False)
    created = runner.invoke(cli, ["users", "create", "ana@example.com", "--password-stdin"],
                            input="a long password\n", env=env)
    assert created.exit_code == 0, created.output
    secret = runner.invoke(cli, ["users", "token", "ana@example.com"], env=env).output.strip()
    port = free_port()
    server = _start(data_dir, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {secret}"}) as api:
            saved = _save_one(api)
        assert saved.status_code == 200
        _stop(server, signal.SIGKILL)
        assert server.returncode == -signal.SIGKILL
    finally:
        _stop(server, signal.SIGKILL)
    map_id = saved.json()["id"]
    db = Database(sqlite_url(data_dir))
    with db.read() as s:
        ana = store_users.user_by_email(s, "ana@example.com")
        loaded = store_maps.load(s, ana, map_id)
        assert loaded.row.version == 2
        assert loaded.journey_map.name == "Saved just before the crash"
    db.dispose()
    server = _start(data_dir, port)
    try:
        again = httpx.get(f"http://127.0.0.1:{port}/api/maps/{map_id}",
                          headers={"Authorization": f"Bearer {secret}"}).json()
        assert (again["version"], again["document"]["name"]) == (2, "Saved just before the crash")
    finally:
        _stop(server)


@pytest.mark.slow
def test_first_serve_seeds_a_measured_demo_and_prints_the_login(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    server = _start(data_dir, port, demo=True)
    output = _stop(server)
    assert f"journeyscope is running at http://localhost:{port}/" in output
    login_line = next(line for line in output.splitlines() if line.startswith("demo login:"))
    email, password = login_line.split(":", 1)[1].split("(")[0].strip().split(" / ")
    assert email == "demo@example.com"
    assert "demo data: done" in output
    db = Database(sqlite_url(data_dir))
    with db.read() as s:
        store_users.authenticate(s, email, password)
    db.dispose()
