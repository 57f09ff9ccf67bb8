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

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import ratio
from journeyscope.analytics.journey import STRINGS, Codes, is_one_of
from journeyscope.model.types import JourneyMap

PROMOTER = 9
DETRACTOR = 6
# The columns `event_emotion` adds: whether an event's score is NPS, and its emotions.
NPS = "score_nps"
EMOTION_COLUMNS = (NPS, "score_emotion", "text_emotion", "emotion")


def is_nps(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    activity: str = "activity",
    codes: Codes = STRINGS,
) -> ir.BooleanValue:
    """Whether each event's score is an NPS answer (else a CSAT rating): its touchpoint's
    KPI says, else its activity's name (see the module's docstring). Never null."""
    nps_tps, csat_tps = [], []
    for tp in journey_map.touchpoints:
        measures = {k.measure for k in tp.kpis}
        if "csat" in measures:
            csat_tps.append(tp.id)
        elif "nps" in measures:
            nps_tps.append(tp.id)
    tp_col = events[touchpoint]

    def among(names: list[str]) -> ir.BooleanValue:
        keys = codes.keys("touchpoint", names)
        return is_one_of(tp_col, keys).fill_null(False) if keys else ibis.literal(False)

    named_nps = events[activity].lower().contains("nps").fill_null(False)
    return ibis.cases((among(nps_tps), True), (among(csat_tps), False), else_=named_nps)


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
    codes: Codes = STRINGS,
) -> ir.Table:
    """CSAT, NPS and text sentiment per value of column `by` (touchpoint, stage, persona,
    segment, ...): response counts, CSAT mean and share satisfied, promoters, detractors and
    NPS, comments with their mean sentiment and share negative, accounts heard from. For
    touchpoints, the map's CSAT and NPS targets and whether they are met."""
    return ibis.memtable(voice_table(
        events, journey_map, by=by, account=account, touchpoint=touchpoint, activity=activity,
        score=score, sentiment=sentiment, csat_satisfied=csat_satisfied, codes=codes))


_COUNTS = ["accounts", "responses", "csat_responses", "csat_mean", "nps_responses",
           "promoters", "detractors"]


def voice_table(
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
    codes: Codes = STRINGS,
) -> pa.Table:
    """`voice_by` as an Arrow table: one aggregation, its ratios worked out here."""
    from journeyscope.analytics.sentiment import NEGATIVE

    if NPS in events.columns:  # carried by the events (`event_emotion`)
        t = events.mutate(_nps=events[NPS])
    else:
        t = events.mutate(_nps=is_nps(events, journey_map, touchpoint=touchpoint,
                                      activity=activity, codes=codes))
    has_text = sentiment in t.columns
    signal = t[score].notnull()
    if has_text:
        signal = signal | t[sentiment].notnull()
    t = t.filter(signal & t[by].notnull())
    # Each aggregate reads the score: an event without one counts nowhere.
    csat = ~t._nps
    nps = t._nps
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
        aggs |= {"comments": sent.count(), "sentiment_mean": sent.mean(),
                 "_negative": sent.count(where=sent <= NEGATIVE)}
    measured = t.group_by(by).aggregate(**aggs).to_pyarrow()
    targets = _targets(journey_map) if by == touchpoint else None
    rows = []
    for m in measured.to_pylist():
        row = {by: codes.name(by, m[by]), **{c: m[c] for c in _COUNTS}}
        csat_share = ratio(m["_satisfied"], m["csat_responses"])
        nps_value = _nps(m["promoters"], m["detractors"], m["nps_responses"])
        if has_text:
            row |= {"comments": m["comments"], "sentiment_mean": m["sentiment_mean"],
                    "csat": csat_share, "nps": nps_value,
                    "negative_share": ratio(m["_negative"], m["comments"])}
        else:
            row |= {"csat": csat_share, "nps": nps_value, "comments": 0,
                    "sentiment_mean": None, "negative_share": None}
        if targets is not None:
            target = targets.get(row[by], {})
            csat_target, nps_target = target.get("csat_target"), target.get("nps_target")
            csat_value = row["csat_mean"] if csat_target is not None and csat_target > 1 \
                else row["csat"]
            row |= {"csat_target": csat_target, "nps_target": nps_target,
                    "csat_met": _met(csat_value, csat_target, target.get("csat_higher")),
                    "nps_met": _met(row["nps"], nps_target, target.get("nps_higher"))}
        rows.append(row)
    rows.sort(key=lambda r: (r[by] is None, r[by]))
    key_type = pa.string() if codes.coded(by) else measured.schema.field(by).type
    counts = [("accounts", pa.int64()), ("responses", pa.int64()),
              ("csat_responses", pa.int64()), ("csat_mean", pa.float64()),
              ("nps_responses", pa.int64()), ("promoters", pa.int64()),
              ("detractors", pa.int64())]
    text = [("comments", pa.int64()), ("sentiment_mean", pa.float64())]
    ratios = [("csat", pa.float64()), ("nps", pa.float64())]
    order = counts + (text + ratios if has_text else ratios + text)
    order += [("negative_share", pa.float64())]
    if targets is not None:
        order += [("csat_target", pa.float64()), ("nps_target", pa.float64()),
                  ("csat_met", pa.bool_()), ("nps_met", pa.bool_())]
    return pa.Table.from_pylist(rows, schema=pa.schema([(by, key_type), *order]))


