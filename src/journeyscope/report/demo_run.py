"""`journeyscope demo`: demo data generated, imported, analysed and reported in one go.

Into one folder it writes the `b2b` map (`map.yaml`), the demo data (`data/`, with
`TRUTH.json` saying what was planted), a workspace (`workspace.duckdb`) and the analysis report
(`report.html`), so that a newcomer sees a measured journey in well under a minute.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from journeyscope.errors import JourneyscopeError
from journeyscope.report.fmt import plural

DEMO_ACCOUNTS = 5000
DEMO_MAP_NAME = "Demo: B2B software buyers"

# (step label, done, total): called as the demo advances.
Progress = Callable[[str, int, int], None]


class DemoRunError(JourneyscopeError):
    """The demo cannot run as asked (an output folder that is a file, say)."""

    exit_code = 2


@dataclass
class DemoRun:
    """What `run_demo` wrote, and how long each step took (seconds)."""

    folder: Path
    report: Path
    map_file: Path
    workspace: Path
    accounts: int
    events: int
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What the command prints: where the report is and how to open it."""
        total = sum(self.seconds.values())
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return [
            f"demo: {plural(self.events, 'event')} of {plural(self.accounts, 'account')} in "
            f"{total:.1f} s "
            f"({steps})",
            f"  map:       {self.map_file}",
            f"  workspace: {self.workspace}",
            f"  report:    {self.report}",
            f"open it in a browser: {self.report.resolve().as_uri()}",
            f"or run it again on your own terms: journeyscope report {self.map_file} "
            f"--workspace {self.workspace} -o {self.report}",
        ]


def _fresh_workspace(path: Path) -> None:
    """Remove the workspace of an earlier demo run in the same folder."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)


def run_demo(out_dir: str | Path = "journeyscope-demo", *, accounts: int = DEMO_ACCOUNTS,
             seed: int = 0, progress: Progress | None = None) -> DemoRun:
    """Generate demo data for `accounts` accounts with `seed`, import it with the b2b map,
    analyse it and write `report.html`, all into `out_dir` (created if needed; the files of
    an earlier demo there are replaced)."""
    from journeyscope.events.demo import generate
    from journeyscope.events.importer import import_sources
    from journeyscope.events.workspace import open_for_import
    from journeyscope.model.files import save_map
    from journeyscope.model.templates import new_map
    from journeyscope.report.analysis_report import write_report

    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise DemoRunError(f"{folder} is a file; give a folder for the demo")
    say = progress or (lambda *_: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    say("generating demo data", 0, 4)
    journey_map = new_map(DEMO_MAP_NAME, "b2b")
    data = generate(accounts, seed, folder / "data", journey_map=journey_map)
    map_file = folder / "map.yaml"
    save_map(journey_map, map_file)
    seconds["generate"] = time.perf_counter() - started

    say("importing into the workspace", 1, 4)
    mark = time.perf_counter()
    workspace = folder / "workspace.duckdb"
    _fresh_workspace(workspace)
    files = [data.files[name] for name in ("events.parquet", "accounts.csv", "contacts.csv")]
    with open_for_import(workspace) as ws:
        summary = import_sources(ws, files, journey_map=journey_map, map_origin=str(map_file))
    seconds["import"] = time.perf_counter() - mark

    mark = time.perf_counter()

    def analysing(label: str, done: int, total: int) -> None:
        say(f"analysing: {label}", 2, 4)

    report = write_report(journey_map, workspace, folder / "report.html", progress=analysing)
    seconds["analyse and report"] = time.perf_counter() - mark
    say("done", 4, 4)
    return DemoRun(folder=folder, report=report, map_file=map_file, workspace=workspace,
                   accounts=accounts, events=summary.events,
                   seconds={k: round(v, 1) for k, v in seconds.items()})
