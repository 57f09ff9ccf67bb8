"""`journeyscope analyze`: exit codes, the summary it prints, the JSON it writes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.model.templates import template_path

B2B = str(template_path("b2b"))


def test_analyze_prints_the_top_pain_points_and_writes_json(demo_workspace, tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(app, ["analyze", B2B, "--workspace", str(demo_workspace),
                                      "--segment", "enterprise", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "analysed" in result.output and "accounts on duckdb" in result.output
    assert "pain point 1: Data migration and configuration (implementation)" in result.output
    data = json.loads(out.read_text())
    assert data["meta"]["filters"]["segment"] == "enterprise"
    assert data["tables"]["painpoints"][0]["touchpoint"] == "data-migration"
    assert f"wrote {len(data['tables'])} tables to {out}" in result.output


def test_analyze_of_an_unknown_segment_fails_without_a_traceback(demo_workspace):
    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(demo_workspace),
                                      "--segment", "galactic", "-q"])
    assert result.exit_code == 2
    assert "error: --segment 'galactic': no account has it" in result.output
    assert "Traceback" not in result.output


def test_analyze_of_a_missing_workspace_fails(tmp_path):
    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(tmp_path / "no.duckdb")])
    assert result.exit_code == 5
    assert "no such workspace file" in result.output


def test_analyze_rejects_an_unknown_engine(demo_workspace):
    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(demo_workspace),
                                      "--engine", "oracle"])
    assert result.exit_code == 3
    assert "unknown engine 'oracle': use one of duckdb, spark" in result.output


def test_analyze_of_a_broken_map_reports_the_map_error(demo_workspace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("journeyscope: 1\nname: x\nstages: [{id: a}]\n")
    result = CliRunner().invoke(app, ["analyze", str(bad), "-w", str(demo_workspace)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output


def test_analyze_of_one_account_says_it_in_the_singular(tmp_path):
    events = tmp_path / "one.csv"
    events.write_text("account_id,ts,activity\nA,2024-01-01,website visit\n")
    workspace = str(tmp_path / "ws.duckdb")
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(events), "--workspace", workspace, "--quiet"])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["analyze", B2B, "-w", workspace, "-o",
                                 str(tmp_path / "r.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "analysed 1 event of 1 account on duckdb" in result.output


def test_analyze_with_a_bad_memory_limit_names_the_setting_not_the_workspace(
        demo_workspace, monkeypatch):
    monkeypatch.setenv("JOURNEYSCOPE_ANALYSIS_MEMORY_LIMIT", "bogus")
    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(demo_workspace), "-q"])
    assert result.exit_code == 2
    assert result.output.startswith("error: JOURNEYSCOPE_ANALYSIS_MEMORY_LIMIT: 'bogus'")
    assert str(demo_workspace) not in result.output


def test_analyze_notes_events_out_of_journey_order_until_they_are_sorted(
        demo_workspace, tmp_path, monkeypatch):
    from journeyscope import cli

    from .conftest import shuffled_copy

    workspace = shuffled_copy(demo_workspace, tmp_path)
    monkeypatch.setattr(cli, "SORT_HINT_EVENTS", 1)  # the demo workspace is small
    note = "note: the events are not stored in journey order"

    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(workspace), "-o",
                                      str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert note in result.output and f"journeyscope workspace sort {workspace}" in result.output
    assert json.loads((tmp_path / "a.json").read_text())["meta"]["journey_order"] is False

    assert CliRunner().invoke(app, ["workspace", "sort", str(workspace)]).exit_code == 0
    result = CliRunner().invoke(app, ["analyze", B2B, "-w", str(workspace), "-o",
                                      str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    assert note not in result.output
    assert json.loads((tmp_path / "b.json").read_text())["meta"]["journey_order"] is True
    quiet = CliRunner().invoke(app, ["analyze", B2B, "-w", str(demo_workspace), "-q"])
    assert note not in quiet.output
