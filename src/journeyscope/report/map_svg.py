"""The rendered map as one standalone SVG: real shapes and wrapped text, no HTML inside.

The same view as the HTML page (stages by lanes, cards, emotion curve, flowchart), laid out
in Python with Helvetica metrics, so it opens in any SVG editor or vector tool and prints at
any size. What a persona filter leaves out is drawn faded.
"""

from __future__ import annotations

from journeyscope.model.types import JourneyMap
from journeyscope.report.emotion import emotion_svg, faces_svg
from journeyscope.report.flowchart import flowchart_svg
from journeyscope.report.layout import (
    STATUS_COLOURS,
    Figure,
    Item,
    MapView,
    Measures,
    TouchpointView,
    build_view,
)
from journeyscope.report.svgkit import (
    FONT_STACK,
    esc,
    icon_at,
    marker,
    star_at,
    text_lines,
    text_width,
    wrap,
)

PAD = 24
LABEL_W = 150
COL_W = 240
CELL_PAD = 8
EMOTION_H = 200
INK, MUTED, LINE = "#1f2933", "#5f6b7a", "#dfe3e8"
_NOTE_STYLE = {  # lane: (fill, stroke, left bar, tag fill, tag ink)
    "actions": ("#ffffff", "#e3e6ea", None, "#e9ecef", "#495057"),
    "needs": ("#ffffff", "#e3e6ea", None, "#e7f5ff", "#1864ab"),
    "pain_points": ("#fff0f0", "#ffc9c9", "#c92a2a", "#c92a2a", "#ffffff"),
    "opportunities": ("#ebfbee", "#b2f2bb", "#2b8a3e", "#2b8a3e", "#ffffff"),
    "information": ("#ffffff", "#e3e6ea", None, "#f3f0ff", "#5f3dc4"),
    "kpis": ("#ffffff", "#e3e6ea", "#e8590c", "#e9ecef", "#495057"),
    "empathy": ("#ffffff", "#e3e6ea", None, "#fff3bf", "#8f6900"),
    "backstage": ("#f8f9fa", "#ced4da", None, "#e9ecef", "#495057"),
}
_EVIDENCE = {"assumption": ("#ffffff", "#868e96"), "research": ("#e7f5ff", "#1864ab"),
             "data": ("#ebfbee", "#2b8a3e")}


def _fade(met: bool) -> str:
    return "" if met else ' opacity="0.25"'


def _chip(x: float, y: float, text: str, fill: str, ink: str, size: float = 10,
          stroke: str | None = None, bold: bool = True,
          icon: str | None = None) -> tuple[str, float]:
    pad_icon = 15 if icon else 0
    w = text_width(text, size, bold) + 12 + pad_icon
    out = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="17" rx="8.5" fill="{fill}"'
           + (f' stroke="{stroke}"' if stroke else "") + "/>")
    if icon:
        out += icon_at(icon, x + 5, y + 2.5, 12, ink)
    out += (f'<text x="{x + 6 + pad_icon:.1f}" y="{y + 12.2:.1f}" font-size="{size}" '
            f'font-weight="{"bold" if bold else "normal"}" fill="{ink}">{esc(text)}</text>')
    return out, w


