"""Measurements for the web app: a map analysed on its workspace's data
(`journeyscope.analytics.analyze`), cached in the store per map version, data version and
filter, laid on the editor's grid as figures and shown as dashboards.

The first view after a save or an import computes; every later view reads the cache (and a
small in-memory cache of what pages derive from it). An analysis and an import of the same
workspace never run at once: both hold the workspace's lock. The dashboards draw the analysis
report's own charts (`journeyscope.report.report_data.CHARTS`), which escape every label that
comes from the map or the data; plotly.js is served from the `plotly` package, no CDN.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import escape

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import JourneyMap
from journeyscope.report.fmt import plural
from journeyscope.report.report_data import CHARTS
from journeyscope.store import Database, Invalid, maps
from journeyscope.store import data as store_data
from journeyscope.store.models import Map, Workspace
from journeyscope.web.grid import MapFigures
from journeyscope.web.messages import filter_field, web_text

log = logging.getLogger("journeyscope.web")
MAX_ROWS = 2000  # per result table kept in the cache: pages show tops, not every account
QUIET_SECONDS = 10.0  # a new version is measured after this long without another save


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


def _date(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field}: not a date", [((field,), f"{value!r} is not a date; write "
                                                "YYYY-MM-DD")], where="query") from None


class Measurements:
    def __init__(self, db: Database, data_dir: Path, locks: Any):
        self.db = db
        self.data_dir = data_dir
        self.locks = locks  # workspace id -> lock, shared with the uploads
        self._memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._memo_lock = threading.Lock()
        # Per map: the version waiting for its quiet spell (or being measured) and its timer.
        self._waiting: dict[int, tuple[int, threading.Timer]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journeyscope-measure")

    def shutdown(self) -> None:
        with self._memo_lock:
            for _, timer in self._waiting.values():
                timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def filters(self, *, segment: str | None = None, persona: str | None = None,
                since: str | None = None, until: str | None = None) -> Filters:
        start, end = _date(since, "since"), _date(until, "until")
        if start and end and start > end:
            raise Invalid("period", [(("since",), "the period starts after it ends")],
                          where="query")
        return Filters(segment or None, persona or None, start, end)

    def _remember(self, key: tuple[Any, ...], make: Any) -> Any:
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = make()
        with self._memo_lock:
            self._memo[key] = value
            while len(self._memo) > 128:
                self._memo.popitem(last=False)
        return value

    def results(self, s: Any, row: Map, version: int, jm: JourneyMap,
                filters: Filters) -> dict[str, Any]:
        """The analysis results as JSON-ready data, from the cache or computed now. A filter
        the data cannot satisfy (an unknown segment) is `Invalid` (a 422) with the reason, in
        the web's words, on the filter's query parameter."""
        workspace = s.get(Workspace, row.workspace_id)
        assert workspace is not None
        if workspace.data_version == 0:
            return {"data_version": 0, "message": "No data has been imported into this "
                    "workspace yet."}
        key = (row.id, version, workspace.data_version, filters.key())
        try:
            return self._remember(("results", *key), lambda: self._results(
                s, row, version, jm, filters, workspace))
        except Invalid:
            raise
        except JourneyscopeError as exc:
            message = web_text(str(exc))
            field = filter_field(str(exc))
            raise Invalid(message, [((field,) if field else (), message)],
                          where="query") from None

    def _results(self, s: Any, row: Map, version: int, jm: JourneyMap, filters: Filters,
                 workspace: Workspace) -> dict[str, Any]:
        hit = store_data.cached(s, row.id, version, workspace.data_version, filters.key())
        if hit is not None:
            return hit
        path = store_data.workspace_file(workspace, self.data_dir)
        with self.locks(workspace.id):
            result = compute(jm, path, filters)
        # An analysis leaves tens of thousands of objects in reference cycles (the engine's
        # expression graphs): collected now, while its caller waits for the analysis anyway,
        # rather than by the full pass that some later save happens to trigger.
        gc.collect()
        result["data_version"] = workspace.data_version
        with self.db.write() as w:
            store_data.store_result(w, row.id, version, workspace.data_version, filters.key(),
                                    result)
        return result

    def for_editor(self, s: Any, row: Map, version: int, jm: JourneyMap,
                   wait: bool = False) -> MapFigures | None:
        """Figures for the grid when the workspace has data (None without data).

        A version not measured yet is measured in the background (an analysis of a large
        workspace takes a while; the editor must not wait for it after every save): meanwhile
        the figures of the newest measured version are shown, marked as such. `wait` measures
        now instead.
        """
        workspace = s.get(Workspace, row.workspace_id)
        if workspace is None or workspace.data_version == 0:
            return None
        data_version = workspace.data_version
        key = ("figures", row.id, version, data_version)
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        hit = store_data.cached(s, row.id, version, data_version, "")
        if hit is None and wait:
            try:
                hit = self.results(s, row, version, jm, Filters())
            except JourneyscopeError as exc:
                log.warning("cannot measure map %s: %s", row.id, exc)
                return None
        if hit is not None:
            return self._remember(key, lambda: figures_of(hit, jm))
        self._measure_later(row.id, version)
        older = store_data.latest_cached_version(s, row.id, data_version, "")
        result = None if older is None else self._cached_result(s, row.id, older, data_version)
        if older is None or result is None:
            return MapFigures(data_version=data_version, note="being measured now: reload "
                              "in a moment to see the figures", from_version=version)
        figures = figures_of(result, jm)
        figures.from_version = older
        figures.note = (f"figures of version {older} while version {version} is measured; "
                        "reload in a moment")
        return figures

    def _cached_result(self, s: Any, map_id: int, version: int,
                       data_version: int) -> dict[str, Any] | None:
        """An unfiltered result from the store, decoded once (every page of the versions
        saved after it shows its figures until they are measured)."""
        key = ("results", map_id, version, data_version, "")
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        result = store_data.cached(s, map_id, version, data_version, "")
        return None if result is None else self._remember(key, lambda: result)

    def _measure_later(self, map_id: int, version: int) -> None:
        """Measure `version` of the map once the map has been left alone for `QUIET_SECONDS`
        (not after every keystroke of an editing session: each analysis of a large workspace
        takes seconds of CPU). One timer per map: a newer version replaces the one waiting.
        The timer holds ids only; the map is read again when the time comes (a timer per
        version holding its parsed map kept every version of an editing session alive, and
        made the garbage collector's full passes long)."""
        with self._memo_lock:
            waiting = self._waiting.get(map_id)
            if waiting is not None and waiting[0] == version:
                return
            if waiting is not None:
                waiting[1].cancel()
            timer = threading.Timer(QUIET_SECONDS, self._pool.submit,
                                    (self._measure_now, map_id, version))
            timer.daemon = True
            self._waiting[map_id] = (version, timer)
        timer.start()

    def _measure_now(self, map_id: int, version: int) -> None:
        try:
            with self.db.read() as s:
                row = s.get(Map, map_id)
                if row is not None and row.version == version:
                    jm = maps.effective(s, row, maps.version_row(s, row, version))
                    self.results(s, row, version, jm, Filters())
        except Exception as exc:  # reported in the log; the page keeps working
            log.warning("background measurement of map %s failed: %s", map_id, exc)
        finally:
            with self._memo_lock:
                if self._waiting.get(map_id, (None,))[0] == version:
                    del self._waiting[map_id]

    def dashboard(self, s: Any, row: Map, version: int, jm: JourneyMap,
                  filters: Filters) -> dict[str, Any]:
        """The dashboard's charts (HTML) and segment choices for the filters; a filter the data
        cannot satisfy gives an `error` instead of charts."""
        try:
            result = self.results(s, row, version, jm, filters)
        except JourneyscopeError as exc:
            return self.dashboard_error(s, row, version, jm, web_text(str(exc)))
        if not result.get("data_version"):
            return {"result": result, "html": "", "segments": []}
        key = ("dashboard", row.id, version, result["data_version"], filters.key())
        html = self._remember(key, lambda: charts_html(result, jm))
        return {"result": result, "html": html,
                "segments": self.segments(s, row, version, jm)}

    def dashboard_error(self, s: Any, row: Map, version: int, jm: JourneyMap,
                        error: str) -> dict[str, Any]:
        """A dashboard that shows `error` (bad filters) where its charts go, with the filter
        form's choices kept."""
        return {"result": {"data_version": -1}, "error": error, "html": "",
                "segments": self.segments(s, row, version, jm)}

    def segments(self, s: Any, row: Map, version: int, jm: JourneyMap) -> list[str]:
        """The segments of the workspace's accounts, the dashboard's choices (none without
        data)."""
        try:
            base = self.results(s, row, version, jm, Filters())
        except JourneyscopeError:
            return []
        return sorted({str(r["segment"]) for r in _table(base, "retention.by_segment")
                       if r.get("segment") is not None})


def compute(jm: JourneyMap, workspace: Path, filters: Filters) -> dict[str, Any]:
    """Run every analysis of `jm` on the workspace file, filtered; JSON-ready, each table cut
    to its first `MAX_ROWS` rows."""
    from journeyscope.analytics.analyze import analyze

    result = analyze(jm, workspace, segment=filters.segment, persona=filters.persona,
                     since=filters.since, until=filters.until).to_dict()
    truncated = {name: len(rows) for name, rows in result["tables"].items()
                 if len(rows) > MAX_ROWS}
    result["tables"] = {name: rows[:MAX_ROWS] for name, rows in result["tables"].items()}
    result["meta"]["truncated"] = truncated
    return result


def _table(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return result.get("tables", {}).get(name) or []


def figures_of(result: dict[str, Any], jm: JourneyMap) -> MapFigures:
    """The measured figures on each touchpoint and stage card, as the analysis report lays
    them (`journeyscope.report.measures.map_measures`); touchpoints that events back are
    `measured`."""
    from journeyscope.report.measures import map_measures

    measured = {str(t["touchpoint"]) for t in _table(result, "touchpoints.stats")
                if t.get("accounts")}
    meta = result.get("meta", {})
    note = (f"{plural(meta.get('events', 0), 'event')} of "
            f"{plural(meta.get('accounts', 0), 'account')}")
    return MapFigures(data_version=int(result.get("data_version", 0)),
                      measures=dict(map_measures(result, jm)), measured=measured, note=note)


# -- dashboards: the analysis report's own charts ----------------------------------------------


# Charts whose card takes the dashboard's whole row: the Sankeys' labels are sized for a chart
# about 1,000 px wide (see `charts.sankey`) and crowd in a card of the grid's 380 px.
WIDE_CHARTS = frozenset({"sankey", "sankey_touchpoints"})


def _card(chart_id: str, title: str, caption: str, body: str) -> str:
    wide = " wide" if chart_id in WIDE_CHARTS else ""
    return (f'<section class="card chart{wide}" id="card-{escape(chart_id)}">'
            f'<h2>{escape(title)}</h2><p class="muted">{escape(caption)}</p>{body}</section>')


def charts_html(result: dict[str, Any], jm: JourneyMap) -> str:
    """Every chart of the dashboard as HTML (plotly.js must be on the page)."""
    meta = result.get("meta", {})
    parts = [f'<p class="muted wide" id="dashboard-meta">{plural(meta.get("events", 0), "event")} '
             f'of {plural(meta.get("accounts", 0), "account")}, data version '
             f'{result.get("data_version")}'
             f', computed in {meta.get("seconds", 0):.1f} s.</p>']
    for chart in CHARTS:
        fig = chart.build(result, jm)
        if fig is None:
            body = f'<p class="empty">{escape(chart.empty)}</p>'
        else:
            body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart.id,
                               config={"displaylogo": False, "responsive": True})
        parts.append(_card(chart.id, chart.title, chart.caption, body))
    return "".join(parts)
