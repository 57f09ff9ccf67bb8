"""The analysis report: the measured map, the charts and the executive summary in one
self-contained page (`journeyscope report`), or a PDF of it.

`write_report(map, workspace, out)` runs `journeyscope.analytics.analyze` for all accounts and
for each segment present (up to `max_segments`), and writes one HTML page that works offline:
plotly.js is inlined once from the `plotly` package, the map's CSS and script are inline, and
each view's figures and charts are embedded as JSON that a few lines of script switch between.
A `.pdf` output prints that page with headless Chromium on A3 landscape.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.map_html import map_parts
from journeyscope.report.measures import map_measures, rows
from journeyscope.report.render import check_output
from journeyscope.report.report_data import CHARTS, View, headline, shared_template, tables

MAX_SEGMENTS = 8
# The width the page is laid out at for print: A3 landscape less 8 mm margins, in CSS px.
PRINT_WIDTH = round((420 - 16) / 25.4 * 96)

# (step label, done, total): called as the analyses run.
Progress = Callable[[str, int, int], None]


class ReportError(JourneyscopeError):
    """The report cannot be written as asked (unknown format, unwritable path)."""


_env = Environment(loader=PackageLoader("journeyscope.report", "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)


def _static(name: str) -> str:
    return resources.files("journeyscope.report").joinpath("templates", name).read_text("utf-8")


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a `<script>` element: no `<`, `>` or `&` can end it early.

    >>> json_for_script({"name": "</script><img src=x>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cimg src=x\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def segments_of(result: dict[str, Any]) -> list[tuple[str, int]]:
    """The segments present in an all-accounts result, largest first, with their accounts."""
    found: dict[str, int] = {}
    for r in rows(result, "stages.funnel_by_segment"):
        if r.get("segment") is not None and r.get("stage_index") == 0:
            found[str(r["segment"])] = int(r.get("total") or 0)
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))


def compute_views(
    journey_map: JourneyMap,
    workspace: str | os.PathLike[str],
    *,
    segment: str | None = None,
    persona: str | None = None,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    engine: str = "duckdb",
    max_segments: int = MAX_SEGMENTS,
    progress: Progress | None = None,
) -> list[View]:
    """Analyse `workspace` for all accounts (or only `segment`) and, without `segment`, for
    each of the `max_segments` largest segments too: one `View` each."""
    from journeyscope.analytics.analyze import analyze

    def run(key: str | None, step: int, total: int) -> dict[str, Any]:
        def inner(done: int, of: int, label: str) -> None:
            if progress:
                name = key or "all accounts"
                progress(f"{name}: {label}", step * of + done, total * of)

        return analyze(journey_map, workspace, engine=engine, segment=key, persona=persona,
                       since=since, until=until, progress=inner).to_dict()

    if segment is not None:
        return [View(segment, segment, run(segment, 0, 1))]
    first = run(None, 0, 1)
    views = [View("", "All accounts", first)]
    chosen = [s for s, n in segments_of(first) if n > 0][:max(0, max_segments)]
    for i, name in enumerate(chosen):
        views.append(View(name, name, run(name, i + 1, len(chosen) + 1)))
    return views


def _facts(journey_map: JourneyMap, views: Sequence[View]) -> str:
    meta = views[0].result.get("meta", {})
    span = meta.get("span")
    text = (f"{fmt.count(meta.get('events'))} events of {fmt.count(meta.get('accounts'))} "
            f"accounts, measured against {len(journey_map.stages)} stages and "
            f"{len(journey_map.touchpoints)} touchpoints")
    if span:
        text += f", {span}"
    return text + "."


def _filters(views: Sequence[View]) -> list[tuple[str, str]]:
    f = views[0].result.get("meta", {}).get("filters", {})
    out = []
    if f.get("segment"):
        out.append(("segment", f["segment"]))
    if f.get("persona"):
        out.append(("persona", f["persona"]))
    if f.get("since"):
        out.append(("since", f["since"][:10]))
    if f.get("until"):
        until = dt.datetime.fromisoformat(f["until"]) - dt.timedelta(seconds=1)
        out.append(("until", until.date().isoformat()))
    return out


def _segment_note(views: Sequence[View]) -> str:
    if len(views) < 2:
        return ""
    total = views[0].accounts
    covered = sum(v.accounts for v in views[1:])
    if total and covered < total:
        return (f"A segment is known for {fmt.count(covered)} of {fmt.count(total)} accounts "
                f"({fmt.pct(covered / total)}); each segment's figures are its accounts only.")
    return ""


def report_html(journey_map: JourneyMap, views: Sequence[View], *,
                persona: str | None = None) -> str:
    """The report page for computed `views` (the first is shown first)."""
    if not views:
        raise ReportError("no analysis to report")
    from journeyscope import __version__

    parts = map_parts(journey_map, persona=persona,
                      measures=map_measures(views[0].result, journey_map))
    data_views = {v.key: v.data(journey_map) for v in views}
    cards = sorted({k for d in data_views.values() for k in d["figures"]})
    payload = {"template": shared_template(), "order": [v.key for v in views],
               "views": data_views, "cards": cards, "charts": [c.id for c in CHARTS]}
    names = {t.id: t.name for t in journey_map.touchpoints}
    view_parts = {v.key: {"headline": headline(v.result, journey_map),
                          "findings": v.summary(journey_map),
                          "tables": tables(v.result, journey_map)} for v in views}
    env = _env.overlay()
    env.filters["tpname"] = lambda tid: names.get(tid, tid)
    env.filters["figures"] = fmt.figures
    meta = views[0].result.get("meta", {})
    seconds = sum(float(v.result.get("meta", {}).get("seconds") or 0) for v in views)
    return env.get_template("report.html.j2").render(
        m=journey_map, views=views, parts=view_parts, charts={c.id: c for c in CHARTS},
        facts=_facts(journey_map, views), filters=_filters(views),
        segment_note=_segment_note(views), map_body=Markup(parts.body),
        map_css=Markup(parts.css), map_js=Markup(parts.script),
        report_css=Markup(_static("report.css")), report_js=Markup(_static("report.js")),
        plotly_js=Markup(_plotly_js()), data_json=Markup(json_for_script(payload)),
        stage_names={s.id: s.name for s in journey_map.stages}, tp_names=names,
        money=fmt.money, pct=fmt.pct, days=fmt.days, count=fmt.count, version=__version__,
        engine=meta.get("engine", ""),
        generated=dt.date.today().isoformat(), seconds=f"{seconds:.1f}",
    )


def _format(out: Path, fmt_name: str | None) -> str:
    kind = (fmt_name or out.suffix.lstrip(".")).lower()
    kind = {"htm": "html"}.get(kind, kind)
    if kind not in ("html", "pdf"):
        raise ReportError(f"cannot write a report as {kind or 'a file without extension'!r} "
                          f"({out}); name it .html or .pdf")
    return kind


def _load(journey_map: JourneyMap | str | os.PathLike[str]) -> JourneyMap:
    if isinstance(journey_map, JourneyMap):
        return journey_map
    from journeyscope.model.validate import load_valid_map
    from journeyscope.model.variants import resolve

    return resolve(load_valid_map(journey_map))


def write_report(
    journey_map: JourneyMap | str | os.PathLike[str],
    workspace: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    segment: str | None = None,
    persona: str | None = None,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    engine: str = "duckdb",
    max_segments: int = MAX_SEGMENTS,
    fmt_name: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Analyse `workspace` against `journey_map` and write the report to `out` (.html, or .pdf
    through headless Chromium). Returns the written path.

    `segment`, `persona`, `since` and `until` filter the analysis as in `analyze`; without
    `segment`, the page can switch between all accounts and each of the `max_segments`
    largest segments (0: no switch).
    """
    target = Path(out)
    kind = _format(target, fmt_name)
    if target.is_dir():
        raise ReportError(f"{target} is a folder; give a file name such as report.{kind}")
    check_output(target)  # as a missing browser: said before minutes of analysis, not after
    if kind == "pdf":
        from journeyscope.report.chromium import chromium_path

        chromium_path()  # a missing browser is said before minutes of analysis, not after
    the_map = _load(journey_map)
    started = time.perf_counter()
    views = compute_views(the_map, workspace, segment=segment, persona=persona, since=since,
                          until=until, engine=engine, max_segments=max_segments,
                          progress=progress)
    _add_span(views, workspace)
    html = report_html(the_map, views, persona=persona)
    if kind == "pdf":
        from journeyscope.report.chromium import html_to_pdf

        html_to_pdf(html, target, width=PRINT_WIDTH)
    else:
        try:
            target.write_text(html, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise ReportError(f"cannot write {target}: {exc.strerror}") from None
    if progress:
        progress(f"written in {time.perf_counter() - started:.1f} s", 1, 1)
    return target


def _add_span(views: Sequence[View], workspace: str | os.PathLike[str]) -> None:
    """The period analysed, for the header: the span of the workspace's events, cut to the
    `since` and `until` filters."""
    from journeyscope.events.workspace import Workspace

    try:
        with Workspace.open(workspace, read_only=True) as ws:
            info = ws.info()
    except JourneyscopeError:
        return
    if info.first_ts is None or info.last_ts is None:
        return
    meta = views[0].result.setdefault("meta", {})
    first, last = info.first_ts.replace(tzinfo=None), info.last_ts.replace(tzinfo=None)
    bounds = meta.get("filters") or {}
    if bounds.get("since"):
        first = max(first, dt.datetime.fromisoformat(bounds["since"]))
    if bounds.get("until"):  # the analysis keeps events before it: the day before a date
        last = min(last, dt.datetime.fromisoformat(bounds["until"]) - dt.timedelta(seconds=1))
    if first <= last:
        meta["span"] = f"{first:%d %b %Y} to {last:%d %b %Y}"