def _figures(figs: list[Figure], w: float) -> tuple[str, float]:
    out, half = [], (w - 4) / 2
    for i, f in enumerate(figs):
        x, y = (i % 2) * (half + 4), (i // 2) * 34
        colour = STATUS_COLOURS.get(f.status or "", "#ced4da")
        value_ink = STATUS_COLOURS.get(f.status or "", INK)
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{half:.1f}" height="30" rx="5" '
                   f'fill="#f8f9fa"/><rect x="{x:.1f}" y="{y:.1f}" width="3" height="30" '
                   f'fill="{colour}"/>')
        out.append(text_lines(wrap(f.label.upper(), half - 12, 8.5, max_lines=1), x + 8, y + 11,
                              8.5, 10, MUTED))
        out.append(text_lines(wrap(f.value, half - 12, 12, True, max_lines=1), x + 8, y + 25,
                              12, 13, value_ink, "bold"))
    return "".join(out), ((len(figs) + 1) // 2) * 34


def _card(tv: TouchpointView, view: MapView, w: float) -> tuple[str, float]:
    sv = view.stages[tv.stage_index]
    tp = tv.tp
    parts: list[str] = []
    name = wrap(tp.name, w - 44 - (16 if tp.moment_of_truth else 0), 13, bold=True)
    parts.append(f'<circle cx="18" cy="17" r="9.5" fill="{sv.colour}"/>'
                 f'<text x="18" y="20.5" font-size="10.5" font-weight="bold" fill="{sv.ink}" '
                 f'text-anchor="middle">{tv.number}</text>')
    parts.append(text_lines(name, 33, 21, 13, 16, INK, "bold"))
    if tp.moment_of_truth:
        parts.append(star_at(w - 21, 7, 15))
    y = 10 + max(20, len(name) * 16) + 6
    x = 10.0
    for channel, main in tv.channels:
        fill, ink, stroke = ("#343a40", "#ffffff", None) if main else ("#ffffff", "#495057",
                                                                        "#ced4da")
        width = text_width(channel, 10, main) + 27
        if x + width > w - 8 and x > 10:
            x, y = 10.0, y + 21
        chip, width = _chip(x, y, channel, fill, ink, 10, stroke, main, icon=channel)
        parts.append(chip)
        x += width + 4
    if tv.channels:
        y += 23
    owner = tp.owner or "no owner"
    owner_text = wrap(owner, w - 110, 10, bold=True, max_lines=1)[0]
    chip, _ = _chip(10, y, "● " + owner_text, "#f1f3f5", tv.owner_colour, 10)
    parts.append(chip)
    fill, ink = _EVIDENCE[tp.evidence.value]
    ev = tp.evidence.value.upper()
    ew = text_width(ev, 8.5, True) + 10
    parts.append(f'<rect x="{w - 10 - ew:.1f}" y="{y + 1.5:.1f}" width="{ew:.1f}" height="14" '
                 f'rx="3" fill="{fill}" stroke="{ink}" stroke-width="0.8"'
                 + (' stroke-dasharray="2 2"' if tp.evidence.value == "assumption" else "")
                 + f'/><text x="{w - 10 - ew / 2:.1f}" y="{y + 11.5:.1f}" font-size="8.5" '
                 f'font-weight="bold" fill="{ink}" text-anchor="middle">{ev}</text>')
    y += 23
    if tv.kpis:
        parts.append(f'<line x1="10" x2="{w - 10:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e3e6ea" stroke-dasharray="3 2"/>')
        y += 4
        for kpi in tv.kpis:
            lines = wrap(kpi, w - 36, 11)
            parts.append(f'<circle cx="16" cy="{y + 7:.1f}" r="4.5" fill="none" '
                         f'stroke="#e8590c" stroke-width="1.6"/>'
                         f'<circle cx="16" cy="{y + 7:.1f}" r="1.6" fill="#e8590c"/>')
            parts.append(text_lines(lines, 26, y + 11, 11, 14, "#364152"))
            y += len(lines) * 14 + 2
        y += 2
    x = 10.0
    for pid in tv.personas:
        pv = view.persona(pid)
        if pv is None:
            continue
        parts.append(f'<circle cx="{x + 9.5:.1f}" cy="{y + 10:.1f}" r="9.5" fill="{pv.colour}"/>'
                     f'<text x="{x + 9.5:.1f}" y="{y + 13:.1f}" font-size="8.5" font-weight="bold"'
                     f' fill="#ffffff" text-anchor="middle">{esc(pv.initials)}</text>')
        x += 21
    if tv.time:
        parts.append(f'<text x="{w - 10:.1f}" y="{y + 14:.1f}" font-size="10.5" fill="{MUTED}" '
                     f'text-anchor="end">within {esc(tv.time)}</text>')
    y += 26
    if tv.figures:
        figs, fh = _figures(tv.figures, w - 20)
        parts.append(f'<g transform="translate(10,{y:.1f})">{figs}</g>')
        y += fh + 4
    h = y + 4
    stroke, sw = "#d5dae0", 1.0
    if tv.status:
        stroke, sw = STATUS_COLOURS[tv.status], 2.5
    bg = "#fffdf5" if tp.moment_of_truth else "#ffffff"
    frame = (f'<rect x="0" y="0" width="{w:.1f}" height="{h:.1f}" rx="8" fill="{bg}" '
             f'stroke="{stroke}" stroke-width="{sw}"/>'
             f'<rect x="0" y="4" width="4" height="{h - 8:.1f}" rx="2" fill="{tv.owner_colour}"/>')
    return f'<g class="tp"{_fade(tv.met)}>' + frame + "".join(parts) + "</g>", h


def _note(item: Item, lane_key: str, w: float) -> tuple[str, float]:
    fill, stroke, bar, tag_fill, tag_ink = _NOTE_STYLE.get(lane_key, _NOTE_STYLE["actions"])
    parts, y = [], 6.0
    ref_w = 22 if item.touchpoint else 0
    tag = item.tag if item.tag and item.tag != "medium" else None
    if tag or item.star:
        x = 8.0
        if item.star:
            parts.append(star_at(x - 1, y - 1, 13))
            x += 15
        if tag:
            tw = text_width(tag.upper(), 8, True) + 8
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{tw:.1f}" height="12" rx="3" '
                         f'fill="{tag_fill}"/><text x="{x + 4:.1f}" y="{y + 9:.1f}" font-size="8" '
                         f'font-weight="bold" fill="{tag_ink}">{esc(tag.upper())}</text>')
        y += 15
    bold = lane_key == "pain_points" and item.tag == "high"
    lines = wrap(item.text, w - 18 - ref_w, 11.5, bold=bold)
    parts.append(text_lines(lines, 10, y + 10, 11.5, 14.5, INK, "bold" if bold else "normal"))
    y += len(lines) * 14.5
    if item.detail:
        detail = wrap(item.detail, w - 18, 10)
        parts.append(text_lines(detail, 10, y + 9, 10, 12.5, MUTED))
        y += len(detail) * 12.5
    h = y + 7
    if item.touchpoint:
        parts.append(f'<rect x="{w - 24:.1f}" y="5" width="18" height="14" rx="7" fill="#e9ecef"/>'
                     f'<text x="{w - 15:.1f}" y="15" font-size="9" font-weight="bold" '
                     f'fill="#495057" text-anchor="middle">{item.touchpoint.number}</text>')
    frame = (f'<rect x="0" y="0" width="{w:.1f}" height="{h:.1f}" rx="6" fill="{fill}" '
             f'stroke="{stroke}"' + (' stroke-dasharray="3 2"' if lane_key == "backstage" else "")
             + "/>")
    if bar:
        frame += (f'<rect x="0" y="0" width="{5 if bold else 3}" height="{h:.1f}" rx="1.5" '
                  f'fill="{bar}"/>')
    return f'<g class="note"{_fade(item.met)}>' + frame + "".join(parts) + "</g>", h


