"""The map as tables and data: CSV and Markdown in the seed's template-table layout, and JSON.

The template table has one row per stage with the columns stage, customer actions, customer
needs, touchpoints, challenges and opportunities. Stage-level and touchpoint-level items are
merged into the stage's row, in map order, without repeats.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from journeyscope.model.files import map_to_data
from journeyscope.model.types import JourneyMap

COLUMNS = ("stage", "customer actions", "customer needs", "touchpoints", "challenges",
           "opportunities")
# Characters that make a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def _touchpoint_cell(journey_map: JourneyMap, tp_id: str) -> str:
    tp = journey_map.touchpoint(tp_id)
    assert tp is not None
    details = []
    if tp.channels:
        details.append(", ".join(tp.channels))
    if tp.owner:
        details.append(f"owner {tp.owner}")
    if tp.moment_of_truth:
        details.append("moment of truth")
    return f"{tp.name} ({'; '.join(details)})" if details else tp.name


def stage_rows(journey_map: JourneyMap) -> list[dict[str, list[str]]]:
    """One row per stage: the template table's columns, each a list of items.

    >>> from journeyscope.model.types import JourneyMap
    >>> m = JourneyMap(name="Demo", stages=[{"id": "a", "name": "Awareness",
    ...     "customer_actions": ["Searching online"]}])
    >>> stage_rows(m)[0]["customer actions"]
    ['Searching online']
    """
    rows = []
    for stage in journey_map.stages:
        tps = journey_map.touchpoints_in(stage.id)
        actions = list(stage.customer_actions)
        needs = list(stage.needs.functional) + [f"{n} (emotional)" for n in stage.needs.emotional]
        challenges = [p.text for p in stage.pain_points]
        opportunities = [o.text for o in stage.opportunities]
        for tp in tps:
            actions += tp.customer_actions
            needs += list(tp.needs.functional) + [f"{n} (emotional)" for n in tp.needs.emotional]
            challenges += [p.text for p in tp.pain_points]
            opportunities += [o.text for o in tp.opportunities]
        rows.append({
            "stage": [stage.name],
            "customer actions": _unique(actions),
            "customer needs": _unique(needs),
            "touchpoints": _unique([_touchpoint_cell(journey_map, t.id) for t in tps]),
            "challenges": _unique(challenges),
            "opportunities": _unique(opportunities),
        })
    return rows


def _csv_safe(text: str) -> str:
    # A leading quote keeps a spreadsheet from running the cell as a formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(journey_map: JourneyMap) -> str:
    """The template table as CSV; several items in a cell are separated by line breaks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in stage_rows(journey_map):
        writer.writerow([_csv_safe("\n".join(row[c])) for c in COLUMNS])
    return buffer.getvalue()


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: no raw HTML, no column breaks, no emphasis.

    >>> md_escape("<b>a|b</b>")
    '&lt;b&gt;a\\\\|b&lt;/b&gt;'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in ("\\", "|", "*", "_", "`", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def to_markdown(journey_map: JourneyMap) -> str:
    """The template table as Markdown, with the map's name and its handovers."""
    lines = [f"# {md_escape(journey_map.name)}", ""]
    facts = [f"{journey_map.state.value} state", journey_map.kind.value]
    if journey_map.segment:
        facts.append(f"segment {journey_map.segment}")
    if journey_map.persona_view:
        facts.append(f"as {journey_map.persona_view} meets it")
    lines.append(md_escape(" · ".join(facts)))
    if journey_map.objective:
        lines += ["", f"**Objective:** {md_escape(journey_map.objective)}"]
    lines += ["", "| " + " | ".join(c.capitalize() for c in COLUMNS) + " |",
              "|" + "---|" * len(COLUMNS)]
    for row in stage_rows(journey_map):
        cells = ["<br>".join(md_escape(item) for item in row[c]) for c in COLUMNS]
        cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    handovers = journey_map.handovers()
    if handovers:
        lines += ["", "## Handovers", ""]
        for h in handovers:
            source, target = journey_map.touchpoint(h.source), journey_map.touchpoint(h.target)
            assert source is not None and target is not None
            lines.append(f"- {md_escape(source.name)} → {md_escape(target.name)}: "
                         f"{md_escape(h.label)}")
    return "\n".join(lines) + "\n"


def to_data(journey_map: JourneyMap) -> dict[str, Any]:
    """The map in its file form plus what is derived from it (handovers)."""
    return {
        "map": map_to_data(journey_map),
        "handovers": [
            {"source": h.source, "target": h.target, "from_owner": h.from_owner,
             "to_owner": h.to_owner, "time_standard": h.time_standard, "label": h.label}
            for h in journey_map.handovers()
        ],
    }


def to_json(journey_map: JourneyMap) -> str:
    """`to_data` as indented JSON text."""
    return json.dumps(to_data(journey_map), indent=2, ensure_ascii=False) + "\n"