def _nps(promoters: int | None, detractors: int | None, responses: int | None) -> float | None:
    p, d = ratio(promoters, responses), ratio(detractors, responses)
    return (p - d) * 100.0 if p is not None and d is not None else None


def _targets(journey_map: JourneyMap) -> dict[str, dict[str, Any]]:
    """The CSAT and NPS targets of each touchpoint that has one, and their directions."""
    out = {}
    for tp in journey_map.touchpoints:
        kpis = {k.measure: k for k in tp.kpis if k.target is not None}
        if "csat" not in kpis and "nps" not in kpis:
            continue
        row: dict[str, Any] = {}
        for m in ("csat", "nps"):
            k = kpis.get(m)
            # A CSAT target above 1 is written as a mean rating (4.2 of 5), not a share.
            row[f"{m}_target"] = float(k.target) if k else None
            row[f"{m}_higher"] = k.direction.value == "higher" if k else None
        out[tp.id] = row
    return out


def _met(value: float | None, target: float | None, higher: bool | None) -> bool | None:
    if value is None or target is None:
        return None
    if higher is None:
        return None
    return value >= target if higher else value <= target


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
    codes: Codes = STRINGS,
) -> ir.Table:
    """`events` with `score_emotion`, `text_emotion` and `emotion` on the map's -2..+2 scale
    (null where an event carries neither a score nor text), and `score_nps`: whether a
    score of the event would be an NPS answer (`is_nps`).

    Events that carry these columns already are returned as they are: an analysis works
    them out once, on the events it keeps for the voice of the customer, for the pain
    points and the emotion curves that read them (each was a large expression in every
    query that read it: the emotion curves took 0.18 s of CPU over 550,000 feedback events
    with it, 0.02 s reading the columns)."""
    if all(c in events.columns for c in EMOTION_COLUMNS):
        return events
    nps = is_nps(events, journey_map, touchpoint=touchpoint, activity=activity, codes=codes)
    s = events[score].cast("float64")
    from_score = ibis.ifelse(
        nps, s / 10.0 * 4.0 - 2.0,
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
    return events.mutate(**{NPS: nps},
                         score_emotion=from_score, text_emotion=from_text, emotion=emotion)


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
    codes: Codes = STRINGS,
) -> ir.Table:
    """The measured emotion per stage (or touchpoint, optionally per persona) beside the
    designed one: `designed`, `measured`, `from_scores`, `from_text`, `signals` (events that
    carry a score or text) and `gap` (measured minus designed). Every stage or touchpoint of
    the map has a row, measured or not."""
    return ibis.memtable(emotion_table(
        events, journey_map, level=level, by_persona=by_persona, stage=stage,
        touchpoint=touchpoint, persona=persona, activity=activity, score=score,
        sentiment=sentiment, csat_min=csat_min, csat_max=csat_max, codes=codes))


