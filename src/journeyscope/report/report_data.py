"""What the analysis report shows for one view (all accounts, or one segment): the figures on
the map's cards, the charts as Plotly JSON, the headline numbers, the executive summary and
the rows of its tables, all from the plain results of one `analyze` run.

The page embeds one such view per segment and switches between them (`analysis_report`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.json import to_json_plotly

from journeyscope.model.types import JourneyMap
from journeyscope.report import charts, charts_value, fmt
from journeyscope.report.measures import map_measures, measured_kpis, measures_json, rows
from journeyscope.report.summary import Finding, executive_summary

Result = Mapping[str, Any]
Builder = Callable[[Result, JourneyMap], go.Figure | None]


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its id, the builder, a title, a caption saying how to read it,
    and what to say when the view has no data for it."""

    id: str
    build: Builder
    title: str
    caption: str
    empty: str = "No data for this chart in this view."


def _sankey_touchpoints(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    return charts.sankey(result, journey_map, level="touchpoint")


def _attribution_channel(result: Result, journey_map: JourneyMap) -> go.Figure | None:
    return charts_value.attribution(result, journey_map, by="channel")


_NO_VALUE = "No won value in this view: attribution shares out the value of won deals."

CHARTS: tuple[Chart, ...] = (
    Chart("emotion", charts.emotion, "Emotion: measured against designed",
          "The map's designed emotion per touchpoint (dashed) and the emotion measured from "
          "scores and the sentiment of comments (solid), on the map's −2..+2 scale.",
          "No scores or comments in this view to measure an emotion from."),
    Chart("funnel", charts.funnel, "Stage funnel",
          "Accounts that reached each stage (an account counts once per stage, in any order) "
          "and the share of the stage before that got there."),
    Chart("sankey", charts.sankey, "Real flows between stages",
          "Every move of an account from one stage on to a later one, skips included. Moves "
          "back to an earlier stage are in Back-and-forth."),
    Chart("time", charts.time_in_stage, "Time in stage against the standard",
          "How long accounts stay in each stage: half of them within the dark bar, three in "
          "four within the middle one, nine in ten within the light one. The red tick is the "
          "stage's time standard."),
    Chart("regressions", charts.regressions, "Back-and-forth",
          "Moves back to an earlier stage, from where to where.",
          "No account went back to an earlier stage in this view."),
    Chart("painpoints", charts_value.painpoints, "Revenue at risk by pain point",
          "The value of the accounts hurt at each touchpoint: customers in full, prospects "
          "at the win rate.", "No account was hurt at any touchpoint in this view."),
    Chart("win_lift", charts_value.win_lift, "Win rate with and without each touchpoint",
          "Win rate of the accounts that met a touchpoint before their decision, against "
          "those in the same stage that did not. The label is the lift.",
          "No decided deals in this view to compare win rates."),
    Chart("attribution_touchpoint", charts_value.attribution, "Attribution by touchpoint",
          "Each touchpoint's share of the won value under every attribution model "
          "(each column sums to 100%).", _NO_VALUE),
    Chart("attribution_channel", _attribution_channel, "Attribution by channel",
          "Each channel's share of the won value under every attribution model.", _NO_VALUE),
    Chart("handover_gaps", charts_value.handover_gaps, "Handover gaps",
          "Time from the last event with one team to the first with the next, at each "
          "handover the map designs, against the link's time standard (red tick).",
          "No designed handover was observed in this view."),
    Chart("handover_conversion", charts_value.handover_conversion, "Late handovers lose accounts",
          "Share of accounts that moved on after a handover on time, against those handed "
          "over later than the link's standard.",
          "No handover with a time standard was observed in this view."),
    Chart("handover_matrix", charts_value.handover_matrix, "Every change of owner",
          "Owner-to-owner changes along the real journeys; hover for the gap and whether "
          "the map designs it."),
    Chart("committee_coverage", charts_value.committee_coverage,
          "Win rate by buying-committee coverage",
          "Accounts grouped by how many of the map's personas took part in their journey."),
    Chart("persona_reach", charts_value.persona_reach, "Personas reached per stage",
          "Share of the accounts in a stage that engaged each persona; hover for the win "
          "rate with and without them.", "No persona is known for the events of this view."),
    Chart("voice", charts_value.voice_by_stage, "Scores and sentiment by stage",
          "Mean sentiment of comments (bars, −1..+1) and mean CSAT (diamonds, 1..5) at each "
          "touchpoint that was rated or commented on, grouped by stage.",
          "No scores or comments in this view."),
    Chart("retention", charts_value.retention_cohorts, "Retention by the month won",
          "Of the customers whose renewal was decided, the share renewed, churned and "
          "expanded, by the month they were won.",
          "No customer in this view whose renewal has been decided."),
    Chart("dfg", charts.dfg, "Directly-follows graph",
          f"The {charts.DFG_EDGES} most frequent moves from one touchpoint to the next; width "
          "by frequency, hover for the time between them. Orange moves go back to an earlier "
          "stage."),
    Chart("sankey_touchpoints", _sankey_touchpoints, "Flows from stage to stage, by touchpoint",
          "Where accounts leave a stage and where they arrive in the next: the largest flows "
          "from a touchpoint to a touchpoint of a later stage."),
)


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """A figure as plain JSON without its template (the page supplies one shared template)."""
    data = json.loads(to_json_plotly(fig.to_plotly_json()))
    data.get("layout", {}).pop("template", None)
    return {"data": data.get("data", []), "layout": data.get("layout", {})}


def shared_template() -> dict[str, Any]:
    """The Plotly template every chart of the page uses (embedded once)."""
    return json.loads(to_json_plotly(pio.templates["plotly_white"].to_plotly_json()))


def headline(result: Result, journey_map: JourneyMap) -> list[tuple[str, str, str]]:
    """The numbers at the top of a view: (label, value, detail)."""
    meta = result.get("meta", {})
    accounts = meta.get("accounts") or 0
    out = [("accounts", fmt.count(accounts), f"{fmt.count(meta.get('events'))} events")]
    overall = rows(result, "retention.overall")
    if overall:
        o = overall[0]
        won = o.get("customers") or 0
        out.append(("won", fmt.count(won), f"{fmt.pct(won / accounts) if accounts else 'n/a'} "
                                           "of accounts"))
        if (o.get("customer_value") or 0) > 0:
            out.append(("won value", fmt.money(o["customer_value"]), "of the customers won"))
        if fmt.is_number(o.get("renewal_rate")):
            out.append(("renewal rate", fmt.pct(o["renewal_rate"]),
                        f"churn {fmt.pct(o.get('churn_rate'))} of {fmt.count(o.get('decided'))} "
                        "decided"))
    fit = rows(result, "conformance.fitness")
    if fit and fmt.is_number(fit[0].get("move_fitness")):
        out.append(("moves on the map", fmt.pct(fit[0]["move_fitness"]),
                    f"{fmt.pct(fit[0].get('fitness'))} of journeys fully"))
    kpis = [k for k in measured_kpis(result, journey_map) if k.get("met") is not None]
    if kpis:
        met = sum(1 for k in kpis if k["met"])
        out.append(("KPIs met", f"{met} of {len(kpis)}", "touchpoint targets of the map"))
    return out


def compress(steps: list[str]) -> list[str]:
    """A path with repeated steps folded: ``a, a, a, b`` reads ``a ×3, b``.

    >>> compress(["web", "web", "web", "demo", "web"])
    ['web ×3', 'demo', 'web']
    """
    out: list[str] = []
    runs: list[int] = []
    for step in steps:
        if out and out[-1] == step:
            runs[-1] += 1
        else:
            out.append(step)
            runs.append(1)
    return [f"{s} ×{n}" if n > 1 else s for s, n in zip(out, runs, strict=True)]


def tables(result: Result, journey_map: JourneyMap) -> dict[str, Any]:
    """The rows of the report's tables for one view, ready for the template."""
    names = charts.names(journey_map)
    fit = rows(result, "conformance.fitness")
    variants = []
    for v in rows(result, "paths.variants")[:10]:
        variants.append({"path": compress([names.get(s, s) for s in (v.get("variant") or [])]),
                         "accounts": fmt.count(v.get("accounts")), "share": fmt.pct(v.get("share")),
                         "median": fmt.days(v.get("median_days"))})
    stalled: dict[str, int] = {}
    for s in rows(result, "stages.stalled"):
        stalled[s["stage"]] = stalled.get(s["stage"], 0) + 1
    return {
        "painpoints": rows(result, "painpoints")[:10],
        "fitness": fit[0] if fit else None,
        "undesigned": rows(result, "conformance.undesigned_moves")[:8],
        "unmet": rows(result, "conformance.unmet_touchpoints"),
        "untravelled": rows(result, "conformance.untravelled_links"),
        "variants": variants,
        "themes": rows(result, "voc.negative_themes")[:8],
        "stalled": [(names.get(k, k), n) for k, n in sorted(
            stalled.items(), key=lambda kv: journey_map.stage_ids().index(kv[0])
            if kv[0] in journey_map.stage_ids() else 99)],
        "kpis": measured_kpis(result, journey_map),
        "retention_by_segment": rows(result, "retention.by_segment"),
    }


@dataclass
class View:
    """One computed view of the report: all accounts (`key` "") or one segment."""

    key: str
    label: str
    result: dict[str, Any]

    @property
    def accounts(self) -> int:
        return int(self.result.get("meta", {}).get("accounts") or 0)

    def summary(self, journey_map: JourneyMap) -> list[Finding]:
        return executive_summary(self.result, journey_map)

    def data(self, journey_map: JourneyMap) -> dict[str, Any]:
        """What the page's script needs to show this view: figures and charts."""
        built = {}
        for chart in CHARTS:
            fig = chart.build(self.result, journey_map)
            if fig is not None:
                built[chart.id] = figure_json(fig)
        return {
            "label": self.label,
            "accounts": self.accounts,
            "events": int(self.result.get("meta", {}).get("events") or 0),
            "figures": measures_json(map_measures(self.result, journey_map)),
            "charts": built,
        }
