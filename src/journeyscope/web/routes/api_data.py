"""REST API: data uploads into a workspace (event files and CRM exports, imported all or
nothing in the background, with progress) and the analysis results of a map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from journeyscope.store import data as store_data
from journeyscope.store import maps, workspaces
from journeyscope.store.errors import NotFound
from journeyscope.store.models import DataImport
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.schemas import MAX_ID, ImportOut, OptionalQuery, PathId

router = APIRouter(prefix="/api", tags=["data and measurements"])


def import_out(row: DataImport) -> ImportOut:
    return ImportOut(id=row.id, status=row.status, progress=row.progress,  # type: ignore[arg-type]
                     events=row.events, message=row.message, sources=row.sources,
                     created_at=row.created_at, finished_at=row.finished_at)


def start_upload(request: Request, db: Any, user: Any, workspace_id: int,
                 files: list[UploadFile], map_id: int | None) -> int:
    """Save the files and start their import; returns the import's id. A map of another
    workspace is refused as an unknown one is (404), so that its existence is not leaked."""
    journey_map = None
    with db.read() as s:
        membership = workspaces.access(s, user, workspace_id)
        if map_id:
            loaded = maps.load(s, user, map_id)
            if loaded.row.workspace_id != workspace_id:
                raise NotFound("no such map")
            journey_map = loaded.journey_map
    limit = int(request.app.state.settings.max_upload_mb * 2**20)
    return request.app.state.uploads.start(
        membership, user, [(f.filename or "upload", f.file) for f in files], journey_map, limit)


@router.post("/workspaces/{workspace_id}/imports", response_model=ImportOut, status_code=202)
def upload(request: Request, workspace_id: PathId, files: Annotated[list[UploadFile], File()],
           user: CurrentUser, db: Db,
           map_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None) -> ImportOut:
    """Upload event files (CSV, Parquet, JSON Lines, XES) or CRM exports and import them into
    the workspace, all or nothing, matched with `map_id`'s touchpoints. Answers at once; poll
    the import for its progress (editors)."""
    import_id = start_upload(request, db, user, workspace_id, files, map_id)
    with db.read() as s:
        return import_out(store_data.import_row(s, workspace_id, import_id))


@router.get("/workspaces/{workspace_id}/imports", response_model=list[ImportOut])
def list_imports(workspace_id: PathId, user: CurrentUser, db: Db) -> list[ImportOut]:
    """The workspace's imports, newest first."""
    with db.read() as s:
        workspaces.access(s, user, workspace_id)
        return [import_out(r) for r in store_data.imports(s, workspace_id)]


@router.get("/workspaces/{workspace_id}/imports/{import_id}", response_model=ImportOut)
def get_import(workspace_id: PathId, import_id: PathId, user: CurrentUser, db: Db) -> ImportOut:
    """One import: its status (pending, running, done, failed), progress and result."""
    with db.read() as s:
        workspaces.access(s, user, workspace_id)
        return import_out(store_data.import_row(s, workspace_id, import_id))


@router.get("/maps/{map_id}/analysis")
def analysis(request: Request, map_id: PathId, user: CurrentUser, db: Db,
             segment: OptionalQuery = None, persona: OptionalQuery = None,
             since: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
             until: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None
             ) -> dict[str, Any]:
    """The map measured against the workspace's data (cached per map version and data
    version), filtered by segment, persona and period."""
    measurements = request.app.state.measurements
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        filters = measurements.filters(segment=segment, persona=persona, since=since,
                                       until=until)
        return measurements.results(s, loaded.row, loaded.version.version, loaded.journey_map,
                                    filters)
