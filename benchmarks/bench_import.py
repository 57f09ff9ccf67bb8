"""Benchmark: importing N demo events from CSV and from Parquet, end to end, and re-matching them.

Generates (or reuses) the demo data set of `journeyscope.events.demo` for the `b2b` template,
about 50 events per account, then for each format imports events, accounts and contacts into a
fresh workspace with the b2b map (read in the engine, identity, personas, event keys, duplicate
check, matching, insert, commit), and finally re-matches every event of the workspace. Prints
wall time per phase, events per second and the peak memory (resident set size of the whole
process tree, sampled every 20 ms).

    python benchmarks/bench_import.py --events 10000000
    python benchmarks/bench_import.py --events 200000 --formats parquet   # a quick look

Targets (issue 3): at least 1,000,000 events per second end to end; peak memory under 4 GiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from journeyscope.events import demo
from journeyscope.events.importer import import_sources
from journeyscope.events.matching import apply_matching
from journeyscope.events.workspace import Workspace
from journeyscope.model.templates import load_template

EVENTS_PER_ACCOUNT = 50  # about, in the demo data (docs/demo-data.md)
PAGE = os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples the resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self.peak = _tree_rss(os.getpid())
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _tree_rss(os.getpid()))


def _tree_rss(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def demo_data(folder: Path, events: int, fmt: str, seed: int) -> tuple[Path, int]:
    """The demo data in `folder` (generated unless a run with the same size left it there)."""
    accounts = max(1, events // EVENTS_PER_ACCOUNT)
    marker = folder / f"demo-{accounts}-{seed}-{fmt}.done"
    target = folder / f"events.{fmt}"
    if not marker.exists():
        for old in folder.glob("demo-*.done"):
            old.unlink()
        started = time.perf_counter()
        summary = demo.generate(accounts, seed, folder, fmt=fmt)
        print(f"  generated {summary.events:,} demo events ({fmt}) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        marker.write_text(str(summary.events))
    return target, int(marker.read_text())


def cpu_seconds() -> float:
    """CPU time of this process (all DuckDB threads) and its children, user and system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_import(folder: Path, events_file: Path, work: Path, journey_map) -> tuple[int, dict]:  # noqa: ANN001
    phases: dict[str, float] = {}
    marks: list[tuple[str, float]] = []

    def progress(step: str, _done: float, _total: float | None) -> None:
        name = step.split(" ")[0] if step.startswith("reading") else step
        if not marks or marks[-1][0] != name:
            marks.append((name, time.perf_counter()))

    workspace = work / "bench.duckdb"
    with Workspace.create(workspace) as ws:
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        summary = import_sources(
            ws, [events_file, folder / "accounts.csv", folder / "contacts.csv"],
            journey_map=journey_map, progress=progress)
        ended = time.perf_counter()
        marks.append(("end", ended))
        for (name, t0), (_, t1) in zip(marks, marks[1:], strict=False):
            phases[name] = phases.get(name, 0.0) + (t1 - t0)
        phases["total"] = ended - started
        phases["cpu"] = cpu_seconds() - cpu_before
        started = time.perf_counter()
        matched = apply_matching(ws.con, journey_map)
        phases["re-match"] = time.perf_counter() - started
        phases["matched"] = matched
    return summary.events, phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path("benchmarks/results/import-data"),
                        help="where the demo data is generated and reused")
    args = parser.parse_args(argv)
    journey_map = load_template("b2b")
    print(f"journeyscope import benchmark: {args.events:,} events, {os.cpu_count()} cores, "
          f"DuckDB memory limit {os.environ.get('JOURNEYSCOPE_MEMORY_LIMIT', '3GB')}")
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        folder = args.data / fmt
        folder.mkdir(parents=True, exist_ok=True)
        events_file, _ = demo_data(folder, args.events, fmt, args.seed)
        work = Path(tempfile.mkdtemp(prefix="journeyscope-bench-"))
        try:
            with PeakRss() as memory:
                added, phases = run_import(folder, events_file, work, journey_map)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        total = phases.pop("total")
        cpu = phases.pop("cpu")
        rematch = phases.pop("re-match")
        matched = phases.pop("matched")
        load = os.getloadavg()[0]
        print(f"{fmt}: {added:,} events imported in {total:.1f} s = "
              f"{added / total:,.0f} events/s end to end; peak memory {memory.peak / 2**30:.2f} "
              f"GiB (process tree RSS)")
        print(f"  CPU time {cpu:.1f} s = {added / cpu:,.0f} events per CPU-second; load average "
              f"{load:.1f} on {os.cpu_count()} cores")
        print(f"  target 1,000,000 events/s: {'met' if added / total >= 1e6 else 'not met'}; "
              f"peak memory under 4 GiB: {'met' if memory.peak < 4 * 2**30 else 'not met'}")
        print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
        print(f"  re-matching all {added:,} events: {rematch:.1f} s = {added / rematch:,.0f} "
              f"events/s ({matched / added:.1%} matched)")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
