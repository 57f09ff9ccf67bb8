"""Pain points: one list of the map's touchpoints ranked by the revenue they put at risk, each
with the evidence behind it and the pain points and opportunities the map names there.

For every account that met a touchpoint, five signals are read (docs/pain-points.md says the
same for users):

- **negative feedback**: the account's measured emotion at the touchpoint (scores and the
  sentiment of its comments on the map's -2..+2 scale, as in `voc.event_emotion`) is below 0;
- **delay**: its time at the touchpoint (first to last event there) is over the touchpoint's
  time standard, or the wait from its last event there to its first event at a linked
  touchpoint after it is over the link's time standard;
- **back-and-forth**: it went back to an earlier stage from the touchpoint, or while there
  (a step back during several touchpoints' spans belongs to the shortest of them);
- **drop-off**: the touchpoint was its last one and it was then lost or churned (a churn is
  not counted where most customers who meet the touchpoint churn: offboarding is how leaving
  goes, not a cause of it);
- **churn**: it churned, at a touchpoint whose customers churn more often than the customers
  who did not meet it, beyond chance (`_higher`).

An account with any signal is **affected**. The **revenue at risk** of a touchpoint is the
account value of the affected customers that met it after their win: revenue they pay. The
**pipeline at risk** is the expected value of the affected prospects (value times the win rate
of all decided deals), since a deal not yet won is not yet revenue. Touchpoints rank by
revenue at risk, then pipeline at risk.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import US_PER_DAY
from journeyscope.analytics.journey import STRINGS, Codes
from journeyscope.analytics.retention import step_back
from journeyscope.analytics.touchpoints import link_waits
from journeyscope.analytics.voc import event_emotion
from journeyscope.model.types import JourneyMap, parse_duration

SIGNALS = ("negative_feedback", "delay", "back_and_forth", "drop_off", "churn")


def _days(duration: str | None) -> float | None:
    return parse_duration(duration).total_seconds() / 86400 if duration else None


def _standards(journey_map: JourneyMap, codes: Codes) -> tuple[ir.Table, ir.Table]:
    tps = [t for t in journey_map.touchpoints]
    tp_table = ibis.memtable(pa.table({
        "_tp": codes.array("touchpoint", [t.id for t in tps]),
        "std_days": pa.array([_days(t.time_standard) for t in tps], pa.float64()),
    }))
    links = [(t.id, link.to, _days(link.time_standard)) for t, link in journey_map.links()
             if link.time_standard]
    link_table = ibis.memtable(pa.table({
        "_source": codes.array("touchpoint", [s for s, _, _ in links]),
        "_target": codes.array("touchpoint", [t for _, t, _ in links]),
        "link_days": pa.array([d for _, _, d in links], pa.float64()),
    }))
    return tp_table, link_table


def touch_table(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    feedback: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    stage_index: str = "stage_index",
    next_stage_index: str = "next_stage_index",
    per_account: ir.Table | None = None,
    codes: Codes = STRINGS,
) -> ir.Table:
    """One row per account and touchpoint met: `first_ts`, `last_ts`, mean `emotion` and its
    `feedback` count, whether the account `went_back` to an earlier stage from it or while
    it was there (between its first and last event at it), and CSAT/NPS sums.

    The emotion is read from `feedback` (the events with a score or text, with `sentiment`)
    when given, else from the journey's own columns. `per_account` (account, touchpoint,
    first_ts, last_ts and `back_from`: a step back from it) saves the pass over the journey
    when the caller has it."""
    back = step_back(journey_map, journey[stage_index], journey[next_stage_index])
    j = journey.mutate(_back=back)
    base = _touch_base(journey, journey_map, per_account=per_account, account=account, ts=ts,
                       touchpoint=touchpoint, stage_index=stage_index,
                       next_stage_index=next_stage_index)
    touch = base
    f = feedback if feedback is not None else journey
    f = f.filter(f[touchpoint].notnull())
    f = event_emotion(f, journey_map, touchpoint=touchpoint, activity=activity, score=score,
                      sentiment=sentiment, codes=codes)
    felt = f.group_by([f[account].name("_f_acc"), f[touchpoint].name("_f_tp")]).aggregate(
        emotion=f.emotion.mean(),
        feedback=f.emotion.count(),
        score_sum=f[score].sum(),
        score_n=f[score].count(),
    )
    touch = touch.left_join(felt, (touch.account == felt._f_acc)
                            & (touch.touchpoint == felt._f_tp)).drop("_f_acc", "_f_tp")
    touch = touch.mutate(feedback=touch.feedback.fill_null(0), score_n=touch.score_n.fill_null(0))
    # A step back in the middle of a long touchpoint (renegotiating during a migration) is
    # that touchpoint's, whatever event happened to come just before it; when several are in
    # progress, the shortest (the most specific) takes it.
    regs = j.filter(j._back).select(_r_acc=j[account], _r_ts=j.next_ts)
    during = base.join(regs, (base.account == regs._r_acc) & (regs._r_ts >= base.first_ts)
                       & (regs._r_ts <= base.last_ts))
    span = during.last_ts.delta(during.first_ts, unit="microsecond")
    w = ibis.window(group_by=[during._r_acc, during._r_ts], order_by=[span, during.touchpoint])
    during = during.mutate(_pick=ibis.row_number().over(w))
    during = during.filter(during._pick == 0)
    during = during.select(_d_acc="account", _d_tp="touchpoint").distinct()
    touch = touch.left_join(during, (touch.account == during._d_acc)
                            & (touch.touchpoint == during._d_tp))
    touch = touch.mutate(went_back=touch.back_from | touch._d_acc.notnull())
    return touch.drop("_d_acc", "_d_tp", "back_from")


def _touch_base(journey: ir.Table, journey_map: JourneyMap, *, per_account: ir.Table | None,
                account: str, ts: str, touchpoint: str, stage_index: str,
                next_stage_index: str) -> ir.Table:
    """account, touchpoint, first_ts, last_ts and back_from, from `per_account` when given."""
    if per_account is not None:
        return per_account.select("account", "touchpoint", "first_ts", "last_ts", "back_from")
    back = step_back(journey_map, journey[stage_index], journey[next_stage_index])
    j = journey.mutate(_back=back)
    return j.group_by([j[account].name("account"), j[touchpoint].name("touchpoint")]).aggregate(
        first_ts=j[ts].min(),
        last_ts=j[ts].max(),
        back_from=j._back.any().fill_null(False),
    )


def _account_signals(touch: ir.Table, journey_map: JourneyMap, dims: ir.Table, *,
                     base: ir.Table, journey: ir.Table, account: str, touchpoint: str, ts: str,
                     value: str, waits: ir.Table | None, codes: Codes) -> ir.Table:
    """The five signals per account and touchpoint. `base` (account, touchpoint, first_ts,
    last_ts) is what `touch` was made from: the waits and the last touchpoint are read from it,
    so that the engine does not make `touch` again for them; `journey` answers for the few
    accounts that came back to a link's source after its target. `waits`, when given, are
    those waits measured already, on these links and maybe others."""
    tp_std, link_std = _standards(journey_map, codes)
    link_sources = codes.keys("touchpoint", sorted({t.id for t, link in journey_map.links()
                                                   if link.time_standard}))
    t = touch.left_join(tp_std, touch.touchpoint == tp_std._tp).drop("_tp")
    span = t.last_ts.delta(t.first_ts, unit="microsecond").cast("float64") / US_PER_DAY
    t = t.mutate(span_days=span)

    # The wait on each designed link with a time standard, per account: from the last event
    # at the source before the first at the target (as the designed handovers measure it).
    if link_sources:
        pairs = link_std.select(source="_source", target="_target", link_days="link_days")
        if waits is None:
            waits = link_waits(base, journey, pairs, sources=link_sources, account=account,
                               touchpoint=touchpoint, ts=ts)
        else:
            waits = waits.join(pairs, ["source", "target"])
        wait = waits.first_ts.delta(waits.last_src, unit="microsecond").cast(
            "float64") / US_PER_DAY
        waits = waits.mutate(_late=(wait > waits.link_days).fill_null(False))
        late = waits.group_by(_a=waits.account, _source=waits.source).aggregate(
            link_late=waits._late.any())
        t = t.left_join(late, [t.account == late._a, t.touchpoint == late._source])
        t = t.drop("_a", "_source")
    else:
        t = t.mutate(link_late=ibis.null("boolean"))

    # The last touchpoint of each account, for drop-off: a grouping and a join are cheaper
    # than a window over every account's touchpoints.
    last = base.group_by(_l_acc=base.account).aggregate(_l_ts=base.last_ts.max())
    t = t.join(last, t.account == last._l_acc)
    t = t.mutate(is_last=t.last_ts == t._l_ts).drop("_l_acc", "_l_ts")

    d = _outcomes(dims, account=account, value=value)
    t = t.join(d, t.account == d._acc).drop("_acc")
    negative = (t.feedback > 0) & (t.emotion < 0)
    delay = (t.span_days > t.std_days).fill_null(False) | t.link_late.fill_null(False)
    dropped = t.is_last & (t.lost | t.churned)
    return t.mutate(negative_feedback=negative.fill_null(False), delay=delay,
                    back_and_forth=t.went_back, drop_off=dropped)


def _outcomes(dims: ir.Table, *, account: str, value: str) -> ir.Table:
    """Per account (`_acc`): its outcomes, never null, its win's time and its `_value`."""
    return dims.select(_acc=dims[account], won=dims.won.fill_null(False),
                       lost=dims.lost.fill_null(False), churned=dims.churned.fill_null(False),
                       renewed=dims.renewed.fill_null(False), won_ts=dims.won_ts,
                       _value=dims[value].cast("float64").fill_null(0.0))


