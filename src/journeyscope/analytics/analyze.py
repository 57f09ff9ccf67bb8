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

import contextlib
import datetime as dt
import gc
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from journeyscope import hints
from journeyscope.analytics import (
    conformance,
    journey,
    painpoints,
    paths,
    retention,
    stages,
    voc,
)
from journeyscope.analytics.base import AnalysisError
from journeyscope.analytics.engine import (
    Source,
    cores_shared,
    in_memory_arrow,
    materialize,
    open_workspace,
    parallel,
    release,
)
from journeyscope.analytics.retention import step_back
from journeyscope.analytics.sentiment import text_sentiment, update_cache, with_sentiment
from journeyscope.analytics.themes import negative_themes
from journeyscope.events.matching import match_table
from journeyscope.model.types import JourneyMap

# (done, total, label): called before each section and once at the end.
Progress = Callable[[int, int, str], None]
# Sections run at once on DuckDB, each query on its share of the cores (`cores_shared`): two
# at a time keep both cores of the benchmark machine busy, between queries and within them.
_SECTION_THREADS = 2
# The sections' usual share of a run's time (seconds at ten million events, two at a time),
# for the order they start in.
_SECTION_WEIGHT = {
    "touchpoints": 3.05, "paths": 1.9, "attribution": 1.15, "pain points": 0.95,
    "stages": 0.85, "committee": 0.75, "handovers": 0.45, "voice of the customer": 0.4,
    "retention": 0.2, "conformance": 0.15,
}


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
        flag = hints.UNTIL() if end else hints.SINCE()
        raise AnalysisError(f"{flag} {text!r}: not a date or time; write e.g. 2025-01-31 or "
                            "2025-01-31T12:00") from None


