"""The `journeyscope` command: thin calls into the library.

Every command turns a `JourneyscopeError` into a clean message on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from journeyscope import settings
from journeyscope.errors import JourneyscopeError
from journeyscope.model.issues import MapError
from journeyscope.report.fmt import plural

# No emoji codes: a location such as 'map.yaml:100:3' would print as 'map.yaml💯3'.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


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

# Options several commands share.
DEFAULT_WORKSPACE = Path(settings.WORKSPACE.default)
WorkspaceOption = Annotated[Path, typer.Option(
    "--workspace", "-w", help="The workspace file.", envvar=settings.WORKSPACE.env)]
EngineOption = Annotated[str, typer.Option(
    help="duckdb (embedded) or spark (local PySpark).", envvar=settings.ENGINE.env)]
SinceOption = Annotated[str | None, typer.Option(
    help="Only events from this date or time on (2025-01-01).")]
UntilOption = Annotated[str | None, typer.Option(
    help="Only events up to this date (inclusive) or time.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


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
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (.yaml or .json); default: the name as a file name.",
    )] = None,
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


@app.command("settings")
def show_settings(
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print the reference as "
                                              "Markdown (docs/settings.md).")] = False,
) -> None:
    """List every setting: its environment variable, default, value in effect and meaning."""
    if as_markdown:
        out.print(settings.markdown(), markup=False, end="")
        return
    out.print(settings.text(width=min(out.width, 100)), markup=False, end="")


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


# --- events: import, workspace info, export -------------------------------------------------

workspace_app = typer.Typer(cls=_Group, help="Inspect a workspace (the DuckDB file imports "
                            "write to).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(workspace_app, name="workspace")

@app.command("import")
def import_command(
    sources: Annotated[list[Path], typer.Argument(help="Files (CSV, Parquet, JSON Lines, XES, "
                                                  "plain or .gz) or CRM export folders.",
                                                  show_default=False)],
    workspace: Annotated[Path, typer.Option(
        "--workspace", "-w", help="The workspace file (created if missing).",
        envvar="JOURNEYSCOPE_WORKSPACE")] = DEFAULT_WORKSPACE,
    map_file: Annotated[Path | None, typer.Option("--map", help="A journey map: personas from "
                                                  "its title rules, touchpoints from its match "
                                                  "rules (remembered for later imports).")] = None,
    mapping: Annotated[str | None, typer.Option(help="A column mapping file (YAML), or the "
                                                "name of a shipped one (e.g. olist).")] = None,
    map_column: Annotated[list[str] | None, typer.Option("--map-column", help="CANONICAL=SOURCE"
                                                         "_COLUMN, e.g. account_id=customer; "
                                                         "repeatable.")] = None,
    constant: Annotated[list[str] | None, typer.Option("--constant", help="CANONICAL=VALUE for "
                                                       "every row, e.g. source=olist; "
                                                       "repeatable.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone of timestamps written without "
                                                 "an offset (default UTC).")] = None,
    timestamp_format: Annotated[str | None, typer.Option(help="strptime format of the "
                                                         "timestamps (default: detected).")
                                ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")
                        ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")
                         ] = None,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help="Skip rows that cannot "
                                                "be imported and report them, instead of "
                                                "stopping.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Import event data into a workspace: all or nothing; importing the same events again
    adds nothing."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from journeyscope.events.importer import import_sources
    from journeyscope.events.readers.mapping import ColumnMapping, MappingFile, load_mapping
    from journeyscope.events.workspace import open_for_import
    from journeyscope.model.validate import load_valid_map

    journey_map = load_valid_map(map_file) if map_file is not None else None
    flags = ColumnMapping.from_flags(map_column, constant, timezone=timezone,
                                     timestamp_format=timestamp_format, encoding=encoding,
                                     delimiter=delimiter)
    chosen: MappingFile | ColumnMapping = flags
    if mapping is not None:
        chosen = load_mapping(mapping).with_overrides(flags)
    with open_for_import(workspace) as ws, Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=quiet,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def progress(step: str, done: float, total: float | None) -> None:
            bar.update(task, description=step, completed=done, total=total)

        summary = import_sources(ws, sources, journey_map=journey_map, mapping=chosen,
                                 skip_bad_rows=skip_bad_rows, progress=progress,
                                 map_origin=str(map_file) if map_file else None)
    _print_import_summary(summary, workspace)


def _print_import_summary(summary, workspace: Path) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=f"imported into {workspace}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("events added", f"{summary.events:,}")
    table.add_row("duplicates (already there)", f"{summary.duplicates:,}")
    table.add_row("new accounts", f"{summary.accounts:,}")
    table.add_row("new contacts", f"{summary.contacts:,}")
    span = (f"{summary.first_ts:%Y-%m-%d %H:%M} to {summary.last_ts:%Y-%m-%d %H:%M} UTC"
            if summary.first_ts else "-")
    table.add_row("time span", span)
    share = summary.matched_share
    table.add_row("matched to the map", "no map" if share is None else
                  f"{share:.1%} ({summary.matched:,})")
    table.add_row("skipped rows", f"{summary.skipped_rows:,}")
    out.print(table)
    for source in summary.sources:
        if source.table == "events":
            counts = f"{source.added:,} added, {source.duplicates:,} duplicates"
        else:  # an accounts or contacts file: what it added to those tables
            kind = source.table if source.added != 1 else (
                source.table.replace("accounts", "account").replace("contacts", "contact"))
            counts = f"{source.added:,} {kind} added"
            if " and " not in source.table:
                counts += f", {source.duplicates:,} not new"
        out.print(f"  {source.file} ({source.kind}): {source.rows:,} read, {counts}, "
                  f"{source.skipped:,} skipped", markup=False)
    for note in summary.notes:
        out.print(f"  {note}", markup=False)
    if summary.skipped:
        out.print("skipped:", markup=False)
        for line in summary.skipped:
            out.print(f"  {line}", markup=False)


@workspace_app.command("info")
def workspace_info(
    workspace: Annotated[Path, typer.Argument(help="The workspace file.", show_default=False)],
) -> None:
    """Counts, time span, sources and matching of a workspace."""
    from journeyscope.events.workspace import Workspace

    with Workspace.open(workspace, read_only=True) as ws:
        info = ws.info()
    out.print(f"workspace {info.path} (format {info.format_version})", markup=False)
    out.print(f"  events:   {info.events:,}", markup=False)
    out.print(f"  accounts: {info.accounts:,}", markup=False)
    out.print(f"  contacts: {info.contacts:,}", markup=False)
    if info.first_ts is not None:
        out.print(f"  time span: {info.first_ts:%Y-%m-%d %H:%M} to {info.last_ts:%Y-%m-%d %H:%M} "
                  "UTC", markup=False)
    if info.map_name:
        out.print(f"  map: {info.map_name}; matched {info.matched_share:.1%} of events",
                  markup=False)
    else:
        out.print("  map: none (import with --map to match events to touchpoints)", markup=False)
    out.print(f"  imports: {info.imports}", markup=False)
    for source, n in info.sources:
        out.print(f"    {source}: {plural(n, 'event')}", markup=False)


@workspace_app.command("sort")
def workspace_sort(
    workspace: Annotated[Path, typer.Argument(help="The workspace file.", show_default=False)],
) -> None:
    """Store the events in journey order (each account's together, in time order), which the
    analyses read without sorting: on ten million events, a full analysis about a fifth
    faster. Imports append in file order; sort again after importing unsorted data."""
    import time

    from journeyscope.events.workspace import Workspace

    started = time.perf_counter()
    with Workspace.open(workspace) as ws, out.status("sorting the events into journey order"):
        events = ws.sort_events()
    out.print(f"{workspace}: {plural(events, 'event')} stored in journey order "
              f"({time.perf_counter() - started:.1f} s)", markup=False)


@app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write: .csv, "
                                         ".parquet or .xes (optionally .gz).",
                                         show_default=False)],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv, parquet or xes "
                                            "(default: from the extension).")] = None,
) -> None:
    """Export the workspace's events as CSV, Parquet or XES (for pm4py, ProM, Disco...)."""
    from journeyscope.events.export import export_events, format_for
    from journeyscope.events.workspace import Workspace

    kind = format_for(output, fmt)
    with Workspace.open(workspace, read_only=True) as ws:
        written = export_events(ws.con, output, fmt=kind)
    out.print(f"wrote {plural(written, 'event')} to {output} ({kind})", markup=False)


# --- matching: events to a map's touchpoints and outcomes ----------------------------------


@app.command("match")
def match_command(
    map_file: Annotated[Path, typer.Argument(help="The journey map whose match rules to apply.",
                                             show_default=False)],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    top: Annotated[int, typer.Option(help="How many unmatched activities to list (0: all).",
                                     min=0)] = 25,
) -> None:
    """Match the workspace's events to a map again; list the activities no rule matches."""
    from rich.table import Table
    from rich.text import Text

    from journeyscope.events.matching import rematch_workspace, unmatched_activities
    from journeyscope.events.workspace import Workspace
    from journeyscope.model.validate import load_valid_map

    journey_map = load_valid_map(map_file)
    with Workspace.open(workspace) as ws:
        summary = rematch_workspace(ws, journey_map, origin=str(map_file))
        unmatched = unmatched_activities(ws.con)
    out.print(f"matched {summary.matched:,} of {plural(summary.events, 'event')} "
              f"({summary.share:.1%}) "
              f"to {journey_map.name}: {summary.to_touchpoint:,} to a touchpoint, "
              f"{summary.to_outcome:,} to an outcome", markup=False)
    if not unmatched:
        out.print("every event is matched", markup=False)
        return
    shown = unmatched if top == 0 else unmatched[:top]
    table = Table(title="unmatched activities (add match rules for the ones that matter)",
                  title_justify="left")
    table.add_column("events", justify="right")
    table.add_column("activity")
    table.add_column("source")
    for activity, source, n in shown:
        table.add_row(f"{n:,}", Text(activity), Text(source or ""))
    out.print(table)
    if len(shown) < len(unmatched):
        rest = sum(n for *_, n in unmatched[len(shown):])
        more = plural(len(unmatched) - len(shown), "more activity", "more activities")
        out.print(f"... and {more} ({plural(rest, 'event')})", markup=False)


# --- demo data: a realistic B2B data set with planted effects --------------------------------


@app.command("demo-data")
def demo_data(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the events, "
                                         "accounts.csv, contacts.csv and TRUTH.json into.",
                                         show_default=False)],
    accounts: Annotated[int, typer.Option(help="Number of accounts (200,000 give about 10 "
                                          "million events).", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.",
                                      min=0)] = 0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Events as parquet or csv.")
                   ] = "parquet",
    map_file: Annotated[Path | None, typer.Option("--map", help="A map derived from the b2b "
                                                  "template, whose time standards the delays "
                                                  "are planted against (default: b2b).")] = None,
) -> None:
    """Write a realistic B2B data set for the b2b template, with known effects planted (see
    TRUTH.json)."""
    from journeyscope.events.demo import generate

    summary = generate(accounts, seed, output, fmt=fmt, journey_map=map_file)
    for line in summary.lines():
        out.print(line, markup=False)


