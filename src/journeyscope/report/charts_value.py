"""Plotly figures of what moves deals and what puts them at risk: attribution under each model,
win-rate lift per touchpoint, revenue at risk per pain point, handover gaps and their cost,
the buying committee, retention cohorts and the voice of the customer by stage.

Same conventions as `charts`: plain analysis results in, a `Figure` (or None) out, every label
from the map or the data HTML-escaped.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.charts import (
    HANDOVER_COLOUR,
    MAIN,
    Result,
    figure,
    label,
    names,
    stage_colours,
    style,
    wrap,
)
from journeyscope.report.layout import STATUS_COLOURS
from journeyscope.report.measures import rows

MODELS = {
    "first": "first touch", "last": "last touch", "linear": "linear", "u_shaped": "U-shaped",
    "w_shaped": "W-shaped", "full_path": "full path", "time_decay": "time decay",
    "j_shaped": "J-shaped", "inverse_j": "inverse J", "markov": "Markov", "shapley": "Shapley",
}
ATTRIBUTION_ROWS = 15
MATRIX_OWNERS = 12
BLUES = [[0.0, "#F4F7FB"], [0.25, "#CFDDF1"], [0.6, "#6F97CF"], [1.0, "#1D3F73"]]


def attribution(result: Result, journey_map: JourneyMap, by: str = "touchpoint"
                ) -> go.Figure | None:
    """Each touchpoint's (or channel's) share of the won value under every attribution model,
    as a heatmap: one column per model, each column summing to 100%."""
    data = rows(result, f"attribution.{by}")
    models = [m for m in MODELS if data and m in data[0]]
    totals = {m: sum(r.get(m) or 0.0 for r in data) for m in models}
    models = [m for m in models if totals[m] > 0]
    if not models:
        return None
    titles = names(journey_map) if by == "touchpoint" else {}
    mean_share = {r["key"]: sum((r.get(m) or 0.0) / totals[m] for m in models) / len(models)
                  for r in data}
    data = sorted(data, key=lambda r: -mean_share[r["key"]])[:ATTRIBUTION_ROWS]
    ys = [label(titles.get(r["key"], r["key"])) for r in data]
    z = [[(r.get(m) or 0.0) / totals[m] for m in models] for r in data]
    custom = [[fmt.money(r.get(m)) for m in models] for r in data]
    fig = figure(go.Heatmap(
        z=z, x=[MODELS[m] for m in models], y=ys, colorscale=BLUES, zmin=0,
        text=[[fmt.pct(v) for v in row] for row in z], texttemplate="%{text}",
        textfont={"size": 11}, customdata=custom, showscale=False, xgap=2, ygap=2,
        hovertemplate="%{y} under %{x}: %{text} of the won value (%{customdata})"
                      "<extra></extra>"))
    return style(fig, height=150 + 30 * len(data), yaxis={"autorange": "reversed"},
                 xaxis={"side": "top", "showgrid": False, "tickangle": -30})


def win_lift(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Win rate of accounts that met each touchpoint before their decision against those in
    the same stage that did not."""
    data = [r for r in rows(result, "touchpoints.stats") if fmt.is_number(r.get("win_lift"))]
    if not data:
        return None
    titles = names(journey_map)
    data = sorted(data, key=lambda r: r["win_lift"])
    ys = [label(titles.get(r["touchpoint"], r["touchpoint"])) for r in data]
    fig = figure()
    fig.add_bar(y=ys, x=[r.get("win_rate_not_met") for r in data], orientation="h",
                name="did not meet it", marker={"color": "#CBD2DC"},
                hovertemplate="%{y}: %{x:.0%} won without it<extra></extra>")
    fig.add_bar(y=ys, x=[r.get("win_rate_met") for r in data], orientation="h",
                name="met it", marker={"color": MAIN},
                text=[fmt.ratio(r["win_lift"]) for r in data], textposition="outside",
                textfont={"color": [STATUS_COLOURS["good"] if r["win_lift"] >= 1
                                    else STATUS_COLOURS["bad"] for r in data]},
                customdata=[fmt.count(r.get("met_before_decision")) for r in data],
                hovertemplate="%{y}: %{x:.0%} won by the %{customdata} accounts that met it"
                              "<extra></extra>")
    return style(fig, height=90 + 44 * len(data), barmode="group",
                 xaxis={"tickformat": ".0%", "title": {"text": "win rate"}})


