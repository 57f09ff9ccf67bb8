"""The report in real headless Chromium: it loads without console errors, Plotly draws every
chart, the segment switch changes the figures and charts, the figures on the page equal the
analysis, HTML in user text stays text, and the PDF keeps charts whole on A3 landscape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.analysis_report import PRINT_WIDTH
from journeyscope.report.chromium import browser, console_errors, html_to_pdf
from journeyscope.report.report_data import View

HOSTILE = "<img src=x onerror=alert(1)>"
A3_PRINTABLE_HEIGHT = (297 - 16) / 25.4 * 96  # CSS px of one A3 landscape page, 8 mm margins

pytestmark = pytest.mark.browser


@pytest.fixture
def page_of(tmp_path: Path, chromium_path: str) -> Iterator[Any]:
    """Opens a report page in Chromium; records page errors and dialogs."""
    with browser() as instance:
        def open_page(html: str, width: int = 1600) -> Any:
            path = tmp_path / "report.html"
            path.write_text(html, encoding="utf-8")
            page = instance.new_page(viewport={"width": width, "height": 1000})
            page.errors, page.dialogs = [], []
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            return page

        yield open_page


def test_report_loads_without_console_errors_or_requests(demo_html: str,
                                                         chromium_path: str) -> None:
    assert console_errors(demo_html) == []


def test_plotly_draws_every_chart_of_the_view(demo_html: str, demo_views: list[View],
                                             page_of: Any) -> None:
    page = page_of(demo_html)
    charts = page.evaluate("Object.keys(window.journeyscopeReport.data.views[''].charts)")
    assert len(charts) >= 15
    for chart in charts:
        drawn = page.locator(f"#chart-{chart} svg.main-svg").count()
        assert drawn >= 1, f"chart {chart} was not drawn"
    empty = page.eval_on_selector_all(".rp-empty:not([hidden])", "els => els.length")
    assert empty == len(page.evaluate("window.journeyscopeReport.data.charts")) - len(charts)
    assert page.errors == []


def _stage_figures(page: Any, stage: str) -> list[str]:
    return page.eval_on_selector_all(f"#stage-{stage} dl.figs .fig",
                                     "els => els.map(e => e.textContent.trim())")


def test_figures_on_the_page_equal_the_analysis(demo_html: str, demo_views: list[View],
                                                page_of: Any) -> None:
    page = page_of(demo_html)
    tables = demo_views[0].result["tables"]
    for row in tables["stages.funnel"]:
        first = _stage_figures(page, row["stage"])[0]
        assert first == f"accounts{row['accounts']:,} ({fmt.pct(row['share'])})"
    for row in tables["touchpoints.stats"]:
        if row["accounts"]:
            reach = page.eval_on_selector(f"#tp-{row['touchpoint']} dl.figs dd",
                                          "e => e.textContent")
            assert reach.startswith(f"{row['accounts']:,} accounts")
    funnel_x = page.evaluate("document.getElementById('chart-funnel').data[0].x")
    assert funnel_x == [r["accounts"] for r in tables["stages.funnel"]]
    top = tables["painpoints"][0]
    first_finding = page.locator(".rp-view:not([hidden]) .finding p").first.text_content()
    assert f"{top['affected_accounts']:,} of {top['accounts']:,} accounts" in first_finding


def test_switching_a_segment_changes_the_figures_and_charts(demo_html: str,
                                                            demo_views: list[View],
                                                            page_of: Any) -> None:
    page = page_of(demo_html)
    segment = demo_views[1]
    before = _stage_figures(page, "consideration")
    funnel_before = page.evaluate("document.getElementById('chart-funnel').data[0].x")
    page.click(f'.rp-seg[data-view="{segment.key}"]')
    after = _stage_figures(page, "consideration")
    assert after != before
    row = next(r for r in segment.result["tables"]["stages.funnel"]
               if r["stage"] == "consideration")
    assert after[0] == f"accounts{row['accounts']:,} ({fmt.pct(row['share'])})"
    funnel_after = page.evaluate("document.getElementById('chart-funnel').data[0].x")
    assert funnel_after == [r["accounts"] for r in segment.result["tables"]["stages.funnel"]]
    assert funnel_after != funnel_before
    shown = page.eval_on_selector_all(".rp-view:not([hidden])",
                                      "els => [...new Set(els.map(e => e.dataset.view))]")
    assert shown == [segment.key]
    assert page.get_attribute(f'.rp-seg[data-view="{segment.key}"]', "aria-pressed") == "true"
    page.click('.rp-seg[data-view=""]')
    assert _stage_figures(page, "consideration") == before
    assert page.errors == []


def test_the_designed_lanes_are_one_click_away(demo_html: str, page_of: Any) -> None:
    page = page_of(demo_html)
    assert not page.locator('tr[data-lane="actions"]').is_visible()
    page.check("#rp-lanes")
    assert page.locator('tr[data-lane="actions"]').is_visible()


def test_html_in_user_text_shows_as_text(hostile: tuple[JourneyMap, str], page_of: Any) -> None:
    _, html = hostile
    page = page_of(html)
    assert page.eval_on_selector("#tp-data-migration h3", "e => e.textContent") == HOSTILE
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    ticks = page.eval_on_selector_all("#chart-painpoints .ytick text",
                                      "els => els.map(e => e.textContent)")
    assert any(HOSTILE in t for t in ticks)
    table = page.locator(".rp-view:not([hidden]) .rp-pains").text_content()
    assert f"Fix it {HOSTILE}" in table
    assert page.dialogs == [] and page.errors == []


def test_pdf_is_a3_landscape_with_charts_never_cut(demo_html: str, tmp_path: Path,
                                                   page_of: Any) -> None:
    out = html_to_pdf(demo_html, tmp_path / "report.pdf", width=PRINT_WIDTH)
    data = out.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 1190.5) < 2 and abs(float(h) - 841.9) < 2
                         for w, h in boxes)
    assert b"/Font" in data  # vector: text stays text
    page = page_of(demo_html, width=PRINT_WIDTH)
    page.emulate_media(media="print")
    blocks = page.eval_on_selector_all(
        ".rp-chart", "els => els.filter(e => e.offsetParent).map(e => "
        "[getComputedStyle(e).breakInside, e.getBoundingClientRect().height])")
    assert blocks
    for rule, height in blocks:
        assert rule == "avoid"
        assert height < A3_PRINTABLE_HEIGHT  # fits on a page, so avoiding a break can work


_SANKEY_GEOMETRY = """chart => {
  const box = e => {
    const b = e.getBoundingClientRect();
    return [b.left, b.top, b.right, b.bottom];
  };
  const nodes = [...chart.querySelectorAll('.sankey-node')]
    .filter(n => n.querySelector('.node-label').textContent);
  return {svg: box(chart.querySelector('svg.main-svg')),
          nodes: nodes.map(n => ({name: n.querySelector('.node-label').textContent,
                                  text: box(n.querySelector('.node-label')),
                                  rect: box(n.querySelector('.node-rect'))}))};
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _inside(a: list[float], frame: list[float]) -> bool:
    return (a[0] >= frame[0] - 1 and a[1] >= frame[1] - 1 and a[2] <= frame[2] + 1
            and a[3] <= frame[3] + 1)


@pytest.mark.parametrize("width", [1100, 1600])
def test_sankey_labels_never_overlap_and_stay_inside_the_chart(demo_html: str, page_of: Any,
                                                              width: int) -> None:
    page = page_of(demo_html, width)
    for chart in ("sankey", "sankey_touchpoints"):
        drawn = page.eval_on_selector(f"#chart-{chart}", _SANKEY_GEOMETRY)
        nodes = drawn["nodes"]
        assert len(nodes) >= 7
        for i, node in enumerate(nodes):
            assert _inside(node["text"], drawn["svg"]), f"{node['name']} is cut off"
            assert _inside(node["rect"], drawn["svg"]), f"the node of {node['name']} is cut off"
            for other in nodes[i + 1:]:
                assert not _overlap(node["text"], other["text"]), (node["name"], other["name"])
            for other in nodes:
                if other is not node:
                    assert not _overlap(node["text"], other["rect"]), (node["name"],
                                                                       other["name"])


def test_sankey_hover_names_a_cut_label_in_full(demo_html: str, demo: Any, page_of: Any) -> None:
    page = page_of(demo_html)
    chart = page.locator("#chart-sankey_touchpoints")
    chart.scroll_into_view_if_needed()
    cut = chart.locator(".sankey-node", has_text="…").first
    box = cut.locator(".node-rect").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = chart.locator(".hoverlayer").text_content()
    full = [t.name for t in demo.map.touchpoints if t.name in (hover or "")]
    assert full and len(full[0]) > len(cut.locator(".node-label").text_content() or "")
    assert "moves in" in hover
