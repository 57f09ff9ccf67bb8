"""The map commands: exit codes and output, and never a traceback on bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app

FULL = Path(__file__).parent / "data" / "maps" / "full.yaml"
runner = CliRunner()


def test_validate_clean_map_exits_zero() -> None:
    result = runner.invoke(app, ["validate", str(FULL)])
    assert result.exit_code == 0, result.output
    assert "valid, no issues" in result.output


def test_validate_broken_map_exits_two_with_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(FULL.read_text().replace("stage: support\n", "stage: suport\n"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "unknown stage 'suport'" in result.output
    assert "Traceback" not in result.output


def test_validate_refuses_a_touchpoint_with_two_owners(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(FULL.read_text().replace("    owner: marketing\n",
                                             "    owner: marketing\n    owner: sales\n", 1))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:64:5" in result.output
    assert "the key 'owner' appears twice; the first at line 63" in result.output


def test_validate_prints_a_location_like_an_emoji_code_as_written(tmp_path: Path) -> None:
    # Rich turns ':100:' into an emoji unless told not to: 'm.yaml💯22: error: ...'.
    path = tmp_path / "m.yaml"
    path.write_text("#\n" * 97 + "name: x\nstages:\n  - {id: a, name: A, colour: red}\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:100:" in result.output and "unknown field 'colour'" in result.output


def test_validate_json_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(FULL), "--json"])
    assert json.loads(result.output)["ok"] is True


def test_validate_strict_fails_on_warnings(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(FULL.read_text().replace("    owner: support\n", ""))
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    strict = runner.invoke(app, ["validate", str(path), "--strict"])
    assert strict.exit_code == 2 and "no-owner" in strict.output


@pytest.mark.parametrize(
    "content",
    [b"\x00\x01\x02binary", "name: caf\u00e9".encode("latin-1"), b"name: [", b"- a\n- b\n"],
    ids=["binary", "latin1", "syntax", "not-a-mapping"],
)
def test_commands_report_bad_files_without_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    commands = (["validate", str(path)], ["resolve", str(path)], ["diff", str(path), str(FULL)])
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "bad.yaml" in result.output and "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_analyze_stops_on_the_errors_validate_finds_before_opening_the_workspace(
        tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(FULL.read_text().replace("stage: support\n", "stage: suport\n"))
    checked = runner.invoke(app, ["validate", str(path)])
    errors = [x for x in checked.output.splitlines() if ": error: " in x]
    assert errors and all(x.startswith(f"{path}:") for x in errors)
    result = runner.invoke(app, ["analyze", str(path), "-w", str(tmp_path / "none.duckdb"),
                                 "--quiet"])
    assert result.exit_code == 2
    assert [x for x in result.output.splitlines() if ": error: " in x] == errors
    assert "unknown stage 'suport'" in result.output and "workspace" not in result.output


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_the_map_readable_by_others_as_open_would(tmp_path: Path,
                                                              umask_022: None) -> None:
    path = tmp_path / "map.yaml"
    result = runner.invoke(app, ["init", "Demo", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert mode_of(path) == 0o644  # 0666 less the umask, not the 0600 of a temporary file
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_init_force_keeps_the_mode_of_the_file_it_overwrites(tmp_path: Path,
                                                             umask_022: None) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    result = runner.invoke(app, ["init", "Demo", "-o", str(path), "--force"])
    assert result.exit_code == 0, result.output
    assert mode_of(path) == 0o640 and "name: Demo" in path.read_text()


def test_installed_command_reports_errors_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: [\n")
    proc = subprocess.run([sys.executable, "-m", "journeyscope.cli", "validate", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "invalid YAML" in proc.stderr


def test_resolve_prints_the_effective_map(tmp_path: Path) -> None:
    variant = tmp_path / "v.yaml"
    variant.write_text(f"extends: {FULL}\nsegment: enterprise\n")
    result = runner.invoke(app, ["resolve", str(variant), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["segment"] == "enterprise" and len(data["touchpoints"]) == 3
    view = runner.invoke(app, ["resolve", str(FULL), "--persona", "it-manager"])
    assert "persona_view: it-manager" in view.output and "id: contract" not in view.output


def test_diff_text_and_json(tmp_path: Path) -> None:
    future = tmp_path / "future.yaml"
    future.write_text(FULL.read_text().replace("emotion: {cio: -1}", "emotion: {cio: 1}"))
    text = runner.invoke(app, ["diff", str(FULL), str(future)])
    assert text.exit_code == 0 and "~ emotion contract / cio: -1 -> +1" in text.output
    data = json.loads(runner.invoke(app, ["diff", str(FULL), str(future), "--json"]).output)
    assert data["emotions"] == [{"touchpoint": "contract", "persona": "cio", "before": -1,
                                 "after": 1}]


def test_schema_is_a_json_schema_that_accepts_the_full_map() -> None:
    import jsonschema
    import yaml

    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.output)
    data = json.loads(json.dumps(yaml.safe_load(FULL.read_text()), default=str))
    jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "stages": [{"id": "a"}]}, schema)
