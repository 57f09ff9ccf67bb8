"""`render`: a map (or map file) to HTML, SVG, PNG, PDF, CSV, Markdown or JSON.

The format comes from the output's extension unless given. A map file is resolved first
(`extends:` merged onto its base). The persona filter greys out, in the drawn formats, what the
persona never meets; the table formats (CSV, Markdown, JSON) hold the persona's view instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import JourneyMap
from journeyscope.model.validate import load_valid_map
from journeyscope.model.variants import persona_view, resolve
from journeyscope.report.layout import Measures, check_persona

FORMATS = {
    ".html": "html", ".htm": "html", ".svg": "svg", ".png": "png", ".pdf": "pdf",
    ".csv": "csv", ".md": "md", ".markdown": "md", ".json": "json",
}
FORMAT_NAMES = ("html", "svg", "png", "pdf", "csv", "md", "json")
_ALIASES = {"markdown": "md", "htm": "html"}


class RenderError(JourneyscopeError):
    """The output cannot be written as asked (unknown format, unwritable path)."""


class OutputError(JourneyscopeError):
    """The output's folder is missing or takes no new file: bad input, said before any work."""

    exit_code = 2


def format_for(out: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The output format: `fmt` when given, else from the extension of `out`.

    >>> format_for("map.pdf"), format_for("map.txt", "markdown")
    ('pdf', 'md')
    """
    if fmt:
        name = _ALIASES.get(fmt.lower().lstrip("."), fmt.lower().lstrip("."))
        if name not in FORMAT_NAMES:
            raise RenderError(f"unknown format {fmt!r}; use one of: {', '.join(FORMAT_NAMES)}")
        return name
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(
            f"cannot tell the format of {str(out)!r} from its extension {suffix or '(none)'!r}; "
            f"name it .html, .svg, .png, .pdf, .csv, .md or .json, or pass --format")
    return FORMATS[suffix]


def check_output(target: Path) -> None:
    """Raise `OutputError` unless `target`'s folder exists and takes a new file, so that a
    bad output is said before the drawing or the analysis, not after. The folder is not
    created: a mistyped path should not leave folders behind.

    >>> import tempfile
    >>> check_output(Path(tempfile.mkdtemp()) / "map.html")
    >>> check_output(Path(tempfile.mkdtemp()) / "no" / "map.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    journeyscope.report.render.OutputError: cannot write ...: the folder ... does not exist; ...
    """
    folder = target.parent
    if not folder.exists():
        raise OutputError(f"cannot write {target}: the folder {folder} does not exist; create "
                          f"it first (mkdir -p {folder})")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: {folder} is a file, not a folder")
    # A probe file, not os.access: that lets root write anywhere, even into /proc.
    probe = folder / f".{target.name}.{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise OutputError(f"cannot write {target}: the folder {folder} takes no new file "
                          f"({exc.strerror})") from None
    probe.unlink(missing_ok=True)
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {target}: the file is read-only")


def render_text(journey_map: JourneyMap, fmt: str, persona: str | None = None,
                measures: Measures | None = None) -> str:
    """The map as text in one of the text formats (html, svg, csv, md, json)."""
    check_persona(journey_map, persona)
    if fmt == "html":
        from journeyscope.report.map_html import render_map_html

        return render_map_html(journey_map, persona=persona, measures=measures)
    if fmt == "svg":
        from journeyscope.report.map_svg import render_map_svg

        return render_map_svg(journey_map, persona=persona, measures=measures)
    from journeyscope.report import tables

    shown = persona_view(journey_map, persona) if persona else journey_map
    if fmt == "csv":
        return tables.to_csv(shown)
    if fmt == "md":
        return tables.to_markdown(shown)
    if fmt == "json":
        return tables.to_json(shown)
    raise RenderError(f"{fmt!r} is not a text format; use one of html, svg, csv, md, json")


def render(journey_map: JourneyMap | str | os.PathLike[str], out: str | os.PathLike[str],
           fmt: str | None = None, persona: str | None = None,
           measures: Measures | None = None, scale: float = 1.0) -> Path:
    """Render `journey_map` (a map, or a map file that is resolved first) to `out`.

    The format is `fmt` or the extension of `out`: html, svg, png, pdf, csv, md or json.
    PNG and PDF need Chromium (the `chromium` setting); `scale` sharpens PNGs (2 for print).
    Returns the written path.
    """
    kind = format_for(out, fmt)
    target = Path(out)
    if target.is_dir():
        raise RenderError(f"{str(target)!r} is a folder; give a file name such as map.{kind}")
    check_output(target)
    the_map = (journey_map if isinstance(journey_map, JourneyMap)
               else resolve(load_valid_map(journey_map)))
    if kind in ("png", "pdf"):
        from journeyscope.report.chromium import html_to_pdf, html_to_png
        from journeyscope.report.map_html import PAGE_PADDING, map_width, render_map_html

        check_persona(the_map, persona)
        html = render_map_html(the_map, persona=persona, measures=measures)
        width = map_width(the_map) + 2 * PAGE_PADDING
        if kind == "png":
            return html_to_png(html, target, width=width, scale=scale)
        return html_to_pdf(html, target, width=width)
    text = render_text(the_map, kind, persona=persona, measures=measures)
    try:
        target.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise RenderError(f"cannot write {str(target)!r}: {exc.strerror}") from None
    return target

