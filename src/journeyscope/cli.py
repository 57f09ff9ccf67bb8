"""The `journeyscope` command: thin calls into the library.

Every command turns a `JourneyscopeError` into a clean message on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from journeyscope.errors import JourneyscopeError
from journeyscope.model.issues import MapError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """Turns known errors into a clean message and exit code, for the installed command and for
    in-process test runners alike."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except MapError as exc:
            for issue in exc.issues:
                err.print(str(issue), markup=False)
            ctx.exit(2)
        except JourneyscopeError as exc:
            err.print(f"error: {exc}", markup=False)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_Group,
    name="journeyscope",
    help="B2B customer journey maps as code, measured against what your accounts actually did.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


# --- commands are added below, one section per area --------------------------------------------


# --- maps: init, templates, validate, resolve, diff, schema ----------------------------------

MapFile = Annotated[Path, typer.Argument(help="A map file (YAML or JSON).", show_default=False)]


@app.command()
def templates() -> None:
    """List the map templates that `init` can start from."""
    from journeyscope.model.templates import template_summaries

    for name, kind, summary in template_summaries():
        out.print(f"{name:<16} {kind:<16} {summary}", markup=False)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="The new map's name, e.g. 'Mid-market buyers'.")],
    template: Annotated[str, typer.Option("--template", "-t", help="Template to start from "
                                          "(see `journeyscope templates`).")] = "b2b",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (.yaml or "
                                                ".json); default: the name as a file name.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Create a new journey map from a template."""
    from journeyscope.model.files import save_map
    from journeyscope.model.templates import new_map, template_names

    if template not in template_names():
        fail(f"no template named {template!r}; the templates are: {', '.join(template_names())}")
    path = output or Path(_slug(name) + ".yaml")
    if path.exists() and not force:
        fail(f"{path} exists already; pass --force to overwrite it")
    save_map(new_map(name, template), path)
    out.print(f"wrote {path} (template {template}); next: journeyscope validate {path}",
              markup=False)


def _slug(text: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "journey-map"


@app.command()
def validate(
    file: MapFile,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the issues as JSON.")] = False,
) -> None:
    """Check a map: broken references are errors (exit 2), known pitfalls are warnings."""
    from journeyscope.model.validate import validate as run

    result = run(file, strict=strict)
    if as_json:
        out.print(result.to_json(), markup=False)
    else:
        for issue in result.issues:
            (err if issue.severity == "error" else out).print(str(issue), markup=False)
        summary = f"{file}: {len(result.errors)} error(s), {len(result.warnings)} warning(s)"
        out.print(summary if result.issues else f"{file}: valid, no issues", markup=False)
    if not result.ok:
        raise typer.Exit(2)


@app.command()
def resolve(
    file: MapFile,
    persona: Annotated[str | None, typer.Option(help="Show the map as this persona meets "
                                                "it.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="yaml or json.")] = "yaml",
) -> None:
    """Print the effective map of a variant (merged onto its base), or a persona view."""
    from journeyscope.model.files import dumps
    from journeyscope.model.variants import resolve as run

    if fmt not in ("yaml", "json"):
        fail(f"unknown format {fmt!r}: use yaml or json")
    out.print(dumps(run(file, persona=persona), fmt), markup=False, end="")


@app.command()
def diff(
    a: Annotated[Path, typer.Argument(help="The first map, e.g. the current state.")],
    b: Annotated[Path, typer.Argument(help="The second map, e.g. the future state.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
) -> None:
    """What changed from map A to map B: stages, personas, touchpoints, moves, emotions,
    links and handovers."""
    from journeyscope.model.diff import diff as run
    from journeyscope.model.files import load_map

    result = run(load_map(a), load_map(b), str(a), str(b))
    out.print(result.to_json() if as_json else result.to_text(), markup=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the map file format."""
    from journeyscope.model.schema import json_schema

    out.print(json.dumps(json_schema(), indent=2), markup=False)


# --- report: render a map to HTML, SVG, PNG, PDF, CSV, Markdown or JSON ----------------------


@app.command()
def render(
    file: Annotated[Path, typer.Argument(help="A map file (YAML or JSON); `extends:` is "
                                         "resolved first.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write: .html, "
                                         ".svg, .png, .pdf, .csv, .md or .json.",
                                         show_default=False)],
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="html, svg, png, pdf, csv, "
                                            "md or json (default: from the extension).")] = None,
    persona: Annotated[str | None, typer.Option(help="Grey out what this persona never meets "
                                                "(tables: keep only what it meets).")] = None,
    scale: Annotated[float, typer.Option(help="Device scale of PNG output (2 for print).",
                                         min=0.5, max=4)] = 1.0,
) -> None:
    """Render a journey map: a self-contained HTML page, SVG, PNG, PDF (A3 landscape), or the
    stage table as CSV or Markdown, or JSON."""
    from journeyscope.report.render import format_for
    from journeyscope.report.render import render as run

    kind = format_for(output, fmt)
    written = run(file, output, fmt=kind, persona=persona, scale=scale)
    size = written.stat().st_size
    out.print(f"wrote {written} ({kind}, {size / 1024:,.1f} KB)", markup=False)


def main() -> None:
    """Entry point: runs the app, turning known errors into messages and exit codes."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