def _stack(blocks: list[tuple[str, float]], gap: float) -> tuple[str, float]:
    out, y = [], 0.0
    for markup, h in blocks:
        out.append(f'<g transform="translate(0,{y:.1f})">{markup}</g>')
        y += h + gap
    return "".join(out), max(0.0, y - gap)


def _stage_header(view: MapView, x0: float, y0: float) -> tuple[str, float]:
    metas = []
    for sv in view.stages:
        blocks = []
        w = COL_W - 24
        if sv.description:
            lines = wrap(sv.description, w, 11)
            blocks.append((text_lines(lines, 0, 0, 11, 14, MUTED), len(lines) * 14))
        for key, value in (("EXIT", sv.exit_criteria), ("TIME STANDARD", sv.time or None)):
            if value:
                kw = text_width(key, 9, True) + 5
                lines = wrap(value, w - kw, 11.5)
                markup = (f'<text x="0" y="0" font-size="9" font-weight="bold" '
                          f'fill="{sv.colour}">{key}</text>'
                          + text_lines(lines, kw, 0, 11.5, 14.5, INK))
                blocks.append((markup, len(lines) * 14.5))
        if sv.figures:
            figs, fh = _figures(sv.figures, w)
            blocks.append((f'<g transform="translate(0,-10)">{figs}</g>', fh))
        metas.append(_stack(blocks, 4))
    meta_h = max((h for _, h in metas), default=0) + 24
    out = []
    for sv, (markup, _) in zip(view.stages, metas, strict=True):
        x = x0 + sv.index * COL_W
        out.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{COL_W:.1f}" height="{36 + meta_h:.1f}"'
                   f' fill="{sv.tint}"/><rect x="{x:.1f}" y="{y0:.1f}" width="{COL_W:.1f}" '
                   f'height="36" fill="{sv.colour}"/>')
        out.append(f'<circle cx="{x + 22:.1f}" cy="{y0 + 18:.1f}" r="10" fill="#ffffff" '
                   f'fill-opacity="0.28"/><text x="{x + 22:.1f}" y="{y0 + 22:.1f}" '
                   f'font-size="11" font-weight="bold" fill="{sv.ink}" text-anchor="middle">'
                   f'{sv.index + 1}</text>')
        out.append(text_lines(wrap(sv.name, COL_W - 50, 15, True, max_lines=1), x + 40,
                              y0 + 23.5, 15, 18, sv.ink, "bold"))
        if sv.status:
            out.append(f'<rect x="{x:.1f}" y="{y0 + 33 + meta_h:.1f}" width="{COL_W:.1f}" '
                       f'height="3" fill="{STATUS_COLOURS[sv.status]}"/>')
        out.append(f'<g transform="translate({x + 12:.1f},{y0 + 36 + 20:.1f})">{markup}</g>')
    return "".join(out), 36 + meta_h


