"""Voice of the customer: CSAT and NPS by touchpoint, stage, persona or segment, the sentiment
of what customers wrote, and the emotion curve measured from both beside the designed one.

Which scores are NPS answers (0..10) and which are satisfaction ratings (CSAT, 1..5 by default)
is read from the map: a touchpoint with a KPI whose `measure` is `nps` collects NPS, one whose
measure is `csat` collects CSAT; elsewhere an activity named like `*nps*` is NPS and any other
score is CSAT. CSAT is the share of ratings at or above `csat_satisfied` (4 of 5, the usual
"satisfied or very satisfied"); NPS is the share of promoters (9, 10) minus the share of
detractors (0..6), times 100.

The emotion scale of the map is -2..+2. A measured emotion maps each signal onto it linearly:
CSAT 1..5 to -2..+2, NPS 0..10 to -2..+2, sentiment -1..+1 to -2..+2; an event's emotion is
the mean of the signals it carries.

>>> import ibis, journeyscope
>>> m = journeyscope.load_map(journeyscope.template_path("b2b"))
>>> ev = ibis.memtable({"touchpoint": ["surveys"], "stage": ["support"], "activity": ["nps"],
...                     "account_id": ["a"], "score": [10.0]})
>>> voice_by(ev, m, by="touchpoint").execute().nps.tolist()
[100.0]
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.model.types import JourneyMap

PROMOTER = 9
DETRACTOR = 6


def score_kind(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    activity: str = "activity",
) -> ir.StringValue:
    """'nps' or 'csat' for each event, by the map's KPIs (see the module's docstring)."""
    nps_tps, csat_tps = [], []
    for tp in journey_map.touchpoints:
        measures = {k.measure for k in tp.kpis}
        if "csat" in measures:
            csat_tps.append(tp.id)
        elif "nps" in measures:
            nps_tps.append(tp.id)
    tp_col = events[touchpoint]
    named_nps = events[activity].lower().contains("nps").fill_null(False)
    kind = ibis.cases(
        (tp_col.isin(nps_tps).fill_null(False) if nps_tps else ibis.literal(False), "nps"),
        (tp_col.isin(csat_tps).fill_null(False) if csat_tps else ibis.literal(False), "csat"),
        (named_nps, "nps"),
        else_="csat",
    )
    return kind


def _scores(events: ir.Table, journey_map: JourneyMap, *, touchpoint: str, activity: str,
            score: str) -> ir.Table:
    kind = score_kind(events, journey_map, touchpoint=touchpoint, activity=activity)
    has = events[score].notnull()
    return events.mutate(
        _kind=ibis.ifelse(has, kind, ibis.null().cast("string")),
    )


def voice_by(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str = "touchpoint",
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    csat_satisfied: float = 4.0,
) -> ir.Table:
    """CSAT, NPS and text sentiment per value of column `by` (touchpoint, stage, persona,
    segment, ...): response counts, CSAT mean and share satisfied, promoters, detractors and
    NPS, comments with their mean sentiment and share negative, accounts heard from. For
    touchpoints, the map's CSAT and NPS targets and whether they are met."""
    from journeyscope.analytics.sentiment import NEGATIVE

    t = _scores(events, journey_map, touchpoint=touchpoint, activity=activity, score=score)
    has_text = sentiment in t.columns
    signal = t[score].notnull()
    if has_text:
        signal = signal | t[sentiment].notnull()
    t = t.filter(signal & t[by].notnull())
    csat = t._kind == "csat"
    nps = t._kind == "nps"
    s = t[score]
    aggs = {
        "accounts": t[account].nunique(),
        "responses": s.count(),
        "csat_responses": s.count(where=csat),
        "csat_mean": s.mean(where=csat),
        "_satisfied": s.count(where=csat & (s >= csat_satisfied)),
        "nps_responses": s.count(where=nps),
        "promoters": s.count(where=nps & (s >= PROMOTER)),
        "detractors": s.count(where=nps & (s <= DETRACTOR)),
    }
    if has_text:
        sent = t[sentiment]
        aggs |= {
            "comments": sent.count(),
            "sentiment_mean": sent.mean(),
            "_negative": sent.count(where=sent <= NEGATIVE),
        }
    out = t.group_by(by).aggregate(**aggs)
    out = out.mutate(
        csat=_ratio(out._satisfied, out.csat_responses),
        nps=(_ratio(out.promoters, out.nps_responses)
             - _ratio(out.detractors, out.nps_responses)) * 100.0,
    )
    if has_text:
        out = out.mutate(negative_share=_ratio(out._negative, out.comments))
    else:
        out = out.mutate(comments=ibis.literal(0, "int64"),
                         sentiment_mean=ibis.null().cast("float64"),
                         negative_share=ibis.null().cast("float64"))
    out = out.drop(*[c for c in out.columns if c.startswith("_")])
    if by == touchpoint:
        out = _with_targets(out, journey_map, key=by)
    return out.order_by(by)


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(den > 0, num.cast("float64") / den.cast("float64"),
                       ibis.null().cast("float64"))


