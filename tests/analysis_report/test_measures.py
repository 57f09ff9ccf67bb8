"""The measured figures on the map's cards and their colours against the map's targets."""

from __future__ import annotations

from typing import Any

import pytest

from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.measures import (
    breach_status,
    kpi_status,
    map_measures,
    measured_kpis,
    stage_time_status,
)
from journeyscope.report.report_data import View

MAP = JourneyMap.model_validate({
    "name": "Hand-made",
    "stages": [{"id": "decision", "name": "Decision", "time_standard": "P30D"}],
    "touchpoints": [
        {"id": "proposal", "stage": "decision", "name": "Proposal", "time_standard": "P14D",
         "kpis": [{"name": "Win rate", "measure": "win_rate", "unit": "ratio", "target": 0.35},
                  {"name": "Days in decision", "measure": "time_in_stage", "unit": "days",
                   "target": 30, "direction": "lower"},
                  {"name": "CSAT", "measure": "csat", "unit": "score", "target": 4.2}]},
    ],
})


def result() -> dict[str, Any]:
    return {"meta": {}, "tables": {
        "stages.funnel": [{"stage": "decision", "stage_name": "Decision", "accounts": 2101,
                           "share": 0.42, "conversion": 0.59, "drop_off": 1458}],
        "stages.time_in_stage": [{"stage": "decision", "median_days": 27.9,
                                  "standard_days": 30.0, "breach_share": 0.44}],
        "touchpoints.stats": [{"touchpoint": "proposal", "accounts": 2101, "reach_share": 0.42,
                               "conversion": 0.29, "win_lift": 1.5, "win_rate_met": 0.3,
                               "win_rate_not_met": 0.2, "time_to_next_median_days": 3.7}],
        "touchpoints.kpis": [
            {"touchpoint": "proposal", "kpi": "Win rate", "measure": "win_rate",
             "unit": "ratio", "target": 0.35, "direction": "higher", "actual": 0.3,
             "met": False},
            {"touchpoint": "proposal", "kpi": "Days in decision", "measure": "time_in_stage",
             "unit": "days", "target": 30.0, "direction": "lower", "actual": None,
             "met": None},
            {"touchpoint": "proposal", "kpi": "CSAT", "measure": "csat", "unit": "score",
             "target": 4.2, "direction": "higher", "actual": 4.12, "met": False},
        ],
        "voc.by_touchpoint": [{"touchpoint": "proposal", "csat_mean": 4.12, "comments": 0}],
        "painpoints": [{"touchpoint": "proposal", "delay": 700, "accounts": 2101}],
        "voc.by_stage": [],
    }}


@pytest.mark.parametrize(("actual", "target", "direction", "status"), [
    (0.40, 0.35, "higher", "good"),
    (0.33, 0.35, "higher", "warn"),  # 6% short of the target
    (0.30, 0.35, "higher", "bad"),
    (3.2, 3.0, "lower", "warn"),
    (2.0, 3.0, "lower", "good"),
    (None, 3.0, "lower", None),
])
def test_a_kpi_is_good_when_met_warn_when_close_bad_otherwise(
        actual: float | None, target: float, direction: str, status: str | None) -> None:
    assert kpi_status(actual, target, direction) == status


def test_stage_time_is_bad_over_the_standard_and_warns_on_many_breaches() -> None:
    assert stage_time_status(31, 30, 0.1) == "bad"
    assert stage_time_status(28, 30, 0.44) == "warn"
    assert stage_time_status(20, 30, 0.1) == "good"
    assert breach_status(0.93) == "bad" and breach_status(0.3) == "warn"


def test_the_time_in_stage_kpi_is_measured_from_the_stage() -> None:
    kpis = {k["kpi"]: k for k in measured_kpis(result(), MAP)}
    assert kpis["Days in decision"]["actual"] == pytest.approx(27.9)
    assert kpis["Days in decision"]["status"] == "good"
    assert kpis["Win rate"]["status"] == "bad"
    assert kpis["CSAT"]["status"] == "warn"


def test_cards_carry_reach_conversion_time_and_score_against_targets() -> None:
    measures = map_measures(result(), MAP)
    card = {f.label: (f.value, f.status) for f in measures["proposal"]}
    assert card["reach"] == ("2,101 accounts (42%)", None)
    assert card["win rate"] == ("30% vs 20% (×1.50) · ≥ 35%", "bad")
    assert card["over standard"] == ("33% of accounts (14 days)", "warn")
    assert card["score"] == ("CSAT 4.12 (≥ 4.2)", "warn")
    assert card["time in stage"] == ("28 days · ≤ 30 days", "good")
    stage = {f.label: (f.value, f.status) for f in measures["decision"]}
    assert stage["accounts"] == ("2,101 (42%)", None)
    assert stage["from previous"] == ("59% · 1,458 dropped", None)
    assert stage["time"] == ("median 28 days · 44% over 30 days", "warn")


