"""Every analysis of a map over a workspace in one call: `analyze(map, workspace)`.

The events are read, filtered, matched (when the workspace was matched with another map),
joined to the sentiment cache and stepped once; those intermediates are kept in the engine
and every section reads them. Each section's tables come back as Arrow tables in an
`AnalysisResult`, which also serialises to JSON.

>>> import journeyscope  # doctest: +SKIP
>>> result = journeyscope.analyze("map.yaml", "ws.duckdb", segment="enterprise")  # doctest: +SKIP
>>> result["painpoints"].to_pylist()[0]["touchpoint"]  # doctest: +SKIP
'data-migration'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics import base, conformance, painpoints, paths, retention, stages, voc
from journeyscope.analytics.base import AnalysisError
from journeyscope.analytics.engine import Source, materialize, open_workspace
from journeyscope.analytics.sentiment import text_sentiment, update_cache, with_sentiment
from journeyscope.analytics.themes import negative_themes
from journeyscope.model.types import JourneyMap

# Event columns no analysis reads (text is read from the feedback events only).
WIDE_COLUMNS = ("text", "attributes", "event_key", "source")

# (done, total, label): called before each section and once at the end.
Progress = Callable[[int, int, str], None]


@dataclass
class AnalysisResult:
    """Every result table of one analysis run, by name (`result["stages.funnel"]`), with what
    was analysed (`meta`: map, engine, filters, counts, seconds per section)."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pa.Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no result table {name!r}; there are: {', '.join(self.tables)}"
                           ) from None

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def names(self) -> list[str]:
        return list(self.tables)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python: `meta`, and each table as a list of row dicts."""
        return {
            "meta": _plain(self.meta),
            "tables": {name: [_plain(r) for r in t.to_pylist()] for name, t in self.tables.items()},
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 1
                ) -> str:
        """The result as JSON (timestamps as ISO 8601, NaN as null); written to `path` too
        when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def _bound(text: str | dt.datetime | dt.date | None, *, end: bool) -> dt.datetime | None:
    """A --since/--until value as a timestamp; a date alone means its whole day."""
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return text.replace(tzinfo=None) if text.tzinfo is None else \
            text.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(text, dt.date):
        day = dt.datetime.combine(text, dt.time())
        return day + dt.timedelta(days=1) if end else day
    try:
        if len(text) == 10:
            return _bound(dt.date.fromisoformat(text), end=end)
        return _bound(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), end=end)
    except ValueError:
        flag = "--until" if end else "--since"
        raise AnalysisError(f"{flag} {text!r}: not a date or time; write e.g. 2025-01-31 or "
                            "2025-01-31T12:00") from None


def _load_map(journey_map: JourneyMap | str | os.PathLike[str]) -> JourneyMap:
    if isinstance(journey_map, JourneyMap):
        return journey_map
    from journeyscope.model.files import load_map

    return load_map(journey_map)


def _needs_match(source: Source, journey_map: JourneyMap, events: ir.Table) -> bool:
    if not {"touchpoint", "stage", "outcome"} <= set(events.columns):
        return True
    stored = source.meta.get("map")
    if stored is None:
        return source.meta.get("_origin") == "workspace"
    try:
        stored_map = JourneyMap.model_validate(json.loads(stored))
    except ValueError:
        return True
    return _match_rules(stored_map) != _match_rules(journey_map)


def _with_contact_persona(events: ir.Table, contacts: ir.Table | None) -> ir.Table:
    """An event without a persona takes its contact's (the importer's rule, applied again here
    for events imported before their contacts)."""
    if contacts is None or not {"contact_id", "persona"} <= set(contacts.columns) \
            or "contact_id" not in events.columns:
        return events
    known = contacts.filter(contacts.persona.notnull())
    known = known.select(_c_id=known.contact_id, _c_persona=known.persona)
    joined = events.left_join(known, events.contact_id == known._c_id)
    return joined.mutate(persona=joined.persona.coalesce(joined._c_persona)).drop(
        "_c_id", "_c_persona")