def _with_targets(out: ir.Table, journey_map: JourneyMap, *, key: str) -> ir.Table:
    rows = {"_tp": [], "csat_target": [], "nps_target": [], "_csat_higher": [], "_nps_higher": []}
    for tp in journey_map.touchpoints:
        kpis = {k.measure: k for k in tp.kpis if k.target is not None}
        if "csat" not in kpis and "nps" not in kpis:
            continue
        rows["_tp"].append(tp.id)
        for m in ("csat", "nps"):
            k = kpis.get(m)
            target = k.target if k else None
            if m == "csat" and target is not None and target > 1:
                # A CSAT target above 1 is written as a mean rating (4.2 of 5), not a share.
                rows["_csat_higher"].append(k.direction.value == "higher")
                rows["csat_target"].append(float(target))
                continue
            rows[f"{m}_target"].append(float(target) if target is not None else None)
            rows[f"_{m}_higher"].append(k.direction.value == "higher" if k else None)
    schema = pa.schema([("_tp", pa.string()), ("csat_target", pa.float64()),
                        ("nps_target", pa.float64()), ("_csat_higher", pa.bool_()),
                        ("_nps_higher", pa.bool_())])
    targets = ibis.memtable(pa.table(rows, schema=schema))
    j = out.left_join(targets, out[key] == targets._tp)
    # A CSAT target of at most 1 is a share satisfied; above 1 it is a mean rating.
    csat_value = ibis.ifelse(j.csat_target > 1, j.csat_mean, j.csat)
    return j.mutate(
        csat_met=_met(csat_value, j.csat_target, j._csat_higher),
        nps_met=_met(j.nps, j.nps_target, j._nps_higher),
    ).drop("_tp", "_csat_higher", "_nps_higher")


def _met(value: ir.FloatingValue, target: ir.FloatingValue,
         higher: ir.BooleanValue) -> ir.BooleanValue:
    return ibis.ifelse(
        value.isnull() | target.isnull(), ibis.null().cast("boolean"),
        ibis.ifelse(higher, value >= target, value <= target),
    )


def event_emotion(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    csat_min: float = 1.0,
    csat_max: float = 5.0,
) -> ir.Table:
    """`events` with `score_emotion`, `text_emotion` and `emotion` on the map's -2..+2 scale
    (null where an event carries neither a score nor text)."""
    kind = score_kind(events, journey_map, touchpoint=touchpoint, activity=activity)
    s = events[score].cast("float64")
    from_score = ibis.ifelse(
        kind == "nps", s / 10.0 * 4.0 - 2.0,
        (s - csat_min) / (csat_max - csat_min) * 4.0 - 2.0,
    )
    # Clipped with CASE, not LEAST/GREATEST: DuckDB's skip nulls and would turn none into 2.
    from_score = ibis.cases((from_score > 2.0, 2.0), (from_score < -2.0, -2.0),
                            else_=from_score)
    if sentiment in events.columns:
        from_text = events[sentiment].cast("float64") * 2.0
    else:
        from_text = ibis.null().cast("float64")
    both = (from_score + from_text) / 2.0
    emotion = both.coalesce(from_score, from_text)
    return events.mutate(score_emotion=from_score, text_emotion=from_text, emotion=emotion)


