"""Small drawing kit shared by the HTML and SVG renderers: escaping, text measuring and
wrapping, smooth curves, channel icons, emotion faces and the star of a moment of truth.

Text is measured with Helvetica's metrics (Liberation Sans and Arial share them), so that a
standalone SVG can wrap its own text without a browser.
"""

from __future__ import annotations

from markupsafe import Markup, escape

FONT_STACK = "'Liberation Sans', Arial, Helvetica, sans-serif"

# Helvetica advance widths (per 1000 units of the font size) for printable ASCII.
_WIDTHS = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,  # p..~
]
_BOLD_FACTOR = 1.07  # bold Helvetica is about 7% wider on average


def esc(text: object) -> str:
    """XML/HTML-escape any user text for direct inclusion in markup."""
    return str(escape("" if text is None else str(text)))


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Approximate rendered width in pixels of `text` at font `size`.

    >>> round(text_width("Awareness", 10))
    49
    """
    total = 0
    for ch in text:
        code = ord(ch)
        total += _WIDTHS[code - 32] if 32 <= code < 127 else 600
    width = total * size / 1000
    return width * _BOLD_FACTOR if bold else width


def wrap(text: str, width: float, size: float, bold: bool = False,
         max_lines: int | None = None) -> list[str]:
    """Break `text` into lines no wider than `width` pixels; words longer than a line are cut.
    With `max_lines`, the last kept line ends in an ellipsis when text was left out.

    >>> wrap("Information about solutions", 80, 10)
    ['Information about', 'solutions']
    """
    lines: list[str] = []
    current = ""
    for word in str(text).split():
        while text_width(word, size, bold) > width and len(word) > 1:
            # A word wider than a line: cut it where it fills the line.
            cut = max(1, int(len(word) * width / text_width(word, size, bold)))
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and text_width(last + "…", size, bold) > width:
            last = last[:-1]
        kept[-1] = last.rstrip() + "…"
        return kept
    return lines or [""]


def text_lines(lines: list[str], x: float, y: float, size: float, line_height: float,
               fill: str = "#1f2933", weight: str = "normal", anchor: str = "start",
               css_class: str | None = None) -> str:
    """One SVG `<text>` of escaped `lines`, the first baseline at `y`."""
    cls = f' class="{css_class}"' if css_class else ""
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{y + i * line_height:.1f}">{esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (f'<text{cls} font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}">{spans}</text>')


# ---------------------------------------------------------------------------------------------
# Curves


def smooth_path(points: list[tuple[float, float]]) -> str:
    """An SVG path through `points` (sorted by x) as a monotone cubic curve (Fritsch-Carlson),
    which never overshoots the values it passes through: an emotion of +2 stays within +2.

    >>> smooth_path([(0, 0), (10, 10)])
    'M0.0,0.0 C3.3,3.3 6.7,6.7 10.0,10.0'
    """
    if not points:
        return ""
    if len(points) == 1:
        x, y = points[0]
        return f"M{x:.1f},{y:.1f}"
    n = len(points)
    dx = [points[i + 1][0] - points[i][0] for i in range(n - 1)]
    slopes = [(points[i + 1][1] - points[i][1]) / dx[i] if dx[i] else 0.0 for i in range(n - 1)]
    tangents = [slopes[0]] + [
        0.0 if slopes[i - 1] * slopes[i] <= 0 else (slopes[i - 1] + slopes[i]) / 2
        for i in range(1, n - 1)
    ] + [slopes[-1]]
    for i, s in enumerate(slopes):
        if s == 0:
            tangents[i] = tangents[i + 1] = 0.0
            continue
        a, b = tangents[i] / s, tangents[i + 1] / s
        norm = a * a + b * b
        if norm > 9:
            factor = 3 / norm**0.5
            tangents[i], tangents[i + 1] = factor * a * s, factor * b * s
    out = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for i in range(n - 1):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        h = dx[i] / 3
        out.append(f"C{x0 + h:.1f},{y0 + tangents[i] * h:.1f} "
                   f"{x1 - h:.1f},{y1 - tangents[i + 1] * h:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(out)


# ---------------------------------------------------------------------------------------------
# Icons: stroke drawings on a 24x24 grid, coloured by `currentColor`.

_ICONS = {
    "web": ('<circle cx="12" cy="12" r="9"/>'
            '<path d="M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18"/>'),
    "email": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
    "phone": ('<path d="M5 3h4l2 5-3 2a11 11 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2'
              'A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"/>'),
    "event": '<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4"/>',
    "meeting": ('<circle cx="8" cy="8" r="3"/><circle cx="16" cy="8" r="3"/>'
                '<path d="M2 20c0-4 3-6 6-6s6 2 6 6M10 20c0-4 3-6 6-6s6 2 6 6"/>'),
    "chat": '<path d="M4 4h16v12H9l-5 4z"/>',
    "portal": ('<rect x="3" y="4" width="18" height="16" rx="2"/>'
               '<path d="M3 9h18M6 6.5h.01M9 6.5h.01"/>'),
    "app": '<rect x="6" y="2" width="12" height="20" rx="2"/><path d="M11 18h2"/>',
    "video": '<rect x="2" y="6" width="14" height="12" rx="2"/><path d="M16 10l6-3v10l-6-3z"/>',
    "search": '<circle cx="10" cy="10" r="6"/><path d="M15 15l6 6"/>',
    "social": ('<circle cx="6" cy="12" r="2.5"/><circle cx="18" cy="5" r="2.5"/>'
               '<circle cx="18" cy="19" r="2.5"/><path d="M8 11l8-5M8 13l8 5"/>'),
    "partner": '<circle cx="9" cy="12" r="5"/><circle cx="15" cy="12" r="5"/>',
    "print": '<path d="M6 9V3h12v6M6 18H4v-7h16v7h-2M6 14h12v7H6z"/>',
    "store": '<path d="M3 9l2-5h14l2 5M4 9v11h16V9M3 9h18M9 20v-6h6v6"/>',
}
_ALIASES = {
    "website": "web", "webpage": "web", "landing-page": "web", "e-mail": "email",
    "newsletter": "email", "call": "phone", "webinar": "video", "conference": "event",
    "tradeshow": "event", "trade-show": "event", "in-person": "meeting", "visit": "meeting",
    "mail": "email", "sms": "chat", "messenger": "chat", "community": "social",
    "linkedin": "social",
    "mobile": "app", "referral": "partner", "reseller": "partner", "ads": "search",
}
_FALLBACK = '<circle cx="12" cy="12" r="8"/><circle cx="12" cy="12" r="2"/>'


def icon_inner(channel: str) -> str:
    """The drawing of a channel's icon (unknown channels get a neutral target sign)."""
    key = channel.strip().lower()
    return _ICONS.get(_ALIASES.get(key, key), _FALLBACK)


