"""The editor's operations on a map: add, change, move and delete touchpoints, stages and
personas, set an emotion, mark the map reviewed. Each takes a map and returns a new one (the
input is not changed); `maps.save` then stores it as a version.

Operations work on the map's plain data and rebuild it, so a bad value comes back as `Invalid`
with the field it is about, like any other save.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from journeyscope.model.files import build_map, map_to_data
from journeyscope.model.issues import MapError
from journeyscope.model.types import JourneyMap
from journeyscope.store.errors import Invalid, NotFound
from journeyscope.store.maps import issues_to_invalid

_LISTS = {"stage": "stages", "persona": "personas", "touchpoint": "touchpoints"}


def _data(m: JourneyMap) -> dict[str, Any]:
    return map_to_data(m)


def _build(data: dict[str, Any]) -> JourneyMap:
    try:
        return build_map(data)
    except MapError as exc:
        raise issues_to_invalid(exc.issues, ()) from None


def new_id(m: JourneyMap, name: str, kind: str = "touchpoint") -> str:
    """A readable id from a name, unique among the map's ids of that kind."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or kind
    if not base[0].isalnum():
        base = kind + "-" + base
    taken = {x["id"] for x in _data(m).get(_LISTS[kind], [])}
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}-{n}", n + 1
    return ident


def _index(items: list[dict[str, Any]], ident: str, kind: str) -> int:
    for i, item in enumerate(items):
        if item.get("id") == ident:
            return i
    raise NotFound(f"the map has no {kind} {ident!r}")


# -- touchpoints --------------------------------------------------------------------------------


def add_touchpoint(m: JourneyMap, stage: str, name: str, **fields: Any) -> tuple[JourneyMap, str]:
    """Add a touchpoint at the end of `stage`; returns the map and the new id."""
    if m.stage(stage) is None:
        raise Invalid(f"unknown stage {stage!r}", [(("stage",), "choose one of the map's "
                                                    "stages")])
    if not name.strip():
        raise Invalid("name missing", [(("name",), "give the touchpoint a name")])
    ident = new_id(m, name)
    data = _data(m)
    items = data.setdefault("touchpoints", [])
    position = max((i + 1 for i, t in enumerate(items) if t["stage"] == stage), default=len(items))
    items.insert(position, {"id": ident, "stage": stage, "name": name.strip(), **fields})
    return _build(data), ident


def update_touchpoint(m: JourneyMap, ident: str, fields: dict[str, Any]) -> JourneyMap:
    """Replace the given fields of a touchpoint (a field set to None is removed)."""
    data = _data(m)
    items = data.get("touchpoints", [])
    i = _index(items, ident, "touchpoint")
    for key, value in fields.items():
        if value is None or value == [] or value == {}:
            items[i].pop(key, None)
        else:
            items[i][key] = value
    return _build(data)


def delete_touchpoint(m: JourneyMap, ident: str) -> JourneyMap:
    """Remove a touchpoint and every link to it."""
    data = _data(m)
    items = data.get("touchpoints", [])
    del items[_index(items, ident, "touchpoint")]
    for t in items:
        if "next" in t:
            t["next"] = [link for link in t["next"] if link.get("to") != ident]
            if not t["next"]:
                del t["next"]
    return _build(data)


def move_touchpoint(m: JourneyMap, ident: str, stage: str, index: int) -> JourneyMap:
    """Move a touchpoint into `stage` at position `index` among that stage's touchpoints."""
    if m.stage(stage) is None:
        raise Invalid(f"unknown stage {stage!r}", [(("stage",), "no such stage in the map")])
    data = _data(m)
    items = data.get("touchpoints", [])
    item = items.pop(_index(items, ident, "touchpoint"))
    item["stage"] = stage
    in_stage = [i for i, t in enumerate(items) if t["stage"] == stage]
    index = max(0, min(index, len(in_stage)))
    if in_stage:
        position = in_stage[index] if index < len(in_stage) else in_stage[-1] + 1
    else:
        order = m.stage_index()
        later = [i for i, t in enumerate(items) if order.get(t["stage"], -1) > order[stage]]
        position = later[0] if later else len(items)
    items.insert(position, item)
    return _build(data)