def _match_rules(m: JourneyMap) -> Any:
    return ([(t.id, t.stage, [r.model_dump() for r in t.match]) for t in m.touchpoints],
            m.outcomes.model_dump())


class _Run:
    """One analysis run: the shared intermediates and the sections that read them."""

    def __init__(self, journey_map: JourneyMap, source: Source, progress: Progress | None):
        self.map = journey_map
        self.source = source
        self.progress = progress
        self.tables: dict[str, pa.Table] = {}
        self.seconds: dict[str, float] = {}

    def put(self, name: str, table: ir.Table | pa.Table) -> None:
        self.tables[name] = table if isinstance(table, pa.Table) else table.to_pyarrow()

    def sections(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("prepare", self.prepare),
            ("stages", self.stages),
            ("paths", self.paths),
            ("conformance", self.conformance),
            ("touchpoints", self.touchpoints),
            ("attribution", self.attribution),
            ("handovers", self.handovers),
            ("committee", self.committee),
            ("voice of the customer", self.voice),
            ("retention", self.retention),
            ("pain points", self.painpoints),
        ]

    def run(self) -> None:
        todo = self.sections()
        for i, (label, section) in enumerate(todo):
            if self.progress:
                self.progress(i, len(todo), label)
            started = time.perf_counter()
            section()
            self.seconds[label] = round(time.perf_counter() - started, 3)
        if self.progress:
            self.progress(len(todo), len(todo), "done")

    # -- the shared intermediates ----------------------------------------------------------

    def prepare(self) -> None:
        src, m = self.source, self.map
        prepared = base.prepare(self.events_in, m, match=True if self.rematch else None)
        # The analyses never read these; leaving them out keeps the one sort narrow.
        wide = [c for c in WIDE_COLUMNS if c in prepared.columns]
        # One sort and one kept table for both: the events, and their journey (touchpoint
        # events with their next touchpoint event) within them.
        self.events = materialize(base.events_with_journey(prepared.drop(*wide)))
        self.journey = base.journey_of(self.events)
        accounts = self.accounts
        self.outcomes = materialize(base.account_outcomes(self.events))
        self.dims = materialize(base.account_dimensions(self.outcomes, accounts))
        self.progress_table = materialize(stages.stage_progress(self.journey, m))
        has_text = "text" in prepared.columns
        said = prepared.score.notnull() | (prepared.text.notnull() if has_text else False)
        feedback = prepared.filter(said).drop(*[c for c in wide if c != "text"])
        if has_text:
            feedback = materialize(feedback)
            feedback = with_sentiment(feedback, text_sentiment(
                feedback, cache=src.tables.get("text_sentiment")))
        if accounts is not None and "segment" in accounts.columns:
            seg = accounts.select(_seg_acc=accounts.account_id, segment=accounts.segment)
            feedback = feedback.left_join(seg, feedback.account_id == seg._seg_acc).drop(
                "_seg_acc")
        self.feedback = materialize(feedback)
        counts = self.outcomes.aggregate(accounts=self.outcomes.count(),
                                         events=self.outcomes.events.sum()).to_pyarrow()
        self.counts = counts.to_pylist()[0]

    # -- the sections ------------------------------------------------------------------------

    def stages(self) -> None:
        j, m, p, d = self.journey, self.map, self.progress_table, self.dims
        self.put("stages.funnel", stages.funnel(j, m, progress=p))
        self.put("stages.funnel_strict", stages.funnel(j, m, strict=True, progress=p))
        for by in ("segment", "cohort", "first_channel"):
            if by in d.columns:
                self.put(f"stages.funnel_by_{by}", stages.funnel(j, m, by=by, dimensions=d,
                                                                progress=p))
        self.put("stages.funnel_by_persona", stages.funnel(j, m, by="persona"))
        self.put("stages.time_in_stage", stages.time_in_stage(j, m, progress=p))
        self.put("stages.regressions", stages.regressions(j, m))
        self.put("stages.stalled", stages.stalled(j, m, self.outcomes, progress=p))

    def paths(self) -> None:
        j = self.journey
        self.put("paths.dfg_touchpoints", paths.directly_follows(j, activity="touchpoint"))
        self.put("paths.dfg_stages", paths.directly_follows(j, activity="stage"))
        self.put("paths.variants", paths.variants(j, activity="touchpoint", top=50))
        self.put("paths.sankey_stages", paths.sankey(j, level="stage"))
        self.put("paths.sankey_touchpoints", paths.sankey(j, level="touchpoint"))
        self.put("paths.won_vs_lost", paths.compare_paths(j, self.outcomes))

    def conformance(self) -> None:
        j, m = self.journey, self.map
        self.put("conformance.fitness", conformance.fitness(j, m))
        self.put("conformance.undesigned_moves", conformance.undesigned_moves(j, m))
        self.put("conformance.unmet_touchpoints", conformance.unmet_touchpoints(j, m))
        self.put("conformance.untravelled_links", conformance.untravelled_links(j, m))

    def touchpoints(self) -> None:
        from journeyscope.analytics import handovers, touchpoints

        stats = materialize(touchpoints.touchpoint_stats(self.journey, self.map,
                                                         outcomes=self.outcomes))
        self.handover_table = materialize(handovers.designed_handovers(self.events, self.map))
        self.put("touchpoints.stats", stats)
        self.put("touchpoints.kpis", touchpoints.touchpoint_kpis(stats, self.map,
                                                                 handovers=self.handover_table))

    def attribution(self) -> None:
        from journeyscope.analytics.attribution import MODELS, attribution

        results = attribution(self.journey, self.map, outcomes=self.outcomes)
        for key, result in results.items():
            schema = pa.schema([("key", pa.string()), ("touches", pa.int64()),
                                ("journeys", pa.int64())]
                               + [(name, pa.float64()) for name in MODELS])
            self.put(f"attribution.{key}", pa.Table.from_pylist(result.rows, schema=schema))

    def handovers(self) -> None:
        from journeyscope.analytics import handovers

        self.put("handovers.designed", self.handover_table)
        self.put("handovers.matrix", handovers.handover_matrix(self.journey, self.map))
        self.put("handovers.changes", handovers.owner_changes(self.journey, self.map))

    def committee(self) -> None:
        from journeyscope.analytics import committee

        self.put("committee.by_stage", committee.committee_by_stage(self.events, self.map))
        self.put("committee.win_rate_by_coverage",
                 committee.win_rate_by_coverage(self.events, self.map, outcomes=self.outcomes))
        self.put("committee.persona_reach",
                 committee.persona_reach(self.events, self.map, outcomes=self.outcomes))

    def voice(self) -> None:
        f, m = self.feedback, self.map
        for by in ("touchpoint", "stage", "persona", "segment"):
            if by in f.columns:
                self.put(f"voc.by_{by}", voc.voice_by(f, m, by=by))
        self.put("voc.emotion_by_stage", voc.emotion_curve(f, m))
        self.put("voc.emotion_by_touchpoint", voc.emotion_curve(f, m, level="touchpoint"))
        self.put("voc.emotion_by_stage_persona", voc.emotion_curve(f, m, by_persona=True))
        if "sentiment" in f.columns:
            self.put("voc.negative_themes", negative_themes(f))

    def retention(self) -> None:
        d, j, m, p = self.dims, self.journey, self.map, self.progress_table
        self.put("retention.overall", retention.retention(d))
        for by in ("segment", "win_cohort", "cohort"):
            if by in d.columns or by == "win_cohort":
                self.put(f"retention.by_{by}", retention.retention(d, by=by))
        self.put("retention.by_stage_history", retention.retention_by_stage_history(
            p, m, d, went_back=retention.regressed_accounts(j, m)))
        if retention.first_value_stage(m) is not None:
            self.put("retention.time_to_first_value",
                     retention.time_to_first_value(j, m, d, progress=p))
            if "segment" in d.columns:
                self.put("retention.time_to_first_value_by_segment",
                         retention.time_to_first_value(j, m, d, progress=p, by="segment"))

    def painpoints(self) -> None:
        self.put("painpoints", painpoints.rank_painpoints(self.journey, self.map, self.dims,
                                                          feedback=self.feedback))


