"""The measured figures laid on the map: per touchpoint and stage card, reach, conversion, win
rate, time against the standard and scores, coloured against the map's KPI targets.

Reads the plain results of `journeyscope.analytics.analyze` (`AnalysisResult.to_dict()`) and
returns the `measures` that `render_map_html` draws: `{touchpoint or stage id: [Figure, ...]}`.

Colours (docs/report.md says the same for users):

- a KPI with a target is **good** when met, **warn** when missed by at most 10% of the target,
  **bad** otherwise;
- a stage's time is **bad** when its median is over the stage's time standard, **warn** when
  more than a quarter of its accounts are over it, **good** otherwise;
- a touchpoint's time is the share of its accounts over its time standard: **good** up to a
  quarter, **warn** up to a half, **bad** above;
- figures without a target (reach without a reach KPI, say) stay uncoloured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeyscope.model.types import JourneyMap, parse_duration
from journeyscope.report import fmt
from journeyscope.report.layout import Figure, Status, worst

KPI_TOLERANCE = 0.10  # a KPI missed by at most this share of its target is a warning
STAGE_BREACH_WARN = 0.25
TOUCHPOINT_BREACH_WARN = 0.25
TOUCHPOINT_BREACH_BAD = 0.50

# KPI measures whose figure merges into one of the base figures of a touchpoint card.
_MERGED = {"reach": "reach", "conversion": "conversion", "win_rate": "win rate",
           "time_to_next": "next step"}
# KPI measures that attach their target to one part of the score figure.
_SCORE_PART = {"csat": "csat", "score": "csat", "nps": "nps", "sentiment": "sentiment"}
_WORDS = {"handover_gap": "handover gap", "time_in_stage": "time in stage", "time_at": "time at",
          "frequency": "frequency", "sentiment": "sentiment", "drop_off": "drop-off",
          "revenue": "revenue"}


def rows(result: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The rows of one result table (empty when the analysis did not produce it)."""
    return list(result.get("tables", {}).get(name) or [])


def kpi_status(actual: Any, target: Any, direction: str | None,
               tolerance: float = KPI_TOLERANCE) -> Status | None:
    """good when `actual` meets `target` in `direction`, warn when it misses by at most
    `tolerance` of the target, bad otherwise; None without both numbers.

    >>> kpi_status(0.30, 0.35, "higher"), kpi_status(4.12, 4.2, "higher"), kpi_status(2, 3, "lower")
    ('bad', 'warn', 'good')
    """
    if not (fmt.is_number(actual) and fmt.is_number(target)):
        return None
    gap = (target - actual) if direction != "lower" else (actual - target)
    if gap <= 0:
        return "good"
    return "warn" if gap <= tolerance * abs(target) else "bad"


def stage_time_status(median: Any, standard: Any, breach_share: Any) -> Status | None:
    """The colour of a stage's time in stage against its time standard."""
    if not (fmt.is_number(median) and fmt.is_number(standard)):
        return None
    if median > standard:
        return "bad"
    if fmt.is_number(breach_share) and breach_share > STAGE_BREACH_WARN:
        return "warn"
    return "good"


def breach_status(share: Any) -> Status | None:
    """The colour of a touchpoint's share of accounts over its time standard."""
    if not fmt.is_number(share):
        return None
    if share > TOUCHPOINT_BREACH_BAD:
        return "bad"
    return "warn" if share > TOUCHPOINT_BREACH_WARN else "good"


def drop_off_of(stats: Mapping[str, Any] | None, unit: str | None = None) -> float | None:
    """A touchpoint's drop-off from its row of `touchpoints.stats`: the accounts that met it
    and did not move forward afterwards (no later stage, no won, renewed or expanded outcome),
    the rest of its `conversion` as the stage funnel's drop-off is the rest of its conversion.
    A share (unit `ratio` or none), times 100 for `percent`, the accounts for `count`; None
    when no account met it.

    >>> met = {"accounts": 200, "conversion": 0.75}
    >>> drop_off_of(met), drop_off_of(met, "percent"), drop_off_of(met, "count")
    (0.25, 25.0, 50)
    >>> drop_off_of({"accounts": 0, "conversion": None}) is None
    True
    """
    if not stats or not stats.get("accounts") or not fmt.is_number(stats.get("conversion")):
        return None
    share = 1.0 - stats["conversion"]
    unit = (unit or "").lower()
    if unit == "count":
        return round(stats["accounts"] * share)
    return share * 100.0 if unit in ("percent", "%") else share


def linear_credits(result: Mapping[str, Any]) -> dict[str, float] | None:
    """Each touchpoint's credit of the won value under linear attribution
    (`attribution.touchpoint`); None when the view has no won value to share."""
    credits = {r["key"]: float(r.get("linear") or 0.0) for r in rows(result,
                                                                      "attribution.touchpoint")}
    return credits if sum(credits.values()) > 0 else None


