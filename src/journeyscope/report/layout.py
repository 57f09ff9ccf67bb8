"""The view of a map that every renderer draws: stages with their colours, numbered touchpoints,
the lanes of notes per stage, the personas each element reaches, and measured figures.

HTML, SVG and the analysis report all draw this one view, so a map looks the same in every
format. `Figure` is how an analysis lays a measured figure on a touchpoint or stage card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from journeyscope import hints
from journeyscope.errors import JourneyscopeError
from journeyscope.model.types import KPI, Direction, JourneyMap, Touchpoint, parse_duration

Status = Literal["good", "warn", "bad"]
STATUSES: tuple[str, ...] = ("good", "warn", "bad")
STATUS_COLOURS = {"good": "#2F9E44", "warn": "#F08C00", "bad": "#E03131"}

STAGE_PALETTE = ["#3B6FB6", "#1C8C8C", "#4E9A3A", "#D39B00", "#E0672B", "#8A4FB0", "#7D6654",
                 "#C2255C", "#2F6F8F", "#5C6F2E"]
PERSONA_PALETTE = ["#1C7ED6", "#D6336C", "#2B9348", "#7048E8", "#E67700", "#0B8E9E",
                   "#AE3EC9", "#5C677D"]
OWNER_PALETTE = ["#364FC7", "#0B7285", "#5F3DC4", "#2B8A3E", "#A61E4D", "#1864AB", "#862E9C",
                 "#495057", "#087F5B", "#5C940D", "#4263EB", "#9C36B5"]
HANDOVER_COLOUR = "#E8590C"


class PersonaNotFound(JourneyscopeError):
    """A persona filter names a persona the map does not have (bad input, as for `analyze`)."""

    exit_code = 2


def check_persona(journey_map: JourneyMap, persona: str | None) -> None:
    """Raise `PersonaNotFound`, naming the map's personas, unless `persona` is None or one of
    them; the message is `analyze --persona`'s for the same mistake."""
    if persona is not None and journey_map.persona(persona) is None:
        known = ", ".join(p.id for p in journey_map.personas) or "none"
        raise PersonaNotFound(f"{hints.PERSONA()} {persona!r}: the map has no such persona; its "
                              f"personas are: {known}")


@dataclass(frozen=True)
class Figure:
    """One measured figure on a touchpoint or stage card, e.g. ``Figure("reach", "412 accounts",
    "good")``. `status` colours the card: the worst status among its figures wins."""

    label: str
    value: str
    status: Status | None = None

    @classmethod
    def of(cls, item: Figure | Mapping[str, Any] | Sequence[Any]) -> Figure:
        """A figure from a `Figure`, a mapping (label, value, status) or a tuple."""
        if isinstance(item, Figure):
            figure = item
        elif isinstance(item, Mapping):
            figure = cls(str(item["label"]), _fmt_value(item.get("value")), item.get("status"))
        else:
            label, value, *rest = item
            figure = cls(str(label), _fmt_value(value), rest[0] if rest else None)
        if figure.status is not None and figure.status not in STATUSES:
            raise JourneyscopeError(
                f"figure {figure.label!r} has status {figure.status!r}; use good, warn or bad")
        return figure


Measures = Mapping[str, Sequence[Figure | Mapping[str, Any] | Sequence[Any]]]


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def worst(figures: Sequence[Figure]) -> Status | None:
    """The worst status among `figures` (bad > warn > good), or None."""
    found = [f.status for f in figures if f.status]
    for status in ("bad", "warn", "good"):
        if status in found:
            return status  # type: ignore[return-value]
    return None


# ---------------------------------------------------------------------------------------------
# Formatting helpers


def human_duration(iso: str | None) -> str:
    """An ISO 8601 duration in words: ``P30D`` -> ``30 days``, ``PT4H`` -> ``4 hours``.

    >>> human_duration("P2W"), human_duration("PT90M"), human_duration("P1D")
    ('2 weeks', '1.5 hours', '1 day')
    """
    if not iso:
        return ""
    seconds = parse_duration(iso).total_seconds()
    day = 86400.0
    for unit, size in (("year", 365 * day), ("month", 30 * day), ("week", 7 * day),
                       ("day", day), ("hour", 3600.0), ("minute", 60.0)):
        if seconds >= size and (seconds % size == 0 or unit in ("hour", "minute")
                                or seconds >= 2 * size and unit == "day"):
            amount = seconds / size
            text = f"{amount:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}" + ("" if text == "1" else "s")
    return f"{seconds:g} seconds"


