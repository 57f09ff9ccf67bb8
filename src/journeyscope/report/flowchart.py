"""The flowchart of touchpoint links, laid out in the stage columns of the map.

Each stage is a column; its touchpoints are stacked in the order their links run inside the
stage. Links to a later stage are curves, links inside a stage run down the column (or arc
beside it when they skip a card), and links back to an earlier stage run along return lanes
under the chart. A handover (the two owners differ) is drawn in the warning colour and
labelled "owner A to owner B".
"""

from __future__ import annotations

from dataclasses import dataclass

from journeyscope.report.layout import HANDOVER_COLOUR, MapView, TouchpointView
from journeyscope.report.svgkit import esc, star_at, text_lines, text_width, wrap

NODE_H = 58.0
GAP_V = 58.0
HEADER_H = 30.0
LANE_STEP = 16.0
LINK_COLOUR = "#8C96A3"


@dataclass
class _Node:
    tv: TouchpointView
    x: float
    y: float
    w: float
    order: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + NODE_H / 2


def _intra_layers(tvs: list[TouchpointView]) -> dict[str, int]:
    """Longest-path layers of the links inside one stage, ignoring links that close a cycle."""
    ids = [tv.tp.id for tv in tvs]
    inside = set(ids)
    succ = {tv.tp.id: [ln.to for ln in tv.tp.next if ln.to in inside and ln.to != tv.tp.id]
            for tv in tvs}
    state: dict[str, int] = {}
    forward: dict[str, list[str]] = {i: [] for i in ids}
    finished: list[str] = []
    # Depth first without recursion (a stage may hold a chain of thousands of cards): a link
    # to a card still on the path closes a cycle and is left out of the layering.
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        path: list[tuple[str, int]] = [(root, 0)]
        while path:
            node, i = path[-1]
            if i < len(succ[node]):
                path[-1] = (node, i + 1)
                nxt = succ[node][i]
                if state.get(nxt) == 1:
                    continue  # a back link inside the stage
                forward[node].append(nxt)
                if nxt not in state:
                    state[nxt] = 1
                    path.append((nxt, 0))
            else:
                state[node] = 2
                finished.append(node)
                path.pop()
    # Longest path over the links kept: one pass in topological order (the reverse of the
    # order the cards were finished in).
    layer = dict.fromkeys(ids, 0)
    for a in reversed(finished):
        for b in forward[a]:
            layer[b] = max(layer[b], layer[a] + 1)
    return layer


def _layout(view: MapView, col_width: float, node_w: float) -> dict[str, _Node]:
    nodes: dict[str, _Node] = {}
    preds: dict[str, list[str]] = {}
    for tv in view.touchpoints:
        for ln in tv.tp.next:
            preds.setdefault(ln.to, []).append(tv.tp.id)
    for sv in view.stages:
        layers = _intra_layers(sv.touchpoints)

        def key(tv: TouchpointView, layers: dict[str, int] = layers) -> tuple[float, float, int]:
            # Within a layer, cards follow the order of the cards that lead to them.
            before = [nodes[p].order for p in preds.get(tv.tp.id, []) if p in nodes]
            centre = sum(before) / len(before) if before else float(tv.slot)
            return (layers[tv.tp.id], centre, tv.slot)

        x = sv.index * col_width + (col_width - node_w) / 2
        for order, tv in enumerate(sorted(sv.touchpoints, key=key)):
            nodes[tv.tp.id] = _Node(tv, x, HEADER_H + 10 + order * (NODE_H + GAP_V), node_w,
                                    order)
    return nodes


def _bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float],
            p3: tuple[float, float], t: float) -> tuple[float, float]:
    u = 1 - t
    return (u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
            u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1])


def _at_x(pts: tuple[tuple[float, float], ...], x: float) -> tuple[float, float]:
    """The point of a left-to-right cubic whose x is `x` (bisection; x grows with t)."""
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if _bezier(*pts, mid)[0] < x:
            lo = mid
        else:
            hi = mid
    return _bezier(*pts, (lo + hi) / 2)


