"""Pages: uploading data into a workspace (htmx, with the import's progress polled) and a
map's measured dashboard, filtered by segment, persona and period."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from journeyscope.store import Invalid, maps, workspaces
from journeyscope.store import data as store_data
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.render import page
from journeyscope.web.routes.api_data import start_upload
from journeyscope.web.schemas import OptionalQuery, PathId

router = APIRouter(include_in_schema=False)


@router.post("/workspaces/{workspace_id}/uploads", response_class=HTMLResponse)
def upload(request: Request, workspace_id: PathId, files: Annotated[list[UploadFile], File()],
           user: CurrentUser, db: Db,
           map_id: Annotated[str, Form(max_length=12)] = "") -> HTMLResponse:
    chosen = int(map_id) if map_id.isdigit() and 0 < int(map_id) < 2**31 else None
    start_upload(request, db, user, workspace_id, files, chosen)
    with db.read() as s:
        membership = workspaces.access(s, user, workspace_id)
        return page(request, "_imports.html", workspace=membership.workspace,
                    imports=store_data.imports(s, workspace_id))


@router.get("/maps/{map_id}/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, map_id: PathId, user: CurrentUser, db: Db,
              segment: OptionalQuery = None, persona: OptionalQuery = None,
              since: Annotated[str | None, Query(max_length=10)] = None,
              until: Annotated[str | None, Query(max_length=10)] = None) -> HTMLResponse:
    """The dashboard; a filter that is not valid, or that the data cannot satisfy, is said
    above it (422), with the filter form as it was sent."""
    measurements = request.app.state.measurements
    form = {"segment": segment or "", "persona": persona or "", "since": since or "",
            "until": until or ""}
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        args = (s, loaded.row, loaded.version.version, loaded.journey_map)
        try:
            filters = measurements.filters(segment=segment or None, persona=persona or None,
                                           since=since or None, until=until or None)
        except Invalid as exc:
            board = measurements.dashboard_error(*args, "; ".join(
                f"{loc[0]}: {msg}" if loc else msg for loc, msg in exc.fields))
        else:
            board = measurements.dashboard(*args, filters)
        return page(request, "dashboard.html", status_code=422 if board.get("error") else 200,
                    row=loaded.row, jm=loaded.journey_map, form=form, board=board,
                    charts=Markup(board.get("html", "")))