def kpi_text(kpi: KPI) -> str:
    """A KPI with its target in words: ``attendance rate ≥ 40%``."""
    if kpi.target is None:
        return kpi.name
    sign = "≥" if kpi.direction is Direction.higher else "≤"
    unit = (kpi.unit or "").lower()
    target = kpi.target
    if unit == "ratio" and abs(target) <= 1:
        shown = f"{target * 100:g}%"
    elif unit in ("percent", "%"):
        shown = f"{target:g}%"
    elif unit in ("", "count", "score"):
        shown = f"{target:,g}"
    elif unit == "currency":
        shown = f"{target:,.0f}"
    else:
        shown = f"{target:g} {unit}"
    return f"{kpi.name} {sign} {shown}"


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    if not words:
        return name[:2].upper()
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def ink_for(colour: str) -> str:
    """Dark or white text, whichever reads better on `colour`."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#1f2933" if luminance > 0.6 else "#ffffff"


def tint(colour: str, amount: float = 0.9) -> str:
    """`colour` mixed with white (`amount` of white)."""
    parts = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (255 - c) * amount) for c in parts]
    return "#" + "".join(f"{c:02x}" for c in mixed)


# ---------------------------------------------------------------------------------------------
# The view


@dataclass
class PersonaView:
    id: str
    name: str
    role: str | None
    influence: float | None
    colour: str
    initials: str
    shape: int


@dataclass
class TouchpointView:
    number: int
    tp: Touchpoint
    stage_index: int
    slot: int  # position within its stage, 0-based
    slots: int  # number of touchpoints in the stage
    owner_colour: str
    personas: tuple[str, ...]
    met: bool
    channels: list[tuple[str, bool]]  # (channel, is the main channel)
    kpis: list[str]
    time: str
    figures: list[Figure]
    status: Status | None


@dataclass
class Item:
    """One note in a lane: a customer action, need, pain point, opportunity, asset, KPI..."""

    text: str
    touchpoint: TouchpointView | None = None
    personas: tuple[str, ...] = ()  # who meets it; empty: everyone
    met: bool = True
    tag: str | None = None  # functional/emotional, says/thinks/does/feels, severity, format...
    detail: str | None = None
    star: bool = False

    @property
    def reach(self) -> tuple[str, ...] | None:
        """Persona ids for the persona filter; None when the note is for everyone."""
        if self.personas:
            return self.personas
        if self.touchpoint is not None:
            return self.touchpoint.personas
        return None


@dataclass
class Lane:
    key: str
    label: str
    hint: str = ""
    cells: list[list[Item]] = field(default_factory=list)
    backstage: bool = False


@dataclass
class StageView:
    index: int
    id: str
    name: str
    description: str | None
    exit_criteria: str | None
    time: str
    colour: str
    ink: str
    tint: str
    touchpoints: list[TouchpointView]
    figures: list[Figure]
    status: Status | None


@dataclass
class HandoverView:
    source: TouchpointView
    target: TouchpointView
    label: str
    from_owner: str | None
    to_owner: str | None
    time: str
    met: bool


@dataclass
class MapView:
    map: JourneyMap
    stages: list[StageView]
    personas: list[PersonaView]
    touchpoints: list[TouchpointView]
    lanes: list[Lane]
    handovers: list[HandoverView]
    owners: dict[str, str]  # owner -> colour
    selected: str | None
    empathy_cards: list[tuple[PersonaView, dict[str, list[str]]]]

    def persona(self, persona_id: str) -> PersonaView | None:
        return next((p for p in self.personas if p.id == persona_id), None)


def touchpoint_personas(tp: Touchpoint) -> tuple[str, ...]:
    """Who meets a touchpoint: the personas it lists or gives an emotion (as `persona_view`)."""
    seen = dict.fromkeys(tp.personas)
    seen.update(dict.fromkeys(tp.emotion))
    return tuple(seen)


def _meets(personas: tuple[str, ...], selected: str | None) -> bool:
    return selected is None or not personas or selected in personas


def build_view(journey_map: JourneyMap, persona: str | None = None,
               measures: Measures | None = None) -> MapView:
    """Everything a renderer needs to draw `journey_map`, greying out what `persona` never
    meets and carrying `measures` (figures per touchpoint or stage id)."""
    check_persona(journey_map, persona)
    figures = _figures(journey_map, measures)
    owners = {o: OWNER_PALETTE[i % len(OWNER_PALETTE)] for i, o in enumerate(journey_map.owners())}
    personas = [
        PersonaView(p.id, p.name, p.role, p.influence, PERSONA_PALETTE[i % len(PERSONA_PALETTE)],
                    initials(p.name), i)
        for i, p in enumerate(journey_map.personas)
    ]
    stages: list[StageView] = []
    all_tps: list[TouchpointView] = []
    number = 0
    for si, stage in enumerate(journey_map.stages):
        colour = stage.color or STAGE_PALETTE[si % len(STAGE_PALETTE)]
        tps = journey_map.touchpoints_in(stage.id)
        views = []
        for slot, tp in enumerate(tps):
            number += 1
            who = touchpoint_personas(tp)
            figs = figures.get(tp.id, [])
            main = tp.main_channel or (tp.channels[0] if tp.channels else None)
            views.append(TouchpointView(
                number=number, tp=tp, stage_index=si, slot=slot, slots=len(tps),
                owner_colour=owners.get(tp.owner or "", "#868E96"), personas=who,
                met=persona is None or persona in who,
                channels=[(c, c == main) for c in tp.channels],
                kpis=[kpi_text(k) for k in tp.kpis], time=human_duration(tp.time_standard),
                figures=figs, status=worst(figs),
            ))
        stage_figs = figures.get(stage.id, [])
        stages.append(StageView(
            index=si, id=stage.id, name=stage.name, description=stage.description,
            exit_criteria=stage.exit_criteria, time=human_duration(stage.time_standard),
            colour=colour, ink=ink_for(colour), tint=tint(colour, 0.93), touchpoints=views,
            figures=stage_figs, status=worst(stage_figs),
        ))
        all_tps.extend(views)
    by_id = {v.tp.id: v for v in all_tps}
    handovers = []
    for h in journey_map.handovers():
        source, target = by_id[h.source], by_id[h.target]
        handovers.append(HandoverView(source, target, h.label, h.from_owner, h.to_owner,
                                      human_duration(h.time_standard),
                                      source.met and target.met))
    view = MapView(journey_map, stages, personas, all_tps, [], handovers, owners, persona,
                   [])
    view.lanes = _lanes(view)
    view.empathy_cards = _empathy_cards(view)
    return view


def _figures(journey_map: JourneyMap, measures: Measures | None) -> dict[str, list[Figure]]:
    if not measures:
        return {}
    known = set(journey_map.stage_ids()) | {t.id for t in journey_map.touchpoints}
    out: dict[str, list[Figure]] = {}
    for key, items in measures.items():
        if key not in known:
            raise JourneyscopeError(
                f"measures name {key!r}, which is neither a touchpoint nor a stage of the map "
                f"{journey_map.name!r}")
        out[key] = [Figure.of(item) for item in items]
    return out


def _lanes(view: MapView) -> list[Lane]:
    m, sel = view.map, view.selected
    n = len(view.stages)

    def lane(key: str, label: str, hint: str = "", backstage: bool = False) -> Lane:
        return Lane(key, label, hint, [[] for _ in range(n)], backstage)

    actions = lane("actions", "Customer actions", "what the buying committee does")
    needs = lane("needs", "Needs", "functional and emotional")
    touch = lane("touchpoints", "Touchpoints", "channel, owner, KPI")
    emotion = lane("emotion", "Emotion", "per persona, −2 to +2")
    pains = lane("pain_points", "Pain points", "★ at a moment of truth")
    opps = lane("opportunities", "Opportunities", "what we can improve")
    info = lane("information", "Information", "format, delivery, audience")
    kpis = lane("kpis", "KPIs", "with targets")
    names = {p.id: p.name for p in m.personas}

    def item(text: str, tv: TouchpointView | None = None, who: tuple[str, ...] = (),
             **extra: Any) -> Item:
        # A note of a touchpoint that names no persona is met only where its touchpoint is.
        met = tv.met if tv is not None and not who else _meets(who, sel)
        return Item(text, tv, who, met, **extra)

    for sv in view.stages:
        stage = m.stages[sv.index]
        i = sv.index
        actions.cells[i] += [item(a) for a in stage.customer_actions]
        needs.cells[i] += [item(x, tag="functional") for x in stage.needs.functional]
        needs.cells[i] += [item(x, tag="emotional") for x in stage.needs.emotional]
        pains.cells[i] += [item(p.text, tag=p.severity, who=tuple(p.personas))
                           for p in stage.pain_points]
        opps.cells[i] += [item(o.text, tag=o.impact, detail=o.owner) for o in stage.opportunities]
        for tv in sv.touchpoints:
            tp, who = tv.tp, tv.personas
            actions.cells[i] += [item(a, tv, who) for a in tp.customer_actions]
            needs.cells[i] += [item(x, tv, who, tag="functional") for x in tp.needs.functional]
            needs.cells[i] += [item(x, tv, who, tag="emotional") for x in tp.needs.emotional]
            pains.cells[i] += [item(p.text, tv, tuple(p.personas) or who, tag=p.severity,
                                    star=tp.moment_of_truth) for p in tp.pain_points]
            opps.cells[i] += [item(o.text, tv, who, tag=o.impact, detail=o.owner)
                              for o in tp.opportunities]
            for asset in tp.information:
                audience = tuple(asset.audience) or who
                detail = ", ".join(names.get(a, a) for a in asset.audience)
                info.cells[i].append(item(asset.name, tv, audience, tag=asset.format,
                                          detail=f"{asset.delivery}" + (
                                              f" · for {detail}" if detail else "")))
            kpis.cells[i] += [item(kpi_text(k), tv, who, tag=k.measure) for k in tp.kpis]
    lanes = [actions, needs, touch, emotion, pains, opps, info, kpis]

    staged = [e for e in m.empathy if e.stage]
    for pv in view.personas:
        entries = [e for e in staged if e.persona == pv.id]
        if not entries:
            continue
        emp = lane(f"empathy:{pv.id}", f"Empathy: {pv.name}", "says, thinks, does, feels")
        index = m.stage_index()
        for e in entries:
            for quadrant in ("says", "thinks", "does", "feels"):
                emp.cells[index[e.stage]] += [item(x, who=(pv.id,), tag=quadrant)
                                              for x in getattr(e, quadrant)
                                              if e.stage in index]
        lanes.append(emp)

    tp_backstage = lane("backstage", "Backstage actions", "behind the line of visibility",
                        backstage=True)
    for sv in view.stages:
        for tv in sv.touchpoints:
            tp_backstage.cells[sv.index] += [item(b, tv) for b in tv.tp.backstage]
    if any(tp_backstage.cells):
        lanes.append(tp_backstage)
    index = m.stage_index()
    by_id = {tv.tp.id: tv for tv in view.touchpoints}
    for bl in m.backstage:
        bs = lane(f"backstage:{bl.id}", bl.name, bl.owner or "", backstage=True)
        for it in bl.items:
            if it.stage in index:
                linked = [by_id[t] for t in it.touchpoints if t in by_id]
                bs.cells[index[it.stage]].append(item(
                    it.text, linked[0] if linked else None,
                    detail=("also " + ", ".join(f"#{tv.number}" for tv in linked[1:]))
                    if len(linked) > 1 else None))
        lanes.append(bs)
    if m.kind.value == "blueprint" and not any(la.backstage for la in lanes):
        lanes.append(tp_backstage)  # a blueprint always shows its line of visibility
    if m.kind.value == "empathy":
        # An empathy map is about its people: the journey lanes it leaves empty are noise.
        lanes = [la for la in lanes if la.key in ("touchpoints", "emotion") or any(la.cells)]
    return lanes


def _empathy_cards(view: MapView) -> list[tuple[PersonaView, dict[str, list[str]]]]:
    cards = []
    for pv in view.personas:
        quadrants: dict[str, list[str]] = {"says": [], "thinks": [], "does": [], "feels": []}
        for e in view.map.empathy:
            if e.persona == pv.id and not e.stage:
                for q in quadrants:
                    quadrants[q] += getattr(e, q)
        if any(quadrants.values()):
            cards.append((pv, quadrants))
    return cards