class _Labels:
    """Places handover labels so that they overlap neither each other nor a card. The boxes
    are kept in a grid of cells, so that a label is checked against its neighbours only, not
    against every label and card so far (3,000 handovers: 0.18 s for the whole flowchart,
    against 0.71 s)."""

    CELL = 128.0

    def __init__(self, blocked: list[tuple[float, float, float, float]]):
        self.placed: list[tuple[float, float, float, float]] = []
        self._grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
        for box in blocked:
            self._add(box)

    def _cells(self, box: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        x, y, w, h = box
        c = self.CELL
        return [(i, j) for i in range(int(x // c), int((x + w) // c) + 1)
                for j in range(int(y // c), int((y + h) // c) + 1)]

    def _add(self, box: tuple[float, float, float, float]) -> None:
        for cell in self._cells(box):
            self._grid.setdefault(cell, []).append(box)

    def _free(self, box: tuple[float, float, float, float]) -> bool:
        x, y, w, h = box
        for cell in self._cells(box):
            for bx, by, bw, bh in self._grid.get(cell, ()):
                if x < bx + bw and bx < x + w and y < by + bh and by < y + h:
                    return False
        return True

    def place(self, cx: float, cy: float, w: float, h: float) -> tuple[float, float]:
        for step in range(0, 40):
            dy = (step + 1) // 2 * 4 * (1 if step % 2 else -1)
            box = (cx - w / 2, cy + dy - h / 2, w, h)
            if self._free(box):
                self.placed.append(box)
                self._add(box)
                return cx, cy + dy
        box = (cx - w / 2, cy - h / 2, w, h)
        self.placed.append(box)
        self._add(box)
        return cx, cy


def flowchart_svg(view: MapView, col_width: float, standalone: bool = False
                  ) -> tuple[str, float, float]:
    """The flowchart as SVG markup (an `<svg>`, or a `<g>` when `standalone`) with its width
    and height."""
    node_w = min(col_width - 90, 190.0)
    gap = col_width - node_w
    nodes = _layout(view, col_width, node_w)
    width = len(view.stages) * col_width
    bottom = max((n.y + NODE_H for n in nodes.values()), default=HEADER_H + 20)
    edges, labels_todo, lane = [], [], 0
    handover_pairs = {(h.source.tp.id, h.target.tp.id): h for h in view.handovers}

    for tv in view.touchpoints:
        for ln in tv.tp.next:
            if ln.to not in nodes or ln.to == tv.tp.id:
                continue
            a, b = nodes[tv.tp.id], nodes[ln.to]
            h = handover_pairs.get((a.tv.tp.id, b.tv.tp.id))
            if b.tv.stage_index > a.tv.stage_index:
                pts = ((a.x + a.w, a.cy), (a.x + a.w + gap * 0.6, a.cy),
                       (b.x - gap * 0.6, b.cy), (b.x - 2, b.cy))
                d = "M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}".format(
                    *pts[0], *pts[1], *pts[2], *pts[3])
                anchor = _at_x(pts, b.x - gap / 2)
                max_w = gap + 44
            elif b.tv.stage_index == a.tv.stage_index:
                if b.order == a.order + 1:
                    d = f"M{a.cx:.1f},{a.y + NODE_H:.1f} L{b.cx:.1f},{b.y - 2:.1f}"
                    anchor, max_w = (a.cx, (a.y + NODE_H + b.y) / 2), node_w
                else:
                    # Beside the column: longer skips bulge further, and the arc leaves and
                    # enters off-centre so it does not meet the links between stages.
                    side = 1 if b.order > a.order else -1
                    span = abs(b.order - a.order)
                    edge_x = a.x + a.w if side > 0 else a.x
                    bulge = edge_x + side * min(gap * 0.48, 18 + 12 * span)
                    y0, y1 = a.y + NODE_H * 0.7, b.y + NODE_H * 0.3
                    end_x = edge_x + side * 2
                    d = (f"M{edge_x:.1f},{y0:.1f} C{bulge:.1f},{y0:.1f} {bulge:.1f},"
                         f"{y1:.1f} {end_x:.1f},{y1:.1f}")
                    anchor = (edge_x + side * min(gap * 0.36, 14 + 9 * span), (y0 + y1) / 2)
                    max_w = gap + 44
            else:
                lane += 1
                y_lane = bottom + 14 + lane * LANE_STEP
                # Out of the source's right side, down the gap, along the return lane, up the
                # gap before the target and into its left side: no card is crossed.
                x0 = a.x + a.w + gap * 0.25 + lane * 3
                x1 = b.x - gap * 0.25 - lane * 3
                r = 6
                d = (f"M{a.x + a.w:.1f},{a.cy + 8:.1f} L{x0 - r:.1f},{a.cy + 8:.1f} "
                     f"Q{x0:.1f},{a.cy + 8:.1f} {x0:.1f},{a.cy + 8 + r:.1f} "
                     f"L{x0:.1f},{y_lane - r:.1f} Q{x0:.1f},{y_lane:.1f} {x0 - r:.1f},{y_lane:.1f} "
                     f"L{x1 + r:.1f},{y_lane:.1f} Q{x1:.1f},{y_lane:.1f} {x1:.1f},{y_lane - r:.1f} "
                     f"L{x1:.1f},{b.cy + 8 + r:.1f} Q{x1:.1f},{b.cy + 8:.1f} {x1 + r:.1f},"
                     f"{b.cy + 8:.1f} L{b.x - 2:.1f},{b.cy + 8:.1f}")
                anchor, max_w = ((x0 + x1) / 2, y_lane), 2 * node_w
            reach = " ".join(p for p in a.tv.personas if p in b.tv.personas)
            met = a.tv.met and b.tv.met
            title = f"#{a.tv.number} {a.tv.tp.name} → #{b.tv.number} {b.tv.tp.name}"
            if ln.time_standard:
                title += f" (within {ln.time_standard})"
            if h is not None:
                title += f": handover, {h.label}"
                labels_todo.append((h.label, anchor, max_w, reach, met))
            cls = "link handover" if h is not None else "link"
            colour = HANDOVER_COLOUR if h is not None else LINK_COLOUR
            arrow = "arrow-h" if h is not None else "arrow"
            edges.append(
                f'<g class="{cls}{"" if met else " dim"}" data-personas="{esc(reach)}">'
                f'<title>{esc(title)}</title><path d="{d}" fill="none" stroke="{colour}" '
                f'stroke-width="{2.2 if h is not None else 1.5}" marker-end="url(#{arrow})"/></g>'
            )
    height = bottom + 24 + lane * LANE_STEP + 10

    parts = [
        '<defs>'
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10z" '
        f'fill="{LINK_COLOUR}"/></marker>'
        '<marker id="arrow-h" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10z" '
        f'fill="{HANDOVER_COLOUR}"/></marker></defs>'
    ]
    for sv in view.stages:
        x = sv.index * col_width
        parts.append(f'<rect x="{x + 4:.1f}" y="0" width="{col_width - 8:.1f}" '
                     f'height="{height:.1f}" '
                     f'rx="8" fill="{sv.tint}"/>')
        parts.append(f'<rect x="{x + 4:.1f}" y="0" width="{col_width - 8:.1f}" height="5" '
                     f'rx="2" fill="{sv.colour}"/>')
        title = wrap(sv.name, col_width - 24, 12, bold=True, max_lines=1)
        parts.append(text_lines(title, x + col_width / 2, 22, 12, 14, sv.colour, "bold",
                                "middle"))
    parts.extend(edges)
    blocked = [(n.x, n.y, n.w, NODE_H) for n in nodes.values()]
    for n in nodes.values():
        parts.append(_node_svg(n, view))
    placer = _Labels(blocked)
    for label, (cx, cy), max_w, reach, met in labels_todo:
        lines = wrap(label, max_w - 8, 9.5, bold=True, max_lines=3)
        # Keep the words apart in the text content so that the label reads whole.
        lines = [line + " " for line in lines[:-1]] + lines[-1:]
        w = max(text_width(line, 9.5, True) for line in lines) + 10
        h = len(lines) * 11 + 6
        cx, cy = placer.place(cx, cy, w, h)
        parts.append(
            f'<g class="handover-label{"" if met else " dim"}" data-personas="{esc(reach)}">'
            f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="4" fill="#FFF4E6" stroke="{HANDOVER_COLOUR}" stroke-width="1"/>'
            + text_lines(lines, cx, cy - h / 2 + 12, 9.5, 11, "#B8420B", "bold", "middle")
            + "</g>"
        )
    body = "".join(parts)
    if standalone:
        return body, width, height
    svg = (f'<svg class="flowchart" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.1f} {height:.1f}" role="img" '
           f'aria-label="Flowchart of touchpoint links">{body}</svg>')
    return svg, width, height


def _node_svg(n: _Node, view: MapView) -> str:
    tv = n.tv
    sv = view.stages[tv.stage_index]
    reach = " ".join(tv.personas)
    cls = "node" if tv.met else "node dim"
    name = wrap(tv.tp.name, n.w - (54 if tv.tp.moment_of_truth else 40), 11, bold=True,
                max_lines=2)
    owner = wrap(tv.tp.owner or "no owner", n.w - 20, 9.5, max_lines=1)
    name_y = n.y + (20 if len(name) == 2 else 26)
    out = [
        f'<g class="{cls}" data-personas="{esc(reach)}"><title>#{tv.number} {esc(tv.tp.name)}'
        f' ({esc(tv.tp.owner or "no owner")})</title>',
        f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{NODE_H:.1f}" rx="7" '
        'fill="#ffffff" stroke="#CED4DA" stroke-width="1"/>',
        f'<rect x="{n.x:.1f}" y="{n.y + 6:.1f}" width="4" height="{NODE_H - 12:.1f}" rx="2" '
        f'fill="{tv.owner_colour}"/>',
        f'<circle cx="{n.x + 19:.1f}" cy="{n.y + 17:.1f}" r="9" fill="{sv.colour}"/>',
        f'<text x="{n.x + 19:.1f}" y="{n.y + 20.5:.1f}" font-size="9.5" font-weight="bold" '
        f'fill="{sv.ink}" text-anchor="middle">{tv.number}</text>',
        text_lines(name, n.x + 34, name_y, 11, 13, "#1f2933", "bold"),
        text_lines(owner, n.x + 12, n.y + NODE_H - 8, 9.5, 11, tv.owner_colour),
    ]
    if tv.tp.moment_of_truth:
        out.append(star_at(n.x + n.w - 17, n.y + 4, 13))
    out.append("</g>")
    return "".join(out)
