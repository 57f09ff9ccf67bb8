"""The measured dashboards of a map: Plotly charts (plotly.js is served from the `plotly`
package, no CDN) of the stage funnel, time in stage against the standard, touchpoint reach and
win lift, handover gaps, attribution by channel, the designed and measured emotion curve, and
the ranked pain points with revenue at risk.

Labels are user text: they are HTML-escaped before Plotly sees them (Plotly turns the entities
back into plain characters and never into markup).
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup, escape

from journeyscope.model.types import JourneyMap

COLOURS = {"main": "#3B6FB6", "good": "#2F9E44", "bad": "#E03131", "warn": "#F08C00",
           "muted": "#ADB5BD"}


def _rows(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return result.get("tables", {}).get(name) or []


def _label(text: Any) -> str:
    return html.escape(str(text))


def _chart(fig: go.Figure, chart_id: str, title: str, note: str = "") -> str:
    fig.update_layout(margin={"l": 40, "r": 20, "t": 10, "b": 40}, height=320,
                      template="plotly_white", font={"size": 12})
    body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id,
                       config={"displaylogo": False, "responsive": True})
    return (f'<section class="card chart" id="card-{chart_id}"><h2>{escape(title)}</h2>'
            + (f'<p class="muted">{escape(note)}</p>' if note else "") + body + "</section>")


def _names(jm: JourneyMap) -> dict[str, str]:
    names = {s.id: s.name for s in jm.stages}
    names.update({t.id: t.name for t in jm.touchpoints})
    return names


def funnel(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = _rows(result, "stages.funnel")
    fig = go.Figure(go.Funnel(y=[_label(r["stage_name"]) for r in rows],
                              x=[r["accounts"] for r in rows], textinfo="value+percent initial",
                              marker={"color": COLOURS["main"]}))
    return _chart(fig, "funnel", "Stage funnel", "Accounts that reached each stage (an account "
                  "counts once per stage).")


def time_in_stage(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = [r for r in _rows(result, "stages.time_in_stage") if r.get("median_days") is not None]
    names = [_label(r["stage_name"]) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=names, y=[r["median_days"] for r in rows], name="median days",
                marker_color=[COLOURS["bad"] if (r.get("breach_share") or 0) > 0.5 else
                              COLOURS["main"] for r in rows])
    fig.add_bar(x=names, y=[r["p90_days"] for r in rows], name="90th percentile",
                marker_color=COLOURS["muted"])
    fig.add_scatter(x=names, y=[r.get("standard_days") for r in rows], mode="markers",
                    name="time standard", marker={"symbol": "line-ew-open", "size": 28,
                                                  "color": "#000"})
    return _chart(fig, "time-in-stage", "Time in stage against the standard")


def touchpoints(result: dict[str, Any], jm: JourneyMap) -> str:
    names = _names(jm)
    rows = sorted(_rows(result, "touchpoints.stats"), key=lambda r: -(r.get("accounts") or 0))
    labels = [_label(names.get(r["touchpoint"], r["touchpoint"])) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[r.get("accounts") or 0 for r in rows], name="accounts reached",
                marker_color=COLOURS["main"])
    fig.add_scatter(x=labels, y=[r.get("win_lift") for r in rows], name="win lift", yaxis="y2",
                    mode="markers", marker={"color": COLOURS["good"], "size": 9})
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "title": "win lift"})
    return _chart(fig, "touchpoints", "Touchpoints: reach and win lift", "Win lift compares "
                  "the win rate of accounts that met the touchpoint before their decision with "
                  "those that did not.")


def handovers(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = [r for r in _rows(result, "handovers.designed") if r.get("gap_median_days")
            is not None]
    names = _names(jm)
    labels = [_label(f"{names.get(r['source'], r['source'])} to "
                     f"{names.get(r['target'], r['target'])}") for r in rows]
    fig = go.Figure(go.Bar(x=[r["gap_median_days"] for r in rows], y=labels, orientation="h",
                           marker_color=[COLOURS["bad"] if (r.get("breach_share") or 0) > 0.5
                                         else COLOURS["warn"] for r in rows]))
    return _chart(fig, "handovers", "Handover gaps (median days)",
                  "Designed handovers between owners; red where most accounts wait longer "
                  "than the link's time standard.")


def attribution(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = _rows(result, "attribution.channel")
    fig = go.Figure()
    for model in ("first", "last", "linear", "markov", "shapley"):
        fig.add_bar(x=[_label(r["key"]) for r in rows], y=[r.get(model) for r in rows],
                    name=model)
    return _chart(fig, "attribution", "Won value attributed to channels", "By model: first "
                  "and last touch, linear, Markov removal effect and Shapley value.")


def emotion(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = _rows(result, "voc.emotion_by_stage")
    names = _names(jm)
    labels = [_label(names.get(r["stage"], r["stage"])) for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=labels, y=[r.get("designed") for r in rows], name="designed",
                    line={"shape": "spline", "dash": "dot"})
    fig.add_scatter(x=labels, y=[r.get("measured") for r in rows], name="measured",
                    line={"shape": "spline"})
    fig.update_yaxes(range=[-2.2, 2.2])
    return _chart(fig, "emotion", "Emotion: designed and measured", "Measured from scores "
                  "and the sentiment of comments, on the map's -2..+2 scale.")


def painpoints(result: dict[str, Any], jm: JourneyMap) -> str:
    rows = _rows(result, "painpoints")[:10]
    body = "".join(
        f"<tr><td>{escape(r.get('rank'))}</td>"
        f"<td>{escape(r.get('touchpoint_name') or r.get('touchpoint'))}</td>"
        f"<td>{escape(r.get('stage'))}</td><td>{_money(r.get('revenue_at_risk'))}</td>"
        f"<td>{escape(r.get('affected_accounts'))}</td></tr>" for r in rows)
    return ('<section class="card chart" id="card-painpoints"><h2>Pain points by revenue at '
            'risk</h2><table class="table"><tr><th>#</th><th>Touchpoint</th><th>Stage</th>'
            f"<th>Revenue at risk</th><th>Accounts affected</th></tr>{body}</table></section>")


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def charts_html(result: dict[str, Any], jm: JourneyMap) -> str:
    """Every chart of the dashboard as HTML (plotly.js must be on the page)."""
    meta = result.get("meta", {})
    head = (f'<p class="muted" id="dashboard-meta">{meta.get("events", 0):,} events of '
            f'{meta.get("accounts", 0):,} accounts, data version {result.get("data_version")}'
            f', computed in {meta.get("seconds", 0):.1f} s.</p>')
    parts = [head]
    for make in (funnel, time_in_stage, touchpoints, handovers, attribution, emotion,
                 painpoints):
        parts.append(make(result, jm))
    return str(Markup("".join(parts)))