def set_emotion(m: JourneyMap, ident: str, persona: str, value: int | None) -> JourneyMap:
    """Set (or clear, with None) how `persona` feels at a touchpoint, -2..+2."""
    if m.persona(persona) is None:
        raise Invalid(f"unknown persona {persona!r}", [(("persona",), "no such persona")])
    if value is not None and not -2 <= value <= 2:
        raise Invalid("emotion out of range", [(("value",), "emotions run from -2 to +2")])
    data = _data(m)
    items = data.get("touchpoints", [])
    t = items[_index(items, ident, "touchpoint")]
    emotion = dict(t.get("emotion", {}))
    if value is None:
        emotion.pop(persona, None)
    else:
        emotion[persona] = value
    if emotion:
        t["emotion"] = emotion
    else:
        t.pop("emotion", None)
    return _build(data)


# -- stages and personas ------------------------------------------------------------------------


def add_item(m: JourneyMap, kind: str, name: str, **fields: Any) -> tuple[JourneyMap, str]:
    """Add a stage (at the end) or a persona; returns the map and the new id."""
    if not name.strip():
        raise Invalid("name missing", [(("name",), f"give the {kind} a name")])
    ident = new_id(m, name, kind)
    data = _data(m)
    data.setdefault(_LISTS[kind], []).append({"id": ident, "name": name.strip(), **fields})
    return _build(data), ident


def update_item(m: JourneyMap, kind: str, ident: str, fields: dict[str, Any]) -> JourneyMap:
    """Replace the given fields of a stage or persona (None removes a field)."""
    data = _data(m)
    items = data.get(_LISTS[kind], [])
    i = _index(items, ident, kind)
    for key, value in fields.items():
        if value is None or value == [] or value == {}:
            items[i].pop(key, None)
        else:
            items[i][key] = value
    return _build(data)


def delete_stage(m: JourneyMap, ident: str) -> JourneyMap:
    """Remove an empty stage; a stage with touchpoints is refused (move them first)."""
    count = len(m.touchpoints_in(ident))
    if count:
        raise Invalid("stage not empty", [(("stage",), (
            f"stage {ident!r} still has {count} touchpoint(s): move or delete them first"))])
    data = _data(m)
    items = data.get("stages", [])
    del items[_index(items, ident, "stage")]
    return _build(data)


def move_stage(m: JourneyMap, ident: str, offset: int) -> JourneyMap:
    """Move a stage `offset` places left (negative) or right."""
    data = _data(m)
    items = data.get("stages", [])
    i = _index(items, ident, "stage")
    j = max(0, min(len(items) - 1, i + offset))
    items.insert(j, items.pop(i))
    for item in items:
        item.pop("order", None)  # the list order is now the order
    return _build(data)


def delete_persona(m: JourneyMap, ident: str) -> JourneyMap:
    """Remove a persona and its references (touchpoints' personas, emotions, empathy)."""
    data = _data(m)
    items = data.get("personas", [])
    del items[_index(items, ident, "persona")]
    for t in data.get("touchpoints", []):
        if ident in t.get("personas", []):
            t["personas"] = [p for p in t["personas"] if p != ident]
        t.get("emotion", {}).pop(ident, None)
        for key in ("personas", "emotion"):
            if key in t and not t[key]:
                del t[key]
        for note in t.get("pain_points", []):
            if isinstance(note, dict) and ident in note.get("personas", []):
                note["personas"] = [p for p in note["personas"] if p != ident]
        for asset in t.get("information", []):
            if isinstance(asset, dict) and ident in asset.get("audience", []):
                asset["audience"] = [p for p in asset["audience"] if p != ident]
    data["empathy"] = [e for e in data.get("empathy", []) if e.get("persona") != ident]
    if data.get("persona_view") == ident:
        del data["persona_view"]
    return _build(data)


# -- the map ------------------------------------------------------------------------------------


def update_map(m: JourneyMap, fields: dict[str, Any]) -> JourneyMap:
    """Replace top-level fields (name, objective, state, review, ...)."""
    data = _data(m)
    for key, value in fields.items():
        if value is None or value == "" or value == {}:
            data.pop(key, None)
        else:
            data[key] = value
    if "name" not in data:
        raise Invalid("name missing", [(("name",), "the map needs a name")])
    return _build(data)


def mark_reviewed(m: JourneyMap, today: dt.date | None = None) -> JourneyMap:
    """The map reviewed today (resets the review cadence's due date)."""
    review = m.review.model_copy(update={"last_reviewed": today or dt.date.today()})
    return m.model_copy(update={"review": review})
