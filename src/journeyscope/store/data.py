"""Data imports per workspace (their state and progress) and the cache of analysis results.

Each workspace keeps its events in its own DuckDB file (`Workspace.data_path`, relative to the
data directory). An import is recorded here before it runs and marked done or failed after;
only a completed import bumps the workspace's `data_version`, which keys the analysis cache
together with the map version, so a new save or a new import never serves stale figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as DbSession

from journeyscope.store.errors import NotFound
from journeyscope.store.models import (
    AnalysisCache,
    DataImport,
    Membership,
    User,
    Workspace,
    utcnow,
)
from journeyscope.store.workspaces import require


def workspace_file(workspace: Workspace, data_dir: str | Path) -> Path:
    """The DuckDB file of a workspace's events."""
    return Path(data_dir) / (workspace.data_path or f"workspaces/{workspace.id}/events.duckdb")


def start_import(db: DbSession, membership: Membership, user: User,
                 sources: list[str]) -> DataImport:
    """Record an import about to run (editors and owners)."""
    require(membership, "editor")
    row = DataImport(workspace_id=membership.workspace_id, created_by=user.id, status="pending",
                     sources={"files": sources}, progress=0.0, events=0, message="")
    db.add(row)
    db.flush()
    return row


def set_progress(db: DbSession, import_id: int, progress: float, message: str = "") -> None:
    db.execute(update(DataImport).where(DataImport.id == import_id).values(
        status="running", progress=max(0.0, min(1.0, progress)), message=message[:2000]))


def finish_import(db: DbSession, import_id: int, *, ok: bool, events: int = 0,
                  message: str = "", details: dict[str, Any] | None = None) -> None:
    """Mark an import done (bumping the workspace's data version) or failed."""
    row = db.get(DataImport, import_id)
    if row is None:
        raise NotFound("no such import")
    row.status = "done" if ok else "failed"
    row.progress = 1.0 if ok else row.progress
    row.events = events
    row.message = message[:5000]
    row.finished_at = utcnow()
    if details:
        row.sources = {**row.sources, **json.loads(json.dumps(details, default=str))}
    if ok:
        db.execute(update(Workspace).where(Workspace.id == row.workspace_id).values(
            data_version=Workspace.data_version + 1))


def imports(db: DbSession, workspace_id: int, limit: int = 50) -> list[DataImport]:
    return list(db.scalars(select(DataImport).where(DataImport.workspace_id == workspace_id)
                           .order_by(DataImport.id.desc()).limit(limit)))


def import_row(db: DbSession, workspace_id: int, import_id: int) -> DataImport:
    row = db.get(DataImport, import_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such import")
    return row


# -- analysis cache --------------------------------------------------------------------------


def cached(db: DbSession, map_id: int, map_version: int, data_version: int,
           filters: str) -> dict[str, Any] | None:
    return db.scalar(select(AnalysisCache.result).where(
        AnalysisCache.map_id == map_id, AnalysisCache.map_version == map_version,
        AnalysisCache.data_version == data_version, AnalysisCache.filters == filters))


def latest_cached_version(db: DbSession, map_id: int, data_version: int,
                          filters: str) -> int | None:
    """The newest version of the map with a cached result on this data version (its result
    is read with `cached`, so a caller that keeps decoded results reads it once)."""
    return db.scalar(select(AnalysisCache.map_version).where(
        AnalysisCache.map_id == map_id, AnalysisCache.data_version == data_version,
        AnalysisCache.filters == filters).order_by(AnalysisCache.map_version.desc()).limit(1))


def store_result(db: DbSession, map_id: int, map_version: int, data_version: int, filters: str,
                 result: dict[str, Any]) -> None:
    """Keep a result; older entries of the same map and filter are dropped."""
    db.execute(delete(AnalysisCache).where(
        AnalysisCache.map_id == map_id, AnalysisCache.filters == filters))
    db.add(AnalysisCache(map_id=map_id, map_version=map_version, data_version=data_version,
                         filters=filters[:500], result=result))