def _churn_lift(t: ir.Table, codes: Codes) -> ir.Table:
    """Per touchpoint: churn of the customers who met it against the customers who did not,
    and whether it is higher beyond chance (one-sided two-proportion z-test at 95%, at least
    10 customers on each side), as a small table. Only customers whose renewal was decided
    (renewed or churned) count: a customer too new to renew has not had the chance to churn,
    and comparing it would make every touchpoint of later years look like a churn risk."""
    decided = t.won & (t.renewed | t.churned)
    per = t.group_by("touchpoint").aggregate(
        customers=decided.cast("int64").sum(), churned=(decided & t.churned).cast("int64").sum(),
        won_met=t.won.cast("int64").sum(), churned_met=(t.won & t.churned).cast("int64").sum(),
    ).to_pyarrow().to_pylist()
    customers_churned = t.filter(decided).select("account", "churned").distinct()
    totals = customers_churned.aggregate(
        n=customers_churned.count(), c=customers_churned.churned.cast("int64").sum()
    ).to_pyarrow().to_pylist()[0]
    n_all, c_all = totals["n"] or 0, totals["c"] or 0
    rows: dict[str, list] = {"_tp2": [], "churn_with": [], "churn_without": [], "churn_lift": [],
                             "leaving": []}
    for r in per:
        n1, c1 = r["customers"] or 0, r["churned"] or 0
        n2, c2 = n_all - n1, c_all - c1
        p1 = c1 / n1 if n1 else None
        p2 = c2 / n2 if n2 else None
        rows["_tp2"].append(r["touchpoint"])
        rows["churn_with"].append(p1)
        rows["churn_without"].append(p2)
        rows["churn_lift"].append(_higher(c1, n1, c2, n2))
        # Where most customers who meet it churn (offboarding, an exit interview), ending
        # there is how leaving goes, not a drop-off the touchpoint causes.
        rows["leaving"].append((r["churned_met"] or 0) > (r["won_met"] or 0) / 2)
    key_type = pa.int32() if codes.coded("touchpoint") else pa.string()
    return ibis.memtable(pa.table(rows, schema=pa.schema([
        ("_tp2", key_type), ("churn_with", pa.float64()), ("churn_without", pa.float64()),
        ("churn_lift", pa.bool_()), ("leaving", pa.bool_())])))


