"""The report on real data: the Olist marketing funnel (../shared/data), imported with the
shipped mapping and measured against the example map in examples/olist/, as docs/report.md
says to."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.model.files import load_map
from journeyscope.report.chromium import console_errors
from journeyscope.report.summary import executive_summary

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "examples" / "olist" / "map.yaml"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def olist(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = shared_data / "olist_marketing_funnel"
    out = tmp_path_factory.mktemp("olist")
    workspace = out / "olist.duckdb"
    runner = CliRunner()
    imported = runner.invoke(app, ["import", *map(str, sorted(folder.glob("*.csv"))),
                                   "--mapping", "olist", "--workspace", str(workspace),
                                   "--map", str(MAP)])
    assert imported.exit_code == 0, imported.output
    report = out / "olist.html"
    made = runner.invoke(app, ["report", str(MAP), "--workspace", str(workspace), "-o",
                               str(report), "--max-segments", "2", "--quiet"])
    assert made.exit_code == 0, made.output
    html = report.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="rp-data">(.*?)</script>', html, re.DOTALL).group(1))
    return {"html": html, "data": data, "folder": folder, "workspace": workspace}


def test_olist_funnel_counts_equal_the_csv_files(olist: dict) -> None:
    leads = _rows(olist["folder"] / "olist_marketing_qualified_leads_dataset.csv")
    deals = _rows(olist["folder"] / "olist_closed_deals_dataset.csv")
    won = {d["mql_id"] for d in deals} & {lead["mql_id"] for lead in leads}
    funnel = olist["data"]["views"][""]["charts"]["funnel"]["data"][0]["x"]
    assert funnel == [len({lead["mql_id"] for lead in leads}), len(won)]
    paid = sum(1 for lead in leads if lead["origin"] == "paid_search")
    card = dict((label, value) for label, value, _ in
                olist["data"]["views"][""]["figures"]["paid-search"])
    assert card["reach"].startswith(f"{paid:,} accounts")


def test_olist_summary_tells_the_funnel_in_words(olist: dict) -> None:
    from journeyscope.analytics.analyze import analyze

    journey_map = load_map(MAP)
    result = analyze(journey_map, olist["workspace"]).to_dict()
    findings = {f.key: f for f in executive_summary(result, journey_map)}
    lost = 8000 - 842
    assert findings["drop_off"].sentence == (
        f"{lost:,} of the 8,000 accounts that reached Marketing-qualified lead never reached "
        f"Closed deal ({lost / 8000:.0%}): the biggest loss between two stages.")
    for f in findings.values():
        assert f.sentence in olist["html"] or f.sentence.replace("'", "&#39;") in olist["html"]
    assert "A segment is known for" in olist["html"]  # lead types exist for closed deals only


@pytest.mark.browser
def test_olist_report_loads_without_errors(olist: dict, chromium_path: str) -> None:
    assert console_errors(olist["html"]) == []
