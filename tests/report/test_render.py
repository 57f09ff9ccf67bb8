"""`render` and `journeyscope render`: format by extension, variants resolved, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.report.render import OutputError, RenderError, format_for, render

runner = CliRunner()


@pytest.mark.parametrize(("name", "fmt"), [
    ("m.html", "html"), ("m.HTM", "html"), ("m.svg", "svg"), ("m.png", "png"),
    ("m.pdf", "pdf"), ("m.csv", "csv"), ("m.md", "md"), ("m.markdown", "md"),
    ("m.json", "json"),
])
def test_format_comes_from_the_extension(name: str, fmt: str) -> None:
    assert format_for(name) == fmt


def test_unknown_extension_or_format_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match="cannot tell the format of 'm.txt'"):
        format_for("m.txt")
    with pytest.raises(RenderError, match="unknown format 'docx'"):
        format_for("m.html", "docx")


def test_render_writes_each_text_format(rich_map_path: Path, tmp_path: Path) -> None:
    html = render(rich_map_path, tmp_path / "map.html")
    assert "Mid-market CRM buyers" in html.read_text()
    svg = render(rich_map_path, tmp_path / "map.svg")
    assert svg.read_text().startswith("<?xml")
    table = render(rich_map_path, tmp_path / "x.csv").read_text()
    assert len(list(csv.DictReader(table.splitlines()))) == 7
    md = render(rich_map_path, tmp_path / "map.txt", fmt="markdown")
    assert md.read_text().startswith("# Mid-market CRM buyers")
    data = json.loads(render(rich_map_path, tmp_path / "map.json").read_text())
    assert len(data["map"]["touchpoints"]) == 20


def test_a_variant_is_resolved_before_rendering(rich_map_path: Path, tmp_path: Path) -> None:
    variant = tmp_path / "enterprise.yaml"
    variant.write_text(
        "journeyscope: 1\n"
        f"extends: {rich_map_path}\n"
        "name: Enterprise CRM buyers\n"
        "touchpoints:\n"
        "  - {id: demo, owner: solutions consulting}\n"
        "  - {id: steering, stage: implementation, name: Steering committee, owner: onboarding,"
        " personas: [cio]}\n"
    )
    page = render(variant, tmp_path / "v.html").read_text()
    assert "Enterprise CRM buyers" in page and "Steering committee" in page
    assert "sales development to solutions consulting" in page


def test_table_formats_hold_the_persona_view(rich_map_path: Path, tmp_path: Path) -> None:
    data = json.loads(render(rich_map_path, tmp_path / "p.json", persona="procurement")
                      .read_text())
    assert [t["id"] for t in data["map"]["touchpoints"]] == ["proposal", "renewal-talk"]
    assert data["map"]["persona_view"] == "procurement"


def test_cli_render_writes_the_file_and_says_so(rich_map_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(out),
                                 "--persona", "cio"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (html, " in result.output
    assert '<option value="cio" selected>' in out.read_text()


def test_cli_render_with_explicit_format(rich_map_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "table.txt"
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("stage,customer actions,")


def test_cli_render_rejects_an_unknown_persona_as_bad_input_naming_the_personas(
        rich_map_path: Path, tmp_path: Path) -> None:
    # Exit 2 and the message of `analyze --persona` and `report --persona` for the same mistake.
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(tmp_path / "m.html"),
                                 "--persona", "cfo"])
    assert result.exit_code == 2
    assert ("error: --persona 'cfo': the map has no such persona; its personas are: cio, "
            "sales-director, ") in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.html").exists()


def test_cli_render_of_a_broken_map_gives_located_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nstages:\n  - {id: a, name: A, colour: red}\n")
    result = runner.invoke(app, ["render", str(broken), "-o", str(tmp_path / "m.html")])
    assert result.exit_code == 2
    assert f"{broken}:3:" in result.output and "unknown field 'colour'" in result.output


# Errors of `journeyscope validate`, each made in the rich map: the change, the line of the
# error and its code (renaming a touchpoint also leaves the links to it dangling).
BROKEN_REFERENCES = [
    ("    stage: consideration\n    name: Case studies", "    stage: trial\n    name: Case studies",
     87, "unknown-stage"),
    ("    next: [sdr-call, webinar]", "    next: [sdr-call, webinr]", 100, "dangling-link"),
    ("    personas: [cio, champion, it-manager]", "    personas: [cio, champion, cto]", 92,
     "unknown-persona"),
    ("  - id: content\n", "  - id: referral\n", 86, "duplicate-id"),
    ("    main_channel: web\n    owner: marketing", "    main_channel: phone\n    owner: marketing",
     90, "unknown-channel"),
    ("    emotion: {cio: 1, champion: 1, it-manager: 0}",
     "    emotion: {cio: 7, champion: 1, it-manager: 0}", 95, "emotion-range"),
]


@pytest.mark.parametrize(("old", "new", "line", "code"), BROKEN_REFERENCES,
                         ids=[case[-1] for case in BROKEN_REFERENCES])
def test_cli_render_stops_on_the_errors_validate_finds_with_their_location(
        rich_map_path: Path, tmp_path: Path, old: str, new: str, line: int, code: str) -> None:
    text = rich_map_path.read_text()
    assert text.count(old) == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new))
    checked = runner.invoke(app, ["validate", str(broken)])
    error = next(x for x in checked.output.splitlines() if x.endswith(f"[{code}]"))
    assert error.startswith(f"{broken}:{line}:") and ": error: " in error
    out = tmp_path / "m.html"
    result = runner.invoke(app, ["render", str(broken), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert error in result.output.splitlines()
    assert "Traceback" not in result.output
    assert not out.exists()


def test_render_of_a_map_file_with_a_touchpoint_in_an_unknown_stage_raises_map_error(
        rich_map_path: Path, tmp_path: Path) -> None:
    from journeyscope.model.issues import MapError

    broken = tmp_path / "broken.yaml"
    broken.write_text(rich_map_path.read_text().replace(*BROKEN_REFERENCES[0][:2]))
    with pytest.raises(MapError, match="unknown stage 'trial'") as caught:
        render(broken, tmp_path / "m.svg")
    assert [(i.line, i.code) for i in caught.value.issues] == [(87, "unknown-stage")]


def test_cli_render_draws_a_map_that_has_warnings_only(rich_map_path: Path,
                                                       tmp_path: Path) -> None:
    checked = runner.invoke(app, ["validate", str(rich_map_path)])
    assert checked.exit_code == 0 and ": warning: " in checked.output
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(tmp_path / "m.md")])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output and (tmp_path / "m.md").is_file()


def test_cli_render_of_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(tmp_path / "nope.yaml"), "-o",
                                 str(tmp_path / "m.html")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_library_render_is_the_same_function(rich_map_path: Path, tmp_path: Path) -> None:
    import journeyscope

    out = journeyscope.render(rich_map_path, tmp_path / "lib.md", persona="cio")
    assert out == tmp_path / "lib.md"
    assert "as cio meets it" in out.read_text()


def test_render_below_a_file_is_a_clear_error(rich_map_path: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        render(rich_map_path, blocker / "m.html")
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(blocker / "m.pdf")])
    assert result.exit_code == 2 and f"{blocker} is a file, not a folder" in result.output


def test_cli_render_into_a_missing_folder_says_to_create_it_first(rich_map_path: Path,
                                                                  tmp_path: Path) -> None:
    folder = tmp_path / "nowhere" / "maps"
    result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(folder / "m.html")])
    assert result.exit_code == 2, result.output
    assert (f"error: cannot write {folder / 'm.html'}: the folder {folder} does not exist; "
            f"create it first (mkdir -p {folder})") in result.output
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_cli_render_into_a_folder_that_takes_no_files_fails_before_drawing(
        rich_map_path: Path) -> None:
    # /proc takes no new file, even from root, whom os.access lets write anywhere.
    for name in ("m.html", "m.png"):
        result = runner.invoke(app, ["render", str(rich_map_path), "-o", f"/proc/{name}"])
        assert result.exit_code == 2, result.output
        assert f"error: cannot write /proc/{name}: the folder /proc takes no new file (" \
            in result.output
