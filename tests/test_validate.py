"""Validation: located errors for broken references, warnings for the domain's pitfalls."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from journeyscope.model.validate import validate

TODAY = dt.date(2026, 11, 27)

GOOD = """\
name: Small
review: {owner: cx, every_days: 90, last_reviewed: 2026-11-01}
stages:
  - {id: awareness, name: Awareness}
  - {id: decision, name: Decision}
  - {id: support, name: Support}
personas:
  - {id: cio, name: CIO}
  - {id: user, name: End user}
touchpoints:
  - id: webinar
    stage: awareness
    name: Webinar
    owner: marketing
    personas: [cio]
    emotion: {cio: 1}
    next: [demo]
  - id: demo
    stage: decision
    name: Demo
    owner: sales
    personas: [cio, user]
    next: [ticket]
  - id: ticket
    stage: support
    name: Ticket
    owner: support
    personas: [user]
"""


def _write(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _codes(result) -> list[tuple[str, str, int | None]]:  # type: ignore[no-untyped-def]
    return [(i.severity, i.code, i.line) for i in result.issues]


def test_a_sound_map_has_no_issues(tmp_path: Path) -> None:
    result = validate(_write(tmp_path, GOOD), today=TODAY)
    assert result.ok and result.issues == []


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("stage: decision\n", "stage: decisoin\n", "unknown-stage", 19),
        ("personas: [cio, user]", "personas: [cio, cfo]", "unknown-persona", 22),
        ("emotion: {cio: 1}", "emotion: {cio: 3}", "emotion-range", 16),
        ("emotion: {cio: 1}", "emotion: {ceo: 1}", "unknown-persona", 16),
        ("next: [demo]", "next: [dmeo]", "dangling-link", 17),
        ("  - {id: support, name: Support}", "  - {id: awareness, name: Support}",
         "duplicate-id", 6),
        ("name: Ticket\n", "name: Ticket\n    time_standard: 3 days\n", "schema", 27),
        ("name: Ticket\n", "name: Ticket\n    match: {regex: '(unclosed'}\n", "schema", 27),
    ],
)
def test_broken_reference_is_an_error_with_its_line(
    tmp_path: Path, old: str, new: str, code: str, line: int
) -> None:
    assert old in GOOD
    result = validate(_write(tmp_path, GOOD.replace(old, new, 1)), today=TODAY)
    assert not result.ok
    error = result.errors[0]
    assert (error.code, error.line) == (code, line), str(error)
    assert error.file and error.file.endswith("map.yaml") and error.column is not None


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("    owner: support\n", "", "no-owner"),
        ("  - {id: support, name: Support}\n", "  - {id: support, name: Support}\n"
         "  - {id: referral, name: Referral}\n", "empty-stage"),
        ("  - {id: user, name: End user}\n",
         "  - {id: user, name: End user}\n  - {id: cfo, name: CFO}\n", "persona-not-involved"),
        ("last_reviewed: 2026-11-01", "last_reviewed: 2026-01-01", "review-overdue"),
        ("name: Ticket\n", "name: Ticket\n    pain_points: [Slow answers]\n",
         "pain-without-opportunity"),
    ],
)
def test_domain_pitfall_is_a_warning(tmp_path: Path, old: str, new: str, code: str) -> None:
    assert old in GOOD
    result = validate(_write(tmp_path, GOOD.replace(old, new, 1)), today=TODAY)
    assert result.ok
    assert code in [w.code for w in result.warnings]


def test_handover_without_owner_on_one_side_is_a_warning(tmp_path: Path) -> None:
    text = GOOD.replace("    owner: support\n", "")
    result = validate(_write(tmp_path, text), today=TODAY)
    handover = [w for w in result.warnings if w.code == "handover-without-owner"]
    assert len(handover) == 1
    assert "'demo' to 'ticket'" in handover[0].message and handover[0].line == 23


def test_a_map_without_post_purchase_stages_is_warned(tmp_path: Path) -> None:
    text = GOOD.replace("{id: support, name: Support}", "{id: contract, name: Contract}")
    text = text.replace("stage: support", "stage: contract")
    result = validate(_write(tmp_path, text), today=TODAY)
    assert "no-post-purchase" in [w.code for w in result.warnings]


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("    owner: support\n", ""))
    assert validate(path, today=TODAY).ok
    strict = validate(path, strict=True, today=TODAY)
    assert not strict.ok and {e.code for e in strict.errors} >= {"no-owner"}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("stage: decision\n", "stage: nowhere\n")
    text = text.replace("next: [demo]", "next: [x]")
    result = validate(_write(tmp_path, text), today=TODAY)
    assert {"unknown-stage", "dangling-link"} <= {e.code for e in result.errors}


def test_validating_a_map_object_needs_no_file() -> None:
    from journeyscope.model.files import build_map, parse_text

    m = build_map(*parse_text(GOOD.replace("emotion: {cio: 1}", "emotion: {cio: -3}")))
    result = validate(m, today=TODAY)
    assert [e.code for e in result.errors] == ["emotion-range"]


def test_unparseable_file_gives_its_syntax_error_as_a_result(tmp_path: Path) -> None:
    result = validate(_write(tmp_path, "name: [unclosed\n"), today=TODAY)
    assert not result.ok and result.errors[0].code == "syntax"


def test_result_serialises_to_json(tmp_path: Path) -> None:
    import json

    result = validate(_write(tmp_path, GOOD.replace("next: [demo]", "next: [x]")), today=TODAY)
    data = json.loads(result.to_json())
    assert data["ok"] is False and data["issues"][0]["code"] == "dangling-link"
    assert data["issues"][0]["path"] == ["touchpoints", 0, "next", 0]


def test_load_valid_map_stops_on_errors_but_not_on_warnings(tmp_path: Path) -> None:
    from journeyscope.model.issues import MapError
    from journeyscope.model.validate import load_valid_map

    warned = _write(tmp_path, GOOD.replace("    owner: support\n", ""), "warned.yaml")
    assert [t.id for t in load_valid_map(warned).touchpoints] == ["webinar", "demo", "ticket"]
    broken = _write(tmp_path, GOOD.replace("next: [demo]", "next: [x]"), "broken.yaml")
    with pytest.raises(MapError) as caught:
        load_valid_map(broken, today=TODAY)
    assert [(i.code, i.line) for i in caught.value.issues] == [("dangling-link", 17)]
    assert str(caught.value).startswith(f"{broken}:17:")