def emotion_table(
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
    codes: Codes = STRINGS,
) -> pa.Table:
    """`emotion_curve` as an Arrow table."""
    return emotion_tables(events, journey_map, curves=[(level, by_persona)], stage=stage,
                          touchpoint=touchpoint, persona=persona, activity=activity,
                          score=score, sentiment=sentiment, csat_min=csat_min,
                          csat_max=csat_max, codes=codes)[(level, by_persona)]


def emotion_tables(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    curves: list[tuple[str, bool]],
    stage: str = "stage",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    csat_min: float = 1.0,
    csat_max: float = 5.0,
    codes: Codes = STRINGS,
) -> dict[tuple[str, bool], pa.Table]:
    """Several emotion curves ((level, by_persona) each) from one query: the signals are
    summed per stage, touchpoint and persona, and each curve adds up its own groups."""
    for level, _ in curves:
        if level not in ("stage", "touchpoint"):
            raise ValueError(f"level must be 'stage' or 'touchpoint', not {level!r}")
    e = event_emotion(events, journey_map, touchpoint=touchpoint, activity=activity,
                      score=score, sentiment=sentiment, csat_min=csat_min, csat_max=csat_max,
                      codes=codes)
    e = e.filter(e.emotion.notnull())
    keys = {"stage": e[stage], "touchpoint": e[touchpoint]}
    if any(by for _, by in curves):
        keys["persona"] = e[persona]
    measured = e.group_by(**{f"__{k}": v for k, v in keys.items()}).aggregate(
        emotion_sum=e.emotion.sum(), scores_sum=e.score_emotion.sum(),
        scores_n=e.score_emotion.count(), text_sum=e.text_emotion.sum(),
        text_n=e.text_emotion.count(), signals=e.count(),
    ).to_pyarrow().to_pylist()
    return {(level, by): _curve(measured, journey_map, level=level, by_persona=by, codes=codes)
            for level, by in curves}


def _mean(total: float | None, n: int | None) -> float | None:
    return total / n if total is not None and n else None


def _curve(measured: list[dict[str, Any]], journey_map: JourneyMap, *, level: str,
           by_persona: bool, codes: Codes) -> pa.Table:
    designed = designed_emotion(journey_map, level=level, by_persona=by_persona)
    key_names = [level] + (["persona"] if by_persona else [])
    sums: dict[tuple, dict[str, Any]] = {}
    for m in measured:
        if m[f"__{level}"] is None:
            continue
        key = tuple(codes.name(k, m[f"__{k}"]) for k in key_names)
        acc = sums.setdefault(key, {"emotion_sum": 0.0, "scores_sum": 0.0, "scores_n": 0,
                                    "text_sum": 0.0, "text_n": 0, "signals": 0})
        for col in acc:
            acc[col] += m[col] or 0
    rows: dict[tuple, dict[str, Any]] = {}
    for d in designed.to_pylist():
        rows[tuple(d[k] for k in key_names)] = {**d, "measured": None, "from_scores": None,
                                                "from_text": None, "signals": 0}
    for key, acc in sums.items():
        row = rows.setdefault(key, {**dict(zip(key_names, key, strict=True)), "designed": None})
        row |= {"measured": _mean(acc["emotion_sum"], acc["signals"]),
                "from_scores": _mean(acc["scores_sum"], acc["scores_n"]),
                "from_text": _mean(acc["text_sum"], acc["text_n"]), "signals": acc["signals"]}
    order = ({s.id: i for i, s in enumerate(journey_map.stages)} if level == "stage"
             else {tp.id: i for i, tp in enumerate(journey_map.touchpoints)})
    out = []
    for row in rows.values():
        row["position"] = order.get(row[level])
        row["gap"] = (row["measured"] - row["designed"] if row["measured"] is not None
                      and row["designed"] is not None else None)
        out.append(row)
    out.sort(key=lambda r: (r["position"] is None, r["position"] or 0,
                            *[(r[k] is None, r[k] or "") for k in key_names]))
    schema = pa.schema([*[(k, pa.string()) for k in key_names], ("position", pa.int32()),
                        ("designed", pa.float64()), ("measured", pa.float64()),
                        ("from_scores", pa.float64()), ("from_text", pa.float64()),
                        ("signals", pa.int64()), ("gap", pa.float64())])
    return pa.Table.from_pylist(out, schema=schema)
