"""`journeyscope match MAP --workspace W` and the CRM exports through `journeyscope import`."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from journeyscope.cli import app

CRM = Path(__file__).resolve().parent / "data" / "crm"
MAP = CRM / "crm-map.yaml"


def _import(workspace: Path, *sources: Path) -> None:
    result = CliRunner().invoke(app, ["import", *map(str, sources), "--workspace",
                                      str(workspace), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output


def test_crm_exports_import_by_the_documented_command_and_reimport_adds_nothing(tmp_path):
    workspace = tmp_path / "w.duckdb"
    _import(workspace, CRM / "hubspot", CRM / "salesforce")
    con = duckdb.connect(str(workspace), read_only=True)
    sources = dict(con.execute("SELECT source, count(*) FROM events GROUP BY 1").fetchall())
    con.close()
    # 133 HubSpot and 86 Salesforce events (tests/crm count them file by file), less the 4 and
    # 2 whose contact is at a free-mail address or unknown, skipped for want of an account.
    assert sources == {"hubspot": 129, "salesforce": 84}
    runner = CliRunner()
    again = runner.invoke(app, ["import", str(CRM / "hubspot"), str(CRM / "salesforce"),
                                "--workspace", str(workspace), "--skip-bad-rows"])
    assert again.exit_code == 0 and "213" in again.output  # all duplicates, none added


def test_match_prints_matched_share_and_unmatched_activities(tmp_path):
    workspace = tmp_path / "w.duckdb"
    _import(workspace, CRM / "hubspot")
    result = CliRunner().invoke(app, ["match", str(MAP), "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "matched 106 of 129 events (82.2%) to CRM journey" in result.output
    assert "102 to a touchpoint, 4 to an outcome" in result.output
    lines = [line for line in result.output.splitlines() if "deal_created" in line]
    assert lines and "10" in lines[0] and "hubspot" in lines[0]
    con = duckdb.connect(str(workspace), read_only=True)
    stored = con.execute("SELECT value FROM meta WHERE key = 'map_name'").fetchone()[0]
    assert stored == "CRM journey"
    assert con.execute("SELECT count(*) FROM events WHERE touchpoint = 'pipeline' AND stage = "
                       "'decision'").fetchone()[0] == 34
    con.close()


def test_match_lists_only_top_activities_and_says_how_many_more(tmp_path):
    workspace = tmp_path / "w.duckdb"
    _import(workspace, CRM / "hubspot")
    result = CliRunner().invoke(app, ["match", str(MAP), "--workspace", str(workspace),
                                      "--top", "1"])
    assert result.exit_code == 0
    assert "... and 3 more activities (13 events)" in result.output


def test_match_on_a_missing_workspace_fails_cleanly(tmp_path):
    result = CliRunner().invoke(app, ["match", str(MAP), "--workspace",
                                      str(tmp_path / "none.duckdb")])
    assert result.exit_code != 0
    assert "no such workspace" in result.output and "Traceback" not in result.output
