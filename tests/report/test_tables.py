"""CSV and Markdown in the seed's template-table layout, and JSON with derived handovers."""

from __future__ import annotations

import csv
import io
import json

from journeyscope.model.files import build_map
from journeyscope.model.types import JourneyMap
from journeyscope.model.variants import persona_view
from journeyscope.report.tables import COLUMNS, md_escape, to_csv, to_json, to_markdown


def test_csv_has_one_row_per_stage_in_template_table_columns(rich_map: JourneyMap) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(rich_map))))
    assert tuple(rows[0].keys()) == COLUMNS
    assert [r["stage"] for r in rows] == [s.name for s in rich_map.stages]


def test_csv_merges_stage_and_touchpoint_items(rich_map: JourneyMap) -> None:
    rows = {r["stage"]: r for r in csv.DictReader(io.StringIO(to_csv(rich_map)))}
    awareness = rows["Awareness"]
    actions = awareness["customer actions"].split("\n")
    # the stage's own action first, then its touchpoints' actions in map order
    assert actions == ["Notice the problem in quarterly numbers",
                       "Attend a talk on pipeline hygiene", "Search for CRM comparisons"]
    assert "Feel the problem is solvable (emotional)" in awareness["customer needs"]
    assert "Unbiased comparisons" in awareness["customer needs"]
    consideration = rows["Consideration"]
    challenges = consideration["challenges"].split("\n")
    assert challenges == ["Analysis paralysis across too many vendors",
                          "Asked the same questions twice"]
    renewal = rows["Renewal & expansion"]
    assert renewal["opportunities"].split("\n") == ["Joint success plan reviewed each quarter",
                                                     "Quote 90 days before term"]
    assert "Tailored demo (meeting, video; owner sales; moment of truth)" in rows["Decision"][
        "touchpoints"]


def test_csv_cells_cannot_start_a_spreadsheet_formula() -> None:
    m = build_map({"name": "x", "stages": [{"id": "a", "name": "=HYPERLINK(\"x\")",
                                            "customer_actions": ["@SUM(A1)"]}]})
    row = next(csv.DictReader(io.StringIO(to_csv(m))))
    assert row["stage"].startswith("'=") and row["customer actions"].startswith("'@")


def test_markdown_table_matches_the_template_layout(rich_map: JourneyMap) -> None:
    text = to_markdown(rich_map)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Stage"))
    assert lines[header] == ("| Stage | Customer actions | Customer needs | Touchpoints | "
                             "Challenges | Opportunities |")
    body = lines[header + 2: header + 2 + len(rich_map.stages)]
    assert all(row.count(" | ") == 5 for row in body)
    assert body[0].startswith("| **Awareness** | Notice the problem in quarterly numbers<br>")
    assert "## Handovers" in text
    assert "Discovery call → Tailored demo: sales development to sales" in text


def test_markdown_escapes_html_and_table_breaks() -> None:
    m = build_map({"name": "<script>alert(1)</script>", "stages": [
        {"id": "a", "name": "A | B", "customer_actions": ["<img src=x onerror=alert(1)>"]}]})
    text = to_markdown(m)
    assert "<script>" not in text and "<img" not in text
    assert "A \\| B" in text
    assert md_escape("a\nb") == "a b"


def test_json_holds_the_map_and_its_handovers(rich_map: JourneyMap) -> None:
    data = json.loads(to_json(rich_map))
    assert data["map"]["name"] == rich_map.name
    assert build_map(data["map"]) == rich_map  # the map part loads back as the same map
    labels = [h["label"] for h in data["handovers"]]
    assert labels == [h.label for h in rich_map.handovers()]
    assert {"source": "sdr-call", "target": "demo", "from_owner": "sales development",
            "to_owner": "sales", "time_standard": "P5D",
            "label": "sales development to sales"} in data["handovers"]


def test_tables_of_a_persona_view_keep_only_what_it_meets(rich_map: JourneyMap) -> None:
    rows = {r["stage"]: r for r in csv.DictReader(io.StringIO(to_csv(
        persona_view(rich_map, "procurement"))))}
    assert rows["Decision"]["touchpoints"].startswith("Proposal & negotiation")
    assert "Tailored demo" not in rows["Decision"]["touchpoints"]
    assert rows["Awareness"]["touchpoints"] == ""
