"""The report page as written: one embedded view per segment whose figures and chart data
equal the analysis, nothing fetched from the network, user text escaped, clear errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from journeyscope.analytics.analyze import analyze
from journeyscope.analytics.base import AnalysisError
from journeyscope.model.types import JourneyMap
from journeyscope.report.analysis_report import ReportError, json_for_script, write_report
from journeyscope.report.report_data import CHARTS, View

HOSTILE = "<img src=x onerror=alert(1)>"  # as in conftest's hostile map


def page_data(html: str) -> dict[str, Any]:
    """The JSON the page's script reads."""
    match = re.search(r'<script type="application/json" id="rp-data">(.*?)</script>', html,
                      re.DOTALL)
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def test_one_view_per_segment_with_the_accounts_of_the_segment(demo, demo_views: list[View],
                                                               demo_html: str) -> None:  # noqa: ANN001
    data = page_data(demo_html)
    with duckdb.connect(str(demo.workspace), read_only=True) as con:
        sizes = dict(con.execute("SELECT segment, count(*) FROM accounts GROUP BY 1").fetchall())
    largest = sorted(sizes, key=lambda s: -sizes[s])[:2]
    assert data["order"] == ["", *largest]
    assert data["views"][""]["accounts"] == sum(sizes.values())
    for segment in largest:
        assert data["views"][segment]["accounts"] == sizes[segment]
        assert data["views"][segment]["figures"] != data["views"][""]["figures"]


def test_embedded_figures_and_charts_equal_an_independent_analysis(
        demo, demo_html: str) -> None:  # noqa: ANN001
    data = page_data(demo_html)
    segment = data["order"][1]
    fresh = analyze(demo.map, demo.workspace, segment=segment).to_dict()["tables"]
    view = data["views"][segment]
    funnel = view["charts"]["funnel"]["data"][0]
    assert funnel["x"] == [r["accounts"] for r in fresh["stages.funnel"]]
    stage = fresh["stages.funnel"][1]
    assert view["figures"][stage["stage"]][0][1].startswith(f"{stage['accounts']:,} (")
    pains = view["charts"]["painpoints"]["data"][0]
    top = [r for r in fresh["painpoints"] if r["revenue_at_risk"] > 0][:10]
    assert pains["x"] == [r["revenue_at_risk"] for r in reversed(top)]
    reach = {r["touchpoint"]: r["accounts"] for r in fresh["touchpoints.stats"]}
    for tid, figs in view["figures"].items():
        if tid in reach:
            assert figs[0][1].startswith(f"{reach[tid]:,} accounts")


def test_every_chart_has_data_or_a_reason(demo_html: str) -> None:
    data = page_data(demo_html)
    drawn = set(data["views"][""]["charts"])
    assert drawn >= {"funnel", "sankey", "time", "dfg", "attribution_touchpoint",
                     "attribution_channel", "handover_gaps", "committee_coverage",
                     "retention", "voice", "emotion", "painpoints", "win_lift"}
    assert data["charts"] == [c.id for c in CHARTS]
    for chart in CHARTS:
        assert f'id="chart-{chart.id}"' in demo_html


def test_the_page_fetches_nothing(demo_html: str) -> None:
    assert not re.search(r'<script[^>]+src=', demo_html)
    assert not re.search(r'<link[^>]+href="(?!data:)', demo_html)
    assert "* plotly.js v" in demo_html  # plotly.js itself is inline
    assert len(re.findall(r"<script>", demo_html)) == 3  # plotly.js, map, report


