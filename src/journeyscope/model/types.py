"""The designed journey map: every element a B2B journey map holds, as Pydantic v2 types.

The file format is these types dumped to YAML or JSON. Field names are the vocabulary of
../shared/DESIGN.md. Shorthands a person would write by hand are accepted on load (a string
where a note with only a text is meant, a single match rule where a list is meant) and the
canonical long form is what `save_map` writes, so load -> save -> load gives an equal map.

Cross-references (a touchpoint's stage, a link's target, a persona in an emotion) are checked
by `journeyscope.model.validate`, not here, so that one bad reference is reported with its
location together with every other problem instead of aborting at the first.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

FORMAT_VERSION = 1

# ---------------------------------------------------------------------------------------------
# Scalars


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return value


Id = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_check_id)]

_COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _check_colour(value: str) -> str:
    if not _COLOUR_RE.match(value):
        raise ValueError(f"{value!r} is not a colour: write it as # and six hex digits, e.g. "
                         "#1f77b4")
    return value


# The pattern stays in the JSON schema for editors; the check is ours, to say it plainly.
Colour = Annotated[str, AfterValidator(_check_colour),
                   Field(json_schema_extra={"pattern": _COLOUR_RE.pattern})]

_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
# Calendar units have no fixed length; a time standard needs one. Documented in docs/map-format.md.
_UNIT_SECONDS = {
    "years": 365 * 86400,
    "months": 30 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


def parse_duration(text: str) -> dt.timedelta:
    """Parse an ISO 8601 duration (``P30D``, ``PT4H``, ``P1W2D``) into a timedelta.

    A month counts 30 days and a year 365 days.

    >>> parse_duration("P1W2D")
    datetime.timedelta(days=9)
    """
    match = _DURATION_RE.match(text.strip().upper()) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration; write e.g. P30D (30 days), P2W (2 weeks), "
            "PT4H (4 hours) or P1M (30 days)"
        )
    seconds = 0.0
    for unit, raw in match.groupdict().items():
        if raw:
            seconds += float(raw.replace(",", ".")) * _UNIT_SECONDS[unit]
    return dt.timedelta(seconds=seconds)


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]


def _listify(value: Any) -> Any:
    """Accept a single item where a list is meant (``channels: web``)."""
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        return [value]
    return value


def _textify(value: Any) -> Any:
    """Accept a plain string where a note with only a text is meant."""
    return {"text": value} if isinstance(value, str) else value


def _many(item: Any, *shorthands: Any) -> Any:
    """A list field that also accepts a single item, and shorthand items (a string for a note
    with only a text); the JSON Schema says so too."""
    one = Union[(item, *shorthands)] if shorthands else item  # noqa: UP007
    return Annotated[
        list[item], BeforeValidator(_listify, json_schema_input_type=Union[list[one], one])  # noqa: UP007
    ]


StrList = _many(str)
IdList = _many(Id)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)


# ---------------------------------------------------------------------------------------------
# Enumerations


class State(StrEnum):
    current = "current"
    future = "future"


class Kind(StrEnum):
    journey = "journey"
    day_in_the_life = "day-in-the-life"
    empathy = "empathy"
    blueprint = "blueprint"


class Evidence(StrEnum):
    """How we know: a workshop guess, customer research, or measured data."""

    assumption = "assumption"
    research = "research"
    data = "data"


class Direction(StrEnum):
    higher = "higher"
    lower = "lower"


class Phase(StrEnum):
    pre_purchase = "pre-purchase"
    purchase = "purchase"
    post_purchase = "post-purchase"


OUTCOMES = ("won", "lost", "churned", "renewed", "expanded")

# Stage ids and names that mean "after the purchase" when a stage does not say its phase.
_POST_PURCHASE_WORDS = (
    "implementation", "onboarding", "adoption", "support", "relationship", "retention",
    "renewal", "expansion", "loyalty", "advocacy", "cessation", "churn", "service", "success",
    "usage", "use",
)
_PURCHASE_WORDS = ("decision", "purchase", "buy", "procurement", "contract", "negotiation")


# ---------------------------------------------------------------------------------------------
# Parts


class Review(_Base):
    """Who keeps the map alive and how often it is reviewed."""

    owner: str | None = None
    every_days: int | None = Field(default=None, gt=0, le=3650)
    last_reviewed: dt.date | None = None

    def due(self) -> dt.date | None:
        if self.every_days is None or self.last_reviewed is None:
            return None
        return self.last_reviewed + dt.timedelta(days=self.every_days)

    def overdue(self, today: dt.date | None = None) -> bool:
        due = self.due()
        return due is not None and (today or dt.date.today()) > due


class Needs(_Base):
    functional: StrList = Field(default_factory=list)
    emotional: StrList = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        # `needs: [a, b]` means functional needs; the emotional ones must be named.
        if isinstance(value, (list, str)):
            return {"functional": _listify(value)}
        return value

    def __bool__(self) -> bool:
        return bool(self.functional or self.emotional)


NeedsIn = Annotated[
    Needs, BeforeValidator(lambda v: v, json_schema_input_type=Union[Needs, list[str], str])  # noqa: UP007
]


class PainPoint(_Base):
    text: str = Field(min_length=1)
    id: Id | None = None
    severity: Literal["low", "medium", "high"] = "medium"
    personas: IdList = Field(default_factory=list)
    evidence: Evidence = Evidence.assumption

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return _textify(value)


class Opportunity(_Base):
    text: str = Field(min_length=1)
    id: Id | None = None
    addresses: IdList = Field(default_factory=list)  # pain point ids it answers
    owner: str | None = None
    impact: Literal["low", "medium", "high"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return _textify(value)


class InformationAsset(_Base):
    """A piece of information the customer needs at this point: what, in which format, pushed
    proactively or given on request, and for whom."""

    name: str = Field(min_length=1)
    format: str | None = None  # pdf, video, webpage, email, deck, call, ...
    delivery: Literal["proactive", "on-request"] = "proactive"
    audience: IdList = Field(default_factory=list)
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


Measure = Literal[
    "reach", "conversion", "time_to_next", "time_at", "frequency", "csat", "nps", "score",
    "sentiment", "handover_gap", "drop_off", "time_in_stage", "win_rate", "revenue",
]


class KPI(_Base):
    """A key performance indicator with its target. `measure` names the journeyscope measurement
    the KPI is judged against, when there is one (reach, conversion, csat, time_to_next, ...)."""

    name: str = Field(min_length=1)
    unit: str | None = None  # ratio, percent, days, hours, count, score, currency
    target: float | None = None
    direction: Direction = Direction.higher
    measure: Measure | None = None
    description: str | None = None

    def met(self, value: float | None) -> bool | None:
        if value is None or self.target is None:
            return None
        return value >= self.target if self.direction is Direction.higher else value <= self.target


class Link(_Base):
    """A designed path from one touchpoint to the next; a handover when the owners differ."""

    to: Id
    time_standard: Duration | None = None
    label: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_id(cls, value: Any) -> Any:
        return {"to": value} if isinstance(value, str) else value


class MatchRule(_Base):
    """Which observed events are this touchpoint (or outcome). Fields are ANDed; the values of
    one field are ORed; several rules on a touchpoint are ORed.

    `activity` compares exactly (case-insensitive), `regex` searches the activity with a
    regular expression, `attributes` compares columns or imported attributes by name.
    """

    activity: StrList = Field(default_factory=list)
    regex: _many(Regex) = Field(default_factory=list)  # type: ignore[valid-type]
    channel: StrList = Field(default_factory=list)
    owner: StrList = Field(default_factory=list)
    source: StrList = Field(default_factory=list)
    persona: StrList = Field(default_factory=list)
    attributes: dict[str, StrList] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> MatchRule:
        if not (self.activity or self.regex or self.channel or self.owner or self.source
                or self.persona or self.attributes):
            raise ValueError("a match rule needs at least one condition (activity, regex, ...)")
        return self


MatchRules = _many(MatchRule)


# ---------------------------------------------------------------------------------------------
# The elements


class Stage(_Base):
    id: Id
    name: str = Field(min_length=1)
    # Stages are drawn in list order; `order` places a stage explicitly (a variant adding a
    # stage between two of its base's, say order 2.5).
    order: float | None = None
    description: str | None = None
    phase: Phase | None = None
    exit_criteria: str | None = None
    time_standard: Duration | None = None
    color: Colour | None = None
    # The seed's template table keeps actions, needs, challenges and opportunities per stage
    # as well as per touchpoint; both are drawn in the same lanes.
    customer_actions: StrList = Field(default_factory=list)
    needs: NeedsIn = Field(default_factory=Needs)
    pain_points: _many(PainPoint, str) = Field(default_factory=list)
    opportunities: _many(Opportunity, str) = Field(
        default_factory=list
    )
    evidence: Evidence = Evidence.assumption

    def effective_phase(self) -> Phase:
        """The stage's phase, inferred from its id and name when not stated."""
        if self.phase is not None:
            return self.phase
        words = f"{self.id} {self.name}".lower()
        if any(w in words for w in _POST_PURCHASE_WORDS):
            return Phase.post_purchase
        if any(w in words for w in _PURCHASE_WORDS):
            return Phase.purchase
        return Phase.pre_purchase


