"""The HTML map: every stage and lane, the emotion curves, handovers, escaping, persona filter,
measures overlay and the fragment for the web editor."""

from __future__ import annotations

import gc
import html
import re

import pytest

from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import JourneyMap
from journeyscope.report.layout import Figure, build_view
from journeyscope.report.map_html import map_parts, print_zoom, render_map_html

LANES = ("actions", "needs", "touchpoints", "emotion", "pain_points", "opportunities",
         "information", "kpis")


def _card(page: str, tp_id: str) -> tuple[str, str]:
    """The class attribute and the markup of one touchpoint card."""
    found = re.search(rf'<article class="([^"]*)" id="tp-{tp_id}".*?</article>', page, re.S)
    assert found, tp_id
    return found.group(1), found.group(0)


def _text(page: str) -> str:
    """The page's text with tags removed and entities decoded, for phrase checks."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_page_is_self_contained(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    assert page.startswith("<!DOCTYPE html>")
    assert '<link rel="icon" href="data:,">' in page
    # No external fetch of any kind: no stylesheet, script or image from elsewhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page
    assert "<style>" in page and "<script>" in page


def test_page_shows_every_stage_with_exit_criteria_and_time(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    for stage in rich_map.stages:
        assert f'id="stage-{stage.id}"' in page
        assert html.escape(stage.name) in page
        assert html.escape(stage.exit_criteria) in page
    assert "9 months" in page and "45 days" in page


def test_page_has_every_lane_and_the_backstage_of_a_blueprint(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    for lane in LANES:
        assert f'data-lane="{lane}"' in page
    assert 'data-lane="backstage:crm"' in page and 'data-lane="backstage:people"' in page
    assert "line of visibility" in page
    assert "Lead scored and routed within 1 hour" in page


def test_every_touchpoint_is_a_card_with_owner_channel_and_kpi(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    assert page.count('<article class="tp') == len(rich_map.touchpoints)
    _, card = _card(page, "webinar")
    assert "Product webinar" in card and "marketing" in card and "video" in card
    assert "attendance rate ≥ 40%" in card
    _, demo = _card(page, "demo")
    assert 'class="star"' in demo  # a moment of truth
    assert 'class="ch main"' in demo and "ev-data" in demo


def test_emotion_curve_has_one_path_per_persona(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    curves = re.findall(r'<g class="curve[^"]*" data-persona="([^"]+)">\s*<path class="line" '
                        r'd="M[^"]+C', page)
    assert sorted(curves) == sorted(p.id for p in rich_map.personas)
    # the legend names every persona
    legend = page[page.index('<div class="legend">'):]
    for persona in rich_map.personas:
        assert html.escape(persona.name) in legend[:5000]


def test_handovers_are_labelled_owner_to_owner(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    text = _text(page)
    for handover in rich_map.handovers():
        assert handover.label in text
    assert "sales development to sales" in text
    assert page.count('class="link handover') == len(rich_map.handovers())


def test_user_text_is_escaped_everywhere(rich_map: JourneyMap) -> None:
    evil = "<script>alert(1)</script>"
    tps = [t.model_copy(update={"name": evil, "owner": evil + "team"})
           if t.id == "demo" else t for t in rich_map.touchpoints]
    stages = [s.model_copy(update={"exit_criteria": evil}) for s in rich_map.stages]
    hostile = rich_map.model_copy(update={"name": evil, "touchpoints": tps, "stages": stages})
    page = render_map_html(hostile)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # only the page's own filter script


def test_persona_option_greys_out_what_that_persona_never_meets(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map, persona="procurement")
    assert '<option value="procurement" selected>' in page
    dimmed = re.findall(r'<article class="tp[^"]*\bdim\b[^"]*" id="tp-([^"]+)"', page)
    met = {t.id for t in rich_map.touchpoints if "procurement" in t.personas}
    assert met == {"proposal", "renewal-talk"}
    assert set(dimmed) == {t.id for t in rich_map.touchpoints} - met
    assert re.search(r'class="curve faded" data-persona="cio"', page)
    assert re.search(r'class="curve" data-persona="procurement"', page)


def test_unfiltered_page_dims_nothing(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    assert not re.search(r'class="[^"]*\bdim\b', page)


def test_unknown_persona_is_a_clear_error(rich_map: JourneyMap) -> None:
    with pytest.raises(JourneyscopeError, match="'cfo': the map has no such persona.*cio, sales"):
        render_map_html(rich_map, persona="cfo")


def test_measures_lay_figures_on_cards_and_colour_them(rich_map: JourneyMap) -> None:
    measures = {
        "demo": [Figure("reach", "412 accounts", "good"), ("conversion", 0.384, "warn")],
        "security": [{"label": "median wait", "value": "14 days", "status": "bad"}],
        "decision": [("win rate", "27%", "warn")],
    }
    page = render_map_html(rich_map, measures=measures)
    cls, demo = _card(page, "demo")
    assert "status-warn" in cls  # the worst of good and warn
    assert "412 accounts" in demo and "0.38" in demo and "fig-good" in demo
    cls, security = _card(page, "security")
    assert "status-bad" in cls and "14 days" in security
    stage = re.search(r'<th class="([^"]*)" id="stage-decision".*?</th>', page, re.S)
    assert stage and "status-warn" in stage.group(1) and "27%" in stage.group(0)
    cls, webinar = _card(page, "webinar")
    assert "status-" not in cls and "fig" not in webinar


def test_measures_with_unknown_ids_or_status_are_rejected(rich_map: JourneyMap) -> None:
    with pytest.raises(JourneyscopeError, match="'nowhere'.*neither a touchpoint nor a stage"):
        render_map_html(rich_map, measures={"nowhere": [("reach", 1, "good")]})
    with pytest.raises(JourneyscopeError, match="status 'great'"):
        render_map_html(rich_map, measures={"demo": [("reach", 1, "great")]})


def test_fragment_has_markup_and_css_but_no_document(rich_map: JourneyMap) -> None:
    fragment = render_map_html(rich_map, fragment=True)
    assert "<html" not in fragment and "<!DOCTYPE" not in fragment and "<body" not in fragment
    assert fragment.startswith("<style>") and ".jsmap" in fragment
    assert 'class="jsmap' in fragment
    parts = map_parts(rich_map)
    assert parts.body in fragment and parts.css in fragment
    # the CSS is scoped to the map: every rule outside @page/@media starts with .jsmap
    rules = re.findall(r"^([^{}@/\s][^{]*)\{", parts.css, flags=re.M)
    assert rules and all(r.strip().startswith(".jsmap") for r in rules)


def test_page_prints_on_a3_landscape_without_cutting_cards(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    assert "@page { size: A3 landscape" in page
    assert "break-inside: avoid" in page
    zoom = print_zoom(rich_map)
    assert 0.5 < zoom < 1 and f"zoom: {zoom}" in page


def test_empathy_map_shows_the_four_quadrants_per_persona(rich_map: JourneyMap) -> None:
    page = render_map_html(rich_map)
    section = page[page.index("Empathy maps"):]
    for quadrant in ("says", "thinks", "does", "feels"):
        assert f"<h4>{quadrant}</h4>" in section
    assert "We need one source of truth" in section and "Migration will land on my desk" in section


def test_b2b_template_renders_all_seven_stages_and_handovers(b2b_map: JourneyMap) -> None:
    page = render_map_html(b2b_map)
    assert len(b2b_map.stages) == 7
    for stage in b2b_map.stages:
        assert f'id="stage-{stage.id}"' in page
    text = _text(page)
    assert b2b_map.handovers() and all(h.label in text for h in b2b_map.handovers())
    view = build_view(b2b_map)
    assert [la.key for la in view.lanes][:8] == list(LANES)


def test_a_render_leaves_almost_no_cyclic_garbage(b2b_map: JourneyMap) -> None:
    """The web editor redraws the grid after each save; what a render leaves in reference
    cycles waits for a full garbage collection (0.1-0.3 s in the server). Macros defined in
    map.html.j2 itself tied each render's context, with its view and map, in such a cycle
    (679 objects for the b2b map); imported from _macros.j2 they hold nothing of a render. The
    flowchart's recursive `visit` closure left 104 more, one per stage; it is a loop now, and a
    render leaves nothing for the collector."""
    render_map_html(b2b_map, fragment=True)  # templates compiled, caches filled
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        render_map_html(b2b_map, fragment=True)
        cyclic = gc.collect()
        kinds = {f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == 0, (cyclic, kinds)
    assert not {k for k in kinds if k.startswith(("jinja2.", "journeyscope."))}, kinds


def test_touchpoints_are_numbered_in_stage_order(rich_map: JourneyMap) -> None:
    view = build_view(rich_map)
    assert [tv.number for tv in view.touchpoints] == list(range(1, 21))
    stage_of = [tv.stage_index for tv in view.touchpoints]
    assert stage_of == sorted(stage_of)


def test_a_map_with_thousands_of_linked_touchpoints_renders() -> None:
    """A stage that is one long chain of cards (the layering hit Python's recursion limit)
    and a handover on every link (each label is checked against its neighbours only, not
    against every label placed so far)."""
    n = 3000
    big = JourneyMap.model_validate({
        "name": "long", "stages": [{"id": f"s{k}", "name": f"S{k}"} for k in range(3)],
        "touchpoints": [{"id": f"t{i}", "stage": f"s{i * 3 // n}", "name": f"T{i}",
                         "owner": f"team-{i % 2}", "next": [f"t{i + 1}"] if i < n - 1 else []}
                        for i in range(n)]})
    page = render_map_html(big)
    assert page.count("team-0 to team-1") + page.count("team-1 to team-0") >= n - 1
