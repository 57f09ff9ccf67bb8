"""The rendered map as a self-contained HTML page: the picture a CX team puts on the wall.

Columns are the stages, rows are the lanes (customer actions, needs, touchpoints, the emotion
curve, pain points, opportunities, information, KPIs, backstage lanes), then the flowchart of
touchpoint links with the handovers. No external fetch: CSS, SVG and the few lines of script
that drive the persona filter are inline. Every piece of user text goes through Jinja2's
autoescape (or `svgkit.esc` inside the SVG drawings).

Two later features reuse this renderer: the analysis report passes `measures` (figures per
touchpoint or stage that colour the cards), and the web editor takes the `fragment` (the map's
markup, CSS and script, without `<html>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from journeyscope.model.types import JourneyMap
from journeyscope.report.emotion import emotion_svg, faces_svg
from journeyscope.report.flowchart import flowchart_svg
from journeyscope.report.layout import (
    HANDOVER_COLOUR,
    STATUS_COLOURS,
    MapView,
    Measures,
    build_view,
)
from journeyscope.report.svgkit import icon_svg, marker, star_svg

COL_WIDTH = 240  # the narrowest stage column; maps of few stages get wider ones
WALL_WIDTH = 1250  # stage columns of a small map share this width
LABEL_WIDTH = 150
EMOTION_HEIGHT = 200
PAGE_PADDING = 24
# A3 landscape, 8 mm margins, in CSS pixels (96 per inch).
A3_PRINTABLE_WIDTH = (420 - 16) / 25.4 * 96

_env = Environment(
    loader=PackageLoader("journeyscope.report", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _static(name: str) -> str:
    return resources.files("journeyscope.report").joinpath("templates", name).read_text("utf-8")


@dataclass(frozen=True)
class HtmlParts:
    """The pieces of a rendered map: its CSS (scoped under ``.jsmap``), its markup and the
    script of the persona filter."""

    css: str
    body: str
    script: str
    width: int

    def fragment(self) -> str:
        """The map without `<html>`, for embedding in another page (the web editor)."""
        return f"<style>{self.css}</style>\n{self.body}\n<script>{self.script}</script>"


def column_width(journey_map: JourneyMap) -> int:
    """The width of one stage column in CSS pixels."""
    return max(COL_WIDTH, min(360, WALL_WIDTH // max(1, len(journey_map.stages))))


def map_width(journey_map: JourneyMap) -> int:
    """The width in CSS pixels of the rendered grid (label column plus stage columns)."""
    return LABEL_WIDTH + column_width(journey_map) * max(1, len(journey_map.stages))


def print_zoom(journey_map: JourneyMap) -> float:
    """The zoom at which the map fits the width of an A3 landscape page."""
    return round(min(1.0, A3_PRINTABLE_WIDTH / (map_width(journey_map) + 2 * PAGE_PADDING)), 3)


def _persona_icon(shape: int, colour: str) -> Markup:
    return Markup(f'<svg class="pmark" width="16" height="16" viewBox="0 0 16 16" '
                  f'aria-hidden="true"><line x1="0" x2="16" y1="8" y2="8" stroke="{colour}" '
                  f'stroke-width="2.6"/>{marker(shape, 8, 8, 4.6, colour)}</svg>')


def map_parts(journey_map: JourneyMap, persona: str | None = None,
              measures: Measures | None = None) -> HtmlParts:
    """Render the map into its CSS, markup and script (see `render_map_html`)."""
    view: MapView = build_view(journey_map, persona=persona, measures=measures)
    col = column_width(journey_map)
    flow, flow_w, flow_h = flowchart_svg(view, col)
    width = map_width(journey_map)
    met_counts = {p.id: sum(1 for tv in view.touchpoints if p.id in tv.personas)
                  for p in view.personas}
    body = _env.get_template("map.html.j2").render(
        view=view,
        m=journey_map,
        width=width,
        col_width=col,
        label_width=LABEL_WIDTH,
        emotion=Markup(emotion_svg(view, col, EMOTION_HEIGHT)),
        faces=Markup(faces_svg(56, EMOTION_HEIGHT)),
        flowchart=Markup(flow),
        flow_width=flow_w,
        flow_height=flow_h,
        icon=icon_svg,
        star=star_svg,
        persona_icon=_persona_icon,
        met_counts=met_counts,
        handover_colour=HANDOVER_COLOUR,
        status_colours=STATUS_COLOURS,
        moments=sum(1 for t in journey_map.touchpoints if t.moment_of_truth),
    )
    css = _static("map.css").replace("/*ZOOM*/1", str(print_zoom(journey_map)))
    return HtmlParts(css=css, body=body, script=_static("map.js"), width=width)


def render_map_html(journey_map: JourneyMap, persona: str | None = None,
                    measures: Measures | None = None, fragment: bool = False) -> str:
    """The map as a self-contained HTML page (or, with `fragment`, its markup and CSS without
    `<html>`).

    `persona` greys out what that persona never meets (the page's select starts on it).
    `measures` lays measured figures on the cards: per touchpoint or stage id, a list of
    `Figure(label, value, status)` (or ``(label, value, status)`` tuples); the worst status
    colours the card.

    >>> from journeyscope.model.types import JourneyMap
    >>> m = JourneyMap(name="Demo", stages=[{"id": "awareness", "name": "Awareness"}])
    >>> "Awareness" in render_map_html(m)
    True
    """
    parts = map_parts(journey_map, persona=persona, measures=measures)
    if fragment:
        return parts.fragment()
    return _env.get_template("page.html.j2").render(
        title=journey_map.name, css=Markup(parts.css), body=Markup(parts.body),
        script=Markup(parts.script), width=parts.width + 2 * PAGE_PADDING,
    )
