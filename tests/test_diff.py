"""Diff of two maps: added, removed, changed, moved, emotions, links and handovers."""

from __future__ import annotations

import json
from pathlib import Path

from journeyscope.model.diff import diff
from journeyscope.model.files import load_map
from journeyscope.model.types import Link, State, Touchpoint

FULL = Path(__file__).parent / "data" / "maps" / "full.yaml"


def test_identical_maps_have_no_differences() -> None:
    m = load_map(FULL)
    result = diff(m, m)
    assert result.empty and "no differences" in result.to_text()


def test_current_to_future_state_lists_every_kind_of_change() -> None:
    current = load_map(FULL)
    future = current.model_copy(deep=True)
    future.state = State.current
    contract = future.touchpoint("contract")
    assert contract is not None
    contract.stage = "awareness"  # moved
    contract.owner = "marketing"  # now the same owner as the webinar: handover gone
    contract.emotion["cio"] = 2  # emotion change
    future.touchpoints = [t for t in future.touchpoints if t.id != "ticket"]
    contract.next = []
    future.touchpoints.append(Touchpoint(id="chat", stage="support", name="Live chat",
                                         owner="support"))
    future.touchpoint("webinar").next.append(Link(to="chat"))  # type: ignore[union-attr]
    future.stages[0].exit_criteria = "Need written down"
    future.personas = future.personas[:1]

    result = diff(current, future, "current.yaml", "future.yaml")
    assert result.touchpoints.added == ["chat"]
    assert result.touchpoints.removed == ["ticket"]
    assert [(m.touchpoint, m.from_stage, m.to_stage) for m in result.moved] == [
        ("contract", "decision", "awareness")]
    assert [(e.touchpoint, e.persona, e.before, e.after) for e in result.emotions] == [
        ("contract", "cio", -1, 2)]
    assert result.stages.changed["awareness"][0].field == "exit_criteria"
    assert result.personas.removed == ["it-manager"]
    assert [(h.source, h.target) for h in result.handovers_added] == [("webinar", "chat")]
    assert ("webinar", "contract") in [(h.source, h.target) for h in result.handovers_removed]
    assert "owner" in [c.field for c in result.touchpoints.changed["contract"]]
    text = result.to_text()
    assert "> touchpoint contract moved from decision to awareness" in text
    assert "~ emotion contract / cio: -1 -> +2" in text
    assert "+ handover webinar -> chat (marketing to support)" in text
    data = json.loads(result.to_json())
    assert data["empty"] is False and data["moved"][0]["touchpoint"] == "contract"


def test_a_changed_object_field_shows_the_keys_that_changed_whole() -> None:
    import datetime as dt

    before = load_map(FULL).model_copy(deep=True)
    before.review = before.review.model_copy(update={
        "owner": "customer-experience-team-with-a-long-name", "every_days": 30,
        "last_reviewed": dt.date(2026, 10, 1)})
    after = before.model_copy(deep=True)
    after.review = after.review.model_copy(update={"last_reviewed": dt.date(2026, 11, 27)})
    lines = diff(before, after).to_text().splitlines()
    assert '~ map review.last_reviewed: "2026-10-01" -> "2026-11-27"' in lines
    assert not any("every_days" in line for line in lines)
