"""Checking a map: broken references are errors, the domain's known pitfalls are warnings.

Errors make a map unusable (a touchpoint in an unknown stage, a link to nowhere, an emotion of
+5). Warnings are the mistakes the seeds warn about: a stage nobody designed a touchpoint for, no
post-purchase stages, a touchpoint nobody owns, a handover with nobody accountable on one side, a
persona the journey never meets, a map past its review date, a pain point without an
opportunity. Every issue carries the file, line and column it is about.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

from journeyscope.model.files import SourceMap, build_map, load_map, read_document
from journeyscope.model.issues import Issue, MapError, ValidationResult
from journeyscope.model.types import JourneyMap, Kind, Phase

EMOTION_RANGE = (-2, 2)


class _Checker:
    def __init__(self, journey_map: JourneyMap, source: SourceMap, today: dt.date):
        self.m = journey_map
        self.src = source
        self.today = today
        self.issues: list[Issue] = []

    def error(self, code: str, message: str, *path: Any) -> None:
        self.issues.append(self.src.issue("error", code, message, path))

    def warn(self, code: str, message: str, *path: Any) -> None:
        self.issues.append(self.src.issue("warning", code, message, path))

    # -- errors --------------------------------------------------------------------------------

    def duplicates(self, field: str, ids: Iterable[str | None], what: str) -> None:
        seen: Counter[str] = Counter()
        for i, ident in enumerate(ids):
            if ident is None:
                continue
            seen[ident] += 1
            if seen[ident] == 2:
                self.error("duplicate-id", f"duplicate {what} id {ident!r}: ids must be unique",
                           field, i, "id")

    def references(self) -> None:
        m = self.m
        stages = set(m.stage_ids())
        personas = {p.id for p in m.personas}
        touchpoints = {t.id for t in m.touchpoints}

        def persona_ref(pid: str, *path: Any) -> None:
            if pid not in personas:
                self.error("unknown-persona", f"unknown persona {pid!r}{_known(personas)}", *path)

        for i, t in enumerate(m.touchpoints):
            at = ("touchpoints", i)
            if t.stage not in stages:
                self.error("unknown-stage", f"touchpoint {t.id!r} is in unknown stage "
                           f"{t.stage!r}{_known(stages)}", *at, "stage")
            for j, pid in enumerate(t.personas):
                persona_ref(pid, *at, "personas", j)
            for pid, value in t.emotion.items():
                persona_ref(pid, *at, "emotion", pid)
                low, high = EMOTION_RANGE
                if not low <= value <= high:
                    self.error("emotion-range", f"emotion of {pid!r} at {t.id!r} is {value}; "
                               f"emotions run from {low} (very negative) to +{high} (very "
                               "positive)", *at, "emotion", pid)
            for j, link in enumerate(t.next):
                if link.to not in touchpoints:
                    self.error("dangling-link", f"touchpoint {t.id!r} links to unknown "
                               f"touchpoint {link.to!r}", *at, "next", j)
                elif link.to == t.id:
                    self.error("self-link", f"touchpoint {t.id!r} links to itself",
                               *at, "next", j)
            if t.main_channel and t.main_channel not in t.channels:
                self.error("unknown-channel", f"main channel {t.main_channel!r} of {t.id!r} is "
                           f"not one of its channels {t.channels}", *at, "main_channel")
            pain_ids = {p.id for p in t.pain_points if p.id}
            for j, pain in enumerate(t.pain_points):
                for k, pid in enumerate(pain.personas):
                    persona_ref(pid, *at, "pain_points", j, "personas", k)
            for j, opp in enumerate(t.opportunities):
                for k, ref in enumerate(opp.addresses):
                    if ref not in pain_ids:
                        self.error("unknown-pain-point", f"opportunity addresses unknown pain "
                                   f"point {ref!r}{_known(pain_ids)}",
                                   *at, "opportunities", j, "addresses", k)
            for j, asset in enumerate(t.information):
                for k, pid in enumerate(asset.audience):
                    persona_ref(pid, *at, "information", j, "audience", k)

        for i, entry in enumerate(m.empathy):
            persona_ref(entry.persona, "empathy", i, "persona")
            if entry.stage is not None and entry.stage not in stages:
                self.error("unknown-stage", f"unknown stage {entry.stage!r}{_known(stages)}",
                           "empathy", i, "stage")
        for i, lane in enumerate(m.backstage):
            for j, item in enumerate(lane.items):
                if item.stage not in stages:
                    self.error("unknown-stage", f"unknown stage {item.stage!r}{_known(stages)}",
                               "backstage", i, "items", j, "stage")
                for k, tid in enumerate(item.touchpoints):
                    if tid not in touchpoints:
                        self.error("unknown-touchpoint", f"unknown touchpoint {tid!r}",
                                   "backstage", i, "items", j, "touchpoints", k)
        if m.persona_view is not None and m.extends is None:
            persona_ref(m.persona_view, "persona_view")

    # -- warnings ------------------------------------------------------------------------------

    def pitfalls(self) -> None:
        m = self.m
        per_stage = Counter(t.stage for t in m.touchpoints)
        journey_like = m.kind in (Kind.journey, Kind.blueprint)
        if journey_like:
            for i, stage in enumerate(m.stages):
                if per_stage[stage.id] == 0:
                    self.warn("empty-stage", f"stage {stage.id!r} has no touchpoints: what does "
                              "the account meet there?", "stages", i)
            if m.stages and not any(s.effective_phase() is Phase.post_purchase
                                    for s in m.stages):
                self.warn("no-post-purchase", "the map has no post-purchase stage "
                          "(implementation, support, renewal...): B2B relationships are won or "
                          "lost after the sale", "stages")
        for i, t in enumerate(m.touchpoints):
            if not t.owner:
                self.warn("no-owner", f"touchpoint {t.id!r} has no owner: which team is "
                          "responsible for it?", "touchpoints", i)
        index = {t.id: i for i, t in enumerate(m.touchpoints)}
        for handover in m.handovers():
            if handover.from_owner and handover.to_owner:
                continue
            i = index[handover.source]
            missing = handover.source if not handover.from_owner else handover.target
            link_pos = next(j for j, link in enumerate(m.touchpoints[i].next)
                            if link.to == handover.target)
            self.warn("handover-without-owner", f"the handover from {handover.source!r} to "
                      f"{handover.target!r} has no owner on the side of {missing!r}: nobody is "
                      "accountable for passing the account on", "touchpoints", i, "next", link_pos)
        involved = set()
        for t in m.touchpoints:
            involved.update(t.personas)
            involved.update(t.emotion)
        involved.update(e.persona for e in m.empathy)
        if m.kind is not Kind.empathy or not m.empathy:
            for i, p in enumerate(m.personas):
                if p.id not in involved:
                    self.warn("persona-not-involved", f"persona {p.id!r} is never involved in a "
                              "touchpoint", "personas", i)
        if m.review.overdue(self.today):
            self.warn("review-overdue", f"the map was due for review on {m.review.due()} "
                      f"(last reviewed {m.review.last_reviewed}, every {m.review.every_days} "
                      "days)", "review", "last_reviewed")
        for i, stage in enumerate(m.stages):
            if stage.pain_points and not stage.opportunities:
                self.warn("pain-without-opportunity", f"stage {stage.id!r} names pain points "
                          "but no opportunity to answer them", "stages", i, "pain_points")
        for i, t in enumerate(m.touchpoints):
            if t.pain_points and not t.opportunities:
                self.warn("pain-without-opportunity", f"touchpoint {t.id!r} names pain points "
                          "but no opportunity to answer them", "touchpoints", i, "pain_points")

    def run(self) -> list[Issue]:
        m = self.m
        self.duplicates("stages", (s.id for s in m.stages), "stage")
        self.duplicates("personas", (p.id for p in m.personas), "persona")
        self.duplicates("touchpoints", (t.id for t in m.touchpoints), "touchpoint")
        self.duplicates("backstage", (b.id for b in m.backstage), "backstage lane")
        for i, t in enumerate(m.touchpoints):
            self.duplicates_in(("touchpoints", i, "pain_points"), t.pain_points, "pain point")
            self.duplicates_in(("touchpoints", i, "opportunities"), t.opportunities, "opportunity")
        self.references()
        self.pitfalls()
        return self.issues

    def duplicates_in(self, path: tuple[Any, ...], items: list[Any], what: str) -> None:
        seen: set[str] = set()
        for j, item in enumerate(items):
            if item.id is None:
                continue
            if item.id in seen:
                self.error("duplicate-id", f"duplicate {what} id {item.id!r}", *path, j, "id")
            seen.add(item.id)


def _known(names: set[str]) -> str:
    if not names:
        return ""
    shown = sorted(names)[:8]
    more = ", ..." if len(names) > 8 else ""
    return f" (known: {', '.join(shown)}{more})"


def check_map(journey_map: JourneyMap, source: SourceMap | None = None,
              today: dt.date | None = None) -> list[Issue]:
    """Every reference error and pitfall warning of an already-parsed map."""
    return _Checker(journey_map, source or SourceMap(), today or dt.date.today()).run()


def validate(source: JourneyMap | str | os.PathLike[str], *, strict: bool = False,
             today: dt.date | None = None) -> ValidationResult:
    """Validate a map (or a map file): every error and warning, located.

    A file that cannot be parsed gives its syntax or schema errors; a file that `extends` a base
    map is checked as resolved, with each issue located in the file it comes from.

    >>> from journeyscope.model.templates import template_path
    >>> validate(template_path("b2b")).ok
    True
    """
    if isinstance(source, JourneyMap):
        if source.extends:
            from journeyscope.model.variants import resolve_with_sources

            try:
                resolved, locate = resolve_with_sources(source)
            except MapError as exc:
                return _ordered(exc.issues, strict)
            return _ordered(check_map(resolved, locate, today), strict)
        return _ordered(check_map(source, None, today), strict)
    try:
        data, src = read_document(source)
        if isinstance(data, dict) and data.get("extends"):
            from journeyscope.model.variants import resolve_with_sources

            resolved, locate = resolve_with_sources(source)
            return _ordered(check_map(resolved, locate, today), strict)
        journey_map = build_map(data, src)
    except MapError as exc:
        return _ordered(exc.issues, strict)
    return _ordered(check_map(journey_map, src, today), strict)


def load_valid_map(path: str | os.PathLike[str], *, today: dt.date | None = None) -> JourneyMap:
    """Load a map file for a command that uses it (render, report, analyze, import, match):
    checked as `journeyscope validate` checks it, so that a broken map stops with the same
    located errors (a `MapError`, exit 2) instead of a traceback, a wrong picture or wrongly
    matched events. Warnings do not stop it. Returns what `load_map` returns.

    >>> from journeyscope.model.templates import template_path
    >>> load_valid_map(template_path("b2b")).stage_ids()[:2]
    ['awareness', 'consideration']
    """
    result = validate(path, today=today)
    if not result.ok:
        raise MapError(result.errors)
    return load_map(path)


def _ordered(issues: list[Issue], strict: bool) -> ValidationResult:
    result = ValidationResult(sorted(issues, key=lambda i: (i.severity != "error", i.file or "",
                                                           i.line or 0, i.column or 0)))
    return result.strict() if strict else result
