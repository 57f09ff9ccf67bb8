"""`journeyscope serve`: upgrade the database, seed the demo workspace on the first start, print
the URL and the demo login, and run the app with uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from journeyscope.web.app import create_app
from journeyscope.web.config import WebSettings


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
        from journeyscope.web.demo import seed

        login = seed(app, say=say)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    say(f"journeyscope is running at http://{shown}:{port}/")
    if login is not None:
        target = f"http://{shown}:{port}/maps/{login.map_id}" if login.map_id else ""
        say(f"demo login: {login.email} / {login.password}" + (f"  (demo map: {target})"
                                                               if target else ""))
    try:
        # Keep idle connections open longer than clients wait between requests, so a client
        # never sends on a connection the server is closing (a reset under load).
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=65)
    finally:
        app.state.uploads.shutdown()
        app.state.measurements.shutdown()
