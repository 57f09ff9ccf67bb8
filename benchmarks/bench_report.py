"""How long `journeyscope demo` and `journeyscope report` take, by number of accounts. Prints
figures; not a test.

    python benchmarks/bench_report.py                      # 5,000 accounts (the demo default)
    python benchmarks/bench_report.py --accounts 5000 100000
    python benchmarks/bench_report.py --accounts 100000 --pdf

For each size: the demo end to end (generate, import, analyse all accounts and each segment,
write the page), then `report` again on the same workspace (HTML, and PDF with --pdf), with the
seconds of each analysis, the size of the page and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from journeyscope.model.files import load_map
from journeyscope.report.analysis_report import compute_views, report_html, write_report
from journeyscope.report.demo_run import run_demo


def cpu_seconds() -> float:
    """User and system CPU time of this process and its threads (DuckDB's too) so far: on a
    shared machine a steadier figure than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(accounts: int, seed: int, pdf: bool, folder: Path) -> None:
    print(f"\n== {accounts:,} accounts ==", flush=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    run = run_demo(folder / f"demo-{accounts}", accounts=accounts, seed=seed)
    demo_s = time.perf_counter() - started
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items())
    print(f"journeyscope demo: {demo_s:.1f} s, cpu {cpu_seconds() - cpu:.1f} s "
          f"({run.events:,} events; {steps})", flush=True)

    started, cpu = time.perf_counter(), cpu_seconds()
    journey_map = load_map(run.map_file)
    views = compute_views(journey_map, run.workspace)
    analysed = time.perf_counter() - started
    per_view = ", ".join(f"{v.label} {v.result['meta']['seconds']:.1f} s" for v in views)
    mark = time.perf_counter()
    html = report_html(journey_map, views)
    page_s = time.perf_counter() - mark
    print(f"journeyscope report: {analysed + page_s:.1f} s, cpu {cpu_seconds() - cpu:.1f} s "
          f"= {len(views)} analyses "
          f"{analysed:.1f} s ({per_view}) + page {page_s:.1f} s; page "
          f"{len(html.encode()) / 1_048_576:.1f} MB; peak memory {peak_mib():,.0f} MiB",
          flush=True)
    if pdf:
        mark = time.perf_counter()
        out = write_report(journey_map, run.workspace, folder / f"report-{accounts}.pdf")
        print(f"journeyscope report -o .pdf: {time.perf_counter() - mark:.1f} s "
              f"({out.stat().st_size / 1_048_576:.1f} MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[5000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pdf", action="store_true", help="also time the PDF")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="journeyscope-bench-report-") as tmp:
        for accounts in args.accounts:
            bench(accounts, args.seed, args.pdf, Path(tmp))


if __name__ == "__main__":
    main()