def test_script_json_cannot_close_the_script_element() -> None:
    text = json_for_script({"name": "</script><script>alert(1)</script>", "t": "a & b"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script>"


def test_user_text_is_escaped_everywhere(hostile: tuple[JourneyMap, str]) -> None:
    _, html = hostile
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    data = page_data(html)
    labels = json.dumps(data["views"][""]["charts"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in labels  # Plotly shows entities as text


def test_pain_point_figures_carry_thousands_separators() -> None:
    from journeyscope.report.analysis_report import report_html

    journey_map = JourneyMap.model_validate({
        "name": "Large", "stages": [{"id": "decision", "name": "Decision"}],
        "touchpoints": [{"id": "proposal", "stage": "decision", "name": "Proposal"}]})
    pain = {"rank": 1, "touchpoint": "proposal", "touchpoint_name": "Proposal",
            "stage": "decision", "revenue_at_risk": 1_234_567.0, "pipeline_at_risk": 23_456.0,
            "affected_accounts": 12_345, "accounts": 20_500, "delay": 12_345,
            "evidence": ["12345 of 20500 accounts (60%) over the time standard (median 1.5 "
                         "days at the touchpoint against 14)",
                         "1180 of 2400 accounts that gave feedback were negative"],
            "pain_points": [], "opportunities": []}
    view = View("", "All accounts", {"meta": {"accounts": 20_500},
                                     "tables": {"painpoints": [pain]}})
    html = report_html(journey_map, [view])
    table = re.search(r'<table class="rp-table rp-pains">.*?</table>', html, re.DOTALL)
    assert table is not None
    text = re.sub(r"<[^>]+>", " ", table.group())
    assert "12,345 of 20,500 accounts (60%) over the time standard (median 1.5 days" in text
    assert "1,180 of 2,400 accounts that gave feedback" in text
    assert "1.2 M" in text and "23,456 pipeline" in text
    assert re.search(r"12,345\s+of 20,500\s", text)  # accounts hurt
    assert not re.search(r"(?<![\d,.])\d{4,}", text), "a figure without separators"


def test_unknown_format_is_refused_before_any_analysis(demo, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(ReportError, match=r"name it \.html or \.pdf"):
        write_report(demo.map, demo.workspace, tmp_path / "report.docx")


def test_unknown_segment_says_which_segments_exist(demo, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(AnalysisError, match="no account has it; the segments are: "
                                            "enterprise, mid-market, smb"):
        write_report(demo.map, demo.workspace, tmp_path / "r.html", segment="galactic")
    assert not (tmp_path / "r.html").exists()


def test_a_filtered_report_has_no_switch_and_names_its_filters(demo, tmp_path: Path) -> None:  # noqa: ANN001
    out = write_report(demo.map, demo.workspace, tmp_path / "smb.html", segment="smb",
                       persona="end-user", since="2025-01-01", until="2025-12-31")
    html = out.read_text(encoding="utf-8")
    data = page_data(html)
    assert data["order"] == ["smb"]
    assert 'class="rp-seg' not in html
    for chip in ("<b>segment</b> smb", "<b>persona</b> end-user", "<b>since</b> 2025-01-01",
                 "<b>until</b> 2025-12-31"):
        assert chip in html
    assert ", 01 Jan 2025 to 31 Dec 2025." in facts_of(html)
    fresh = analyze(demo.map, demo.workspace, segment="smb", persona="end-user",
                    since="2025-01-01", until="2025-12-31")
    assert data["views"]["smb"]["accounts"] == fresh.meta["accounts"]
    # the map greys out what the end user never meets
    assert 'data-selected="end-user"' in html


def facts_of(html: str) -> str:
    """The line under the title: counts, and the period analysed."""
    match = re.search(r'<p class="rp-facts">\s*(.*?)\s*</p>', html, re.DOTALL)
    assert match, "the page has its facts line"
    return match.group(1)


def test_the_header_shows_the_period_analysed_not_the_data_span(demo, tmp_path: Path) -> None:  # noqa: ANN001
    from journeyscope.events.workspace import Workspace

    with Workspace.open(demo.workspace, read_only=True) as ws:
        info = ws.info()
    assert info.first_ts.year == 2024 and info.last_ts.year > 2025
    since = write_report(demo.map, demo.workspace, tmp_path / "since.html", segment="smb",
                         since="2025-01-01").read_text(encoding="utf-8")
    assert facts_of(since).endswith(f", 01 Jan 2025 to {info.last_ts:%d %b %Y}.")
    # a filter wider than the data: the data's own span
    wide = write_report(demo.map, demo.workspace, tmp_path / "wide.html", segment="smb",
                        since="2020-01-01", until="2030-12-31").read_text(encoding="utf-8")
    assert facts_of(wide).endswith(f", {info.first_ts:%d %b %Y} to {info.last_ts:%d %b %Y}.")


@pytest.mark.spark
@pytest.mark.slow
def test_the_report_on_spark_shows_the_figures_of_duckdb(demo, demo_views: list[View]) -> None:  # noqa: ANN001
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("JOURNEYSCOPE_CI") == "1":  # CI installs .[spark]: missing is a failure
            pytest.fail("PySpark is not installed")
        pytest.skip("PySpark is not installed (pip install -e .[spark])")
    from journeyscope.report.analysis_report import compute_views

    on_spark = compute_views(demo.map, demo.workspace, engine="spark", max_segments=0)[0]
    assert on_spark.result["meta"]["engine"] == "spark"
    assert on_spark.data(demo.map)["figures"] == demo_views[0].data(demo.map)["figures"]