def render_map_svg(journey_map: JourneyMap, persona: str | None = None,
                   measures: Measures | None = None) -> str:
    """The map as a standalone SVG document (see the module docstring)."""
    view = build_view(journey_map, persona=persona, measures=measures)
    m = journey_map
    n = max(1, len(view.stages))
    grid_w = LABEL_W + n * COL_W
    width = grid_w + 2 * PAD
    out: list[str] = []
    y = PAD + 26.0
    out.append(text_lines(wrap(m.name, grid_w, 26, True, max_lines=2), PAD, y, 26, 30, INK,
                          "bold"))
    y += 22
    facts = (f"{m.state.value} state · {m.kind.value} · {len(view.stages)} stages · "
             f"{len(view.touchpoints)} touchpoints · {len(view.personas)} personas · "
             f"{len(view.handovers)} handovers")
    if m.segment:
        facts += f" · segment {m.segment}"
    if view.selected:
        selected = view.persona(view.selected)
        facts += f" · as {selected.name if selected else view.selected} meets it"
    out.append(text_lines([facts], PAD, y, 12, 15, MUTED))
    if m.objective:
        y += 18
        out.append(text_lines(wrap("Objective: " + m.objective, grid_w, 13, max_lines=2), PAD,
                              y, 13, 16, INK))
    y += 24
    x = float(PAD)
    for pv in view.personas:
        label = pv.name + (f" ({pv.role.replace('-', ' ')})" if pv.role else "")
        lw = text_width(label, 11.5) + 36
        if x + lw > PAD + grid_w:
            x, y = float(PAD), y + 20
        faded = view.selected is not None and view.selected != pv.id
        out.append(f'<g{_fade(not faded)}><line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y:.1f}" '
                   f'y2="{y:.1f}" stroke="{pv.colour}" stroke-width="2.6"/>'
                   f'{marker(pv.shape, x + 9, y, 4.6, pv.colour)}'
                   f'<text x="{x + 24:.1f}" y="{y + 4:.1f}" font-size="11.5" fill="{INK}">'
                   f'{esc(label)}</text></g>')
        x += lw
    y += 22
    grid_x = float(PAD)
    cols_x = grid_x + LABEL_W
    header, hh = _stage_header(view, cols_x, y)
    out.append(f'<rect x="{grid_x:.1f}" y="{y:.1f}" width="{LABEL_W:.1f}" height="{hh:.1f}" '
               'fill="#ffffff"/>')
    out.append(text_lines(["STAGES"], grid_x + 12, y + hh - 12, 10, 12, MUTED, "bold"))
    out.append(header)
    y += hh
    seen_visibility = False
    inner_w = COL_W - 2 * CELL_PAD
    for lane in view.lanes:
        if lane.backstage and not seen_visibility:
            seen_visibility = True
            out.append(f'<line x1="{grid_x:.1f}" x2="{grid_x + grid_w:.1f}" y1="{y + 11:.1f}" '
                       f'y2="{y + 11:.1f}" stroke="#adb5bd" stroke-width="2" '
                       'stroke-dasharray="8 6"/>')
            out.append(f'<rect x="{grid_x + grid_w / 2 - 100:.1f}" y="{y + 3:.1f}" width="200" '
                       'height="16" fill="#ffffff"/>')
            out.append(text_lines(["LINE OF VISIBILITY · BACKSTAGE"], grid_x + grid_w / 2,
                                  y + 15, 9.5, 12, MUTED, "bold", "middle"))
            y += 22
        key = lane.key.split(":")[0]
        if lane.key == "emotion":
            cells = [(emotion_svg(view, COL_W, EMOTION_H, standalone=True), EMOTION_H + 22)]
        elif lane.key == "touchpoints":
            cells = [_stack([_card(tv, view, inner_w) for tv in sv.touchpoints], 8)
                     for sv in view.stages]
        else:
            cells = [_stack([_note(it, key, inner_w) for it in cell], 5) for cell in lane.cells]
        label = wrap(lane.label, LABEL_W - 24, 12.5, True)
        hint = wrap(lane.hint, LABEL_W - (80 if lane.key == "emotion" else 24), 10.5)
        label_h = len(label) * 15 + len(hint) * 13 + 20
        lane_h = max([label_h] + [h + 2 * CELL_PAD for _, h in cells])
        back = "#eef0f3" if lane.backstage else "#fafbfc"
        out.append(f'<rect x="{grid_x:.1f}" y="{y:.1f}" width="{LABEL_W:.1f}" '
                   f'height="{lane_h:.1f}" fill="{back}"/>')
        out.append(text_lines(label, grid_x + 12, y + 22, 12.5, 15, INK, "bold"))
        out.append(text_lines(hint, grid_x + 12, y + 22 + len(label) * 15, 10.5, 13, MUTED))
        if lane.key == "emotion":
            out.append(f'<rect x="{cols_x:.1f}" y="{y:.1f}" width="{n * COL_W:.1f}" '
                       f'height="{lane_h:.1f}" fill="#ffffff"/>')
            out.append(f'<g transform="translate({grid_x + LABEL_W - 60:.1f},{y:.1f})">'
                       f'{faces_svg(56, EMOTION_H, standalone=True)}</g>')
            out.append(f'<g transform="translate({cols_x:.1f},{y:.1f})">{cells[0][0]}</g>')
            lx = cols_x + 12
            for pv in view.personas:
                faded = view.selected is not None and view.selected != pv.id
                out.append(f'<g{_fade(not faded)}><line x1="{lx:.1f}" x2="{lx + 16:.1f}" '
                           f'y1="{y + EMOTION_H + 8:.1f}" y2="{y + EMOTION_H + 8:.1f}" '
                           f'stroke="{pv.colour}" stroke-width="2.6"/>'
                           f'{marker(pv.shape, lx + 8, y + EMOTION_H + 8, 4.2, pv.colour)}'
                           f'<text x="{lx + 21:.1f}" y="{y + EMOTION_H + 12:.1f}" '
                           f'font-size="11" fill="#364152">{esc(pv.name)}</text></g>')
                lx += text_width(pv.name, 11) + 40
        else:
            for sv, (markup, _) in zip(view.stages, cells, strict=True):
                cx = cols_x + sv.index * COL_W
                fill = "#f3f4f6" if lane.backstage else sv.tint
                out.append(f'<rect x="{cx:.1f}" y="{y:.1f}" width="{COL_W:.1f}" '
                           f'height="{lane_h:.1f}" fill="{fill}"/>')
                out.append(f'<g transform="translate({cx + CELL_PAD:.1f},{y + CELL_PAD:.1f})">'
                           f'{markup}</g>')
        out.append(f'<line x1="{grid_x:.1f}" x2="{grid_x + grid_w:.1f}" y1="{y + lane_h:.1f}" '
                   f'y2="{y + lane_h:.1f}" stroke="{LINE}"/>')
        y += lane_h
    y += 30
    if view.empathy_cards:
        out.append(text_lines(["Empathy maps"], grid_x, y, 17, 20, INK, "bold"))
        y += 14
        ex, row_h = grid_x, 0.0
        for pv, quads in view.empathy_cards:
            card, ch = _empathy_card(pv.name, pv.colour, quads)
            if ex + 420 > grid_x + grid_w:
                ex, y, row_h = grid_x, y + row_h + 12, 0.0
            faded = view.selected is not None and view.selected != pv.id
            out.append(f'<g transform="translate({ex:.1f},{y:.1f})"{_fade(not faded)}>{card}</g>')
            ex += 432
            row_h = max(row_h, ch)
        y += row_h + 34
    title = f"Flow of touchpoints · {len(view.handovers)} handovers between owners, in orange"
    out.append(text_lines([title], grid_x, y, 17, 20, INK, "bold"))
    y += 14
    flow, _, flow_h = flowchart_svg(view, COL_W, standalone=True)
    out.append(f'<g transform="translate({cols_x:.1f},{y:.1f})">{flow}</g>')
    y += flow_h + 20
    for h in view.handovers:
        line = (f"#{h.source.number} {h.source.tp.name} → #{h.target.number} "
                f"{h.target.tp.name}" + (f" (within {h.time})" if h.time else ""))
        out.append(f'<g{_fade(h.met)}><text x="{cols_x:.1f}" y="{y:.1f}" font-size="11.5" '
                   f'font-weight="bold" fill="#b8420b">{esc(h.label)}</text>'
                   f'<text x="{cols_x + 260:.1f}" y="{y:.1f}" font-size="11.5" fill="{INK}">'
                   f'{esc(line)}</text></g>')
        y += 17
    height = y + PAD
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="{FONT_STACK}" '
        f'role="img" aria-label="Journey map: {esc(m.name)}">\n'
        f'<title>{esc(m.name)}</title>\n'
        f'<rect width="100%" height="100%" fill="#f4f5f7"/>\n'
        + "\n".join(part for part in out if part) + "\n</svg>\n"
    )