class Persona(_Base):
    """A role in the buying committee."""

    id: Id
    name: str = Field(min_length=1)
    role: str | None = None  # economic-buyer, decision-maker, procurement, technical-evaluator, ...
    influence: float | None = Field(default=None, ge=0, le=1)
    description: str | None = None
    goals: StrList = Field(default_factory=list)
    motivations: StrList = Field(default_factory=list)
    needs: NeedsIn = Field(default_factory=Needs)
    pain_points: StrList = Field(default_factory=list)
    decision_criteria: StrList = Field(default_factory=list)
    demographics: dict[str, str] = Field(default_factory=dict)
    psychographics: StrList = Field(default_factory=list)
    behaviours: StrList = Field(default_factory=list)
    preferred_channels: StrList = Field(default_factory=list)
    information_formats: StrList = Field(default_factory=list)
    titles: _many(Regex) = Field(default_factory=list)  # type: ignore[valid-type]

    @field_validator("demographics", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class Touchpoint(_Base):
    """A moment of interaction between the account and the vendor, within one stage."""

    id: Id
    stage: Id
    name: str = Field(min_length=1)
    description: str | None = None
    channels: StrList = Field(default_factory=list)
    main_channel: str | None = None  # the most-used of `channels`
    owner: str | None = None
    personas: IdList = Field(default_factory=list)
    customer_actions: StrList = Field(default_factory=list)
    needs: NeedsIn = Field(default_factory=Needs)
    emotion: dict[str, int] = Field(default_factory=dict)
    pain_points: _many(PainPoint, str) = Field(default_factory=list)
    moment_of_truth: bool = False
    opportunities: _many(Opportunity, str) = Field(
        default_factory=list
    )
    information: _many(InformationAsset, str) = Field(
        default_factory=list
    )
    kpis: _many(KPI) = Field(default_factory=list)
    time_standard: Duration | None = None
    next: _many(Link, str) = Field(default_factory=list)
    evidence: Evidence = Evidence.assumption
    match: MatchRules = Field(default_factory=list)
    backstage: StrList = Field(default_factory=list)

    # The emotion range (-2..+2) is checked by validate(), so that it is reported with its
    # location together with every other problem.


class EmpathyEntry(_Base):
    """What one persona says, thinks, does and feels (optionally at one stage)."""

    persona: Id
    stage: Id | None = None
    says: StrList = Field(default_factory=list)
    thinks: StrList = Field(default_factory=list)
    does: StrList = Field(default_factory=list)
    feels: StrList = Field(default_factory=list)


class BackstageItem(_Base):
    stage: Id
    text: str = Field(min_length=1)
    touchpoints: IdList = Field(default_factory=list)


class BackstageLane(_Base):
    """A lane of a service blueprint below the line of visibility (backstage actions, support
    processes, systems)."""

    id: Id
    name: str = Field(min_length=1)
    owner: str | None = None
    items: _many(BackstageItem) = Field(default_factory=list)


class Outcomes(_Base):
    won: MatchRules = Field(default_factory=list)
    lost: MatchRules = Field(default_factory=list)
    churned: MatchRules = Field(default_factory=list)
    renewed: MatchRules = Field(default_factory=list)
    expanded: MatchRules = Field(default_factory=list)

    def items(self) -> list[tuple[str, list[MatchRule]]]:
        return [(name, getattr(self, name)) for name in OUTCOMES]


class Removals(_Base):
    """What a variant removes from its base map."""

    stages: IdList = Field(default_factory=list)
    personas: IdList = Field(default_factory=list)
    touchpoints: IdList = Field(default_factory=list)


class Handover(BaseModel):
    """Derived, never written: a link whose two touchpoints have different owners."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    from_owner: str | None
    to_owner: str | None
    time_standard: str | None = None

    @property
    def label(self) -> str:
        return f"{self.from_owner or 'no owner'} to {self.to_owner or 'no owner'}"


# ---------------------------------------------------------------------------------------------
# The map


class JourneyMap(_Base):
    """One designed customer journey.

    >>> m = JourneyMap(name="Demo", stages=[{"id": "awareness", "name": "Awareness"}])
    >>> m.stage_ids()
    ['awareness']
    """

    journeyscope: Literal[1] = FORMAT_VERSION
    name: str = Field(min_length=1)
    objective: str | None = None
    audience: str | None = None
    description: str | None = None
    state: State = State.current
    kind: Kind = Kind.journey
    segment: str | None = None
    account: str | None = None
    extends: str | None = None  # path of the base map, relative to this file
    persona_view: Id | None = None  # a persona view: the map as one persona meets it
    remove: Removals = Field(default_factory=Removals)
    review: Review = Field(default_factory=Review)
    stages: list[Stage] = Field(default_factory=list)
    personas: list[Persona] = Field(default_factory=list)
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    empathy: list[EmpathyEntry] = Field(default_factory=list)
    backstage: list[BackstageLane] = Field(default_factory=list)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _order_stages(self) -> JourneyMap:
        # A stage without `order` keeps its place in the list (counted from 1).
        if any(s.order is not None for s in self.stages):
            keyed = sorted(enumerate(self.stages),
                           key=lambda p: (p[1].order if p[1].order is not None else p[0] + 1, p[0]))
            self.stages = [s for _, s in keyed]
        return self

    # -- lookups -------------------------------------------------------------------------------

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def persona(self, persona_id: str) -> Persona | None:
        return next((p for p in self.personas if p.id == persona_id), None)

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        return next((t for t in self.touchpoints if t.id == touchpoint_id), None)

    def touchpoints_in(self, stage_id: str) -> list[Touchpoint]:
        return [t for t in self.touchpoints if t.stage == stage_id]

    def stage_index(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.stages)}

    def links(self) -> list[tuple[Touchpoint, Link]]:
        return [(t, link) for t in self.touchpoints for link in t.next]

    def handovers(self) -> list[Handover]:
        """Every link whose two touchpoints have different owners. A missing owner on one side
        counts as different (validate() warns about it); two missing owners do not."""
        by_id = {t.id: t for t in self.touchpoints}
        out = []
        for source, link in self.links():
            target = by_id.get(link.to)
            if target is None:
                continue
            if source.owner != target.owner:
                out.append(
                    Handover(
                        source=source.id,
                        target=target.id,
                        from_owner=source.owner,
                        to_owner=target.owner,
                        time_standard=link.time_standard,
                    )
                )
        return out

    def owners(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.touchpoints:
            if t.owner:
                seen.setdefault(t.owner, None)
        return list(seen)

    def channels(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.touchpoints:
            for c in t.channels:
                seen.setdefault(c, None)
        return list(seen)
