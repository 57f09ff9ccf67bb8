"""`journeyscope serve`: upgrade the database, seed the demo workspace on the first start, print
the URL and the demo login, and run the app with uvicorn.

The demo workspace: a demo user, a workspace with a `b2b` map, and demo data
(`journeyscope.events.demo`) imported into it and analysed, so a newcomer sees a full map with
real-looking measurements at once.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from journeyscope.model.templates import new_map
from journeyscope.store import data as store_data
from journeyscope.store import maps, users, workspaces
from journeyscope.store.models import User, Workspace
from journeyscope.web.app import create_app
from journeyscope.web.config import WebSettings

DEMO_EMAIL = "demo@example.com"
DEMO_WORKSPACE = "Demo: B2B software buyers"
DEMO_MAP = "Mid-market CRM buyers"
LOGIN_FILE = "demo-login.txt"
# Modules that requests import on first use (the analyses and their engines, the figures, the
# importers): imported at start, before the start-up heap is frozen (see `settle_heap`).
LAZY_MODULES = ("journeyscope.analytics.analyze", "journeyscope.report.measures",
                "journeyscope.events.importer", "journeyscope.events.workspace")
# Young collections as CPython's default (700 allocations, every 10th of them the middle
# generation: cheap passes), but a full pass considered after 100 middle ones instead of 10.
# Drawing a map of 200 touchpoints allocates tens of thousands of objects that live through the
# request; each young pass promotes them, and with the default a full pass over the whole heap
# followed every few requests, pausing the server 0.1 to 0.5 s in the middle of a save.
GC_THRESHOLD = (700, 10, 100)


@dataclass
class DemoLogin:
    email: str
    password: str
    map_id: int | None


def demo_login(data_dir: Path) -> DemoLogin | None:
    """The demo login written on the first start, if there is one."""
    path = data_dir / LOGIN_FILE
    if not path.is_file():
        return None
    email, password, map_id = (path.read_text().splitlines() + ["", "", ""])[:3]
    return DemoLogin(email, password, int(map_id) if map_id.isdigit() else None)


def seed(app: Any, accounts: int = 2000, seed_value: int = 7, say: Any = print) -> DemoLogin:
    """Create the demo user, workspace, map and data once; later calls return the login."""
    settings = app.state.settings
    db = app.state.db
    existing = demo_login(settings.data_dir)
    if existing is not None:
        return existing
    with db.read() as s:
        if s.scalar(select(Workspace.id).where(Workspace.name == DEMO_WORKSPACE)) is not None:
            raise RuntimeError("the demo workspace exists but its login file is gone")
    password = secrets.token_urlsafe(9)
    with db.write() as s:
        user = users.user_by_email(s, DEMO_EMAIL) or users.create_user(
            s, DEMO_EMAIL, password, name="Demo user")
        users.set_password(s, user, password)
        workspace = workspaces.create_workspace(s, user, DEMO_WORKSPACE)
        membership = workspaces.access(s, user, workspace.id)
        journey_map = new_map(DEMO_MAP, "b2b")
        row = maps.create(s, membership, journey_map, user, message="demo map from the b2b "
                          "template")
        map_id, workspace_id = row.id, workspace.id
    say(f"seeding the demo workspace: {accounts:,} accounts of demo data ...")
    from journeyscope.events.demo import generate

    with tempfile.TemporaryDirectory(prefix="journeyscope-demo-") as tmp:
        summary = generate(accounts, seed=seed_value, out_dir=tmp, journey_map=journey_map)
        files = [summary.files[name] for name in ("events.parquet", "accounts.csv",
                                                  "contacts.csv")]
        with db.read() as s:
            user = users.user_by_email(s, DEMO_EMAIL)
            membership = workspaces.access(s, user, workspace_id)
        with contextlib.ExitStack() as stack:
            handles = [(Path(f).name, stack.enter_context(Path(f).open("rb"))) for f in files]
            import_id = app.state.uploads.start(membership, user, handles, journey_map,
                                                limit_bytes=2**40)
        app.state.uploads.wait(import_id)
    with db.read() as s:
        row_import = store_data.import_row(s, workspace_id, import_id)
        say(f"demo data: {row_import.status}: {row_import.message}")
        loaded = maps.load(s, user, map_id)
        app.state.measurements.for_editor(s, loaded.row, loaded.version.version,
                                          loaded.journey_map, wait=True)
    login = DemoLogin(DEMO_EMAIL, password, map_id)
    path = settings.data_dir / LOGIN_FILE
    path.write_text(f"{login.email}\n{login.password}\n{map_id}\n")
    path.chmod(0o600)
    return login


def settle_heap() -> None:
    """Tune the garbage collector for a long-running server: import what requests would import
    later, collect once, freeze what is left (modules, the app, its routes: objects that live
    as long as the process) so no later pass walks it again, and make full passes rarer.
    Freed objects are still released at once by reference counting; only cycles wait for a
    collection."""
    for name in LAZY_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def serve(host: str = "127.0.0.1", port: int = 8000, data_dir: Path | None = None,
          say: Callable[[str], None] = print) -> None:
    """Run the web app until interrupted."""
    import uvicorn

    settings = WebSettings(data_dir=data_dir) if data_dir else WebSettings()
    app = create_app(settings)
    say(f"data directory: {settings.data_dir}")
    say(f"database: {app.state.db.safe_url()}")
    login = None
    if settings.demo:
        login = seed(app, say=say)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    say(f"journeyscope is running at http://{shown}:{port}/")
    if login is not None:
        target = f"http://{shown}:{port}/maps/{login.map_id}" if login.map_id else ""
        say(f"demo login: {login.email} / {login.password}" + (f"  (demo map: {target})"
                                                               if target else ""))
    with app.state.db.read() as s:
        admins = s.scalar(select(User.id).where(User.is_admin.is_(True)).limit(1))
    if admins is None:
        say("create your own admin user with: journeyscope users create EMAIL "
            "--password-stdin --admin")
    settle_heap()
    try:
        # Keep idle connections open longer than clients wait between requests, so a client
        # never sends on a connection the server is closing (a reset under load).
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=65)
    finally:
        app.state.uploads.shutdown()
        app.state.measurements.shutdown()