def test_ids_the_map_does_not_have_are_left_out() -> None:
    r = result()
    r["tables"]["touchpoints.stats"].append({"touchpoint": "gone", "accounts": 5})
    assert "gone" not in map_measures(r, MAP)


def test_demo_cards_show_the_funnel_and_reach_of_the_analysis(demo_views: list[View],
                                                              demo) -> None:  # noqa: ANN001
    r = demo_views[0].result
    measures = map_measures(r, demo.map)
    for row in r["tables"]["stages.funnel"]:
        first = measures[row["stage"]][0]
        assert first.value == f"{row['accounts']:,} ({fmt.pct(row['share'])})"
    for row in r["tables"]["touchpoints.stats"]:
        if row["accounts"]:
            reach = measures[row["touchpoint"]][0]
            assert reach.value.startswith(f"{row['accounts']:,} accounts")


KPI_MAP = JourneyMap.model_validate({
    "name": "Drop-off and revenue",
    "stages": [{"id": "decision", "name": "Decision"}, {"id": "support", "name": "Support"}],
    "touchpoints": [
        {"id": "proposal", "stage": "decision", "name": "Proposal",
         "kpis": [{"name": "Lost after the proposal", "measure": "drop_off", "unit": "ratio",
                   "target": 0.4, "direction": "lower"},
                  {"name": "Proposals dropped", "measure": "drop_off", "unit": "count"},
                  {"name": "Drop-off in percent", "measure": "drop_off", "unit": "percent"},
                  {"name": "Revenue", "measure": "revenue", "unit": "currency",
                   "target": 1_000_000}]},
        {"id": "call", "stage": "decision", "name": "Call",
         "kpis": [{"name": "Revenue", "measure": "revenue", "unit": "currency"}]},
        {"id": "upsell", "stage": "support", "name": "Upsell",
         "kpis": [{"name": "Expansion revenue", "measure": "revenue", "unit": "currency",
                   "target": 500_000}]},
    ],
})


def kpi_result(attribution: list[dict[str, Any]]) -> dict[str, Any]:
    kpis = [{"touchpoint": tp.id, "kpi": k.name, "measure": k.measure, "unit": k.unit,
             "target": k.target, "direction": k.direction.value, "actual": None, "met": None,
             "measured_by": None} for tp in KPI_MAP.touchpoints for k in tp.kpis]
    return {"meta": {}, "tables": {
        "touchpoints.stats": [
            {"touchpoint": "proposal", "accounts": 1200, "conversion": 0.55,
             "met_before_decision": 1100},
            {"touchpoint": "call", "accounts": 30, "conversion": 0.9, "met_before_decision": 12},
            {"touchpoint": "upsell", "accounts": 80, "conversion": 1.0,
             "met_before_decision": 0}],
        "touchpoints.kpis": kpis,
        "attribution.touchpoint": attribution,
    }}


def test_drop_off_kpis_are_the_rest_of_the_touchpoints_conversion() -> None:
    kpis = {k["kpi"]: k for k in measured_kpis(kpi_result([]), KPI_MAP)}
    lost = kpis["Lost after the proposal"]
    assert lost["actual"] == pytest.approx(0.45)
    assert (lost["status"], lost["met"], lost["measured_by"]) == ("bad", False, "touchpoints")
    assert (lost["actual_text"], lost["target_text"]) == ("45%", "≤ 40%")
    assert kpis["Proposals dropped"]["actual"] == 540
    assert kpis["Proposals dropped"]["actual_text"] == "540"
    assert kpis["Drop-off in percent"]["actual"] == pytest.approx(45.0)


def test_revenue_kpis_are_the_linear_attribution_credit() -> None:
    credits = [{"key": "proposal", "linear": 1_234_567.0, "shapley": 2_000_000.0},
               {"key": "(no touch)", "linear": 1000.0, "shapley": 1000.0}]
    kpis = {(k["touchpoint"], k["kpi"]): k for k in measured_kpis(kpi_result(credits), KPI_MAP)}
    revenue = kpis[("proposal", "Revenue")]
    assert revenue["actual"] == pytest.approx(1_234_567.0)
    assert (revenue["actual_text"], revenue["status"], revenue["measured_by"]) == (
        "1.2 M", "good", "attribution")
    # met before decisions and credited nothing, against never met before a decision
    assert kpis[("call", "Revenue")]["actual"] == 0.0
    upsell = kpis[("upsell", "Expansion revenue")]
    assert upsell["actual"] is None
    assert upsell["actual_text"] == "not measured (met only after the deal)"
    assert upsell["status"] is None


