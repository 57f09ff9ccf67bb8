"""The web app's factory: `create_app(settings)` wires the store, the routes, the static files
and the error handling.

Errors never become a 500: store errors map to their status (404 for what the user may not see,
403 for a role that may not change it, 409 for a stale save, 422 with a message per field for
bad input), as JSON `{"detail": ...}` under `/api/` and as a page or an htmx flash elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from journeyscope import __version__
from journeyscope.errors import JourneyscopeError
from journeyscope.model.issues import MapError
from journeyscope.store import Database
from journeyscope.store.errors import Invalid, StoreError, Unauthorized
from journeyscope.store.maps import VersionConflict, issues_to_invalid
from journeyscope.web import csrf
from journeyscope.web.config import WebSettings
from journeyscope.web.messages import web_text
from journeyscope.web.render import flash, is_htmx, page

log = logging.getLogger("journeyscope.web")
WORKER_THREADS = 8


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI app on `settings` (default: from the settings registry); upgrades the
    database to the newest migration first."""
    settings = settings or WebSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.key()
    db = Database(settings.db_url)
    db.upgrade()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Requests run in worker threads; a few keep the GIL and SQLite's write lock from
        # being handed round dozens of threads at once under load (they queue instead).
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="journeyscope",
        version=__version__,
        description="Design, measure and keep B2B customer journey maps alive together. "
        "Authenticate with `Authorization: Bearer <token>` (create one under /api/tokens or "
        "with `journeyscope users token`).",
        dependencies=[Depends(csrf.verify)],
    )
    # A large map's page is about 1 MB of markup; level 1 shrinks it tenfold for a few ms.
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=1)
    app.state.db = db
    app.state.settings = settings
    from journeyscope.web.measure import Measurements
    from journeyscope.web.uploads import Uploads

    app.state.uploads = Uploads(db, settings.data_dir)
    app.state.measurements = Measurements(db, settings.data_dir, app.state.uploads.lock)

    static = resources.files("journeyscope.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/static-plotly/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness and database check; needs no credentials."""
        with db.read() as s:
            s.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    from journeyscope.web.routes import (
        api_data,
        api_maps,
        api_workspaces,
        pages_auth,
        pages_data,
        pages_editor,
        pages_history,
        pages_workspaces,
    )

    for module in (api_workspaces, api_maps, api_data, pages_auth, pages_workspaces,
                   pages_editor, pages_history, pages_data):
        app.include_router(module.router)
    _handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _field_detail(exc: Invalid) -> list[dict[str, Any]]:
    return [{"loc": [exc.where, *loc], "msg": msg, "type": "value_error"}
            for loc, msg in exc.fields]


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        return _store_response(request, exc)

    @app.exception_handler(MapError)
    async def map_error(request: Request, exc: MapError) -> Response:
        return _store_response(request, issues_to_invalid(exc.issues, ()))

    @app.exception_handler(JourneyscopeError)
    async def library_error(request: Request, exc: JourneyscopeError) -> Response:
        return _store_response(request, Invalid(web_text(str(exc))))

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError) -> Response:
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "invalid")),
                   "type": str(e.get("type", "value_error"))} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=422)
        lines = [f"{'.'.join(str(p) for p in d['loc'][1:])}: {d['msg']}" for d in detail]
        return _page_error(request, "Some fields are not valid", 422, lines)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return _page_error(request, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:  # pragma: no cover
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if _is_api(request):
            return JSONResponse({"detail": "internal error; see the server log"}, 500)
        return _page_error(request, "Something went wrong on the server; see its log", 500)


def _store_response(request: Request, exc: StoreError) -> Response:
    status = exc.status
    if _is_api(request):
        if isinstance(exc, Invalid):
            return JSONResponse({"detail": _field_detail(exc)}, status_code=status)
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, VersionConflict):
            body.update(base_version=exc.base_version, current_version=exc.current_version,
                        author=exc.author, saved_at=exc.saved_at.isoformat(),
                        diff=json.loads(exc.diff.to_json()))
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(exc, Unauthorized) and request.method == "GET" and not is_htmx(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    message = str(exc)
    detail = []
    for loc, msg in exc.fields if isinstance(exc, Invalid) else []:
        # A box says each message once: an unlocated field repeats the heading, and a
        # heading such as "the map is not valid: <first error>" ends with a located one.
        if not loc and msg == message:
            continue
        if loc and message.endswith(f": {msg}"):
            message = message[:-len(msg) - 2]
        detail.append(f"{'.'.join(str(p) for p in loc)}: {msg}" if loc else msg)
    if isinstance(exc, VersionConflict):
        return _page_error(request, message.splitlines()[0],
                           status, message.splitlines()[1:], reload=True, kind="conflict")
    return _page_error(request, message, status, detail)


def _page_error(request: Request, message: str, status: int, detail: list[str] | None = None,
                reload: bool = False, kind: str = "error") -> Response:
    if is_htmx(request):
        return flash(request, message, status, kind=kind, detail=detail, reload=reload)
    return page(request, "error.html", status_code=status, message=message, detail=detail or [],
                status=status)
