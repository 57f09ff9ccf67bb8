"""Plotly figures of the journey's movement: the stage funnel, Sankey flows, time in stage
against the standards, back-and-forth, the directly-follows graph and the emotion curve.

Each builder takes the plain analysis results (`AnalysisResult.to_dict()`) and the map and
returns a `plotly.graph_objects.Figure`, or None when the data has nothing to draw. Every label
that comes from the map or the data is HTML-escaped first (`label`): Plotly reads a few tags in
its text (``<b>``, ``<a>``, ``<br>``) and shows entities as the plain characters, so a
touchpoint named ``<img src=x>`` is drawn as those characters and never becomes markup.
The figures of value, the committee, voice and retention are in `charts_value`.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.layout import HANDOVER_COLOUR, STATUS_COLOURS, build_view
from journeyscope.report.measures import rows

Result = Mapping[str, Any]
INK = "#1F2933"
MUTED = "#8A94A6"
GRID = "#E6E9EF"
MAIN = "#3B6FB6"
DFG_EDGES = 40  # the most frequent moves drawn in the directly-follows graph
SANKEY_TOUCHPOINT_LINKS = 60


def label(text: Any) -> str:
    """User text made safe for Plotly: HTML-escaped, so that it shows as written."""
    return html.escape("" if text is None else str(text), quote=False)


def wrap(text: str, width: int = 16) -> str:
    """Break a long label into lines of about `width` characters (Plotly's ``<br>``).

    >>> wrap("Support and relationship management", 16)
    'Support and<br>relationship<br>management'
    """
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def figure(*traces: Any) -> go.Figure:
    """A new figure without Plotly's default template: the page applies one shared template,
    and copying the default into each of a report's hundred figures takes seconds."""
    return go.Figure(data=list(traces), layout={"template": {}})


def style(fig: go.Figure, height: int = 360, **layout: Any) -> go.Figure:
    """The report's look: white, quiet grid, readable fonts, room for long labels."""
    base: dict[str, Any] = {
        "height": height, "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF", "margin": {"l": 10, "r": 20, "t": 30, "b": 10},
        "font": {"family": "Inter, Segoe UI, Helvetica Neue, Arial, sans-serif", "size": 12,
                 "color": INK},
        "hoverlabel": {"font": {"size": 12}},
        "legend": {"orientation": "h", "y": 1.08, "x": 0},
    }
    axis = {"automargin": True, "gridcolor": GRID, "zeroline": False}
    # One update with every axis spelled out: Plotly's update_xaxes validates axis by axis,
    # which costs seconds over a report's hundred figures.
    for name in [k for k in fig.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))] \
            or ["xaxis", "yaxis"]:
        base[name] = {**axis, **layout.pop(name, {})}
    fig.update_layout(**{**base, **layout})
    return fig


def names(journey_map: JourneyMap) -> dict[str, str]:
    """Stage and touchpoint ids to their names (the data keeps the ids)."""
    out = {s.id: s.name for s in journey_map.stages}
    out.update({t.id: t.name for t in journey_map.touchpoints})
    return out


def stage_colours(journey_map: JourneyMap) -> dict[str, str]:
    """Each stage's colour, as the map draws it."""
    return {s.id: s.colour for s in build_view(journey_map).stages}


