"""The measured dashboards of a map: the analysis report's own charts
(`journeyscope.report.report_data.CHARTS`: funnel, flows, time in stage, back-and-forth, pain
points, win lift, attribution, handovers, committee, voice, retention, directly-follows graph)
drawn from the cached analysis result. plotly.js is served from the `plotly` package, no CDN.

The report's chart builders escape every label that comes from the map or the data.
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from journeyscope.model.types import JourneyMap
from journeyscope.report.report_data import CHARTS


def _card(chart_id: str, title: str, caption: str, body: str) -> str:
    return (f'<section class="card chart" id="card-{escape(chart_id)}"><h2>{escape(title)}</h2>'
            f'<p class="muted">{escape(caption)}</p>{body}</section>')


def charts_html(result: dict[str, Any], jm: JourneyMap) -> str:
    """Every chart of the dashboard as HTML (plotly.js must be on the page)."""
    meta = result.get("meta", {})
    parts = [f'<p class="muted wide" id="dashboard-meta">{meta.get("events", 0):,} events of '
             f'{meta.get("accounts", 0):,} accounts, data version {result.get("data_version")}'
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