# --- analytics: analyze a workspace against a map ---------------------------------------------


# From this many events, an analysis of events out of journey order suggests sorting them
# (at ten million, the sort is about a quarter of the analysis; on small data it is nothing).
SORT_HINT_EVENTS = 1_000_000


@app.command("analyze")
def analyze_command(
    map_file: Annotated[Path, typer.Argument(help="The journey map to measure.",
                                             show_default=False)],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write every result "
                                                "table as JSON to this file.")] = None,
    segment: Annotated[str | None, typer.Option(help="Only the accounts of this segment.")
                       ] = None,
    persona: Annotated[str | None, typer.Option(help="Only this persona's events (and those of "
                                                "no one in particular, such as outcomes).")
                       ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    engine: EngineOption = "duckdb",
    quiet: QuietOption = False,
) -> None:
    """Measure a map against a workspace's events: stages, paths, touchpoints, attribution,
    handovers, committee, voice of the customer, retention, conformance and pain points."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from journeyscope.analytics.analyze import analyze
    from journeyscope.analytics.engine import check_engine

    check_engine(engine)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.completed}"
               "/{task.total}"), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task("opening", total=None)

        def report(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        result = analyze(map_file, workspace, engine=engine, segment=segment, persona=persona,
                         since=since, until=until, progress=report)
    meta = result.meta
    out.print(f"analysed {plural(meta['events'], 'event')} of "
              f"{plural(meta['accounts'], 'account')} on {meta['engine']} in "
              f"{meta['seconds']:.1f} s", markup=False)
    if not meta.get("journey_order", True) and meta["engine"] == "duckdb" and \
            meta["events"] >= SORT_HINT_EVENTS and not quiet:
        err.print(f"note: the events are not stored in journey order, so this analysis sorted "
                  f"them; `journeyscope workspace sort {workspace}` stores them so once, and "
                  "later analyses skip the sort", markup=False)
    ranked = result["painpoints"].to_pylist()[:3]
    for row in ranked:
        out.print(f"  pain point {row['rank']}: {row['touchpoint_name']} ({row['stage']}): "
                  f"revenue at risk {row['revenue_at_risk']:,.0f}, pipeline at risk "
                  f"{row['pipeline_at_risk']:,.0f}", markup=False)
    if output is not None:
        try:
            result.to_json(output)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        out.print(f"wrote {len(result.tables)} tables to {output}", markup=False)


# --- analysis report and the one-command demo ---------------------------------------------------


def _step_bar(quiet: bool):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<44.44}"), BarColumn(), TimeElapsedColumn(),
                    console=err, disable=quiet, transient=True)


@app.command("report")
def report_command(
    map_file: Annotated[Path, typer.Argument(help="The journey map to measure.",
                                             show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The report to write: .html "
                                         "(self-contained, works offline) or .pdf (A3 "
                                         "landscape, needs Chromium).", show_default=False)],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    segment: Annotated[str | None, typer.Option(help="Only the accounts of this segment "
                                                "(the page then has no segment switch).")
                       ] = None,
    persona: Annotated[str | None, typer.Option(help="Only this persona's events; the map "
                                                "greys out what the persona never meets.")
                       ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    engine: EngineOption = "duckdb",
    max_segments: Annotated[int, typer.Option("--max-segments", help="How many segments the "
                                              "page can switch to (the largest; 0: none).",
                                              min=0)] = 8,
    quiet: QuietOption = False,
) -> None:
    """Write the analysis report: the measured map, charts, ranked pain points and an
    executive summary, for all accounts and each segment."""
    from journeyscope.analytics.engine import check_engine
    from journeyscope.report.analysis_report import write_report

    check_engine(engine)
    with _step_bar(quiet) as bar:
        task = bar.add_task("analysing", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        written = write_report(map_file, workspace, output, segment=segment, persona=persona,
                               since=since, until=until, engine=engine,
                               max_segments=max_segments, progress=progress)
    size = written.stat().st_size
    out.print(f"wrote {written} ({size / 1_048_576:,.1f} MB)", markup=False)
    if written.suffix.lower() != ".pdf":
        out.print(f"open it in a browser: {written.resolve().as_uri()}", markup=False)


@app.command("demo")
def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the map, the demo "
                                         "data, the workspace and report.html (created if "
                                         "missing; an earlier demo there is replaced).")
                      ] = Path("journeyscope-demo"),
    accounts: Annotated[int, typer.Option(help="Number of demo accounts (about 50 events "
                                          "each).", min=1)] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.",
                                      min=0)] = 0,
    quiet: QuietOption = False,
) -> None:
    """Generate demo data, import it, analyse it and write the report, in one go."""
    from journeyscope.report.demo_run import run_demo

    with _step_bar(quiet) as bar:
        task = bar.add_task("starting", total=4)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        run = run_demo(output, accounts=accounts, seed=seed, progress=progress)
    for line in run.lines():
        out.print(line, markup=False)


# --- web app: serve, users ----------------------------------------------------------------------

users_app = typer.Typer(help="Users of the web app: create them, reset passwords, make API "
                        "tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")


DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Folder of the app's database, as given to `journeyscope serve` "
    "(default: JOURNEYSCOPE_DATA_DIR).")]


@contextlib.contextmanager
def _web_session(data_dir: Path | None, *, existing: bool = True):  # type: ignore[no-untyped-def]
    """A write session on the web app's database (migrated first), disposed of afterwards.
    With `existing`, an SQLite database that is not there yet is an error rather than created
    (a user to find, a password to change, needs the app's database)."""
    from journeyscope.store import Database
    from journeyscope.store.db import DB_FILE
    from journeyscope.web.config import WebSettings

    web = WebSettings() if data_dir is None else WebSettings(data_dir=data_dir)
    if existing and not web.database_url and not (web.data_dir / DB_FILE).exists():
        fail(f"no app database in {web.data_dir}: give the folder `journeyscope serve` uses "
             "with --data-dir (or JOURNEYSCOPE_DATA_DIR), or create the first user with "
             "`journeyscope users create`")
    db = Database(web.db_url)
    try:
        db.upgrade()
        with db.write() as s:
            yield s
    finally:
        db.dispose()


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("no password given; pipe it in with --password-stdin")
    return password


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                 "from the first line of standard input.")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="An admin may create users.")] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create a web app user (the first one with --admin)."""
    from journeyscope.store import users

    password = _read_password(password_stdin)
    with _web_session(data_dir, existing=False) as s:
        user = users.create_user(s, email, password, name=name, admin=admin)
        out.print(f"created {'admin ' if admin else ''}user {user.email}", markup=False)


@users_app.command("password")
def users_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                 "from standard input.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Set a user's password (signs them out everywhere)."""
    from journeyscope.store import users

    password = _read_password(password_stdin)
    with _web_session(data_dir) as s:
        user = users.user_by_email(s, email)
        if user is None:
            fail(f"no user with e-mail {email}")
        users.set_password(s, user, password)
    out.print(f"password of {email} changed", markup=False)


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    data_dir: DataDirOption = None,
) -> None:
    """Print a new API token for a user (for scripts: Authorization: Bearer TOKEN)."""
    from journeyscope.store import users

    with _web_session(data_dir) as s:
        user = users.user_by_email(s, email)
        if user is None:
            fail(f"no user with e-mail {email}")
        _, secret = users.create_token(s, user, name)
    out.print(secret, markup=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Folder of the app's "
                                                  "database and data (default: "
                                                  "JOURNEYSCOPE_DATA_DIR).")] = None,
) -> None:
    """Run the web app (SQLite and DuckDB, nothing else to install); seeds a demo workspace
    on the first start and prints the URL and the demo login."""
    from journeyscope.web.serve import serve as run

    run(host=host, port=port, data_dir=data_dir, say=lambda m: out.print(m, markup=False))


def main() -> None:
    """Entry point: runs the app, turning known errors into messages and exit codes."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