def _higher(c1: int, n1: int, c2: int, n2: int, *, z_crit: float = 1.645) -> bool:
    """Whether rate c1/n1 is above c2/n2 beyond chance (one-sided z-test). A touchpoint met by
    fewer than 10 customers who stayed is part of leaving (offboarding), not a cause of it."""
    if n1 < 10 or n2 < 10 or n1 - c1 < 10:
        return False
    p1, p2, pooled = c1 / n1, c2 / n2, (c1 + c2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return False
    se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    return (p1 - p2) / se > z_crit


def rank_painpoints(
    journey: ir.Table,
    journey_map: JourneyMap,
    dims: ir.Table,
    *,
    feedback: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    touchpoint: str = "touchpoint",
    activity: str = "activity",
    score: str = "score",
    sentiment: str = "sentiment",
    value: str = "value",
    stage_index: str = "stage_index",
    next_stage_index: str = "next_stage_index",
    per_account: ir.Table | None = None,
    waits: ir.Table | None = None,
    codes: Codes = STRINGS,
) -> pa.Table:
    """The ranked pain points (see the module's docstring): one row per touchpoint with any
    affected account, best first. `journey` is `base.journey_steps` over prepared events;
    `feedback` the prepared events with a score or text and their `sentiment` (default: the
    journey's own columns); `dims` is `base.account_dimensions` (with the accounts' `value`,
    else `won_value` is used). `waits` is `touchpoints.link_waits` over links that include
    those with a time standard (an analysis run's, `touchpoints.measured_links`); without it
    they are measured here."""
    if value not in dims.columns:
        value = "won_value"
    touch = touch_table(journey, journey_map, feedback=feedback, account=account, ts=ts,
                        touchpoint=touchpoint, activity=activity, score=score, sentiment=sentiment,
                        stage_index=stage_index, next_stage_index=next_stage_index,
                        per_account=per_account, codes=codes)
    base = _touch_base(journey, journey_map, per_account=per_account, account=account, ts=ts,
                       touchpoint=touchpoint, stage_index=stage_index,
                       next_stage_index=next_stage_index)
    t = _account_signals(touch, journey_map, dims, base=base, journey=journey,
                         account=account, touchpoint=touchpoint, ts=ts, value=value,
                         waits=waits, codes=codes)
    decided = dims.filter(dims.won.fill_null(False) | dims.lost.fill_null(False))
    win_rate = (decided.won.fill_null(False).cast("float64").mean()).as_scalar()
    # The churn lift reads only who met each touchpoint and how they ended: the pairs of
    # `base` with their outcomes, the same rows as the signals' table. The signals are then
    # read once, by the grouping below, and never kept (1.4 million rows of 23 columns at
    # ten million events).
    met = base.select("account", "touchpoint")
    ends = _outcomes(dims, account=account, value=value)
    lift = _churn_lift(met.join(ends, met.account == ends._acc).drop("_acc"), codes)
    t = t.join(lift, t.touchpoint == lift._tp2).drop("_tp2")
    t = t.mutate(churn=t.won & t.churned & t.churn_lift,
                 drop_off=t.drop_off & ~(t.churned & t.leaving.fill_null(False)))
    affected = t.negative_feedback | t.delay | t.back_and_forth | t.drop_off | t.churn
    # A customer's revenue is at risk where it met the touchpoint after the win; before it,
    # the deal was only pipeline, and it was won all the same.
    after_win = t.won & (t.last_ts >= t.won_ts).fill_null(False)
    revenue = ibis.ifelse(after_win, t._value, 0.0)
    pipeline = ibis.ifelse(t.won, 0.0, t._value * win_rate.fill_null(0.0))
    t = t.mutate(affected=affected, revenue=revenue, pipeline=pipeline, weight=revenue + pipeline)
    aggs: dict[str, Any] = {
        "accounts": t.count(),
        "value_met": t.weight.sum(),
        "affected_accounts": t.affected.cast("int64").sum(),
        "revenue_at_risk": t.revenue.sum(where=t.affected).fill_null(0.0),
        "pipeline_at_risk": t.pipeline.sum(where=t.affected).fill_null(0.0),
        "feedback_accounts": (t.feedback > 0).cast("int64").sum(),
        "mean_emotion": t.emotion.mean(),
        "score_sum": t.score_sum.sum(),
        "score_n": t.score_n.sum(),
        "std_days": t.std_days.max(),
        "median_days": t.span_days.median(),
        "churn_with": t.churn_with.max(),
        "churn_without": t.churn_without.max(),
    }
    for s in SIGNALS:
        aggs[s] = t[s].cast("int64").sum()
        aggs[f"{s}_value"] = t.weight.sum(where=t[s]).fill_null(0.0)
    out = t.group_by("touchpoint").aggregate(**aggs).to_pyarrow().to_pylist()
    rows = [r | {"touchpoint": codes.name("touchpoint", r["touchpoint"])}
            for r in out if r["affected_accounts"]]
    rows.sort(key=lambda r: (-r["revenue_at_risk"], -r["pipeline_at_risk"], r["touchpoint"]))
    return _present(rows, journey_map)


def _present(rows: list[dict[str, Any]], journey_map: JourneyMap) -> pa.Table:
    by_id = {t.id: t for t in journey_map.touchpoints}
    records = []
    for rank, r in enumerate(rows, start=1):
        tp = by_id.get(r["touchpoint"])
        pains = list(tp.pain_points) if tp else []
        opps = list(tp.opportunities) if tp else []
        stage = journey_map.stage(tp.stage) if tp else None
        if stage is not None:
            pains += list(stage.pain_points)
            opps += list(stage.opportunities)
        records.append({
            "rank": rank,
            "touchpoint": r["touchpoint"],
            "touchpoint_name": tp.name if tp else r["touchpoint"],
            "stage": tp.stage if tp else None,
            "revenue_at_risk": round(r["revenue_at_risk"], 2),
            "pipeline_at_risk": round(r["pipeline_at_risk"], 2),
            "affected_accounts": r["affected_accounts"],
            "accounts": r["accounts"],
            **{s: r[s] for s in SIGNALS},
            **{f"{s}_value": round(r[f"{s}_value"], 2) for s in SIGNALS},
            "evidence": _evidence(r),
            "pain_points": [p.text for p in sorted(pains, key=_severity)],
            "opportunities": [o.text for o in _ordered_opportunities(pains, opps)],
        })
    schema = pa.schema([
        ("rank", pa.int64()), ("touchpoint", pa.string()), ("touchpoint_name", pa.string()),
        ("stage", pa.string()), ("revenue_at_risk", pa.float64()),
        ("pipeline_at_risk", pa.float64()),
        ("affected_accounts", pa.int64()), ("accounts", pa.int64()),
        *[(s, pa.int64()) for s in SIGNALS], *[(f"{s}_value", pa.float64()) for s in SIGNALS],
        ("evidence", pa.list_(pa.string())), ("pain_points", pa.list_(pa.string())),
        ("opportunities", pa.list_(pa.string())),
    ])
    return pa.Table.from_pylist(records, schema=schema)


def _severity(p: Any) -> int:
    return {"high": 0, "medium": 1, "low": 2}[p.severity]


def _ordered_opportunities(pains: list[Any], opps: list[Any]) -> list[Any]:
    """Opportunities that answer the most severe pain points first."""
    rank = {p.id: _severity(p) for p in pains if p.id}
    return sorted(opps, key=lambda o: min((rank.get(a, 3) for a in o.addresses), default=3))


def _pct(n: int, of: int) -> str:
    return f"{n / of:.0%}" if of else "n/a"


def _evidence(r: dict[str, Any]) -> list[str]:
    """The facts behind a ranked touchpoint, as sentences a person reads."""
    n = r["accounts"]
    out = []
    if r["negative_feedback"]:
        text = (f"{r['negative_feedback']} of {r['feedback_accounts']} accounts that gave "
                "feedback were negative")
        if r["score_n"]:
            text += f" (mean score {r['score_sum'] / r['score_n']:.1f})"
        out.append(text)
    if r["delay"]:
        text = f"{r['delay']} of {n} accounts ({_pct(r['delay'], n)}) over the time standard"
        if r["std_days"] is not None and r["median_days"] is not None:
            text += (f" (median {r['median_days']:.0f} days at the touchpoint against "
                     f"{r['std_days']:.0f})")
        out.append(text)
    if r["back_and_forth"]:
        out.append(f"{r['back_and_forth']} of {n} accounts ({_pct(r['back_and_forth'], n)}) "
                   "went back to an earlier stage from here")
    if r["drop_off"]:
        out.append(f"{r['drop_off']} accounts were lost or churned after this as their last "
                   "touchpoint")
    if r["churn"]:
        out.append(f"customers who met it churned at {r['churn_with']:.0%} against "
                   f"{r['churn_without']:.0%} of the others ({r['churn']} accounts)")
    return out

