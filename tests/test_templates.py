"""The shipped map templates: each loads, round-trips, validates clean, and the b2b one holds
everything the domain expects of a B2B journey map."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from journeyscope.model.files import load_map, save_map
from journeyscope.model.templates import load_template, template_names, template_path
from journeyscope.model.types import Kind, Phase
from journeyscope.model.validate import validate

EXPECTED = {"b2b", "five-stage", "table", "empathy", "day-in-the-life", "blueprint"}
B2B_STAGES = ["awareness", "consideration", "decision", "implementation", "support", "renewal",
              "cessation"]
B2B_OWNERS = {"marketing", "sales-development", "sales", "onboarding", "customer-success",
              "support"}
B2B_ROLES = {"economic-buyer", "decision-maker", "procurement", "technical-evaluator",
             "end-user", "executive-sponsor"}


def test_every_expected_template_is_shipped():
    assert set(template_names()) >= EXPECTED
    assert template_names()[0] == "b2b"


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_template_round_trips_through_yaml_and_json(name, suffix, tmp_path):
    original = load_template(name)
    path = save_map(original, tmp_path / f"{name}{suffix}")
    again = load_map(path)
    assert again == original
    # and a second save gives the same text: nothing is lost or reordered on the way
    second = save_map(again, tmp_path / f"again{suffix}")
    assert second.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_validates_without_errors_or_warnings(name):
    result = validate(template_path(name))
    assert [str(i) for i in result.issues] == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_references_resolve(name):
    """The checks validate() makes, done independently: every id a template refers to exists."""
    m = load_template(name)
    stages, personas = set(m.stage_ids()), {p.id for p in m.personas}
    touchpoints = {t.id for t in m.touchpoints}
    assert len(stages) == len(m.stages) and len(personas) == len(m.personas)
    assert len(touchpoints) == len(m.touchpoints)
    for t in m.touchpoints:
        assert t.stage in stages, t.id
        assert set(t.personas) <= personas, t.id
        assert set(t.emotion) <= personas, t.id
        assert all(-2 <= v <= 2 for v in t.emotion.values()), t.id
        assert all(link.to in touchpoints for link in t.next), t.id
        assert t.owner, f"{t.id} has no owner"
        pains = {p.id for p in t.pain_points}
        answered = {ref for o in t.opportunities for ref in o.addresses}
        assert answered <= pains, t.id
        assert pains <= answered, f"{t.id}: a pain point has no opportunity"
    for s in m.stages:
        pains = {p.id for p in s.pain_points}
        assert pains <= {ref for o in s.opportunities for ref in o.addresses}, s.id
    for entry in m.empathy:
        assert entry.persona in personas and (entry.stage is None or entry.stage in stages)
    for lane in m.backstage:
        for item in lane.items:
            assert item.stage in stages and set(item.touchpoints) <= touchpoints


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_has_description_review_cadence_and_involved_personas(name):
    m = load_template(name)
    assert m.description and "\n" not in m.description.strip()
    assert m.review.owner and m.review.every_days
    # a fixed review date in a template would make it overdue one day; init stamps today
    assert m.review.last_reviewed is None
    involved = {p for t in m.touchpoints for p in t.personas}
    assert {p.id for p in m.personas} <= involved
    if m.kind in (Kind.journey, Kind.blueprint, Kind.day_in_the_life):
        assert any(s.effective_phase() is Phase.post_purchase for s in m.stages)


def test_template_kinds_match_their_names():
    assert load_template("empathy").kind is Kind.empathy
    assert load_template("day-in-the-life").kind is Kind.day_in_the_life
    assert load_template("blueprint").kind is Kind.blueprint
    assert load_template("b2b").kind is Kind.journey


def test_empathy_template_covers_says_thinks_does_feels_for_every_persona():
    m = load_template("empathy")
    for persona in m.personas:
        entries = [e for e in m.empathy if e.persona == persona.id]
        assert entries, persona.id
        for part in ("says", "thinks", "does", "feels"):
            assert any(getattr(e, part) for e in entries), (persona.id, part)


def test_blueprint_template_has_backstage_lanes_with_items():
    m = load_template("blueprint")
    assert len(m.backstage) >= 3
    assert all(lane.items for lane in m.backstage)


def test_day_in_the_life_template_follows_one_persona():
    m = load_template("day-in-the-life")
    assert len(m.personas) == 1
    assert len(m.stages) >= 4


def test_table_template_is_the_seed_table():
    m = load_template("table")
    assert [s.name for s in m.stages] == [
        "Awareness", "Consideration", "Decision", "Purchase", "Post-Purchase"]
    for s in m.stages:
        assert s.customer_actions and s.needs and s.pain_points and s.opportunities, s.id
        assert m.touchpoints_in(s.id), s.id


def test_five_stage_template_stages():
    assert load_template("five-stage").stage_ids() == [
        "awareness", "consideration", "decision", "retention", "loyalty"]


# --- b2b -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def b2b():
    return load_template("b2b")


def test_b2b_has_the_seven_stages_with_standards_and_phases(b2b):
    assert b2b.stage_ids() == B2B_STAGES
    for s in b2b.stages:
        assert s.description and s.exit_criteria and s.time_standard and s.phase, s.id
    assert [s.effective_phase() for s in b2b.stages][3:] == [Phase.post_purchase] * 4


def test_b2b_every_stage_has_touchpoints_and_main_channels(b2b):
    for stage in B2B_STAGES:
        tps = b2b.touchpoints_in(stage)
        assert len(tps) >= 2, stage
        for t in tps:
            assert t.channels and t.main_channel in t.channels, t.id


def test_b2b_buying_committee_has_six_roles_with_full_profiles(b2b):
    assert len(b2b.personas) >= 6
    assert {p.role for p in b2b.personas} >= B2B_ROLES
    assert abs(sum(p.influence for p in b2b.personas) - 1.0) < 1e-9
    for p in b2b.personas:
        for field in ("goals", "motivations", "pain_points", "decision_criteria", "demographics",
                      "psychographics", "behaviours", "preferred_channels",
                      "information_formats", "titles"):
            assert getattr(p, field), (p.id, field)
        assert p.needs.functional and p.needs.emotional, p.id


def test_b2b_owners_and_handovers_along_the_sales_to_success_chain(b2b):
    assert set(b2b.owners()) == B2B_OWNERS
    pairs = {(h.from_owner, h.to_owner) for h in b2b.handovers()}
    for pair in [("sales-development", "sales"), ("sales", "onboarding"),
                 ("onboarding", "customer-success"), ("marketing", "sales-development")]:
        assert pair in pairs
    timed = [h for h in b2b.handovers() if h.time_standard]
    assert len(timed) >= 3


def test_b2b_emotion_per_persona_dips_in_implementation(b2b):
    by_stage: dict[str, list[int]] = defaultdict(list)
    for t in b2b.touchpoints:
        assert t.emotion and set(t.emotion) == set(t.personas), t.id
        by_stage[t.stage].extend(t.emotion.values())
    mean = {s: sum(v) / len(v) for s, v in by_stage.items()}
    assert mean["implementation"] == min(mean[s] for s in B2B_STAGES[:6])
    assert mean["implementation"] < 0 < mean["consideration"]
    end_user = [t.emotion["end-user"] for t in b2b.touchpoints if "end-user" in t.emotion]
    assert min(end_user) == -2


def test_b2b_touchpoints_carry_the_full_set_of_elements(b2b):
    measures = set()
    for t in b2b.touchpoints:
        assert t.customer_actions and t.needs and t.pain_points and t.opportunities, t.id
        assert t.kpis and t.match and t.information, t.id
        assert all(i.format and i.audience for i in t.information), t.id
        for k in t.kpis:
            assert k.unit and k.target is not None and k.measure, (t.id, k.name)
            measures.add(k.measure)
    assert {"reach", "conversion", "csat", "nps", "win_rate", "handover_gap"} <= measures
    assert sum(t.moment_of_truth for t in b2b.touchpoints) >= 5
    assert {i.delivery for t in b2b.touchpoints for i in t.information} == {
        "proactive", "on-request"}
    assert {t.evidence.value for t in b2b.touchpoints} == {"assumption", "research", "data"}


def test_b2b_outcomes_are_declared_as_match_rules(b2b):
    for name, rules in b2b.outcomes.items():
        assert rules and rules[0].activity, name


def test_b2b_match_rules_name_each_activity_once(b2b):
    seen: dict[str, str] = {}
    for t in b2b.touchpoints:
        for rule in t.match:
            for activity in rule.activity:
                assert activity not in seen, f"{activity} in {seen.get(activity)} and {t.id}"
                seen[activity] = t.id
    for name, rules in b2b.outcomes.items():
        for rule in rules:
            for activity in rule.activity:
                assert activity not in seen, activity
                seen[activity] = name


@pytest.mark.parametrize("title, persona", [
    ("CFO", "economic-buyer"), ("VP Finance", "economic-buyer"),
    ("Head of Sales Operations", "champion"), ("RevOps Manager", "champion"),
    ("Purchasing Manager", "procurement"), ("IT Director", "technical-evaluator"),
    ("Senior Account Executive", "end-user"), ("Customer Support Specialist", "end-user"),
    ("Chief Revenue Officer", "executive-sponsor"), ("President", "executive-sponsor"),
    ("Executive Assistant", None), ("Office Manager", None),
])
def test_b2b_title_rules_assign_exactly_one_persona(b2b, title, persona):
    hits = [p.id for p in b2b.personas if any(re.search(rx, title) for rx in p.titles)]
    assert hits == ([persona] if persona else [])