def _empathy_card(name: str, colour: str, quads: dict[str, list[str]]) -> tuple[str, float]:
    w, qw = 420.0, 200.0
    blocks = {}
    for q, items in quads.items():
        lines: list[str] = []
        for it in items:
            wrapped = wrap(it, qw - 26, 11.5)
            lines += ["• " + wrapped[0]] + ["  " + rest for rest in wrapped[1:]]
        blocks[q] = lines
    row1 = max(len(blocks["says"]), len(blocks["thinks"])) * 14.5 + 26
    row2 = max(len(blocks["does"]), len(blocks["feels"])) * 14.5 + 26
    h = 40 + row1 + row2 + 10
    out = [f'<rect width="{w}" height="{h:.1f}" rx="10" fill="#ffffff" stroke="{LINE}"/>'
           f'<rect width="{w}" height="4" rx="2" fill="{colour}"/>',
           text_lines([name], 12, 26, 14, 16, INK, "bold")]
    for i, q in enumerate(("says", "thinks", "does", "feels")):
        qx = 10 + (i % 2) * (qw + 0)
        qy = 38 + (0 if i < 2 else row1)
        out.append(f'<rect x="{qx:.1f}" y="{qy:.1f}" width="{qw - 2:.1f}" '
                   f'height="{(row1 if i < 2 else row2) - 2:.1f}" rx="4" fill="#f8f9fa"/>')
        out.append(text_lines([q.upper()], qx + 8, qy + 14, 9.5, 12, MUTED, "bold"))
        out.append(text_lines(blocks[q], qx + 8, qy + 29, 11.5, 14.5, INK))
    return "".join(out), h