def _load_map(journey_map: JourneyMap | str | os.PathLike[str]) -> JourneyMap:
    if isinstance(journey_map, JourneyMap):
        return journey_map
    from journeyscope.model.validate import load_valid_map

    return load_valid_map(journey_map)


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
    """One analysis run: the coded journey, the shared intermediates read from it, and the
    sections that read them."""

    def __init__(self, journey_map: JourneyMap, source: Source, progress: Progress | None):
        self.map = journey_map
        self.source = source
        self.progress = progress
        self.tables: dict[str, pa.Table] = {}
        self.seconds: dict[str, float] = {}
        self._memo: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._section = threading.local()
        self._made: dict[str, dict[str, pa.Table]] = {}
        self.texts_cached = False
        # Asked in `prepare`: the events with their contacts' personas when some events lack
        # them (`_persona_gap`, `_with_contact_persona`), else None.
        self.contact_personas: Callable[[], ir.Table | None] | None = None
        # Work started early on a thread of its own (`_start_feedback`): waited for before
        # the run ends, so that nothing still reads the workspace once it is closed.
        self._early: threading.Thread | None = None
        # The cores shared between queries at once (`cores_shared`), from the sections' start
        # or sooner (`_start_feedback`) to the run's end.
        self._sharing: contextlib.ExitStack | None = None

    def put(self, name: str, table: ir.Table | pa.Table) -> None:
        made = self._made[self._section.label]
        made[name] = table if isinstance(table, pa.Table) else _arrow(table)

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

    def _section_run(self, label: str, section: Callable[[], None]) -> None:
        self._section.label = label
        self._made[label] = {}
        started = time.perf_counter()
        section()
        self.seconds[label] = round(time.perf_counter() - started, 3)

    def run(self) -> None:
        try:
            self._run()
        finally:
            if self._early is not None:
                self._early.join()
            if self._sharing is not None:
                self._sharing.close()

    def _share_cores(self) -> None:
        """From now on, each query on its share of the cores (`cores_shared`): two at once."""
        if self._sharing is None:
            self._sharing = contextlib.ExitStack()
            self._sharing.enter_context(cores_shared(self.source, _SECTION_THREADS))

    def _run(self) -> None:
        todo = self.sections()
        total = len(todo)
        if self.progress:
            self.progress(0, total, todo[0][0])
        self._section_run(*todo[0])
        rest = todo[1:]
        if not parallel(self.source):
            for i, (label, section) in enumerate(rest, start=1):
                if self.progress:
                    self.progress(i, total, label)
                self._section_run(label, section)
        else:
            # Two sections at a time, each on its own cursor: one query's serial parts (its
            # last merge, the Python that shapes its result) leave a core idle that the other
            # fills. Shared intermediates are made once, by the first section that asks.
            # The longest first, so that the last to finish is a short one (longest
            # processing time first: on two workers it ends closest to an even split).
            rest = sorted(rest, key=lambda item: -_SECTION_WEIGHT.get(item[0], 0))
            # Each section's queries on its share of the cores: two sections keep both busy,
            # and a query on one thread spends less CPU than on two (`cores_shared`). The
            # preparation gives every thread to the read (or the sort) of its journey, its
            # critical path, and shares them otherwise (`prepare`, `_start_feedback`).
            self._share_cores()
            with ThreadPoolExecutor(max_workers=_SECTION_THREADS) as pool:
                running = {pool.submit(self._section_run, label, section): label
                           for label, section in rest}
                done = 1
                waiting = set(running)
                while waiting:
                    if self.progress:
                        label = next(running[f] for f in running if f in waiting)
                        self.progress(done, total, label)
                    finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done += 1
        # The tables (and the seconds) in the order of the sections, however they finished.
        for label, _ in todo:
            self.tables.update(self._made.get(label, {}))
        self.seconds = {label: self.seconds[label] for label, _ in todo if label in self.seconds}
        if self.progress:
            self.progress(total, total, "done")

    def memo(self, name: str, make: Callable[[], Any]) -> Any:
        """A small result several sections read, computed by the first that asks (the others
        wait for it)."""
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._memo:
                self._memo[name] = make()
        return self._memo[name]

    def kept(self, name: str, make: Callable[[], ir.Table]) -> ir.Table:
        """A shared intermediate kept in the engine (`Journey.kept`), made once."""
        return self.memo(f"kept.{name}", lambda: self.journey.kept(name, make))

    # -- the shared intermediates ----------------------------------------------------------

    def _matched(self, events: ir.Table) -> ir.Table:
        if not self.rematch:
            return events
        matched = [c for c in ("touchpoint", "stage", "outcome") if c in events.columns]
        return match_table(events.drop(*matched), self.map)

    def prepare(self) -> None:
        m = self.map
        events = self._matched(self.events_in)
        if parallel(self.source):
            # The facts and the persona check on cursors of their own, the dictionaries and
            # the steps on this one: they read the events apart, and the steps need the facts
            # only at their end. Until the steps are read, three queries run at once, each on
            # its share of the cores (`cores_shared`): 0.14 s of CPU less at ten million
            # events (paired median of 8 runs). The steps' read (or sort) gets them all.
            with ThreadPoolExecutor(max_workers=2) as pool, contextlib.ExitStack() as side:
                side.enter_context(cores_shared(self.source, _SECTION_THREADS))
                made = pool.submit(self._account_facts, events)
                # Meanwhile, whether events lack a persona their contacts have (the facts read
                # no persona; were the events to change, they are made again).
                gap = pool.submit(self.contact_personas) if self.contact_personas else None
                codes = journey.dictionaries(events, m)
                joined = gap.result() if gap is not None else None
                if joined is not None:
                    events = self._matched(joined)
                    made.add_done_callback(_release_made)  # made again from these events
                    made = pool.submit(self._account_facts, events)
                    codes = journey.dictionaries(events, m)
                side.close()
                # The voice of the customer's events read no steps: once the events are read
                # and the facts made, they are made beside the steps' Python work, on the
                # core it leaves idle.
                steps, in_order = journey.kept_journey(
                    events, made.result, codes,
                    on_read=lambda: self._start_feedback(events, made.result(), codes))
                facts = made.result()
        else:
            joined = self.contact_personas() if self.contact_personas else None
            if joined is not None:
                events = self._matched(joined)
            codes = journey.dictionaries(events, m)
            facts = self._account_facts(events)
            steps, in_order = journey.kept_journey(events, facts, codes)
        self.journey = journey.Journey(m, codes, facts, steps, in_order)
        self.codes = codes
        self.events_matched = events
        counts = facts.aggregate(accounts=facts.count(), events=facts.events.sum())
        self.counts = counts.to_pyarrow().to_pylist()[0]

    def _start_feedback(self, events: ir.Table, facts: ir.Table, codes: journey.Codes) -> None:
        """Make the voice of the customer's events (`feedback`) on a thread of its own, now.
        A failure there is left for the section that reads them, which makes them again."""
        # The rest of the preparation is Python and two small queries: the feedback's query
        # gets one core of its own, as a section's would.
        self._share_cores()

        def make() -> None:
            with contextlib.suppress(Exception):
                self._feedback_once(events, facts, codes)
        self._early = threading.Thread(target=make, name="journeyscope-feedback", daemon=True)
        self._early.start()

    def _account_facts(self, events: ir.Table) -> ir.Table:
        return materialize(journey.account_facts(events, self.accounts))

    @property
    def feedback(self) -> ir.Table:
        """The voice of the customer's events (`_feedback`): made beside the journey's own
        work when the events come in journey order (`_start_feedback`), else by the first
        section that reads them (beside the others, not before them all)."""
        return self._feedback_once(self.events_matched, self.journey.facts, self.codes)

    def _feedback_once(self, events: ir.Table, facts: ir.Table,
                       codes: journey.Codes) -> ir.Table:
        """`_feedback`, made once for the run, by whichever thread asks first."""
        return self.memo("feedback", lambda: self._feedback(events, facts, codes))

    def _feedback(self, events: ir.Table, facts: ir.Table, codes: journey.Codes) -> ir.Table:
        """The events with a score or text, coded like the journey, with the sentiment of
        their text and the account's segment: what the voice of the customer reads."""
        has_text = "text" in events.columns
        said = events.score.notnull() | (events.text.notnull() if has_text else False)
        keep = [c for c in ("account_id", "ts", "activity", "touchpoint", "stage", "persona",
                            "score", "text") if c in events.columns]
        f = events.filter(said).select(*keep)
        ids = facts.select(_f_text=facts.account_text, _f_code=facts.account_id,
                           **({"segment": facts.segment} if "segment" in facts.columns else {}))
        f = f.join(ids, f.account_id == ids._f_text)
        f = f.mutate(account_id=f._f_code).drop("_f_text", "_f_code")
        f = journey.encode(f, codes, {k: k for k in ("touchpoint", "stage", "persona")})
        if has_text:
            cache = self.source.tables.get("text_sentiment")
            if self.texts_cached and cache is not None:
                scores = cache.select("text", "sentiment")
            else:
                scores = text_sentiment(f, cache=cache)
            f = with_sentiment(f, scores)
        # Each event's kind of score and emotions, worked out once for all that read them.
        return materialize(voc.event_emotion(f, self.map, codes=codes))

    def steps(self) -> ir.Table:
        return self.journey.steps

    def stage_progress(self) -> ir.Table:
        def make() -> ir.Table:
            j = self.steps()
            turns = materialize(stages.stage_turns(j).select(
                "account_id", "ts", "step", "stage_index", "next_ts", "next_stage_index"))
            return stages.stage_progress(turns, self.map)
        return self.kept("progress", make)

    def touches(self) -> ir.Table:
        """One row per account, touchpoint, stage and persona met: events, first and last
        time, and whether the account stepped back to an earlier stage from there."""
        def aggregate(j: ir.Table) -> ir.Table:
            back = step_back(self.map, j.stage_index, j.next_stage_index)
            return j.group_by(account=j.account_id, touchpoint=j.touchpoint,
                              stage_index=j.stage_index, persona=j.persona).aggregate(
                n=j.count(), first_ts=j.ts.min(), last_ts=j.ts.max(),
                back_from=back.any().fill_null(False))
        # Kept by `per_accounts` itself (`self.kept` would copy the kept result once more).
        return self.memo("kept.touches", lambda: self.journey.per_accounts(aggregate))

    def per_account(self) -> ir.Table:
        """One row per account and touchpoint met (`touchpoints.account_touchpoints`, with
        `back_from`), from `touches`."""
        def make() -> ir.Table:
            t = self.touches()
            return t.group_by("account", "touchpoint").aggregate(
                n=t.n.sum(), first_ts=t.first_ts.min(), last_ts=t.last_ts.max(),
                back_from=t.back_from.any())
        return self.kept("per_account", make)

    def marks(self) -> ir.Table:
        from journeyscope.analytics.touchpoints import progress_marks

        return self.kept("marks", lambda: progress_marks(
            self.steps(), self.map, outcomes=self.journey.facts,
            per_account=self.per_account(), codes=self.codes))

    def link_waits(self) -> ir.Table | None:
        """Per account, the wait across each link the run measures (the designed handovers and
        the links with a time standard: `touchpoints.measured_links`), measured once for the
        handovers and the pain points; None when the map has no such link."""
        from journeyscope.analytics import touchpoints

        links = self.memo("links", lambda: touchpoints.measured_links(self.map, self.codes))
        if links is None:
            return None
        pairs, sources = links
        return self.kept("link_waits", lambda: touchpoints.link_waits(
            self.per_account(), self.steps(), pairs, sources=sources))

    def designed_handovers(self) -> pa.Table:
        """The designed handovers measured: a table of their own and read by the KPIs."""
        from journeyscope.analytics import handovers

        return self.memo("handovers.designed", lambda: handovers.designed_table(
            self.steps(), self.map, outcomes=self.journey.facts, per_account=self.per_account(),
            marks=self.marks(), waits=self.link_waits(), codes=self.codes))

    def moves(self) -> ir.Table:
        """One row per account and move between touchpoints it made (`paths.account_moves`),
        aggregated over slices of whole accounts (`Journey.per_accounts`): the distinct
        accounts of the directly-follows graph, of won against lost and of the conformance's
        misfits are counted in it, not in the steps."""
        node, nxt = paths.LEVELS["touchpoint"]
        return self.memo("kept.moves", lambda: self.journey.per_accounts(
            lambda s: paths.account_moves(s, source=node, target=nxt)))

    def edges(self, level: str) -> pa.Table:
        node, nxt = paths.LEVELS[level]
        moves = self.moves() if level == "touchpoint" else None
        return self.memo(f"edges.{level}", lambda: paths.edge_stats(
            self.steps(), source=node, target=nxt, moves=moves))

    def patterns(self) -> pa.Table:
        def make() -> pa.Table:
            f = self.journey.facts
            by = [c for c in ("segment", "cohort", "first_channel") if c in f.columns]
            p = stages.with_dimensions(self.stage_progress(), f, by)
            return stages.reach_patterns(p, len(self.map.stages), by=by)
        return self.memo("patterns", make)

    # -- the sections ------------------------------------------------------------------------

    def stages(self) -> None:
        m, f, codes = self.map, self.journey.facts, self.codes
        patterns = self.patterns()
        self.put("stages.funnel", stages.funnel_table(patterns, m))
        self.put("stages.funnel_strict", stages.funnel_table(patterns, m, strict=True))
        for by in ("segment", "cohort", "first_channel"):
            if by in f.columns:
                self.put(f"stages.funnel_by_{by}", stages.funnel_table(patterns, m, by=by))
        # An account counts in a persona's funnel through that persona's events.
        self.put("stages.funnel_by_persona", stages.funnel_table(
            stages.reached_patterns(self.touches(), len(m.stages), by="persona"), m,
            by="persona", codes=codes))
        p = self.stage_progress()
        self.put("stages.time_in_stage", stages.time_in_stage(self.steps(), m, progress=p,
                                                              outcomes=f))
        entered_counts = stages.entered_from_patterns(patterns, len(m.stages))
        self.put("stages.regressions", stages.regression_table(self.edges("stage"),
                                                               entered_counts, m))
        self.put("stages.stalled", stages.stalled(self.steps(), m, f, progress=p))

    def paths(self) -> None:
        codes, tp, st = self.codes, self.edges("touchpoint"), self.edges("stage")
        self.put("paths.dfg_touchpoints", paths.graph_table(tp, codes=codes, kind="touchpoint"))
        self.put("paths.dfg_stages", paths.graph_table(st, codes=codes, kind="stage"))
        self.put("paths.variants", paths.variants(
            self.steps(), activity="touchpoint", top=50, codes=codes,
            max_step=int(self.counts.get("events") or 0), in_order=self.journey.in_order))
        self.put("paths.sankey_stages", paths.sankey_table(st, codes=codes, kind="stage"))
        self.put("paths.sankey_touchpoints", paths.sankey_table(tp, codes=codes,
                                                                kind="touchpoint"))
        self.put("paths.won_vs_lost", paths.compare_table(self.steps(), self.journey.facts,
                                                          codes=codes, moves=self.moves()))

    def conformance(self) -> None:
        m, codes, tp = self.map, self.codes, self.edges("touchpoint")
        mv = self.moves()
        off = mv.filter(conformance.off_map(mv, m, touchpoint="source", next_touchpoint="target",
                                            codes=codes))
        counts = {"accounts": stages.entered_from_patterns(self.patterns(), 0, total=True),
                  "misfits": off.account.nunique().to_pyarrow().as_py()}
        self.put("conformance.fitness", conformance.fitness_table(tp, counts, m, codes=codes))
        self.put("conformance.undesigned_moves", conformance.undesigned_table(tp, m, codes=codes))
        self.put("conformance.unmet_touchpoints", conformance.unmet_touchpoints(
            self.per_account(), m, codes=codes))
        self.put("conformance.untravelled_links", conformance.untravelled_table(tp, m,
                                                                               codes=codes))

    def touchpoints(self) -> None:
        from journeyscope.analytics import touchpoints

        m, codes, f = self.map, self.codes, self.journey.facts
        # The designed handovers first: they make the link waits, which the pain points read
        # too; asked for last, they had the section wait while the pain points made them.
        designed = self.designed_handovers()
        contacts = None
        if "contact_id" in self.events_matched.columns:
            contacts = self.events_matched.select("touchpoint", "contact_id")
        stats = touchpoints.stats_table(
            self.steps(), m, outcomes=f, per_account=self.per_account(), marks=self.marks(),
            scores=self.feedback, contacts=contacts, codes=codes)
        self.put("touchpoints.stats", stats)
        self.put("touchpoints.kpis", touchpoints.kpis_table(stats, m, handovers=designed))

    def attribution(self) -> None:
        from journeyscope.analytics.attribution import MODELS, attribution

        results = attribution(self.steps(), self.map, outcomes=self.journey.facts,
                              codes=self.codes)
        for key, result in results.items():
            schema = pa.schema([("key", pa.string()), ("touches", pa.int64()),
                                ("journeys", pa.int64())]
                               + [(name, pa.float64()) for name in MODELS])
            self.put(f"attribution.{key}", pa.Table.from_pylist(result.rows, schema=schema))

    def handovers(self) -> None:
        from journeyscope.analytics import handovers

        m, codes = self.map, self.codes
        # A few percent of the steps: kept once for the two counts over them.
        changes = materialize(handovers.owner_change_events(
            self.steps(), m, codes=codes, every_owner=not self.journey.has_nulls("owner")))
        self.put("handovers.designed", self.designed_handovers())
        self.put("handovers.matrix", handovers.summary_table(
            changes, m, ["from_owner", "to_owner"], codes=codes))
        self.put("handovers.changes", handovers.summary_table(
            changes, m, ["from_owner", "to_owner", "from_touchpoint", "to_touchpoint"],
            codes=codes))

    def committee(self) -> None:
        from journeyscope.analytics import committee

        m, codes, f, engaged = self.map, self.codes, self.journey.facts, self.touches()
        j = self.steps()
        self.put("committee.by_stage", committee.committee_by_stage(j, m, engaged=engaged,
                                                                    codes=codes))
        self.put("committee.win_rate_by_coverage",
                 committee.win_rate_by_coverage(j, m, outcomes=f, engaged=engaged))
        self.put("committee.persona_reach",
                 committee.persona_reach(j, m, outcomes=f, engaged=engaged, codes=codes))

    def voice(self) -> None:
        f, m, codes = self.feedback, self.map, self.codes
        for by in ("touchpoint", "stage", "persona", "segment"):
            if by in f.columns:
                self.put(f"voc.by_{by}", voc.voice_table(f, m, by=by, codes=codes))
        curves = voc.emotion_tables(f, m, curves=[("stage", False), ("touchpoint", False),
                                                  ("stage", True)], codes=codes)
        self.put("voc.emotion_by_stage", curves[("stage", False)])
        self.put("voc.emotion_by_touchpoint", curves[("touchpoint", False)])
        self.put("voc.emotion_by_stage_persona", curves[("stage", True)])
        if "sentiment" in f.columns:
            self.put("voc.negative_themes", negative_themes(f, codes=codes))

    def retention(self) -> None:
        d, m, p = self.journey.facts, self.map, self.stage_progress()
        by = [c for c in ("segment", "win_cohort", "cohort") if c in d.columns or
              c == "win_cohort"]
        rates = retention.retention_tables(d, by=by)
        self.put("retention.overall", rates[None])
        for column in by:
            self.put(f"retention.by_{column}", rates[column])
        t = self.touches()
        went_back = t.filter(t.back_from).select(account_id=t.account).distinct()
        self.put("retention.by_stage_history", retention.history_table(
            p, m, d, went_back=went_back))
        if retention.first_value_stage(m) is not None:
            j = self.steps()
            self.put("retention.time_to_first_value",
                     retention.time_to_first_value(j, m, d, progress=p))
            if "segment" in d.columns:
                self.put("retention.time_to_first_value_by_segment",
                         retention.time_to_first_value(j, m, d, progress=p, by="segment"))

    def painpoints(self) -> None:
        self.put("painpoints", painpoints.rank_painpoints(
            self.steps(), self.map, self.journey.facts, feedback=self.feedback,
            per_account=self.per_account(), waits=self.link_waits(), codes=self.codes))