def revenue_of(touchpoint: str, stats: Mapping[str, Any] | None,
               credits: Mapping[str, float] | None) -> float | None:
    """A touchpoint's revenue: its linear-attribution credit of the won value (each won deal's
    value shared equally among the touches before the win), 0 for a touchpoint met before a
    decision that no won journey credits. None without won value in the view, or for a
    touchpoint no account met before its decision (support, renewal...): attribution shares
    the value of won deals among the touches that led to them, so it cannot credit one.

    >>> revenue_of("demo", {"met_before_decision": 40}, {"demo": 125000.0})
    125000.0
    >>> revenue_of("call", {"met_before_decision": 3}, {"demo": 125000.0})
    0.0
    >>> revenue_of("upsell", {"met_before_decision": 0}, {"demo": 125000.0}) is None
    True
    """
    if credits is None:
        return None
    if touchpoint in credits:
        return credits[touchpoint]
    return 0.0 if stats and stats.get("met_before_decision") else None


def _why_no_revenue(stats: Mapping[str, Any] | None,
                    credits: Mapping[str, float] | None) -> str:
    if credits is None:
        return "no won value"
    return "met only after the deal" if stats and stats.get("accounts") else "not met"


def measured_kpis(result: Mapping[str, Any], journey_map: JourneyMap) -> list[dict[str, Any]]:
    """The map's touchpoint KPIs with their measured `actual`, `met` and `status`.

    The touchpoint analysis leaves four measures to other sections; they are read here from
    the results: `time_in_stage` is the median time in the touchpoint's stage (in the KPI's
    unit: days, hours or minutes), `sentiment` the mean sentiment of the comments at the
    touchpoint, `drop_off` the complement of the touchpoint's conversion (`drop_off_of`) and
    `revenue` its credit of the won value under linear attribution (`revenue_of`).
    """
    times = {r["stage"]: r for r in rows(result, "stages.time_in_stage")}
    voice = {r["touchpoint"]: r for r in rows(result, "voc.by_touchpoint")}
    stats = {r["touchpoint"]: r for r in rows(result, "touchpoints.stats")}
    credits = linear_credits(result)
    stage_of = {t.id: t.stage for t in journey_map.touchpoints}
    out = []
    for k in rows(result, "touchpoints.kpis"):
        k = dict(k)
        if k.get("actual") is None and k.get("measure") == "drop_off":
            value = drop_off_of(stats.get(k["touchpoint"]), k.get("unit"))
            if value is not None:
                k["actual"], k["measured_by"] = value, "touchpoints"
        if k.get("actual") is None and k.get("measure") == "revenue":
            value = revenue_of(k["touchpoint"], stats.get(k["touchpoint"]), credits)
            if value is not None:
                k["actual"], k["measured_by"] = value, "attribution"
            else:
                k["why_not"] = _why_no_revenue(stats.get(k["touchpoint"]), credits)
        if k.get("actual") is None and k.get("measure") == "time_in_stage":
            median = times.get(stage_of.get(k["touchpoint"]), {}).get("median_days")
            if fmt.is_number(median):
                scale = {"hours": 24.0, "minutes": 1440.0}.get((k.get("unit") or "").lower(), 1.0)
                k["actual"], k["measured_by"] = median * scale, "stages"
        if k.get("actual") is None and k.get("measure") == "sentiment":
            mean = voice.get(k["touchpoint"], {}).get("sentiment_mean")
            if fmt.is_number(mean):
                k["actual"], k["measured_by"] = mean, "voc"
        k["status"] = kpi_status(k.get("actual"), k.get("target"), k.get("direction"))
        k["actual_text"] = _kpi_text(k.get("actual"), k)
        if k.get("why_not") and k.get("actual") is None:
            k["actual_text"] += f" ({k['why_not']})"
        k["target_text"] = fmt.kpi_target(k.get("target"), k.get("direction"), k.get("unit"))
        if k.get("met") is None and k["status"] is not None:
            k["met"] = k["status"] == "good"
        out.append(k)
    return out


def _kpi_text(value: Any, k: Mapping[str, Any]) -> str:
    if not fmt.is_number(value):
        return "not measured"
    if k.get("measure") == "nps":
        return fmt.number(value, 0)
    if k.get("measure") == "sentiment":
        return fmt.signed(value)
    return fmt.kpi_value(value, k.get("unit"))


def _days_of(duration: str | None) -> float | None:
    return parse_duration(duration).total_seconds() / 86400 if duration else None


def _stage_figures(result: Mapping[str, Any]) -> dict[str, list[Figure]]:
    times = {r["stage"]: r for r in rows(result, "stages.time_in_stage")}
    voice = {r["stage"]: r for r in rows(result, "voc.by_stage")}
    out: dict[str, list[Figure]] = {}
    for f in rows(result, "stages.funnel"):
        sid = f["stage"]
        figs = [Figure("accounts", f"{fmt.count(f['accounts'])} ({fmt.pct(f.get('share'))})")]
        if fmt.is_number(f.get("conversion")):
            figs.append(Figure("from previous", f"{fmt.pct(f['conversion'])} · "
                                                f"{fmt.count(f.get('drop_off'))} dropped"))
        t = times.get(sid, {})
        median, std = t.get("median_days"), t.get("standard_days")
        if fmt.is_number(median):
            text = f"median {fmt.days(median)}"
            if fmt.is_number(std):
                text += f" · {fmt.pct(t.get('breach_share'))} over {fmt.days(std)}"
            figs.append(Figure("time", text, stage_time_status(median, std,
                                                               t.get("breach_share"))))
        v = voice.get(sid)
        if v:
            said = _voice_text(v)
            if said:
                figs.append(Figure("voice", said))
        out[sid] = figs
    return out


