"""The rendered map in real headless Chromium: no console errors, a working persona filter,
PNG and PDF output, and a clear message where Chromium is missing."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.errors import MissingDependencyError
from journeyscope.model.types import JourneyMap
from journeyscope.report.chromium import browser, console_errors
from journeyscope.report.map_html import render_map_html
from journeyscope.report.render import render


@pytest.mark.browser
def test_page_loads_without_console_errors_or_requests(rich_map: JourneyMap, b2b_map: JourneyMap,
                                                        chromium_path: str) -> None:
    assert console_errors(render_map_html(rich_map)) == []
    assert console_errors(render_map_html(b2b_map, persona=b2b_map.personas[0].id)) == []


@pytest.mark.browser
def test_persona_select_greys_out_what_the_persona_never_meets(
        rich_map: JourneyMap, tmp_path: Path, chromium_path: str) -> None:
    page_file = tmp_path / "map.html"
    page_file.write_text(render_map_html(rich_map), encoding="utf-8")
    errors: list[str] = []
    with browser() as instance:
        page = instance.new_page(viewport={"width": 1900, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        assert page.locator("article.tp.dim").count() == 0
        page.select_option(".jm-persona-select", "procurement")
        dimmed = page.eval_on_selector_all("article.tp.dim", "els => els.map(e => e.id)")
        assert sorted(dimmed) == sorted(f"tp-{t.id}" for t in rich_map.touchpoints
                                        if "procurement" not in t.personas)
        faded = page.eval_on_selector_all(".curve.faded", "els => els.length")
        assert faded == len(rich_map.personas) - 1
        opacity = page.eval_on_selector("#tp-demo", "e => getComputedStyle(e).opacity")
        assert float(opacity) < 0.5
        page.select_option(".jm-persona-select", "")
        assert page.locator(".dim").count() == 0
    assert errors == []


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.mark.browser
def test_png_is_a_full_page_screenshot(rich_map: JourneyMap, tmp_path: Path,
                                       chromium_path: str) -> None:
    out = render(rich_map, tmp_path / "map.png")
    width, height = _png_size(out)
    assert width >= 1800 and height > 2000  # the whole wall, not one screen
    assert out.stat().st_size > 200_000


@pytest.mark.browser
def test_pdf_is_vector_a3_landscape(rich_map: JourneyMap, tmp_path: Path,
                                    chromium_path: str) -> None:
    out = render(rich_map, tmp_path / "map.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 50_000
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 1190.5) < 2 and abs(float(h) - 841.9) < 2
                         for w, h in boxes)
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert 1 <= pages <= 6
    assert b"/Font" in data  # text stays text: a vector PDF, not a picture


@pytest.mark.browser
def test_cli_renders_png_and_pdf(rich_map_path: Path, tmp_path: Path, chromium_path: str) -> None:
    runner = CliRunner()
    for name in ("m.png", "m.pdf"):
        result = runner.invoke(app, ["render", str(rich_map_path), "-o", str(tmp_path / name),
                                     "--persona", "cio"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 50_000


def test_missing_chromium_names_the_setting_and_the_package(
        rich_map: JourneyMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYSCOPE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(MissingDependencyError) as caught:
        render(rich_map, tmp_path / "map.pdf")
    message = str(caught.value)
    assert "JOURNEYSCOPE_CHROMIUM" in message and "apt-get install chromium" in message
    assert str(tmp_path / "no-such-chromium") in message
    assert not (tmp_path / "map.pdf").exists()
    result = CliRunner().invoke(app, ["render", str(Path(__file__).parent / "rich_map.yaml"),
                                      "-o", str(tmp_path / "map.png")])
    assert result.exit_code == 3
    assert "JOURNEYSCOPE_CHROMIUM" in result.output and "Traceback" not in result.output
