"""What changed between two maps, typically the current state and the future state.

Elements are matched by id. A touchpoint that changed stage is *moved* (and not also reported as
changed for its stage); emotion changes are listed per touchpoint and persona; handovers and
links are compared as derived from both maps.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from journeyscope.model.types import JourneyMap

_MAP_FIELDS = ("name", "objective", "audience", "description", "state", "kind", "segment",
               "account", "review", "outcomes")


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass
class ElementChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[FieldChange]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class Move:
    touchpoint: str
    from_stage: str
    to_stage: str


@dataclass
class EmotionChange:
    touchpoint: str
    persona: str
    before: int | None
    after: int | None

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)


@dataclass
class LinkChange:
    source: str
    target: str
    from_owner: str | None = None
    to_owner: str | None = None


@dataclass
class MapDiff:
    """The differences from map `a` to map `b`."""

    a: str
    b: str
    map_fields: list[FieldChange] = field(default_factory=list)
    stages: ElementChanges = field(default_factory=ElementChanges)
    stage_order_changed: bool = False
    personas: ElementChanges = field(default_factory=ElementChanges)
    touchpoints: ElementChanges = field(default_factory=ElementChanges)
    moved: list[Move] = field(default_factory=list)
    emotions: list[EmotionChange] = field(default_factory=list)
    links_added: list[LinkChange] = field(default_factory=list)
    links_removed: list[LinkChange] = field(default_factory=list)
    handovers_added: list[LinkChange] = field(default_factory=list)
    handovers_removed: list[LinkChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.map_fields or self.stages or self.stage_order_changed or self.personas
                    or self.touchpoints or self.moved or self.emotions or self.links_added
                    or self.links_removed or self.handovers_added or self.handovers_removed)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["empty"] = self.empty
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    def to_text(self) -> str:
        """A readable summary, one change a line."""
        lines = [f"--- {self.a}", f"+++ {self.b}"]
        if self.empty:
            return "\n".join([*lines, "no differences"])
        for change in self.map_fields:
            lines += _changed("~ map", change)
        for label, changes in (("stage", self.stages), ("persona", self.personas),
                               ("touchpoint", self.touchpoints)):
            lines += [f"+ {label} {i}" for i in changes.added]
            lines += [f"- {label} {i}" for i in changes.removed]
            for ident, fields in changes.changed.items():
                for c in fields:
                    lines += _changed(f"~ {label} {ident}", c)
        if self.stage_order_changed:
            lines.append("~ stage order changed")
        lines += [f"> touchpoint {m.touchpoint} moved from {m.from_stage} to {m.to_stage}"
                  for m in self.moved]
        for e in self.emotions:
            lines.append(f"~ emotion {e.touchpoint} / {e.persona}: {_signed(e.before)} -> "
                         f"{_signed(e.after)}")
        lines += [f"+ link {x.source} -> {x.target}" for x in self.links_added]
        lines += [f"- link {x.source} -> {x.target}" for x in self.links_removed]
        lines += [f"+ handover {x.source} -> {x.target} ({x.from_owner} to {x.to_owner})"
                  for x in self.handovers_added]
        lines += [f"- handover {x.source} -> {x.target} ({x.from_owner} to {x.to_owner})"
                  for x in self.handovers_removed]
        return "\n".join(lines)


def _changed(prefix: str, change: FieldChange) -> list[str]:
    """The lines of one changed field: of an object (a review, a KPI...), each of its keys that
    changed, so that a long object does not hide its change behind its cut.

    >>> _changed("~ map", FieldChange("review", {"owner": "cx", "last_reviewed": "2026-10-01"},
    ...                               {"owner": "cx", "last_reviewed": "2026-11-27"}))
    ['~ map review.last_reviewed: "2026-10-01" -> "2026-11-27"']
    """
    before, after = change.before, change.after
    if isinstance(before, dict) and isinstance(after, dict):
        return [f"{prefix} {change.field}.{k}: {_short(before.get(k))} -> {_short(after.get(k))}"
                for k in [*before, *(k for k in after if k not in before)]
                if before.get(k) != after.get(k)]
    return [f"{prefix} {change.field}: {_short(before)} -> {_short(after)}"]


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else "(none)"
    return text if len(text) <= width else text[: width - 3] + "..."


def _signed(value: int | None) -> str:
    return "(none)" if value is None else f"{value:+d}"


def _dump(model: Any, exclude: set[str]) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude=exclude)


def _compare(a_items: list[Any], b_items: list[Any], exclude: set[str]) -> ElementChanges:
    a_by = {x.id: x for x in a_items}
    b_by = {x.id: x for x in b_items}
    out = ElementChanges(
        added=[i for i in b_by if i not in a_by],
        removed=[i for i in a_by if i not in b_by],
    )
    for ident in a_by.keys() & b_by.keys():
        before, after = _dump(a_by[ident], exclude), _dump(b_by[ident], exclude)
        fields = [FieldChange(k, before.get(k), after.get(k)) for k in before
                  if before.get(k) != after.get(k)]
        if fields:
            out.changed[ident] = fields
    position = {x.id: i for i, x in enumerate(b_items)}
    out.changed = dict(sorted(out.changed.items(), key=lambda kv: position[kv[0]]))
    return out


def diff(a: JourneyMap, b: JourneyMap, a_name: str = "a", b_name: str = "b") -> MapDiff:
    """Compare two maps.

    >>> from journeyscope.model.templates import load_template
    >>> m = load_template("b2b")
    >>> diff(m, m).empty
    True
    """
    out = MapDiff(a_name, b_name)
    before, after = a.model_dump(mode="json"), b.model_dump(mode="json")
    out.map_fields = [FieldChange(k, before[k], after[k]) for k in _MAP_FIELDS
                      if before[k] != after[k]]
    out.stages = _compare(a.stages, b.stages, set())
    common = [s for s in a.stage_ids() if s in set(b.stage_ids())]
    out.stage_order_changed = common != [s for s in b.stage_ids() if s in set(a.stage_ids())]
    out.personas = _compare(a.personas, b.personas, set())
    out.touchpoints = _compare(a.touchpoints, b.touchpoints, {"stage", "emotion"})
    a_tp = {t.id: t for t in a.touchpoints}
    for t in b.touchpoints:
        old = a_tp.get(t.id)
        if old is None:
            continue
        if old.stage != t.stage:
            out.moved.append(Move(t.id, old.stage, t.stage))
        for persona in list(dict.fromkeys([*old.emotion, *t.emotion])):
            x, y = old.emotion.get(persona), t.emotion.get(persona)
            if x != y:
                out.emotions.append(EmotionChange(t.id, persona, x, y))
    a_links = {(s.id, link.to) for s, link in a.links()}
    b_links = {(s.id, link.to) for s, link in b.links()}
    pairs = [(s.id, link.to) for s, link in [*b.links(), *a.links()]]
    order = {key: i for i, key in reversed(list(enumerate(pairs)))}
    out.links_added = [LinkChange(*k) for k in sorted(b_links - a_links, key=order.get)]
    out.links_removed = [LinkChange(*k) for k in sorted(a_links - b_links, key=order.get)]
    a_hand = {(h.source, h.target, h.from_owner, h.to_owner) for h in a.handovers()}
    b_hand = {(h.source, h.target, h.from_owner, h.to_owner) for h in b.handovers()}
    out.handovers_added = [LinkChange(*h) for h in _in_order(b, b_hand - a_hand)]
    out.handovers_removed = [LinkChange(*h) for h in _in_order(a, a_hand - b_hand)]
    return out


def _in_order(m: JourneyMap, keys: set[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [k for k in ((h.source, h.target, h.from_owner, h.to_owner) for h in m.handovers())
            if k in keys]