def analyze(
    journey_map: JourneyMap | str | os.PathLike[str],
    workspace: str | os.PathLike[str] | Source,
    *,
    engine: str = "duckdb",
    segment: str | None = None,
    persona: str | None = None,
    since: str | dt.date | dt.datetime | None = None,
    until: str | dt.date | dt.datetime | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Run every analysis of `journey_map` over the events of `workspace` (a workspace file,
    or a `Source` of in-memory tables) on `engine` (duckdb or spark).

    `segment` keeps the accounts of one segment; `persona` keeps that persona's events and the
    events of no one in particular (outcomes, web visits); `since` and `until` keep events in
    that time span (a date alone means the whole day).
    """
    started = time.perf_counter()
    m = _load_map(journey_map)
    low, high = _bound(since, end=False), _bound(until, end=True)
    if low and high and low >= high:
        raise AnalysisError(f"--since {since} is not before --until {until}")
    own = not isinstance(workspace, Source)
    if own:
        update_cache(workspace)  # scores new texts once; analyses then only join
        source = open_workspace(workspace, engine=engine)
        source.meta["_origin"] = "workspace"
    else:
        source = workspace
    try:
        run = _Run(m, source, progress)
        events = source.table("events")
        run.rematch = _needs_match(source, m, events)
        accounts = source.tables.get("accounts")
        events = _with_contact_persona(events, source.tables.get("contacts"))
        if low is not None:
            events = events.filter(events.ts >= low)
        if high is not None:
            events = events.filter(events.ts < high)
        if persona is not None:
            known = [p.id for p in m.personas]
            if persona not in known:
                raise AnalysisError(f"--persona {persona!r}: the map has no such persona; its "
                                    f"personas are: {', '.join(known) or 'none'}")
            events = events.filter(events.persona.isnull() | (events.persona == persona))
        if segment is not None:
            if accounts is None or "segment" not in accounts.columns:
                raise AnalysisError("--segment needs an accounts table with a segment column "
                                    "in the workspace")
            accounts = accounts.filter(accounts.segment == segment)
            if accounts.count().to_pyarrow().as_py() == 0:
                found = source.table("accounts").segment.value_counts().to_pyarrow()
                names = sorted(str(s) for s in found.column(0).to_pylist() if s is not None)
                raise AnalysisError(f"--segment {segment!r}: no account has it; the segments "
                                    f"are: {', '.join(names) or 'none'}")
            keep = accounts.select(_keep=accounts.account_id)
            events = events.semi_join(keep, events.account_id == keep._keep)
        run.events_in = events
        run.accounts = accounts
        run.run()
        meta = {
            "map": m.name,
            "engine": source.engine,
            "filters": {"segment": segment, "persona": persona,
                        "since": low.isoformat() if low else None,
                        "until": high.isoformat() if high else None},
            "events": int(run.counts.get("events") or 0),
            "accounts": int(run.counts.get("accounts") or 0),
            "rematched": run.rematch,
            "seconds": round(time.perf_counter() - started, 3),
            "section_seconds": run.seconds,
        }
        if own:
            meta["workspace"] = str(workspace)
        return AnalysisResult(tables=run.tables, meta=meta)
    finally:
        if own:
            source.close()


__all__ = ["AnalysisResult", "Progress", "analyze"]
