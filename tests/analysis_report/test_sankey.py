"""The Sankey charts of real flows: every stage a column of its own (Plotly's too), labels cut
to the width of a column with the full name on the hover, nodes far enough apart for their
labels, and a chart that grows with its busiest column."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from journeyscope.model.types import JourneyMap
from journeyscope.report import charts

LONG = "Discovery and consultations with the sales team and solution architects"


STAGES = ["awareness", "consideration", "decision", "implementation"]


def journey(counts: dict[str, int]) -> JourneyMap:
    return JourneyMap.model_validate({
        "name": "Flows",
        "stages": [{"id": s, "name": s.title()} for s in STAGES],
        "touchpoints": [{"id": f"{s}-{i}", "stage": s,
                         "name": LONG if (s, i) == ("consideration", 0) else f"{s} step {i}"}
                        for s in STAGES for i in range(counts[s])]
                       + [{"id": "skipped", "stage": "implementation", "name": "Skipped to"}],
    })


def flows(counts: dict[str, int]) -> dict[str, Any]:
    """Moves from each touchpoint to every touchpoint of the next stage, and skips from the
    first stage to a later one, which Plotly's own layout would put in the second column: a
    touchpoint of the last stage, and the decision stage."""
    moves = [{"source": f"{a}-{i}", "target": f"{b}-{j}", "moves": 10 + i + j, "accounts": 5}
             for a, b in itertools.pairwise(STAGES) for i in range(counts[a])
             for j in range(counts[b])]
    moves.append({"source": "awareness-0", "target": "skipped", "moves": 3, "accounts": 3})
    stage_moves = [("awareness", "consideration"), ("awareness", "decision"),
                   ("decision", "implementation")]
    return {"tables": {"paths.sankey_touchpoints": moves, "paths.sankey_stages": [
        {"source": a, "target": b, "moves": 100, "accounts": 90} for a, b in stage_moves]}}


def sankey_trace(per_stage: int | dict[str, int], level: str = "touchpoint"
                 ) -> tuple[Any, Any]:
    counts = per_stage if isinstance(per_stage, dict) else dict.fromkeys(STAGES, per_stage)
    fig = charts.sankey(flows(counts), journey(counts), level=level)
    assert fig is not None
    return fig, fig.data[0]


def longest_paths(trace: Any) -> list[int]:
    """Each node's longest path from a start: the column Plotly's Sankey puts it in."""
    depth = [0] * len(trace.node.x)
    for _ in depth:
        for s, t in zip(trace.link.source, trace.link.target, strict=True):
            depth[t] = max(depth[t], depth[s] + 1)
    return depth


@pytest.mark.parametrize("level", ["stage", "touchpoint"])
def test_plotly_puts_every_node_in_the_column_of_its_stage(level: str) -> None:
    _, trace = sankey_trace(3, level)
    real = [i for i, name in enumerate(trace.node.label) if name]
    columns = sorted({trace.node.x[i] for i in real})
    depth = longest_paths(trace)
    for i in real:
        assert depth[i] == columns.index(trace.node.x[i])
    # one more column right of the last, so that the last column's labels stand on the right
    assert max(trace.node.x) > max(trace.node.x[i] for i in real)
    assert trace.node.align == "left"


def test_labels_fit_their_column_and_the_hover_names_in_full() -> None:
    _, trace = sankey_trace(3)
    shown = trace.node.label[trace.node.customdata.index(
        next(c for c in trace.node.customdata if LONG in c))]
    # four columns of a chart 1,000 px wide: 28 characters a line
    assert shown == "Discovery and consultations<br>with the sales team and…"
    for text in trace.node.label:
        lines = text.split("<br>") if text else []
        assert len(lines) <= 2
        assert all(len(line) <= 28 for line in lines)
    assert any(LONG in str(c) for c in trace.link.customdata)


def test_nodes_of_a_column_stand_apart_by_two_lines_of_label() -> None:
    fig, trace = sankey_trace(4)
    plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    for x in {trace.node.x[i] for i, name in enumerate(trace.node.label) if name}:
        ys = sorted(trace.node.y[i] for i, name in enumerate(trace.node.label)
                    if name and trace.node.x[i] == x)
        assert all(0 < y < 1 for y in ys)
        assert all((b - a) * plot >= trace.node.pad for a, b in itertools.pairwise(ys))
    assert trace.node.pad >= 2 * 14


def test_the_chart_grows_with_its_busiest_column() -> None:
    small, _ = sankey_trace({**dict.fromkeys(STAGES, 1), "consideration": 2})
    large, _ = sankey_trace({**dict.fromkeys(STAGES, 1), "consideration": 9})
    assert large.layout.height > small.layout.height + 300
    heads = [a.text for a in large.layout.annotations]
    assert heads == ["<b>Awareness</b>", "<b>Consideration</b>", "<b>Decision</b>",
                     "<b>Implementation</b>"]


def test_short_labels_are_escaped_after_cutting() -> None:
    assert charts.short("<b>Onboarding & training</b> for every new user", 16) == \
        "&lt;b&gt;Onboarding &amp;<br>training&lt;/b&gt;…"
