"""journeyscope: B2B customer journey maps as code, measured against what accounts did.

The library API:

>>> import journeyscope
>>> m = journeyscope.load_map(journeyscope.template_path("b2b"))
>>> journeyscope.validate(m).ok
True
>>> journeyscope.diff(m, m).empty
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeyscope.model import JourneyMap, MapError, load_map, save_map
from journeyscope.model.diff import MapDiff
from journeyscope.model.diff import diff as _diff
from journeyscope.model.templates import new_map, template_names, template_path
from journeyscope.model.validate import validate
from journeyscope.model.variants import resolve

if TYPE_CHECKING:
    from journeyscope.analytics.analyze import AnalysisResult

__version__ = "0.1.0"


def diff(a: JourneyMap | str | os.PathLike[str], b: JourneyMap | str | os.PathLike[str]) -> MapDiff:
    """What changed from map `a` to map `b` (maps or map files)."""
    names = [str(x) if not isinstance(x, JourneyMap) else x.name for x in (a, b)]
    ma, mb = (x if isinstance(x, JourneyMap) else load_map(x) for x in (a, b))
    return _diff(ma, mb, *names)


def render(journey_map: JourneyMap | str | os.PathLike[str], out: str | os.PathLike[str],
           fmt: str | None = None, persona: str | None = None, **options: Any) -> Path:
    """Render a map to HTML, SVG, PNG, PDF, CSV, Markdown or JSON (by `out`'s extension or
    `fmt`); returns the written path."""
    from journeyscope.report.render import render as _render

    return _render(journey_map, out, fmt=fmt, persona=persona, **options)


def analyze(journey_map: JourneyMap | str | os.PathLike[str],
            workspace: str | os.PathLike[str], **options: Any) -> AnalysisResult:
    """Every analysis of a map over a workspace's events (stages, paths, touchpoints,
    attribution, handovers, committee, voice of the customer, retention, conformance, pain
    points) as tables; `result.to_json()` serialises them. Options: `engine` (duckdb or
    spark), `segment`, `persona`, `since`, `until`, `progress`."""
    from journeyscope.analytics.analyze import analyze as _analyze

    return _analyze(journey_map, workspace, **options)


__all__ = [
    "JourneyMap", "MapDiff", "MapError", "__version__", "analyze", "diff", "load_map", "new_map",
    "render", "resolve", "save_map", "template_names", "template_path", "validate",
]