def painpoints(result: Result, journey_map: JourneyMap, top: int = 10) -> go.Figure | None:
    """Revenue at risk of the top pain points, with the accounts behind each signal."""
    data = [r for r in rows(result, "painpoints") if (r.get("revenue_at_risk") or 0) > 0][:top]
    if not data:
        return None
    colours = stage_colours(journey_map)
    data = list(reversed(data))
    hover = []
    for r in data:
        parts = [f"{fmt.count(r.get(s))} {w}" for s, w in (
            ("negative_feedback", "negative feedback"), ("delay", "over the standard"),
            ("back_and_forth", "went back"), ("drop_off", "dropped off"), ("churn", "churned"))
            if r.get(s)]
        hover.append(f"<b>{label(r['touchpoint_name'])}</b><br>{fmt.money(r['revenue_at_risk'])}"
                     f" at risk, {fmt.count(r.get('affected_accounts'))} of "
                     f"{fmt.count(r.get('accounts'))} accounts affected<br>" + ", ".join(parts))
    fig = figure(go.Bar(
        y=[f"{r['rank']} · {label(r['touchpoint_name'])}" for r in data],
        x=[r["revenue_at_risk"] for r in data], orientation="h",
        marker={"color": [colours.get(r.get("stage"), MAIN) for r in data]},
        text=[fmt.money(r["revenue_at_risk"]) for r in data], textposition="auto",
        hovertext=hover, hoverinfo="text"))
    return style(fig, height=80 + 36 * len(data), xaxis={"title": {"text": "revenue at risk"}})


def _handover_name(r: dict[str, Any], titles: dict[str, str]) -> str:
    owners = f"{r.get('from_owner') or 'no owner'} to {r.get('to_owner') or 'no owner'}"
    return (f"{label(titles.get(r['source'], r['source']))} → "
            f"{label(titles.get(r['target'], r['target']))}<br><span style='font-size:10px'>"
            f"{label(owners)}</span>")


def handover_gaps(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """The gap at each designed handover (median and 90th percentile) against the link's time
    standard."""
    data = [r for r in rows(result, "handovers.designed")
            if fmt.is_number(r.get("gap_median_days"))]
    if not data:
        return None
    titles = names(journey_map)
    ys = [_handover_name(r, titles) for r in data]
    hover = [f"{fmt.count(r.get('accounts'))} of {fmt.count(r.get('source_accounts'))} accounts "
             f"handed over; median gap {fmt.days(r['gap_median_days'])}, 90% within "
             f"{fmt.days(r.get('gap_p90_days'))}" + (
                 f"<br>standard {fmt.days(r['time_standard_days'])}: "
                 f"{fmt.pct(r.get('breach_share'))} late"
                 if fmt.is_number(r.get("time_standard_days")) else "") for r in data]
    fig = figure()
    fig.add_bar(y=ys, x=[r["gap_median_days"] for r in data], orientation="h", name="median gap",
                marker={"color": HANDOVER_COLOUR}, hovertext=hover, hoverinfo="text")
    fig.add_bar(y=ys, x=[max(0.0, (r.get("gap_p90_days") or 0) - r["gap_median_days"])
                         for r in data], orientation="h", name="up to 90%",
                marker={"color": "#F8C9A8"}, hovertext=hover, hoverinfo="text")
    std = [r.get("time_standard_days") for r in data]
    if any(fmt.is_number(s) for s in std):
        fig.add_scatter(y=ys, x=std, mode="markers", name="time standard", hovertext=hover,
                        hoverinfo="text", marker={"symbol": "line-ns", "size": 24, "line": {
                            "width": 3, "color": STATUS_COLOURS["bad"]}})
    return style(fig, height=90 + 46 * len(data), barmode="stack",
                 yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "days"}})


