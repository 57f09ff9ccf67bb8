"""`journeyscope report` and `journeyscope demo`: exit codes and what they print."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.model.files import save_map
from journeyscope.report.analysis_report import write_report
from journeyscope.report.render import OutputError

runner = CliRunner()


def test_report_command_writes_the_page_and_says_how_to_open_it(demo, tmp_path: Path) -> None:  # noqa: ANN001
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(map_file), "--workspace", str(demo.workspace),
                                 "-o", str(out), "--max-segments", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert f"open it in a browser: {out.resolve().as_uri()}" in result.output
    data = re.search(r'id="rp-data">(.*?)</script>', out.read_text(encoding="utf-8"), re.DOTALL)
    assert data and len(json.loads(data.group(1))["order"]) == 2


def test_report_command_names_the_segments_when_one_is_unknown(demo, tmp_path: Path) -> None:  # noqa: ANN001
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 str(tmp_path / "r.html"), "--segment", "nope", "--quiet"])
    assert result.exit_code == 2
    assert "error: --segment 'nope': no account has it; the segments are: enterprise, " \
           "mid-market, smb" in result.output
    assert "Traceback" not in result.output


def test_report_command_stops_on_a_touchpoint_in_an_unknown_stage_as_validate_does(
        demo, tmp_path: Path) -> None:  # noqa: ANN001
    map_file = tmp_path / "bad_stage.yaml"
    save_map(demo.map, map_file)
    text = map_file.read_text()
    at = text.index("- id: website\n  stage: consideration\n")
    map_file.write_text(text[:at] + text[at:].replace("stage: consideration", "stage: trial", 1))
    line = text[:at].count("\n") + 2
    checked = runner.invoke(app, ["validate", str(map_file)])
    assert checked.exit_code == 2
    error = f"{map_file}:{line}:3: error: touchpoint 'website' is in unknown stage 'trial'"
    assert error in checked.output
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert error in result.output and "[unknown-stage]" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_report_command_refuses_a_format_it_cannot_write(demo, tmp_path: Path) -> None:  # noqa: ANN001
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 str(tmp_path / "r.xlsx")])
    assert result.exit_code == 1
    assert "name it .html or .pdf" in result.output


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_report_command_into_a_missing_folder_says_to_create_it_first(
        demo, tmp_path: Path, kind: str) -> None:  # noqa: ANN001
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    folder = tmp_path / "nowhere" / "reports"
    out = folder / f"r.{kind}"
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert (f"error: cannot write {out}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder})") in result.output
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_report_command_into_a_folder_that_takes_no_files_fails(demo, tmp_path: Path) -> None:  # noqa: ANN001
    # /proc takes no new file, even from root, whom os.access lets write anywhere.
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 "/proc/r.html", "--quiet"])
    assert result.exit_code == 2, result.output
    assert "error: cannot write /proc/r.html: the folder /proc takes no new file (" \
        in result.output


@pytest.mark.parametrize("where", ["nowhere/r.html", "/proc/r.html"])
def test_a_bad_output_location_is_said_before_the_analysis_runs(
        demo, tmp_path: Path, where: str) -> None:  # noqa: ANN001
    steps: list[str] = []
    with pytest.raises(OutputError, match="cannot write"):
        write_report(demo.map, demo.workspace, tmp_path / where,
                     progress=lambda label, done, total: steps.append(label))
    assert steps == []


def test_pdf_without_chromium_says_what_to_install_before_analysing(
        demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    map_file = tmp_path / "map.yaml"
    save_map(demo.map, map_file)
    monkeypatch.setenv("JOURNEYSCOPE_CHROMIUM", str(tmp_path / "no-chromium"))
    result = runner.invoke(app, ["report", str(map_file), "-w", str(demo.workspace), "-o",
                                 str(tmp_path / "r.pdf"), "--quiet"])
    assert result.exit_code == 3
    assert "Chromium is needed" in result.output and "apt-get install chromium" in result.output
    assert not (tmp_path / "r.pdf").exists()


def test_report_command_reports_a_missing_workspace(tmp_path: Path) -> None:
    map_file = tmp_path / "map.yaml"
    assert runner.invoke(app, ["init", "Demo", "-o", str(map_file)]).exit_code == 0
    result = runner.invoke(app, ["report", str(map_file), "-w", str(tmp_path / "none.duckdb"),
                                 "-o", str(tmp_path / "r.html"), "--quiet"])
    assert result.exit_code != 0
    assert "no such workspace file" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_demo_command_writes_everything_and_prints_where(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "-o", str(folder), "--accounts", "300", "--seed", "4",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("map.yaml", "workspace.duckdb", "report.html", "data/TRUTH.json"):
        assert (folder / name).is_file(), name
    assert "of 300 accounts" in result.output
    assert f"report:    {folder / 'report.html'}" in result.output
    assert (folder / "report.html").resolve().as_uri() in result.output
    again = runner.invoke(app, ["demo", "-o", str(folder), "--accounts", "200", "--quiet"])
    assert again.exit_code == 0, again.output
    page = (folder / "report.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="rp-data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["views"][""]["accounts"] == 200  # the earlier demo's workspace was replaced


def test_demo_command_refuses_a_file_as_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("mine")
    result = runner.invoke(app, ["demo", "-o", str(target), "--quiet"])
    assert result.exit_code == 2
    assert "is a file; give a folder for the demo" in result.output
    assert target.read_text() == "mine"
