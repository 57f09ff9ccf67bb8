"""Benchmark: generate the demo data set at scale; print time, rate, peak memory and sizes.

    python benchmarks/demo_data.py                      # 200,000 accounts, about 10M events
    python benchmarks/demo_data.py --accounts 20000 --format csv --keep /tmp/demo

Peak memory is the process's maximum resident set size (the interpreter and libraries
included), read from the operating system after the run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from journeyscope.events.demo import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--keep", type=Path, default=None,
                        help="write into this folder and keep the files")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="journeyscope-demo-"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    cpu_started = time.process_time()
    summary = generate(args.accounts, args.seed, folder, fmt=args.format)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        print(f"accounts          {summary.accounts:>14,}")
        print(f"contacts          {summary.contacts:>14,}")
        print(f"events            {summary.events:>14,}")
        print(f"activities        {summary.activities:>14}")
        print(f"wall time         {wall:>14.2f} s")
        print(f"cpu time          {cpu:>14.2f} s")
        print(f"events per second {summary.events / wall:>14,.0f}")
        print(f"peak memory       {peak_kib / 1024:>14,.0f} MiB "
              f"(before generating: {rss_before / 1024:,.0f} MiB)")
        for name, path in summary.files.items():
            print(f"{name:<17} {path.stat().st_size / 1e6:>14,.1f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