def handover_conversion(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Conversion after a handover on time against a late one (over the link's standard)."""
    data = [r for r in rows(result, "handovers.designed")
            if fmt.is_number(r.get("conversion_within"))
            and fmt.is_number(r.get("conversion_breach"))]
    if not any(r["conversion_within"] or r["conversion_breach"] for r in data):
        return None  # nothing moves on after any handover: nothing to compare
    titles = names(journey_map)
    ys = [_handover_name(r, titles) for r in data]
    fig = figure()
    fig.add_bar(y=ys, x=[r["conversion_within"] for r in data], orientation="h",
                name="on time", marker={"color": STATUS_COLOURS["good"]},
                text=[fmt.pct(r["conversion_within"]) for r in data], textposition="auto",
                hovertemplate="%{y}<br>on time: %{x:.0%} moved on<extra></extra>")
    fig.add_bar(y=ys, x=[r["conversion_breach"] for r in data], orientation="h",
                name="late", marker={"color": STATUS_COLOURS["bad"]},
                text=[fmt.pct(r["conversion_breach"]) for r in data], textposition="auto",
                hovertemplate="%{y}<br>late: %{x:.0%} moved on<extra></extra>")
    return style(fig, height=100 + 60 * len(data), barmode="group",
                 yaxis={"autorange": "reversed"},
                 xaxis={"tickformat": ".0%", "range": [0, 1],
                        "title": {"text": "accounts that moved on after the handover"}})


def _short(text: str, width: int = 22) -> str:
    """A long name (an owner id from a CRM, say) cut to `width` characters."""
    return text if len(text) <= width else text[:width - 1] + "…"


def handover_matrix(result: Result, journey_map: JourneyMap,
                    top: int = MATRIX_OWNERS) -> go.Figure | None:
    """Every change of owner along the journeys, owner to owner: the `top` owners most
    involved, the rest summed up as "other owners"."""
    data = [r for r in rows(result, "handovers.matrix") if r.get("handovers")]
    if not data:
        return None
    involved: dict[Any, int] = {}
    for r in data:
        for o in (r["from_owner"], r["to_owner"]):
            involved[o] = involved.get(o, 0) + r["handovers"]
    designed = [o for o in journey_map.owners() if o in involved]
    busiest = sorted(involved, key=lambda o: -involved[o])
    owners = list(dict.fromkeys(designed + busiest))[:top]
    rest = len(involved) - len(owners)
    other = f"other owners ({rest})"
    if rest:
        owners.append(other)
    at = {o: i for i, o in enumerate(owners)}
    counts: dict[tuple[int, int], list[Any]] = {}
    for r in data:
        key = (at.get(r["from_owner"], at.get(other, 0)), at.get(r["to_owner"], at.get(other, 0)))
        cell = counts.setdefault(key, [0, 0, r.get("gap_median_days"), r.get("designed")])
        cell[0] += r["handovers"]
        cell[1] += r.get("accounts") or 0
    z: list[list[Any]] = [[None] * len(owners) for _ in owners]
    text: list[list[str]] = [[""] * len(owners) for _ in owners]
    for (i, j), (n, accounts, gap, designed_pair) in counts.items():
        z[i][j] = n
        grouped = rest and other in (owners[i], owners[j])
        text[i][j] = (f"{fmt.plural(n, 'handover')}" + ("" if grouped else
                      f" of {fmt.plural(accounts, 'account')}, median gap {fmt.days(gap)}"
                      + ("" if designed_pair else "; not designed on the map")))
    shown = [label(_short(o or "no owner")) for o in owners]
    fig = figure(go.Heatmap(z=z, x=shown, y=shown, colorscale=BLUES, showscale=False,
                               text=text, xgap=2, ygap=2, hoverongaps=False,
                               hovertemplate="%{y} to %{x}<br>%{text}<extra></extra>"))
    return style(fig, height=140 + 30 * len(owners), yaxis={"autorange": "reversed",
                                                             "title": {"text": "from"}},
                 xaxis={"side": "top", "title": {"text": "to"}, "tickangle": -30})


def committee_coverage(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Win rate by how much of the buying committee an account engaged."""
    data = [r for r in rows(result, "committee.win_rate_by_coverage") if r.get("accounts")]
    if not data:
        return None
    total = len(journey_map.personas) or max(r["coverage"] for r in data)
    fig = figure(go.Bar(
        x=[f"{r['coverage']} of {total}" for r in data], y=[r.get("win_rate") for r in data],
        marker={"color": MAIN}, text=[fmt.pct(r.get("win_rate")) for r in data],
        textposition="outside", customdata=[fmt.count(r["accounts"]) for r in data],
        hovertemplate="%{x} personas engaged: %{y:.0%} won of %{customdata} accounts"
                      "<extra></extra>"))
    return style(fig, height=340, yaxis={"tickformat": ".0%", "title": {"text": "win rate"}},
                 xaxis={"title": {"text": "personas of the buying committee engaged"}})


def persona_reach(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Share of accounts in each stage that engaged each persona, with the win rate when the
    persona was there against when it was not."""
    data = rows(result, "committee.persona_reach")
    if not data:
        return None
    stages = [s for s in journey_map.stage_ids() if any(r["stage"] == s for r in data)]
    people = [p.id for p in journey_map.personas if any(r["persona"] == p.id for r in data)]
    if not stages or not people:
        return None
    cell = {(r["stage"], r["persona"]): r for r in data}
    titles = names(journey_map)
    pnames = {p.id: p.name for p in journey_map.personas}
    z, text = [], []
    for p in people:
        z.append([cell.get((s, p), {}).get("reach_share") for s in stages])
        text.append([
            (f"engaged in {fmt.pct(c.get('reach_share'))} of {fmt.count(c.get('accounts'))} "
             f"accounts; won {fmt.pct(c.get('win_rate_engaged'))} with, "
             f"{fmt.pct(c.get('win_rate_absent'))} without") if (c := cell.get((s, p))) else ""
            for s in stages])
    fig = figure(go.Heatmap(
        z=z, x=[label(titles.get(s, s)) for s in stages], y=[label(pnames[p]) for p in people],
        colorscale=BLUES, zmin=0, zmax=1, showscale=False, xgap=2, ygap=2, hoverongaps=False,
        text=text, texttemplate="%{z:.0%}", hovertemplate="%{y} in %{x}: %{text}<extra></extra>"))
    return style(fig, height=100 + 36 * len(people), yaxis={"autorange": "reversed"},
                 xaxis={"side": "top"})


def retention_cohorts(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Renewal, churn and expansion rates by the month the customer was won."""
    data = [r for r in rows(result, "retention.by_win_cohort") if r.get("customers")]
    if not any(fmt.is_number(r.get("renewal_rate")) for r in data):
        return None  # no customer's renewal has been decided yet
    xs = [str(r["win_cohort"]) for r in data]
    fig = make_subplots(figure=figure(), specs=[[{"secondary_y": True}]])
    fig.add_bar(x=xs, y=[r["customers"] for r in data], name="customers won",
                marker={"color": "#DDE3EC"}, secondary_y=True,
                hovertemplate="%{x}: %{y:,} customers won<extra></extra>")
    for key, name, colour in (("renewal_rate", "renewal rate", STATUS_COLOURS["good"]),
                              ("churn_rate", "churn rate", STATUS_COLOURS["bad"]),
                              ("expansion_rate", "expansion rate", MAIN)):
        fig.add_scatter(x=xs, y=[r.get(key) for r in data], name=name, mode="lines+markers",
                        line={"color": colour, "width": 2.5}, secondary_y=False,
                        hovertemplate="%{x}: " + name + " %{y:.0%}<extra></extra>")
    return style(fig, height=360, xaxis={"title": {"text": "month won"}},
                 yaxis={"tickformat": ".0%", "range": [0, 1.05],
                        "title": {"text": "share of decided customers"}},
                 yaxis2={"showgrid": False, "title": {"text": "customers"},
                         "tickformat": ",.0f", "rangemode": "tozero"})


def voice_by_stage(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    """Mean sentiment of comments and mean CSAT at each touchpoint, grouped by stage."""
    data = [r for r in rows(result, "voc.by_touchpoint")
            if fmt.is_number(r.get("sentiment_mean")) or fmt.is_number(r.get("csat_mean"))]
    if not data:
        return None
    order = [t.id for t in journey_map.touchpoints]
    stage_of = {t.id: t.stage for t in journey_map.touchpoints}
    data = sorted(data, key=lambda r: order.index(r["touchpoint"])
                  if r["touchpoint"] in order else len(order))
    titles = names(journey_map)
    xs = [[wrap(label(titles.get(stage_of.get(r["touchpoint"], ""), "")), 24) for r in data],
          [wrap(label(titles.get(r["touchpoint"], r["touchpoint"])), 14) for r in data]]
    fig = make_subplots(figure=figure(), specs=[[{"secondary_y": True}]])
    sentiment = [r.get("sentiment_mean") for r in data]
    fig.add_bar(x=xs, y=sentiment, name="sentiment of comments (−1..+1)",
                marker={"color": [STATUS_COLOURS["bad"] if (s or 0) < 0 else STATUS_COLOURS["good"]
                                  for s in sentiment]},
                customdata=[[fmt.count(r.get("comments")), fmt.pct(r.get("negative_share"))]
                            for r in data],
                hovertemplate="%{x}: sentiment %{y:+.2f} over %{customdata[0]} comments, "
                              "%{customdata[1]} negative<extra></extra>", secondary_y=False)
    csat = [r.get("csat_mean") for r in data]
    if any(fmt.is_number(c) for c in csat):
        fig.add_scatter(x=xs, y=csat, name="mean CSAT (1..5)", mode="markers",
                        marker={"size": 14, "symbol": "diamond", "color": MAIN},
                        customdata=[fmt.count(r.get("csat_responses")) for r in data],
                        hovertemplate="%{x}: CSAT %{y:.2f} from %{customdata} responses"
                                      "<extra></extra>", secondary_y=True)
    return style(fig, height=400, xaxis={"tickangle": 0},
                 yaxis={"range": [-1, 1], "title": {"text": "sentiment"}, "zeroline": True,
                        "zerolinecolor": "#9AA5B1"},
                 yaxis2={"range": [1, 5], "showgrid": False, "title": {"text": "CSAT"}})
