"""Benchmark: importing demo events from CSV and from Parquet, end to end, and matching them.

For each size (default 1 million and 10 million events) and format, generates the demo data set
of `journeyscope.events.demo` for the `b2b` template once (about 50 events per account; cached
under benchmarks/.cache/, which git ignores), imports events, accounts and contacts into a fresh
workspace with the b2b map (read and checked in the engine, identity, personas, event keys,
import order, matching, insert, duplicate checks, commit), then times re-matching every event:
with the same map (nothing changes, nothing is written) and after the rules changed (a map
without rules first, so that every matched event is written again).

Prints wall time, CPU time (this process, all DuckDB threads, and any children), events per
second by wall time and by CPU time, peak memory (resident set of the process tree, sampled
every 20 ms) and the load average at the start and end of each run. The machine is shared:
wall times include waiting for the cores; CPU time is the figure that does not depend on it.

    python benchmarks/bench_import.py                       # 1M and 10M, CSV and Parquet
    python benchmarks/bench_import.py --events 200000 --formats parquet   # a quick look
    python benchmarks/bench_import.py --events 10000000 --runs 3   # medians of three runs

With `--runs N` each size and format is imported N times (a fresh workspace each time) and the
median of each figure is printed, with the range of the import's wall and CPU times.

Targets (issue 3): at least 1,000,000 events per second end to end; peak memory under 4 GiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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
from journeyscope.model.types import JourneyMap

EVENTS_PER_ACCOUNT = 50  # about, in the demo data (docs/demo-data.md)
PAGE = os.sysconf("SC_PAGE_SIZE")
CACHE = Path(__file__).resolve().parent / ".cache"


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


def cpu_seconds() -> float:
    """CPU time of this process (all DuckDB threads) and its children, user and system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def demo_data(events: int, fmt: str, seed: int) -> tuple[Path, int]:
    """The demo data folder for about `events` events (generated unless cached) and the
    exact number of events in it."""
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    accounts = max(1, events // EVENTS_PER_ACCOUNT)
    folder = CACHE / f"demo-{accounts}-seed{seed}-{fmt}"
    marker = folder / "EVENTS"
    if not marker.exists():
        started = time.perf_counter()
        summary = demo.generate(accounts, seed, folder, fmt=fmt)
        print(f"  generated {summary.events:,} demo events ({fmt}) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        marker.write_text(str(summary.events))
    return folder, int(marker.read_text())


def _rule_less(journey_map: JourneyMap) -> JourneyMap:
    """The map with every match rule and outcome removed (matching it clears every event)."""
    touchpoints = [t.model_copy(update={"match": []}) for t in journey_map.touchpoints]
    return journey_map.model_copy(update={"touchpoints": touchpoints,
                                          "outcomes": type(journey_map.outcomes)()})


def run(folder: Path, fmt: str, journey_map: JourneyMap) -> dict[str, float]:
    """Import the demo data into a fresh workspace, then re-match; the figures of the run."""
    work = Path(tempfile.mkdtemp(prefix="journeyscope-bench-"))
    out: dict[str, float] = {"load_start": os.getloadavg()[0]}
    try:
        with PeakRss() as memory, Workspace.create(work / "bench.duckdb") as ws:
            cpu, started = cpu_seconds(), time.perf_counter()
            summary = import_sources(
                ws, [folder / f"events.{fmt}", folder / "accounts.csv", folder / "contacts.csv"],
                journey_map=journey_map)
            out["wall"] = time.perf_counter() - started
            out["cpu"] = cpu_seconds() - cpu
            out["events"] = summary.events
            out["matched"] = summary.matched or 0
            out["peak"] = memory.peak
            for label, maps in (("same", [journey_map]),
                                ("changed", [_rule_less(journey_map), journey_map])):
                for i, m in enumerate(maps):
                    cpu, started = cpu_seconds(), time.perf_counter()
                    ws.con.execute("BEGIN")
                    apply_matching(ws.con, m)
                    ws.con.execute("COMMIT")
                    if i == len(maps) - 1:  # the clearing step does not count
                        out[f"match_{label}_wall"] = time.perf_counter() - started
                        out[f"match_{label}_cpu"] = cpu_seconds() - cpu
        out["load_end"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over `runs`, and the range of the import's wall and CPU."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    for k in ("wall", "cpu"):
        out[f"{k}_min"], out[f"{k}_max"] = min(r[k] for r in runs), max(r[k] for r in runs)
    out["runs"] = len(runs)
    return out


def report(fmt: str, size: int, r: dict[str, float]) -> None:
    n = int(r["events"])
    runs = int(r.get("runs", 1))
    print(f"{fmt}, {n:,} events (demo data of about {size:,})"
          f"{f', median of {runs} runs' if runs > 1 else ''}:")
    print(f"  import end to end: wall {r['wall']:.1f} s = {n / r['wall']:,.0f} events/s; "
          f"CPU {r['cpu']:.1f} s = {n / r['cpu']:,.0f} events per CPU-second")
    if runs > 1:
        print(f"  range over the runs: wall {r['wall_min']:.1f} to {r['wall_max']:.1f} s, "
              f"CPU {r['cpu_min']:.1f} to {r['cpu_max']:.1f} s")
    print(f"  peak memory {r['peak'] / 2**30:.2f} GiB (process tree RSS); {r['matched'] / n:.1%} "
          "matched to the b2b map")
    print(f"  load average {r['load_start']:.1f} at start, {r['load_end']:.1f} at end, on "
          f"{os.cpu_count()} cores (a shared machine: wall time includes waiting for them)")
    speed = "met" if n / r["wall"] >= 1e6 else "not met"
    memory = "met" if r["peak"] < 4 * 2**30 else "not met"
    print(f"  targets: 1,000,000 events/s by wall time {speed}; peak memory under 4 GiB {memory}")
    for label, what in (("same", "with the same map (nothing changes)"),
                        ("changed", "after the rules changed (every matched event rewritten)")):
        wall, cpu = r[f"match_{label}_wall"], r[f"match_{label}_cpu"]
        print(f"  re-matching all events {what}: wall {wall:.1f} s, CPU {cpu:.1f} s "
              f"= {n / wall:,.0f} events/s")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=1,
                        help="imports per size and format; medians are printed")
    args = parser.parse_args(argv)
    journey_map = load_template("b2b")
    print(f"journeyscope import benchmark: {os.cpu_count()} cores, DuckDB memory limit "
          f"{os.environ.get('JOURNEYSCOPE_MEMORY_LIMIT', '3GB')}; load average "
          f"{os.getloadavg()[0]:.1f} (the machine is shared with other work)", flush=True)
    for size in args.events:
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            folder, _ = demo_data(size, fmt, args.seed)
            runs = [run(folder, fmt, journey_map) for _ in range(max(1, args.runs))]
            report(fmt, size, median_run(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
