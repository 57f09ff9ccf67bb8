"""The emotion curve: one smooth line per persona across the touchpoints, on a -2..+2 scale.

Touchpoints sit at fixed x positions inside their stage's column (evenly spread), so the curve
lines up with the stage columns of the grid above and below it.
"""

from __future__ import annotations

from journeyscope.report.layout import MapView, TouchpointView
from journeyscope.report.svgkit import (
    EMOTION_COLOURS,
    EMOTION_WORDS,
    esc,
    face,
    marker,
    smooth_path,
)

PAD_TOP = 14.0
PAD_BOTTOM = 30.0  # room for the touchpoint numbers under the curve


def touchpoint_x(tv: TouchpointView, col_width: float) -> float:
    """The x of a touchpoint inside the stage columns (0 = left edge of the first stage)."""
    return tv.stage_index * col_width + (tv.slot + 0.5) / tv.slots * col_width


def value_y(value: float, height: float) -> float:
    plot = height - PAD_TOP - PAD_BOTTOM
    return PAD_TOP + (2 - value) / 4 * plot


def emotion_svg(view: MapView, col_width: float, height: float = 200.0,
                standalone: bool = False) -> str:
    """The curve of every persona, as an `<svg>` element (or a `<g>` when `standalone`, for
    inclusion in a larger SVG) of width ``len(stages) * col_width``."""
    width = len(view.stages) * col_width
    parts: list[str] = []
    top, zero, bottom = value_y(2, height), value_y(0, height), value_y(-2, height)
    parts.append(f'<rect x="0" y="{top:.1f}" width="{width:.1f}" height="{zero - top:.1f}" '
                 'fill="#2F9E44" fill-opacity="0.06"/>')
    parts.append(f'<rect x="0" y="{zero:.1f}" width="{width:.1f}" height="{bottom - zero:.1f}" '
                 'fill="#E03131" fill-opacity="0.06"/>')
    for v in (-2, -1, 1, 2):
        y = value_y(v, height)
        parts.append(f'<line x1="0" x2="{width:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ADB5BD" stroke-width="0.6" stroke-dasharray="2 4"/>')
    parts.append(f'<line x1="0" x2="{width:.1f}" y1="{zero:.1f}" y2="{zero:.1f}" '
                 'stroke="#868E96" stroke-width="1" stroke-dasharray="5 3"/>')
    for i in range(1, len(view.stages)):
        x = i * col_width
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height:.1f}" '
                     'stroke="#DEE2E6" stroke-width="1"/>')

    # Touchpoint numbers along the bottom, so a point can be traced to its card.
    for tv in view.touchpoints:
        x = touchpoint_x(tv, col_width)
        reach = " ".join(tv.personas)
        dim = "" if tv.met else " dim"
        parts.append(
            f'<g class="tick{dim}" data-personas="{esc(reach)}"><title>#{tv.number} '
            f'{esc(tv.tp.name)}</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{bottom + 4:.1f}" '
            'stroke="#CED4DA" stroke-width="0.6"/>'
            f'<circle cx="{x:.1f}" cy="{height - 13:.1f}" r="8.5" fill="#F1F3F5" '
            'stroke="#CED4DA" stroke-width="0.8"/>'
            f'<text x="{x:.1f}" y="{height - 9.5:.1f}" font-size="9.5" font-weight="bold" '
            f'fill="#495057" text-anchor="middle">{tv.number}</text></g>'
        )

    names = {p.id: p for p in view.personas}
    for pv in view.personas:
        points = [(touchpoint_x(tv, col_width), tv, tv.tp.emotion[pv.id])
                  for tv in view.touchpoints if pv.id in tv.tp.emotion]
        if not points:
            continue
        coords = [(x, value_y(max(-2, min(2, v)), height)) for x, _, v in points]
        faded = view.selected is not None and view.selected != pv.id
        cls = "curve faded" if faded else "curve"
        group = [f'<g class="{cls}" data-persona="{esc(pv.id)}">']
        group.append(f'<path class="line" d="{smooth_path(coords)}" fill="none" '
                     f'stroke="{pv.colour}" stroke-width="2.6" stroke-linecap="round" '
                     'stroke-linejoin="round"/>')
        for (x, tv, v), (_, y) in zip(points, coords, strict=True):
            clamped = max(-2, min(2, v))
            title = (f"{names[pv.id].name} at #{tv.number} {tv.tp.name}: {v:+d} "
                     f"({EMOTION_WORDS[clamped]})")
            group.append(f'<g class="point"><title>{esc(title)}</title>'
                         f'{marker(pv.shape, x, y, 6.2, "#ffffff")}'
                         f'{marker(pv.shape, x, y, 4.6, pv.colour)}'
                         f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" '
                         f'fill="{EMOTION_COLOURS[clamped]}"/></g>')
        group.append("</g>")
        parts.append("".join(group))
    body = "".join(parts)
    if standalone:
        return body
    return (f'<svg class="emotion-curve" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.1f} {height:.1f}" role="img" '
            f'aria-label="Emotion curve per persona">{body}</svg>')


def faces_svg(width: float, height: float = 200.0, standalone: bool = False) -> str:
    """The -2..+2 scale with a face at each level, drawn beside the curve."""
    parts = []
    for v in range(-2, 3):
        y = value_y(v, height)
        parts.append(face(v, width - 12, y, 8))
        parts.append(f'<text x="{width - 25:.1f}" y="{y + 3.5:.1f}" font-size="10" '
                     f'fill="#495057" text-anchor="end">{v:+d}</text>'.replace("+0", "0"))
    body = "".join(parts)
    if standalone:
        return body
    return (f'<svg class="faces" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.1f} {height:.1f}" aria-hidden="true">{body}</svg>')
