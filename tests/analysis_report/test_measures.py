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
