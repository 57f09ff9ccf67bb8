"""Measurements for the web app: a map's analysis on its workspace's data, cached in the store
per map version, data version and filter, laid on the editor's grid and shown as dashboards."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeyscope.model.types import JourneyMap
from journeyscope.store import Database, Invalid
from journeyscope.store import data as store_data
from journeyscope.store.models import Map, Workspace
from journeyscope.web.grid import MapFigures


@dataclass(frozen=True)
class Filters:
    segment: str | None = None
    persona: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def key(self) -> str:
        return "&".join(f"{k}={v}" for k, v in (
            ("segment", self.segment), ("persona", self.persona), ("since", self.since),
            ("until", self.until)) if v)

    @property
    def empty(self) -> bool:
        return not self.key()


def _date(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field}: not a date", [((field,), f"{value!r} is not a date; write "
                                                "YYYY-MM-DD")]) from None


class Measurements:
    def __init__(self, db: Database, data_dir: Path):
        self.db = db
        self.data_dir = data_dir
        self._lock = threading.Lock()

    def filters(self, *, segment: str | None = None, persona: str | None = None,
                since: str | None = None, until: str | None = None) -> Filters:
        start, end = _date(since, "since"), _date(until, "until")
        if start and end and start > end:
            raise Invalid("period", [(("since",), "the period starts after it ends")])
        return Filters(segment or None, persona or None, start, end)

    def workspace(self, s: Any, row: Map) -> Workspace:
        workspace = s.get(Workspace, row.workspace_id)
        assert workspace is not None
        return workspace

    def results(self, s: Any, row: Map, version: int, jm: JourneyMap,
                filters: Filters) -> dict[str, Any]:
        """The analysis results (JSON), from the cache or computed now."""
        workspace = self.workspace(s, row)
        if workspace.data_version == 0:
            return {"data_version": 0, "message": "no data imported into this workspace yet"}
        hit = store_data.cached(s, row.id, version, workspace.data_version, filters.key())
        if hit is not None:
            return hit
        path = store_data.workspace_file(workspace, self.data_dir)
        with self._lock:
            result = compute(jm, path, filters)
        result["data_version"] = workspace.data_version
        with self.db.write() as w:
            store_data.store_result(w, row.id, version, workspace.data_version, filters.key(),
                                    result)
        return result

    def for_editor(self, s: Any, row: Map, version: int, jm: JourneyMap) -> MapFigures | None:
        """Figures for the grid, when the workspace has data."""
        result = self.results(s, row, version, jm, Filters())
        if not result.get("data_version"):
            return None
        return figures_of(result)

    def dashboard(self, s: Any, row: Map, version: int, jm: JourneyMap,
                  filters: Filters) -> dict[str, Any]:
        result = self.results(s, row, version, jm, filters)
        return {"result": result, "html": charts_html(result, jm) if result.get(
            "data_version") else ""}


def compute(jm: JourneyMap, workspace: Path, filters: Filters) -> dict[str, Any]:
    """Run the analysis of `jm` on the workspace file with the filters."""
    import journeyscope

    return journeyscope.analyze(jm, workspace, segment=filters.segment,  # type: ignore[attr-defined]
                                persona=filters.persona, since=filters.since,
                                until=filters.until).to_dict()


def figures_of(result: dict[str, Any]) -> MapFigures:
    return MapFigures(data_version=int(result.get("data_version", 0)))


def charts_html(result: dict[str, Any], jm: JourneyMap) -> str:
    return ""