def funnel(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Accounts reaching each stage (any order), with the conversion from the stage before and
    the accounts that dropped off."""
    data = [r for r in rows(result, "stages.funnel") if r.get("accounts") is not None]
    if not data or not any(r["accounts"] for r in data):
        return None
    colours = stage_colours(journey_map)
    strict = {r["stage"]: r["accounts"] for r in rows(result, "stages.funnel_strict")}
    ys = [f"{i + 1} · {label(r['stage_name'])}" for i, r in enumerate(data)]
    hover = []
    for r in data:
        text = (f"<b>{label(r['stage_name'])}</b><br>{fmt.plural(r['accounts'], 'account')} "
                f"({fmt.pct(r.get('share'))} of all)")
        if fmt.is_number(r.get("conversion")):
            text += (f"<br>{fmt.pct(r['conversion'])} of the stage before; "
                     f"{fmt.count(r.get('drop_off'))} dropped off")
        if r["stage"] in strict:
            text += f"<br>{fmt.count(strict[r['stage']])} in strict stage order"
        hover.append(text)
    fig = figure(go.Funnel(
        y=ys, x=[r["accounts"] for r in data],
        texttemplate="%{value:,}<br>%{percentPrevious:.0%}", textposition="auto",
        marker={"color": [colours.get(r["stage"], MAIN) for r in data]},
        connector={"fillcolor": "#EEF1F6"}, hovertext=hover, hoverinfo="text",
    ))
    return style(fig, height=70 + 50 * len(data), yaxis={"autorange": "reversed"})


# Labels of the flows are cut to fit the columns of a chart this wide (px, the full width of the
# page on a screen of 1,100 px, where the page's grid turns to one column, or on paper).
SANKEY_WIDTH = 1000
_CHAR_PX = 6.2  # the mean width of a character of the 11 px labels, with room to spare
_LINE_PX = 14  # the height of one line of those labels
_THICKNESS = 14
_INVISIBLE = "rgba(0,0,0,0)"


def short(text: Any, width: int, lines: int = 2) -> str:
    """A label of at most `lines` lines of at most `width` characters each (Plotly's ``<br>``
    between lines), cut with an ellipsis where the text is longer, and HTML-escaped: the full
    text belongs on the hover.

    >>> short("Support and relationship management", 16)
    'Support and<br>relationship…'
    >>> short("Implementation", 8), short("Q&A sessions", 16)
    ('Impleme…', 'Q&amp;A sessions')
    """
    words = [w if len(w) <= width else w[:width - 1] + "…"
             for w in ("" if text is None else str(text)).split()]
    out: list[str] = []
    for word in words:
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        last = out[lines - 1]
        if not last.endswith("…"):
            if len(last) >= width:  # room for the ellipsis: drop the last word, or a letter
                last = last[:last.rfind(" ")] if " " in last else last[:width - 1]
            last += "…"
        out = [*out[:lines - 1], last]
    return "<br>".join(label(line) for line in out)


def _rgba(colour: str, alpha: float) -> str:
    """A ``#RRGGBB`` colour made translucent (the report's blue for any other colour)."""
    if re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
        red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgba({red},{green},{blue},{alpha})"
    return f"rgba(59,111,182,{alpha})"


def sankey(result: Result, journey_map: JourneyMap, level: str = "stage"
           ) -> go.Figure | None:
    """Real flows forward through the journey: between stages, or (`level="touchpoint"`)
    from a touchpoint of one stage to a touchpoint of a later stage. Each stage is a column of
    its own, its touchpoints in map order; moves back to an earlier stage are left to
    `regressions`.

    Labels are cut to the width of a column (the full names and the moves are on the hover)
    and the nodes of a column stand far enough apart for two lines of label, the chart growing
    with the busiest column. Plotly's Sankey would sort nodes into columns of its own (by the
    longest path to them) and size them for those: an invisible chain of nodes with negligible
    flows (`_spine`) makes its columns the stages, so that the positions given here fit."""
    table = "paths.sankey_stages" if level == "stage" else "paths.sankey_touchpoints"
    index = journey_map.stage_index()
    stage_of = {t.id: t.stage for t in journey_map.touchpoints}

    def column(node: str) -> int | None:
        return index.get(node if level == "stage" else stage_of.get(node, ""))

    data = [r for r in rows(result, table) if r.get("moves")
            and column(r["source"]) is not None and column(r["target"]) is not None
            and column(r["target"]) > column(r["source"])]
    if not data:
        return None
    if level != "stage":
        data = sorted(data, key=lambda r: -r["moves"])[:SANKEY_TOUCHPOINT_LINKS]
    titles = names(journey_map)
    stages = {s.id: s for s in journey_map.stages}
    order = journey_map.stage_ids() if level == "stage" else [t.id for t in journey_map.touchpoints]
    nodes = sorted({r["source"] for r in data} | {r["target"] for r in data},
                   key=lambda n: order.index(n) if n in order else len(order))
    used = sorted({column(n) for n in nodes})
    col = {n: used.index(column(n)) for n in nodes}
    columns = [[n for n in nodes if col[n] == c] for c in range(len(used))]
    moves_in: dict[str, float] = {n: 0.0 for n in nodes}
    moves_out: dict[str, float] = {n: 0.0 for n in nodes}
    for r in data:
        moves_out[r["source"]] += r["moves"]
        moves_in[r["target"]] += r["moves"]

    lines = 3 if level == "stage" else 2
    pad = _LINE_PX * lines + 4  # labels of neighbours in a column never touch
    busiest = max(len(c) for c in columns)
    plot_height = max(300, busiest * (pad + 40))
    band = SANKEY_WIDTH / len(used)
    chars = max(6, min(28, int((band - _THICKNESS - 10) / _CHAR_PX)))
    shown = [short(titles.get(n, n), chars, lines) for n in nodes]
    heads = [stages[journey_map.stage_ids()[c]].name for c in used]
    # the last column needs room for its labels only, not for flows on to another column
    widest = max(len(html.unescape(line)) for n in columns[-1]
                 for line in shown[nodes.index(n)].split("<br>"))
    if level != "stage":
        widest = max(widest, round(1.1 * max(  # the stage's name over it, in bold
            len(html.unescape(line)) for line in short(heads[-1], chars, 2).split("<br>"))))
    tail = min(1.0, (_THICKNESS + 10 + widest * _CHAR_PX) / band)
    xs = [x_of(c, len(used) - 1 + tail) for c in range(len(used))]
    at = {n: i for i, n in enumerate(nodes)}
    spine = _spine(columns, at, {n: max(moves_in[n], moves_out[n]) for n in nodes}, xs,
                   plot_height, pad)

    stage_name = {n: stages[n if level == "stage" else stage_of[n]].name for n in nodes}
    colours = stage_colours(journey_map)
    colour = {n: colours.get(n if level == "stage" else stage_of.get(n, ""), MUTED)
              for n in nodes}
    hover = []
    for n in nodes:
        text = f"<b>{label(titles.get(n, n))}</b>"
        if level != "stage":
            text += f"<br>{label(stage_name[n])}"
        hover.append(text + f"<br>{fmt.count(moves_in[n])} moves in · "
                            f"{fmt.count(moves_out[n])} moves out")
    link_hover = [f"{label(titles.get(r['source'], r['source']))} → "
                  f"{label(titles.get(r['target'], r['target']))}<br>"
                  f"{fmt.plural(r['moves'], 'move')} by {fmt.plural(r.get('accounts'), 'account')}"
                  for r in data]
    fig = figure(go.Sankey(
        arrangement="snap",
        node={"label": shown + spine.labels,
              "color": [colour[n] for n in nodes] + spine.colours,
              "x": [xs[col[n]] for n in nodes] + spine.x,
              "y": [spine.y[n] for n in nodes] + spine.y_own,
              "customdata": hover + spine.labels,
              "pad": pad, "thickness": _THICKNESS, "line": {"width": 0}, "align": "left",
              "hovertemplate": "%{customdata}<extra></extra>"},
        link={"source": [at[r["source"]] for r in data] + spine.sources,
              "target": [at[r["target"]] for r in data] + spine.targets,
              "value": [r["moves"] for r in data] + spine.values,
              "color": [_rgba(colour[r["source"]], 0.35) for r in data] + spine.link_colours,
              "customdata": link_hover + [""] * len(spine.values),
              "hovertemplate": "%{customdata}<extra></extra>"},
        textfont={"size": 11, "color": INK},
    ))
    top = 14
    if level != "stage":  # the stage over each column
        top = 2 * _LINE_PX + 16
        fig.update_layout(annotations=[
            {"text": f"<b>{short(head, chars, 2)}</b>", "hovertext": label(head),
             "x": xs[c] - 0.004, "xanchor": "left", "align": "left",
             "xref": "paper", "y": 1, "yanchor": "bottom", "yref": "paper", "yshift": 6,
             "showarrow": False, "font": {"size": 11, "color": INK}}
            for c, head in enumerate(heads)])
    return style(fig, height=plot_height + top + 10,
                 margin={"l": 12, "r": 12, "t": top, "b": 10})


def x_of(column: int, count: float) -> float:
    """Where column `column` stands when the width holds `count` columns, on Plotly's 0..1
    across (never 0, which Plotly takes for no position)."""
    return 0.006 + column / count


@dataclass
class _Spine:
    """Invisible nodes and links that make Plotly's columns the stages (see `sankey`), with
    the positions of the real nodes."""

    y: dict[str, float]
    x: list[float] = field(default_factory=list)
    y_own: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    link_colours: list[str] = field(default_factory=list)


def _spine(columns: list[list[str]], at: dict[str, int], value: dict[str, float],
           xs: list[float], plot_height: float, pad: float) -> _Spine:
    """One invisible node per column, chained from column to column and on to one more node
    right of the last column, each passing a negligible flow to the nodes of the next column.
    `at` gives the index of each real node, `value` its flow (the larger of in and out), `xs`
    where each column stands.

    Plotly's Sankey (d3-sankey) puts a node in the column of its longest path from a start and
    sizes every node with the one scale that fits its fullest column; positions given to it
    move the nodes but keep those sizes. Through the chain, the longest path to every node of
    stage column k is k steps, so Plotly's columns are ours and its scale fits them; the last
    node keeps the labels of the last column on the right of their nodes, as everywhere else
    (Plotly puts the labels of its last column on the left, where they meet their neighbours).
    The real nodes are stacked in map order and spread over the height as d3-sankey does."""
    count = len(columns)
    eps = sum(value.values()) * 1e-9
    out = _Spine(y={})
    # Plotly's sizes: each node's flow (with the chain's), one scale for all, the gap between
    # nodes cut down when the fullest column would not fit (as d3-sankey does)
    flow = {n: value[n] + (eps if c else 0.0) for c, inside in enumerate(columns) for n in inside}
    busiest = max(len(inside) for inside in columns) + 1
    gap = min(pad, 2 / 3 * plot_height / (busiest - 1))
    scale = min((plot_height - len(inside) * gap)
                / (sum(flow[n] for n in inside)
                   + eps * (1 + (len(columns[c + 1]) if c + 1 < count else 0)))
                for c, inside in enumerate(columns))
    for inside in columns:
        heights = [flow[n] * scale for n in inside]
        spread = max(0.0, plot_height - sum(heights) - (len(inside) - 1) * gap) \
            / (len(inside) + 1)
        top = spread
        for n, height in zip(inside, heights, strict=True):
            out.y[n] = (top + height / 2) / plot_height
            top += height + gap + spread
    first = len(at)  # the chain's nodes come after the real ones
    for c in range(count):
        out.sources.append(first + c)
        out.targets.append(first + c + 1)  # the next chain node, or the one right of the last
        for n in columns[c + 1] if c + 1 < count else []:
            out.sources.append(first + c)
            out.targets.append(at[n])
    out.x = [*xs, 0.999]
    out.y_own = [0.9999] * (count + 1)  # at the bottom, out of the way of the real nodes
    out.labels = [""] * (count + 1)
    out.colours = [_INVISIBLE] * (count + 1)
    out.values = [eps] * len(out.sources)
    out.link_colours = [_INVISIBLE] * len(out.sources)
    return out


def time_in_stage(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """The distribution of time in each stage (median, 75th and 90th percentile) against the
    stage's time standard, one row per stage on its own scale of days."""
    data = [r for r in rows(result, "stages.time_in_stage") if fmt.is_number(r.get("median_days"))]
    if not data:
        return None
    height = 60 + 64 * len(data)
    axes: dict[str, Any] = {}
    fig = make_subplots(figure=figure(), rows=len(data), cols=1,
                        vertical_spacing=min(0.2, 26 / max(1, height - 60)))
    for i, r in enumerate(data, start=1):
        median, p75 = r["median_days"], r.get("p75_days") or r["median_days"]
        p90 = r.get("p90_days") or p75
        std = r.get("standard_days")
        name_y = [wrap(label(r["stage_name"]), 22)]
        hover = (f"<b>{label(r['stage_name'])}</b><br>half within {fmt.days(median)}, 75% "
                 f"within {fmt.days(p75)}, 90% within {fmt.days(p90)}")
        if fmt.is_number(std):
            hover += (f"<br>standard {fmt.days(std)}: {fmt.pct(r.get('breach_share'))} of "
                      f"{fmt.plural(r.get('entered'), 'account')} over it")
        for name, start, end, colour in (("half of the accounts", 0, median, "#3B6FB6"),
                                         ("three in four", median, p75, "#8FB0DE"),
                                         ("nine in ten", p75, p90, "#CFDDF1")):
            fig.add_bar(y=name_y, x=[max(0.0, end - start)], base=[start], orientation="h",
                        name=name, marker={"color": colour}, hovertext=[hover],
                        hoverinfo="text", showlegend=i == 1, legendgroup=name,
                        row=i, col=1)
        top = max(p90, std if fmt.is_number(std) else 0) * 1.25
        if fmt.is_number(std):
            fig.add_scatter(y=name_y, x=[std], mode="markers+text", name="time standard",
                            text=[f" {fmt.pct(r.get('breach_share'))} over"],
                            textposition="middle right",
                            textfont={"size": 11, "color": STATUS_COLOURS["bad"]},
                            marker={"symbol": "line-ns", "size": 28,
                                    "line": {"width": 3, "color": STATUS_COLOURS["bad"]}},
                            hovertext=[hover], hoverinfo="text", showlegend=i == 1,
                            legendgroup="standard", row=i, col=1)
        axes[f"xaxis{i if i > 1 else ''}"] = {"range": [0, top], "ticksuffix": " d"}
    return style(fig, height=height, barmode="overlay", bargap=0.3,
                 legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, **axes)


def regressions(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Back-and-forth: moves back to an earlier stage, from where to where."""
    data = [r for r in rows(result, "stages.regressions") if r.get("moves")]
    if not data:
        return None
    titles = names(journey_map)
    data = sorted(data, key=lambda r: r["moves"])[-12:]
    ys = [f"{label(titles.get(r['from_stage'], r['from_stage']))} → "
          f"{label(titles.get(r['to_stage'], r['to_stage']))}" for r in data]
    fig = figure(go.Bar(
        y=ys, x=[r["moves"] for r in data], orientation="h",
        marker={"color": HANDOVER_COLOUR},
        text=[f"{fmt.plural(r['accounts'], 'account')} · {fmt.pct(r.get('share'))} of the stage"
              for r in data], textposition="auto",
        hovertemplate="%{y}<br>%{x:,} moves<extra></extra>"))
    return style(fig, height=80 + 36 * len(data), xaxis={"title": {"text": "moves back"}})


def _dfg_layout(journey_map: JourneyMap, nodes: set[str]) -> dict[str, tuple[float, float]]:
    """Touchpoints in their stage's column, top to bottom in map order."""
    index = journey_map.stage_index()
    place: dict[str, tuple[float, float]] = {}
    for stage in journey_map.stages:
        inside = [t.id for t in journey_map.touchpoints_in(stage.id) if t.id in nodes]
        for k, tid in enumerate(inside):
            offset = 0.18 if k % 2 else -0.18  # zigzag so that links down a column stay apart
            place[tid] = (index[stage.id] + (offset if len(inside) > 1 else 0), -k)
    return place


def dfg(result: Result, journey_map: JourneyMap, top: int = DFG_EDGES) -> go.Figure | None:
    """The directly-follows graph of touchpoints: the `top` most frequent moves from one
    touchpoint to the next, line width by frequency, with the time between them on hover."""
    data = [r for r in rows(result, "paths.dfg_touchpoints") if r.get("frequency")]
    known = {t.id for t in journey_map.touchpoints}
    loops = {r["source"]: r for r in data if r["source"] == r["target"]}
    edges = [r for r in data if r["source"] != r["target"] and r["source"] in known
             and r["target"] in known]
    edges = sorted(edges, key=lambda r: -r["frequency"])[:top]
    if not edges:
        return None
    nodes = {r["source"] for r in edges} | {r["target"] for r in edges}
    place = _dfg_layout(journey_map, nodes)
    titles = names(journey_map)
    colours = stage_colours(journey_map)
    stage_of = {t.id: t.stage for t in journey_map.touchpoints}
    most = max(r["frequency"] for r in edges)
    fig = figure()
    # Edges of one width and direction share a trace (a None breaks the line between them):
    # a few traces instead of one annotation per edge keeps a report's build fast.
    lines: dict[tuple[int, bool], tuple[list[Any], list[Any]]] = {}
    tips: dict[tuple[int, bool], tuple[list[Any], list[Any]]] = {}
    mid_x, mid_y, mid_text = [], [], []
    for r in edges:
        (x0, y0), (x1, y1) = place[r["source"]], place[r["target"]]
        key = (round(1 + 5 * math.sqrt(r["frequency"] / most)), x1 < x0 - 0.5)
        xs, ys = lines.setdefault(key, ([], []))
        # stop short of the target node so that the arrowhead is seen
        ex, ey = x0 + (x1 - x0) * 0.9, y0 + (y1 - y0) * 0.9
        xs += [x0, ex, None]
        ys += [y0, ey, None]
        tx, ty = tips.setdefault(key, ([], []))
        tx += [x0 + (x1 - x0) * 0.85, ex, None]
        ty += [y0 + (y1 - y0) * 0.85, ey, None]
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        mid_text.append(f"<b>{label(titles.get(r['source']))} → {label(titles.get(r['target']))}"
                        f"</b><br>{fmt.count(r['frequency'])} times<br>median "
                        f"{fmt.days((r.get('median_seconds') or 0) / 86400)}, mean "
                        f"{fmt.days((r.get('mean_seconds') or 0) / 86400)}, max "
                        f"{fmt.days((r.get('max_seconds') or 0) / 86400)}")
    for (width, back), (xs, ys) in sorted(lines.items()):
        colour = "rgba(232,89,12,0.55)" if back else "rgba(59,111,182,0.45)"
        fig.add_scatter(x=xs, y=ys, mode="lines", line={"width": width, "color": colour},
                        hoverinfo="skip", showlegend=False)
        tx, ty = tips[(width, back)]
        fig.add_scatter(x=tx, y=ty, mode="markers", hoverinfo="skip", showlegend=False,
                        marker={"symbol": ["circle", "arrow", "circle"] * (len(tx) // 3),
                                "angleref": "previous", "size": [0, 8 + 2 * width, 0]
                                * (len(tx) // 3), "color": colour})
    fig.add_scatter(x=mid_x, y=mid_y, mode="markers", marker={"size": 10, "opacity": 0},
                    hovertext=mid_text, hoverinfo="text", showlegend=False)
    ordered = sorted(nodes, key=lambda n: place[n])
    fig.add_scatter(
        x=[place[n][0] for n in ordered], y=[place[n][1] for n in ordered],
        mode="markers+text", text=[label(titles.get(n, n)) for n in ordered],
        textposition="top center", textfont={"size": 11},
        marker={"size": 16, "color": [colours.get(stage_of.get(n, ""), MUTED) for n in ordered],
                "line": {"width": 2, "color": "#FFFFFF"}},
        hovertext=[f"<b>{label(titles.get(n, n))}</b><br>repeated "
                   f"{fmt.count(loops[n]['frequency']) if n in loops else 0} times in a row"
                   for n in ordered], hoverinfo="text", showlegend=False)
    stages = journey_map.stages
    depth = min(p[1] for p in place.values())
    return style(fig, height=max(360, 120 - 90 * int(depth)), xaxis={
        "tickmode": "array", "tickvals": list(range(len(stages))),
        "ticktext": [label(s.name) for s in stages], "side": "top", "showgrid": False,
        "range": [-0.6, len(stages) - 0.4]},
        yaxis={"visible": False, "range": [depth - 0.6, 0.8]})


def emotion(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """The emotion curve measured from scores and comments beside the designed one, per
    touchpoint in map order (per stage when no touchpoint was measured)."""
    data = rows(result, "voc.emotion_by_touchpoint")
    level = "touchpoint"
    if not any(fmt.is_number(r.get("measured")) for r in data):
        data, level = rows(result, "voc.emotion_by_stage"), "stage"
    if not any(fmt.is_number(r.get("measured")) for r in data):
        return None
    titles = names(journey_map)
    numbers = {v.tp.id: v.number for v in build_view(journey_map).touchpoints}
    xs = [(f"{numbers.get(r[level], '')} · " if level == "touchpoint" else "")
          + label(titles.get(r[level], r[level])) for r in data]
    fig = figure()
    fig.add_scatter(x=xs, y=[r.get("designed") for r in data], name="designed",
                    mode="lines+markers", line={"dash": "dash", "color": MUTED, "width": 2,
                                                "shape": "spline"},
                    hovertemplate="%{x}<br>designed %{y:+.2f}<extra></extra>")
    measured = [r.get("measured") if fmt.is_number(r.get("measured")) else None for r in data]
    fig.add_scatter(
        x=xs, y=measured, name="measured", mode="lines+markers", connectgaps=False,
        line={"color": MAIN, "width": 3, "shape": "spline"},
        marker={"size": 10, "color": [STATUS_COLOURS["good"] if (m or 0) >= 0
                                      else STATUS_COLOURS["bad"] for m in measured]},
        customdata=[[fmt.count(r.get("signals")), fmt.signed(r.get("gap"))] for r in data],
        hovertemplate="%{x}<br>measured %{y:+.2f} from %{customdata[0]} scores and "
                      "comments<br>gap to the design %{customdata[1]}<extra></extra>")
    fig.add_hline(y=0, line={"color": GRID, "width": 1})
    return style(fig, height=340, yaxis={"range": [-2.2, 2.2], "tickvals": [-2, -1, 0, 1, 2],
                                         "ticktext": ["−2", "−1", "0", "+1", "+2"],
                                         "title": {"text": "emotion"}},
                 xaxis={"tickangle": -35})