def icon_svg(channel: str, size: float = 14, css_class: str = "icon") -> Markup:
    """An inline `<svg>` icon for a channel, for HTML pages."""
    return Markup(
        f'<svg class="{css_class}" width="{size}" height="{size}" viewBox="0 0 24 24" '
        'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
        f'stroke-linejoin="round" aria-hidden="true">{icon_inner(channel)}</svg>'
    )


def icon_at(channel: str, x: float, y: float, size: float, colour: str) -> str:
    """A channel icon placed at (x, y) inside a standalone SVG."""
    scale = size / 24
    return (f'<g transform="translate({x:.1f},{y:.1f}) scale({scale:.3f})" fill="none" '
            f'stroke="{colour}" stroke-width="2" stroke-linecap="round" '
            f'stroke-linejoin="round">{icon_inner(channel)}</g>')


STAR_PATH = ("M12 2l2.9 6.3 6.9.7-5.2 4.6 1.5 6.8L12 17l-6.1 3.4 1.5-6.8L2.2 9l6.9-.7z")


def star_svg(size: float = 14) -> Markup:
    """The gold star of a moment of truth, inline for HTML."""
    return Markup(
        f'<svg class="star" width="{size}" height="{size}" viewBox="0 0 24 24" '
        f'aria-label="moment of truth" role="img"><title>Moment of truth</title>'
        f'<path d="{STAR_PATH}" fill="#F2B705" stroke="#B7860B" stroke-width="1"/></svg>'
    )


def star_at(x: float, y: float, size: float) -> str:
    return (f'<g transform="translate({x:.1f},{y:.1f}) scale({size / 24:.3f})">'
            f'<path d="{STAR_PATH}" fill="#F2B705" stroke="#B7860B" stroke-width="1"/></g>')


# ---------------------------------------------------------------------------------------------
# Emotions

EMOTION_COLOURS = {-2: "#E03131", -1: "#F76707", 0: "#F2B705", 1: "#74B816", 2: "#2F9E44"}
EMOTION_WORDS = {-2: "very negative", -1: "negative", 0: "neutral", 1: "positive",
                 2: "very positive"}


def face(value: int, cx: float, cy: float, r: float) -> str:
    """A face for an emotion of -2..+2: the colour of the scale, the mouth from frown to grin."""
    value = max(-2, min(2, int(value)))
    colour = EMOTION_COLOURS[value]
    eye_y, eye_dx = cy - r * 0.25, r * 0.35
    mouth_y = cy + r * 0.35
    bend = value * r * 0.22  # positive: the mouth's middle goes down (a smile)
    w = r * 0.5
    mouth = (f"M{cx - w:.1f},{mouth_y - bend / 2:.1f} "
             f"Q{cx:.1f},{mouth_y + bend * 1.5:.1f} {cx + w:.1f},{mouth_y - bend / 2:.1f}")
    return (f'<g class="face"><title>{EMOTION_WORDS[value]} ({value:+d})</title>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{colour}"/>'
            f'<circle cx="{cx - eye_dx:.1f}" cy="{eye_y:.1f}" r="{r * 0.12:.1f}" fill="#1f2933"/>'
            f'<circle cx="{cx + eye_dx:.1f}" cy="{eye_y:.1f}" r="{r * 0.12:.1f}" fill="#1f2933"/>'
            f'<path d="{mouth}" fill="none" stroke="#1f2933" stroke-width="{r * 0.14:.1f}" '
            'stroke-linecap="round"/></g>')


def marker(shape: int, x: float, y: float, r: float, fill: str) -> str:
    """A point marker: a different shape per persona, so lines stay apart in grey print."""
    kind = shape % 4
    if kind == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}"/>'
    if kind == 1:
        s = r * 0.9
        return (f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" '
                f'height="{2 * s:.1f}" fill="{fill}"/>')
    if kind == 2:
        s = r * 1.25
        return (f'<path d="M{x:.1f},{y - s:.1f} L{x + s:.1f},{y:.1f} L{x:.1f},{y + s:.1f} '
                f'L{x - s:.1f},{y:.1f}z" fill="{fill}"/>')
    s = r * 1.2
    return (f'<path d="M{x:.1f},{y - s:.1f} L{x + s:.1f},{y + s * 0.8:.1f} '
            f'L{x - s:.1f},{y + s * 0.8:.1f}z" fill="{fill}"/>')
