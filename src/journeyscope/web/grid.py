"""The editor's grid: the map drawn by the report's renderer (`render_map_html` in fragment
mode), with measured figures on the cards and evidence shown as data where events back a
touchpoint. Rendered grids are kept in memory per map version, persona and data version, so
opening a map twice renders it once; a map's newer version replaces its older grids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from journeyscope.model.types import Evidence, JourneyMap
from journeyscope.model.variants import persona_view
from journeyscope.report.map_html import render_map_html

CACHE_SIZE = 256


@dataclass
class MapFigures:
    """Measured figures for the grid: per touchpoint or stage id, the report's `Figure`s."""

    data_version: int
    measures: dict[str, list[Any]] = field(default_factory=dict)
    measured: set[str] = field(default_factory=set)
    note: str = ""
    # Figures of an older version while this one is measured in the background.
    from_version: int | None = None


class GridCache:
    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: str) -> None:
        with self._lock:
            if isinstance(key[1], int):
                # The editor always shows a map's current version: a newer version's grid
                # makes the older ones useless (about 1 MB each for 200 touchpoints; an
                # editing session would otherwise fill the cache with them).
                for old in [k for k in self._items if k[0] == key[0] and isinstance(k[1], int)
                            and k[1] < key[1]]:
                    del self._items[old]
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def shown_map(jm: JourneyMap, figures: MapFigures | None) -> JourneyMap:
    """The map as drawn: a persona view filtered, measured touchpoints' evidence as data."""
    if jm.persona_view and jm.persona(jm.persona_view):
        jm = persona_view(jm, jm.persona_view)
    if figures and figures.measured:
        touchpoints = [t.model_copy(update={"evidence": Evidence.data})
                       if t.id in figures.measured else t for t in jm.touchpoints]
        jm = jm.model_copy(update={"touchpoints": touchpoints})
    return jm


def shown_measures(shown: JourneyMap, figures: MapFigures | None) -> dict[str, list[Any]] | None:
    """The figures of the cards `shown` draws. A persona view is measured on its whole map
    (every touchpoint's match rules claim events) but draws only the persona's touchpoints,
    and the renderer refuses figures for a card it does not have."""
    if figures is None:
        return None
    ids = set(shown.stage_ids()) | {t.id for t in shown.touchpoints}
    return {key: items for key, items in figures.measures.items() if key in ids}


def grid_html(state: Any, map_id: int, version: int | str, jm: JourneyMap, persona: str | None,
              figures: MapFigures | None) -> str:
    """The map's grid markup (with its CSS and script), from the cache when rendered before."""
    cache: GridCache = getattr(state, "grid_cache", None) or GridCache()
    state.grid_cache = cache
    key = (map_id, version, persona or "", figures.data_version if figures else -1,
           figures.note if figures else "", figures.from_version if figures else None)
    html = cache.get(key)
    if html is None:
        shown = shown_map(jm, figures)
        html = render_map_html(shown, persona=persona or None,
                               measures=shown_measures(shown, figures), fragment=True)
        cache.put(key, html)
    return html