def _voice_parts(v: Mapping[str, Any]) -> dict[str, str]:
    """CSAT, NPS and sentiment of a stage or touchpoint, as far as measured."""
    parts = {}
    if fmt.is_number(v.get("csat_mean")):
        parts["csat"] = f"CSAT {fmt.number(v['csat_mean'])}"
    if fmt.is_number(v.get("nps")):
        parts["nps"] = f"NPS {fmt.number(v['nps'], 0)}"
    if fmt.is_number(v.get("sentiment_mean")) and v.get("comments"):
        parts["sentiment"] = f"sentiment {fmt.signed(v['sentiment_mean'])}"
    return parts


def _voice_text(v: Mapping[str, Any]) -> str:
    return " · ".join(_voice_parts(v).values())


def _touchpoint_figures(result: Mapping[str, Any], journey_map: JourneyMap
                        ) -> dict[str, list[Figure]]:
    kpis: dict[str, list[dict[str, Any]]] = {}
    for k in measured_kpis(result, journey_map):
        kpis.setdefault(k["touchpoint"], []).append(k)
    pains = {r["touchpoint"]: r for r in rows(result, "painpoints")}
    voice = {r["touchpoint"]: r for r in rows(result, "voc.by_touchpoint")}
    tps = {t.id: t for t in journey_map.touchpoints}
    out: dict[str, list[Figure]] = {}
    for s in rows(result, "touchpoints.stats"):
        tid = s["touchpoint"]
        if tid not in tps or not s.get("accounts"):
            continue
        base: dict[str, list[Any]] = {
            "reach": [f"{fmt.count(s['accounts'])} accounts ({fmt.pct(s.get('reach_share'))})"],
            "conversion": [fmt.pct(s.get("conversion"))],
        }
        if fmt.is_number(s.get("win_lift")):
            base["win rate"] = [f"{fmt.pct(s.get('win_rate_met'))} vs "
                                f"{fmt.pct(s.get('win_rate_not_met'))} "
                                f"({fmt.ratio(s['win_lift'])})"]
        if fmt.is_number(s.get("time_to_next_median_days")):
            base["next step"] = [fmt.days(s["time_to_next_median_days"])]
        std = _days_of(tps[tid].time_standard)
        if std is not None:
            p = pains.get(tid, {})
            share = (p["delay"] / p["accounts"]) if p.get("accounts") else 0.0
            base["over standard"] = [f"{fmt.pct(share)} of accounts ({fmt.days(std)})",
                                     breach_status(share)]
        said = _voice_parts(voice.get(tid, {}))
        extra: list[Figure] = []
        score_status: list[Status | None] = []
        for k in kpis.get(tid, []):
            target = fmt.kpi_target(k.get("target"), k.get("direction"), k.get("unit"))
            label = _MERGED.get(k.get("measure") or "")
            status = k["status"]
            part = _SCORE_PART.get(k.get("measure") or "")
            if part in said and target and "(" not in said[part]:
                said[part] = f"{said[part]} ({target})"
                score_status.append(status)
                continue
            if label and label in base and len(base[label]) == 1:
                base[label] = [f"{base[label][0]} · {target}" if target else base[label][0],
                               status]
                continue
            if k.get("actual") is None:
                continue
            value = k["actual_text"]
            name = _WORDS.get(k.get("measure") or "", str(k["kpi"])[:32])
            extra.append(Figure(name, f"{value} · {target}" if target else value, status))
        if said:
            base["score"] = [" · ".join(said.values()), worst(
                [Figure("", "", st) for st in score_status])]
        out[tid] = [Figure(label, *vals) for label, vals in base.items()] + extra
    return out


def map_measures(result: Mapping[str, Any], journey_map: JourneyMap) -> dict[str, list[Figure]]:
    """The figures on every measured touchpoint and stage card of `journey_map`.

    `result` is `AnalysisResult.to_dict()` of that map; ids the map does not have are left
    out (a result computed for another version of the map)."""
    known = {s.id for s in journey_map.stages} | {t.id for t in journey_map.touchpoints}
    figures = {**_stage_figures(result), **_touchpoint_figures(result, journey_map)}
    return {key: figs for key, figs in figures.items() if key in known and figs}


def measures_json(measures: Mapping[str, list[Figure]]) -> dict[str, list[list[str | None]]]:
    """The measures as JSON-ready lists of ``[label, value, status]`` (for the page's
    segment switch)."""
    return {key: [[f.label, f.value, f.status] for f in figs] for key, figs in measures.items()}