def test_without_won_value_revenue_is_not_measured() -> None:
    for attribution in ([], [{"key": "proposal", "linear": 0.0}]):
        kpis = measured_kpis(kpi_result(attribution), KPI_MAP)
        revenue = [k for k in kpis if k["measure"] == "revenue"]
        assert all(k["actual"] is None for k in revenue)
        assert {k["actual_text"] for k in revenue} == {"not measured (no won value)"}


def test_cards_and_headline_show_drop_off_and_revenue() -> None:
    from journeyscope.report.report_data import headline

    r = kpi_result([{"key": "proposal", "linear": 1_234_567.0}])
    card = [(f.label, f.value, f.status) for f in map_measures(r, KPI_MAP)["proposal"]]
    assert ("drop-off", "45% · ≤ 40%", "bad") in card
    assert ("drop-off", "540", None) in card
    assert ("revenue", "1.2 M · ≥ 1.0 M", "good") in card
    top = {label: value for label, value, _ in headline(r, KPI_MAP)}
    assert top["KPIs met"] == "1 of 2"  # drop-off missed, revenue met


def _linear_attribution(events: list[tuple[Any, ...]]) -> dict[str, float]:
    """Linear attribution computed by hand: each won account's value (its won events) shared
    equally among its touches up to its first win."""
    credit: dict[str, float] = {}
    by_account: dict[str, list[tuple[Any, ...]]] = {}
    for e in events:
        by_account.setdefault(e[0], []).append(e)
    for own in by_account.values():
        wins = [e for e in own if e[3] == "won"]
        if not wins:
            continue
        won_at = min(e[1] for e in wins)
        value = sum(e[4] or 0.0 for e in wins)
        touches = [e[2] for e in own if e[2] is not None and e[1] <= won_at]
        for tp in touches:
            credit[tp] = credit.get(tp, 0.0) + value / len(touches)
    return credit


def _drop_off(events: list[tuple[Any, ...]], journey_map: JourneyMap, touchpoint: str
              ) -> float:
    """The share of the accounts that met `touchpoint` and afterwards reached no later stage
    (cessation is an exit, not a step forward) and no first won, renewed or expanded outcome,
    computed by hand."""
    index = journey_map.stage_index()
    stage_of = {t.id: index[t.stage] for t in journey_map.touchpoints}
    k = stage_of[touchpoint]
    first: dict[str, Any] = {}
    for account, ts, tp, _, _ in events:
        if tp == touchpoint and (account not in first or ts < first[account]):
            first[account] = ts
    positive: dict[tuple[str, str], Any] = {}
    for account, ts, _, outcome, _ in events:
        if outcome in ("won", "renewed", "expanded"):
            key = (account, outcome)
            positive[key] = min(ts, positive.get(key, ts))
    moved = set()
    for account, ts, tp, _, _ in events:
        if account in first and tp is not None and stage_of.get(tp, -1) > k \
                and ts > first[account] and journey_map.stages[stage_of[tp]].id != "cessation":
            moved.add(account)
    for (account, _), ts in positive.items():
        if account in first and ts > first[account]:
            moved.add(account)
    return 1 - len(moved) / len(first)


def test_demo_drop_off_and_revenue_equal_figures_computed_from_the_events(demo) -> None:  # noqa: ANN001
    import duckdb

    from journeyscope.analytics.analyze import analyze

    data = demo.map.model_dump(mode="json")
    extra = {"proposal-pricing": ["drop_off", "revenue"], "case-studies": ["revenue"],
             "data-migration": ["drop_off"], "renewal-discussion": ["drop_off"]}
    for tp in data["touchpoints"]:
        for measure in extra.get(tp["id"], []):
            tp["kpis"].append({"name": f"test {measure}", "measure": measure,
                               "unit": "ratio" if measure == "drop_off" else "currency"})
    journey_map = JourneyMap.model_validate(data)
    result = analyze(journey_map, demo.workspace).to_dict()
    kpis = {(k["touchpoint"], k["measure"]): k["actual"]
            for k in measured_kpis(result, journey_map)}
    with duckdb.connect(str(demo.workspace), read_only=True) as con:
        events = con.execute("SELECT account_id, ts, touchpoint, outcome, value FROM events"
                             ).fetchall()
    for tid in ("proposal-pricing", "data-migration", "renewal-discussion", "offboarding"):
        assert kpis[(tid, "drop_off")] == pytest.approx(_drop_off(events, journey_map, tid))
    assert 0 < kpis[("proposal-pricing", "drop_off")] < 1
    credit = _linear_attribution(events)
    for tid in ("proposal-pricing", "case-studies"):
        assert kpis[(tid, "revenue")] == pytest.approx(credit[tid])
        assert kpis[(tid, "revenue")] > 0
    # expansion revenue is earned after the win, where attribution credits nothing
    assert "cross-sell-upsell" not in credit
    assert kpis[("cross-sell-upsell", "revenue")] is None
