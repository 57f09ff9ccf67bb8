"""Matching the real helpdesk log (../shared/data/event_logs/helpdesk.xes.gz): every
touchpoint's count equals an independent count straight from the XES file."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from journeyscope.events.importer import import_sources
from journeyscope.events.matching import apply_matching, match_summary, unmatched_activities
from journeyscope.events.workspace import Workspace
from journeyscope.model.files import load_map

MAP = Path(__file__).resolve().parent / "data" / "crm" / "helpdesk-map.yaml"


def _independent_counts(path: Path) -> tuple[Counter, int]:
    """Touchpoint per event by the map's rules written out by hand over the XES elements."""
    counts: Counter = Counter()
    total = 0
    with gzip.open(path) as fh:
        for _, element in ET.iterparse(fh, events=("end",)):
            if element.tag.rsplit("}", 1)[-1] != "event":
                continue
            attrs = {child.get("key"): child.get("value") for child in element}
            element.clear()
            total += 1
            name = attrs["concept:name"]
            low = name.lower()
            if low in ("insert ticket", "assign seriousness"):
                counts["ticket-intake"] += 1
            elif re.search("sw anomaly|upgrade", low):
                counts["escalation"] += 1
            elif low == "resolve ticket" and attrs.get("seriousness_2", "").lower() == "value 2":
                counts["serious-resolution"] += 1
            elif name.startswith("Take in charge"):
                counts["in-charge"] += 1
            elif low == "resolve ticket":
                counts["resolution"] += 1
            elif low == "closed":
                counts["closure"] += 1
            else:
                counts[None] += 1
    return counts, total


@pytest.mark.slow
def test_helpdesk_touchpoint_counts_equal_an_independent_count(shared_data, tmp_path):
    log = shared_data / "event_logs" / "helpdesk.xes.gz"
    journey_map = load_map(MAP)
    expected, total = _independent_counts(log)
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        summary = import_sources(ws, [log], journey_map=journey_map)
        assert summary.events == total == 21348
        got = Counter(dict(ws.con.execute(
            "SELECT touchpoint, count(*) FROM events GROUP BY 1").fetchall()))
        assert got == expected
        assert summary.matched == total - expected[None]
        # Matching again from the workspace gives the same, and the unmatched report adds up.
        assert apply_matching(ws.con, journey_map) == total - expected[None]
        unmatched = unmatched_activities(ws.con)
        assert unmatched[0][:2] == ("Wait", "helpdesk.xes.gz")
        assert sum(n for *_, n in unmatched) == expected[None]
        assert match_summary(ws.con).share == pytest.approx(1 - expected[None] / total)
        stages = dict(ws.con.execute("SELECT stage, count(*) FROM events WHERE stage IS NOT "
                                     "NULL GROUP BY 1").fetchall())
    assert stages["intake"] == expected["ticket-intake"]
    assert stages["closure"] == expected["closure"]