def _arrow(table: ir.Table) -> pa.Table:
    """`table` as Arrow: an in-memory table's data as it is (no engine, whose default
    connection the threads of a run would share), anything else from the engine."""
    data = in_memory_arrow(table)
    return data if data is not None else table.to_pyarrow()


def _release_made(made: Future[ir.Table]) -> None:
    """Let go of facts made for nothing (`engine.release`)."""
    if not made.cancelled() and made.exception() is None:
        release(made.result())


def _import_converter() -> None:
    """Import the module Ibis converts DuckDB's results with, which imports pandas (0.12 s of
    Python, once per process; `open_workspace` asks for it). On a thread of its own while the
    sentiment cache is brought up to date, the run reached its sections 0.03 s sooner (paired
    median of 16, sooner in 14; mean 0.07 s); while the workspace opens too, 0.02 s sooner
    again (20 pairs, sooner in 19). Should it fail here, the workspace imports it again on
    the analysis's own thread and says why."""
    with contextlib.suppress(Exception):  # imported again where a failure is reported
        import ibis.backends.duckdb.converter  # noqa: F401


def _persona_gap(events: ir.Table, contacts: ir.Table | None) -> bool:
    """Whether an event without a persona has a contact whose persona is known (the importer
    fills these; events imported before their contacts may still lack it). One small query
    spares the join of every event with the contacts when nothing is missing."""
    if contacts is None or not {"contact_id", "persona"} <= set(contacts.columns) \
            or "contact_id" not in events.columns:
        return False
    lacking = events.filter(events.persona.isnull() & events.contact_id.notnull())
    lacking = lacking.select(_lacking=lacking.contact_id)
    known = contacts.filter(contacts.persona.notnull())
    # The few events that lack a persona are the side the semi-join hashes.
    hit = known.semi_join(lacking, known.contact_id == lacking._lacking)
    return bool(hit.limit(1).count().to_pyarrow().as_py())


