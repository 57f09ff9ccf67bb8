"""How long rendering a map takes, by format and map size. Prints figures; not a test.

    python benchmarks/render_map.py            # the b2b template and a 10 x 12 map
    python benchmarks/render_map.py --browser  # also PNG and PDF through Chromium
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from journeyscope.model.templates import load_template
from journeyscope.model.types import JourneyMap
from journeyscope.report.render import render


def synthetic_map(stages: int, per_stage: int, personas: int) -> JourneyMap:
    """A map of `stages` x `per_stage` touchpoints, each linked to the next, owners rotating."""
    owners = ["marketing", "sales development", "sales", "onboarding", "customer success",
              "support"]
    tps = []
    for s in range(stages):
        for t in range(per_stage):
            i = s * per_stage + t
            nxt = [f"t{i + 1}"] if i + 1 < stages * per_stage else []
            tps.append({
                "id": f"t{i}", "stage": f"s{s}", "name": f"Touchpoint {i} with a longer name",
                "channels": ["web", "email", "meeting"][: 1 + i % 3], "owner": owners[i % 6],
                "personas": [f"p{(i + k) % personas}" for k in range(3)],
                "emotion": {f"p{(i + k) % personas}": (i * 7 + k) % 5 - 2 for k in range(3)},
                "pain_points": [f"Pain {i}"] if i % 2 else [],
                "opportunities": [f"Opportunity {i}"] if i % 3 == 0 else [],
                "kpis": [{"name": f"kpi {i}", "target": 0.5, "unit": "ratio"}],
                "moment_of_truth": i % 7 == 0, "next": nxt,
            })
    return JourneyMap.model_validate({
        "name": f"Synthetic {stages}x{per_stage}",
        "stages": [{"id": f"s{s}", "name": f"Stage {s}", "exit_criteria": "Done",
                    "time_standard": "P30D"} for s in range(stages)],
        "personas": [{"id": f"p{p}", "name": f"Persona {p}"} for p in range(personas)],
        "touchpoints": tps,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--browser", action="store_true", help="also time PNG and PDF")
    args = parser.parse_args()
    formats = ["html", "svg", "csv", "md", "json"] + (["png", "pdf"] if args.browser else [])
    maps = [("b2b template", load_template("b2b")), ("10 x 12", synthetic_map(10, 12, 8))]
    print(f"{'map':<14} {'touchpoints':>11} {'format':>7} {'seconds':>8} {'KB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, journey_map in maps:
            for fmt in formats:
                start = time.perf_counter()
                out = render(journey_map, Path(tmp) / f"map.{fmt}")
                took = time.perf_counter() - start
                print(f"{label:<14} {len(journey_map.touchpoints):>11} {fmt:>7} {took:>8.3f} "
                      f"{out.stat().st_size / 1024:>9.1f}")


if __name__ == "__main__":
    main()
