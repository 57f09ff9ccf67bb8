"""Pages: a map's history (every version with who, when and what changed), one version as it
was, the diff between two versions, restore, and two maps side by side (current and future
state) with their diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from journeyscope.model.diff import diff
from journeyscope.store import maps
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.grid import grid_html
from journeyscope.web.render import page
from journeyscope.web.routes.pages_editor import _go
from journeyscope.web.schemas import PathId

router = APIRouter(include_in_schema=False)
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/maps/{map_id}/history", response_class=HTMLResponse)
def history(request: Request, map_id: PathId, user: CurrentUser, db: Db,
            a: VersionQuery = None, b: VersionQuery = None) -> HTMLResponse:
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        row = loaded.row
        change = None
        if a and b:
            change = maps.diff_versions(s, row, a, b)
        return page(request, "history.html", row=row, jm=loaded.journey_map,
                    versions=maps.versions(s, row), change=change, a=a, b=b,
                    can_edit=loaded.can_edit)


@router.get("/maps/{map_id}/versions/{version}", response_class=HTMLResponse)
def version_page(request: Request, map_id: PathId, version: PathId, user: CurrentUser,
                 db: Db) -> HTMLResponse:
    with db.read() as s:
        loaded = maps.load(s, user, map_id, version)
        key = f"v{version}:{hash(loaded.journey_map.model_dump_json())}"
        html = grid_html(request.app.state, map_id, key, loaded.journey_map, None, None)
        return page(request, "version.html", row=loaded.row, jm=loaded.journey_map,
                    shown=loaded.version, grid=Markup(html), can_edit=loaded.can_edit)


@router.post("/maps/{map_id}/restore")
def restore(request: Request, map_id: PathId, version: Annotated[int, Form(ge=1, le=2**31 - 1)],
            base_version: Annotated[int, Form(ge=1, le=2**31 - 1)], user: CurrentUser,
            db: Db) -> Response:
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        old = maps.effective(s, loaded.row, maps.version_row(s, loaded.row, version))
        prepared = maps.prepare(s, loaded, old, base_version)
    with db.write() as s:
        maps.commit(s, prepared, user, f"restored version {version}")
    return _go(request, f"/maps/{map_id}/history")


@router.get("/maps/{map_id}/compare", response_class=HTMLResponse)
def compare(request: Request, map_id: PathId, user: CurrentUser, db: Db,
            with_: Annotated[int | None, Query(alias="with", ge=1, le=2**31 - 1)] = None
            ) -> HTMLResponse:
    """This map beside another of its workspace (by default its current or future state)."""
    with db.read() as s:
        left = maps.load(s, user, map_id)
        others = [m for m in maps.list_maps(s, left.row.workspace_id) if m.id != map_id]
        other_id = with_ or left.journey_map.meta.get("current_state_map") or next(
            (m.id for m in others if m.base_map_id != map_id), None)
        right = maps.load(s, user, int(other_id)) if other_id else None
        if right is not None and right.row.workspace_id != left.row.workspace_id:
            right = None
        grids, change = [], None
        for loaded in (left, right):
            if loaded is None:
                continue
            key = f"c{loaded.version.version}:{hash(loaded.journey_map.model_dump_json())}"
            grids.append((loaded, Markup(grid_html(request.app.state, loaded.row.id, key,
                                                   loaded.journey_map, None, None))))
        if right is not None:
            # Current state on the left of the diff, whichever side the user opened.
            first, second = (right, left) if left.journey_map.state.value == "future" else (
                left, right)
            change = diff(first.journey_map, second.journey_map, first.journey_map.name,
                          second.journey_map.name)
        return page(request, "compare.html", row=left.row, jm=left.journey_map, grids=grids,
                    change=change, others=others, other_id=other_id)