_frozen_lock = threading.Lock()
_frozen_runs = 0
_froze = False


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """The objects alive when an analysis starts (modules, classes, Ibis's and sqlglot's own
    tables: nearly all of the 150,000 a run sees) kept out of Python's full garbage collections
    while it runs (`gc.freeze`), and handed back to them after (`gc.unfreeze`). A run of ten
    million events made two full collections, 0.15 s of holding the interpreter lock while
    both section threads waited for it; new objects are collected as before. Runs that
    overlap in one process share one freeze, lifted when the last ends; a process that froze
    its heap itself (a server before it forks) is left as it is."""
    global _frozen_runs, _froze
    with _frozen_lock:
        if _frozen_runs == 0:
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _frozen_runs += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen_runs -= 1
            if _frozen_runs == 0 and _froze:
                gc.unfreeze()
                _froze = False


@_heap_frozen()
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
        raise AnalysisError(f"{hints.SINCE()} {since} is not before {hints.UNTIL()} {until}")
    own = not isinstance(workspace, Source)
    cached = False
    if own:
        # Beside the cache's update and the workspace's opening, which are mostly DuckDB's
        # work (`_import_converter`); `open_workspace` waits for it at its end.
        threading.Thread(target=_import_converter, daemon=True).start()
        # Scores new texts once; analyses then only join. None: it could not write.
        cached = update_cache(workspace) is not None
        source = open_workspace(workspace, engine=engine)
        source.meta["_origin"] = "workspace"
    else:
        source = workspace
    try:
        run = _Run(m, source, progress)
        # The cache holds every text of a workspace just updated: no query for missing ones.
        run.texts_cached = cached
        events = source.table("events")
        run.rematch = _needs_match(source, m, events)
        accounts = source.tables.get("accounts")
        contacts = source.tables.get("contacts")
        if persona is not None:
            known = [p.id for p in m.personas]
            if persona not in known:
                raise AnalysisError(f"{hints.PERSONA()} {persona!r}: the map has no such "
                                    f"persona; its personas are: {', '.join(known) or 'none'}")
        if segment is not None:
            if accounts is None or "segment" not in accounts.columns:
                raise AnalysisError(f"{hints.SEGMENT()} needs an accounts table with a segment "
                                    "column in the workspace")
            accounts = accounts.filter(accounts.segment == segment)
            if accounts.count().to_pyarrow().as_py() == 0:
                found = source.table("accounts").segment.value_counts().to_pyarrow()
                names = sorted(str(s) for s in found.column(0).to_pylist() if s is not None)
                raise AnalysisError(f"{hints.SEGMENT()} {segment!r}: no account has it; the "
                                    f"segments are: {', '.join(names) or 'none'}")

        def narrow(e: ir.Table) -> ir.Table:
            """The events the filters keep."""
            if low is not None:
                e = e.filter(e.ts >= low)
            if high is not None:
                e = e.filter(e.ts < high)
            if persona is not None:
                e = e.filter(e.persona.isnull() | (e.persona == persona))
            if segment is not None:
                keep = accounts.select(_keep=accounts.account_id)
                e = e.semi_join(keep, e.account_id == keep._keep)
            return e

        if persona is not None and _persona_gap(events, contacts):
            # The persona filter reads the personas: they are settled first.
            events = _with_contact_persona(events, contacts)
        elif persona is None:
            raw = events
            run.contact_personas = lambda: narrow(_with_contact_persona(raw, contacts)) \
                if _persona_gap(raw, contacts) else None
        run.events_in = narrow(events)
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
            # Whether the events were read in journey order, without a sort (`ordered`).
            "journey_order": run.journey.in_order is not None,
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
