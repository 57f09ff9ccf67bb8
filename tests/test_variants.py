"""Variants (`extends`) and persona views."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from journeyscope.model.files import load_map
from journeyscope.model.issues import MapError
from journeyscope.model.validate import validate
from journeyscope.model.variants import persona_view, resolve

BASE = """\
name: Base
review: {owner: cx, every_days: 90, last_reviewed: 2026-11-01}
stages:
  - {id: awareness, name: Awareness}
  - {id: decision, name: Decision}
  - {id: support, name: Support}
personas:
  - {id: cio, name: CIO}
  - {id: user, name: End user}
touchpoints:
  - {id: webinar, stage: awareness, name: Webinar, owner: marketing, personas: [cio],
     emotion: {cio: 1}, next: [demo]}
  - {id: demo, stage: decision, name: Demo, owner: sales, personas: [cio], next: [ticket]}
  - {id: ticket, stage: support, name: Ticket, owner: support, personas: [user],
     emotion: {user: -1}}
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    return path


def _variant(tmp_path: Path, text: str, name: str = "variant.yaml") -> Path:
    path = tmp_path / "variants" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_variant_overrides_fields_and_adds_elements(base: Path, tmp_path: Path) -> None:
    path = _variant(tmp_path, """\
extends: ../base.yaml
name: Enterprise
segment: enterprise
touchpoints:
  - {id: demo, owner: solutions}
  - {id: poc, stage: decision, name: Proof of concept, owner: solutions, personas: [cio]}
""")
    m = resolve(path)
    assert m.name == "Enterprise" and m.segment == "enterprise" and m.extends is None
    demo = m.touchpoint("demo")
    assert demo is not None and demo.owner == "solutions" and demo.name == "Demo"
    assert [t.id for t in m.touchpoints] == ["webinar", "demo", "ticket", "poc"]
    assert load_map(path) == m  # loading a variant gives its effective map


def test_variant_removes_elements_and_a_removed_stage_takes_its_touchpoints(
    base: Path, tmp_path: Path
) -> None:
    path = _variant(tmp_path, """\
extends: ../base.yaml
remove: {stages: [support], personas: [user]}
touchpoints:
  - {id: demo, next: []}
""")
    m = resolve(path)
    assert m.stage_ids() == ["awareness", "decision"]
    assert [t.id for t in m.touchpoints] == ["webinar", "demo"]
    assert [p.id for p in m.personas] == ["cio"]


def test_removing_an_unknown_element_is_a_located_error(base: Path, tmp_path: Path) -> None:
    path = _variant(tmp_path, "extends: ../base.yaml\nremove: {touchpoints: [nope]}\n")
    with pytest.raises(MapError) as info:
        resolve(path)
    issue = info.value.issues[0]
    assert issue.file == str(path) and issue.line == 2 and "nope" in issue.message


def test_variants_chain_and_cycles_are_refused(base: Path, tmp_path: Path) -> None:
    mid = _variant(tmp_path, "extends: ../base.yaml\nsegment: mid-market\n", "mid.yaml")
    top = _variant(tmp_path, "extends: mid.yaml\naccount: ACME\n", "acme.yaml")
    m = resolve(top)
    assert (m.segment, m.account) == ("mid-market", "ACME")
    a = _variant(tmp_path, "extends: b.yaml\n", "a.yaml")
    _variant(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(MapError, match="cycle"):
        resolve(a)
    assert mid.exists()


def test_missing_base_is_a_located_error(tmp_path: Path) -> None:
    path = _variant(tmp_path, "name: x\nextends: ../missing.yaml\n")
    with pytest.raises(MapError) as info:
        resolve(path)
    assert info.value.issues[0].line == 2


def test_variant_errors_are_located_in_the_file_they_come_from(base: Path, tmp_path: Path) -> None:
    path = _variant(tmp_path, """\
extends: ../base.yaml
touchpoints:
  - {id: demo, emotion: {cio: 9}}
""")
    result = validate(path, today=dt.date(2026, 11, 27))
    error = result.errors[0]
    assert error.code == "emotion-range" and error.file == str(path) and error.line == 3
    # an element the variant did not touch is located in the base file
    broken = base.read_text().replace("next: [ticket]", "next: [gone]")
    base.write_text(broken)
    result = validate(path, today=dt.date(2026, 11, 27))
    dangling = [e for e in result.errors if e.code == "dangling-link"][0]
    assert dangling.file == str(base) and dangling.line == 13


def test_persona_view_keeps_what_the_persona_meets_and_bridges_links(base: Path) -> None:
    m = load_map(base)
    view = persona_view(m, "user")
    assert [t.id for t in view.touchpoints] == ["ticket"]
    cio = persona_view(m, "cio")
    assert [t.id for t in cio.touchpoints] == ["webinar", "demo"]
    assert [p.id for p in cio.personas] == ["cio"]
    # webinar -> demo -> ticket: ticket is not the CIO's, so demo's link goes nowhere
    assert cio.touchpoint("demo").next == []  # type: ignore[union-attr]


def test_persona_view_bridges_over_touchpoints_left_out(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(BASE.replace("personas: [cio], next: [ticket]", "personas: [], next: [ticket]")
                    .replace("personas: [user],", "personas: [user, cio],"))
    view = resolve(path, persona="cio")
    assert [t.id for t in view.touchpoints] == ["webinar", "ticket"]
    assert [link.to for link in view.touchpoint("webinar").next] == ["ticket"]  # type: ignore[union-attr]


def test_persona_view_variant_file(base: Path, tmp_path: Path) -> None:
    path = _variant(tmp_path, "extends: ../base.yaml\npersona_view: user\n")
    assert [t.id for t in resolve(path).touchpoints] == ["ticket"]
    with pytest.raises(MapError, match="no persona 'cfo'"):
        resolve(base, persona="cfo")