def designed_emotion(journey_map: JourneyMap, *, level: str = "stage",
                     by_persona: bool = False) -> pa.Table:
    """The map's designed emotion per stage or touchpoint (mean over the touchpoints' persona
    emotions), or per stage/touchpoint and persona."""
    if level not in ("stage", "touchpoint"):
        raise ValueError(f"level must be 'stage' or 'touchpoint', not {level!r}")
    values: dict[tuple[str, ...], list[float]] = {}
    for tp in journey_map.touchpoints:
        for persona, e in tp.emotion.items():
            key: tuple[str, ...] = (tp.stage if level == "stage" else tp.id,)
            if by_persona:
                key += (persona,)
            values.setdefault(key, []).append(float(e))
    if level == "stage":
        keys = [(s.id,) for s in journey_map.stages]
    else:
        keys = [(tp.id,) for tp in journey_map.touchpoints]
    if by_persona:
        keys = [k for k in values]
    cols: dict[str, list] = {level: [k[0] for k in keys]}
    if by_persona:
        cols["persona"] = [k[1] for k in keys]
    cols["designed"] = [sum(values[k]) / len(values[k]) if values.get(k) else None for k in keys]
    schema = [(level, pa.string())] + ([("persona", pa.string())] if by_persona else [])
    return pa.table(cols, schema=pa.schema(schema + [("designed", pa.float64())]))


def emotion_curve(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    level: str = "stage",
    by_persona: bool = False,
    stage: str = "stage",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    csat_min: float = 1.0,
    csat_max: float = 5.0,
) -> ir.Table:
    """The measured emotion per stage (or touchpoint, optionally per persona) beside the
    designed one: `designed`, `measured`, `from_scores`, `from_text`, `signals` (events that
    carry a score or text) and `gap` (measured minus designed). Every stage or touchpoint of
    the map has a row, measured or not."""
    col = stage if level == "stage" else touchpoint
    e = event_emotion(events, journey_map, touchpoint=touchpoint, activity=activity,
                      score=score, sentiment=sentiment, csat_min=csat_min, csat_max=csat_max)
    e = e.filter(e.emotion.notnull() & e[col].notnull())
    keys = [e[col].name(level)] + ([e[persona].name("persona")] if by_persona else [])
    measured = e.group_by(keys).aggregate(
        measured=e.emotion.mean(),
        from_scores=e.score_emotion.mean(),
        from_text=e.text_emotion.mean(),
        signals=e.count(),
    )
    designed = ibis.memtable(designed_emotion(journey_map, level=level, by_persona=by_persona))
    key_names = [level] + (["persona"] if by_persona else [])
    m = measured.rename(**{f"_m_{k}": k for k in key_names})
    joined = designed.outer_join(m, [designed[k] == m[f"_m_{k}"] for k in key_names])
    joined = joined.mutate(**{k: joined[k].coalesce(joined[f"_m_{k}"]) for k in key_names})
    joined = joined.drop(*[f"_m_{k}" for k in key_names])
    order = ({s.id: i for i, s in enumerate(journey_map.stages)} if level == "stage"
             else {tp.id: i for i, tp in enumerate(journey_map.touchpoints)})
    position = (joined[level].cases(*order.items(), else_=ibis.null()).cast("int32")
                if order else ibis.null().cast("int32"))
    out = joined.mutate(position=position, signals=joined.signals.fill_null(0),
                        gap=joined.measured - joined.designed)
    columns = key_names + ["position", "designed", "measured", "from_scores", "from_text",
                           "signals", "gap"]
    return out.select(*columns).order_by([ibis.asc("position"), *key_names])
