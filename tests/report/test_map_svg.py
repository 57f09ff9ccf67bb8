"""The standalone SVG: well-formed, real shapes and text (no HTML inside), escaped, filtered."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from journeyscope.model.types import JourneyMap
from journeyscope.report.map_svg import render_map_svg
from journeyscope.report.svgkit import smooth_path, text_width, wrap

SVG = "{http://www.w3.org/2000/svg}"


def test_svg_is_well_formed_and_has_no_foreign_object(rich_map: JourneyMap) -> None:
    text = render_map_svg(rich_map)
    root = ET.fromstring(text.encode())
    assert root.tag == f"{SVG}svg"
    assert not list(root.iter(f"{SVG}foreignObject"))
    assert "<div" not in text and "<span" not in text
    words = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    for stage in rich_map.stages:
        assert stage.name in words
    for tp in rich_map.touchpoints:
        assert tp.name.split()[0] in words
    assert "sales development to sales" in words
    assert "LINE OF VISIBILITY" in words


def test_svg_draws_one_curve_per_persona(rich_map: JourneyMap) -> None:
    text = render_map_svg(rich_map)
    curves = re.findall(r'<g class="curve[^"]*" data-persona="([^"]+)">', text)
    assert sorted(curves) == sorted(p.id for p in rich_map.personas)


def test_svg_escapes_user_text(rich_map: JourneyMap) -> None:
    evil = "<script>alert(1)</script> & \"quotes\""
    tps = [t.model_copy(update={"name": evil}) if t.id == "demo" else t
           for t in rich_map.touchpoints]
    text = render_map_svg(rich_map.model_copy(update={"name": evil, "touchpoints": tps}))
    assert "<script>" not in text
    ET.fromstring(text.encode())  # still well-formed


def test_svg_fades_what_a_persona_never_meets(rich_map: JourneyMap) -> None:
    plain = render_map_svg(rich_map)
    filtered = render_map_svg(rich_map, persona="procurement")
    assert plain.count('<g class="tp" opacity="0.25">') == 0
    assert filtered.count('<g class="tp" opacity="0.25">') == len(rich_map.touchpoints) - 2


def test_wrapping_keeps_lines_within_the_width() -> None:
    text = "Pre-filled trust portal with SOC 2 report and answers to common questionnaires"
    lines = wrap(text, 120, 11)
    assert len(lines) > 2
    assert all(text_width(line, 11) <= 120 for line in lines)
    assert " ".join(lines) == text
    assert wrap(text, 120, 11, max_lines=2)[-1].endswith("…")


def test_smooth_curve_passes_through_every_point() -> None:
    path = smooth_path([(0, 10), (50, 0), (100, 40)])
    assert path.startswith("M0.0,10.0") and "50.0,0.0" in path and path.endswith("100.0,40.0")
