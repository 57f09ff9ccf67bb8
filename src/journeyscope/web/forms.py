"""The editor's forms: plain text fields (one item a line, `a | b | c` for structured items)
turned into map fields, and back for showing them. An item whose line did not change keeps its
other fields (a pain point's severity, a KPI's measure), so a form never loses what it does not
show; the YAML editor shows everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeyscope.model.types import KPI, InformationAsset, JourneyMap
from journeyscope.store.errors import Invalid

Form = Mapping[str, Any]


def text(form: Form, key: str, limit: int = 5000) -> str | None:
    value = form.get(key)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{key} too long", [((key,), f"at most {limit} characters")])
    return value or None


def lines(form: Form, key: str) -> list[str]:
    raw = form.get(key) or ""
    return [line.strip() for line in str(raw).splitlines() if line.strip()]


def items(form: Form, key: str) -> list[str]:
    """Comma- or line-separated names (channels, match activities)."""
    raw = str(form.get(key) or "").replace("\n", ",")
    return [part.strip() for part in raw.split(",") if part.strip()]


def number(form: Form, key: str, *, integer: bool = False) -> float | int | None:
    raw = text(form, key, 50)
    if raw is None:
        return None
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise Invalid(f"{key}: not a number", [((key,), f"{raw!r} is not {kind}")]) from None


def notes(form: Form, key: str, existing: list[Any]) -> list[Any]:
    """Pain points or opportunities, one a line; unchanged lines keep their other fields."""
    by_text = {n.text: n.model_dump(mode="json", exclude_defaults=True) for n in existing}
    return [by_text.get(line, line) for line in lines(form, key)]


def kpi_line(k: KPI) -> str:
    parts = [k.name, "" if k.target is None else f"{k.target:g}", k.direction.value]
    if k.unit:
        parts.append(k.unit)
    return " | ".join(parts)


def kpis(form: Form, key: str, existing: list[KPI]) -> list[dict[str, Any]]:
    """KPIs as `name | target | higher/lower | unit` lines."""
    by_name = {k.name: k.model_dump(mode="json", exclude_defaults=True) for k in existing}
    out = []
    for n, line in enumerate(lines(form, key), start=1):
        name, *rest = [p.strip() for p in line.split("|")]
        item = dict(by_name.get(name, {}))
        item["name"] = name
        if rest and rest[0]:
            try:
                item["target"] = float(rest[0].rstrip("%")) / (100 if rest[0].endswith("%")
                                                              else 1)
            except ValueError:
                raise Invalid("KPI target", [((key,), f"line {n}: target {rest[0]!r} is not a "
                                              "number")]) from None
        elif rest:
            item.pop("target", None)
        if len(rest) > 1 and rest[1]:
            if rest[1] not in ("higher", "lower"):
                raise Invalid("KPI direction", [((key,), f"line {n}: direction is higher or "
                                                 f"lower, not {rest[1]!r}")])
            item["direction"] = rest[1]
        if len(rest) > 2:
            item["unit"] = rest[2] or None
        out.append({k: v for k, v in item.items() if v is not None})
    return out


def info_line(i: InformationAsset) -> str:
    return " | ".join([i.name, i.format or "", i.delivery])


def information(form: Form, key: str, existing: list[InformationAsset]) -> list[dict[str, Any]]:
    """Information assets as `name | format | proactive/on-request` lines."""
    by_name = {i.name: i.model_dump(mode="json", exclude_defaults=True) for i in existing}
    out = []
    for n, line in enumerate(lines(form, key), start=1):
        name, *rest = [p.strip() for p in line.split("|")]
        item = dict(by_name.get(name, {}))
        item["name"] = name
        if rest:
            item["format"] = rest[0] or None
        if len(rest) > 1 and rest[1]:
            if rest[1] not in ("proactive", "on-request"):
                raise Invalid("delivery", [((key,), f"line {n}: delivery is proactive or "
                                            f"on-request, not {rest[1]!r}")])
            item["delivery"] = rest[1]
        out.append({k: v for k, v in item.items() if v is not None})
    return out


def needs(form: Form, prefix: str = "") -> dict[str, list[str]] | None:
    value = {"functional": lines(form, prefix + "needs_functional"),
             "emotional": lines(form, prefix + "needs_emotional")}
    return {k: v for k, v in value.items() if v} or None


def emotion(form: Form, m: JourneyMap) -> dict[str, int] | None:
    out = {}
    for p in m.personas:
        raw = form.get(f"emotion_{p.id}")
        if raw not in (None, ""):
            try:
                out[p.id] = int(str(raw))
            except ValueError:
                raise Invalid("emotion", [((f"emotion_{p.id}",), "choose -2 to +2")]) from None
    return out or None


def touchpoint_fields(form: Form, m: JourneyMap, ident: str) -> dict[str, Any]:
    """The fields of a touchpoint from its edit form."""
    t = m.touchpoint(ident)
    assert t is not None
    known = {p.id for p in m.personas}
    targets = {x.id for x in m.touchpoints}
    getlist = getattr(form, "getlist", lambda k: [form[k]] if k in form else [])
    old_links = {link.to: link.model_dump(mode="json", exclude_defaults=True) for link in t.next}
    match = items(form, "match_activity")
    channels = items(form, "channels")
    return {
        "name": text(form, "name", 300) or t.name,
        "stage": text(form, "stage", 120) or t.stage,
        "description": text(form, "description"),
        "channels": channels,
        "main_channel": t.main_channel if t.main_channel in channels else None,
        "owner": text(form, "owner", 200),
        "personas": [p for p in getlist("personas") if p in known],
        "customer_actions": lines(form, "customer_actions"),
        "needs": needs(form),
        "emotion": emotion(form, m),
        "pain_points": notes(form, "pain_points", t.pain_points),
        "opportunities": notes(form, "opportunities", t.opportunities),
        "information": information(form, "information", t.information),
        "kpis": kpis(form, "kpis", t.kpis),
        "moment_of_truth": True if form.get("moment_of_truth") else None,
        "time_standard": text(form, "time_standard", 40),
        "next": [old_links.get(x, x) for x in getlist("next") if x in targets and x != ident],
        "evidence": text(form, "evidence", 20),
        "match": _match(t.match, match),
    }


def _match(existing: list[Any], activities: list[str]) -> list[dict[str, Any]] | None:
    rules = [r.model_dump(mode="json", exclude_defaults=True) for r in existing]
    current = rules[0].get("activity", []) if rules else []
    if activities == current:
        return rules or None
    if not rules:
        return [{"activity": activities}] if activities else None
    first = {**rules[0], "activity": activities} if activities else {
        k: v for k, v in rules[0].items() if k != "activity"}
    rest = rules[1:]
    return ([first] if len(first) else []) + rest or None


def stage_fields(form: Form, m: JourneyMap, ident: str) -> dict[str, Any]:
    s = m.stage(ident)
    assert s is not None
    return {
        "name": text(form, "name", 200) or s.name,
        "description": text(form, "description"),
        "exit_criteria": text(form, "exit_criteria"),
        "time_standard": text(form, "time_standard", 40),
        "color": text(form, "color", 7),
        "customer_actions": lines(form, "customer_actions"),
        "needs": needs(form),
        "pain_points": notes(form, "pain_points", s.pain_points),
        "opportunities": notes(form, "opportunities", s.opportunities),
        "evidence": text(form, "evidence", 20),
    }


def persona_fields(form: Form, m: JourneyMap, ident: str) -> dict[str, Any]:
    p = m.persona(ident)
    assert p is not None
    influence = number(form, "influence")
    return {
        "name": text(form, "name", 200) or p.name,
        "role": text(form, "role", 100),
        "influence": influence,
        "description": text(form, "description"),
        "goals": lines(form, "goals"),
        "motivations": lines(form, "motivations"),
        "needs": needs(form),
        "pain_points": lines(form, "pain_points"),
        "decision_criteria": lines(form, "decision_criteria"),
        "preferred_channels": items(form, "preferred_channels"),
        "information_formats": items(form, "information_formats"),
        "titles": lines(form, "titles"),
    }


def map_fields(form: Form, m: JourneyMap) -> dict[str, Any]:
    every = number(form, "review_every_days", integer=True)
    review = {"owner": text(form, "review_owner", 200), "every_days": every,
              "last_reviewed": text(form, "review_last_reviewed", 10)}
    return {
        "name": text(form, "name", 300) or m.name,
        "objective": text(form, "objective"),
        "audience": text(form, "audience"),
        "description": text(form, "description"),
        "state": text(form, "state", 20),
        "kind": text(form, "kind", 30),
        "segment": text(form, "segment", 200),
        "account": text(form, "account", 200),
        "review": {k: v for k, v in review.items() if v is not None} or None,
    }
