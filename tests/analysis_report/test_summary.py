"""The executive summary: each finding is built from the figures of the results it is given,
checked here on hand-made results (where the right sentence is known) and on demo data with
planted effects (where the right finding is known)."""

from __future__ import annotations

from typing import Any

import pytest

from journeyscope.model.types import JourneyMap
from journeyscope.report import summary
from journeyscope.report.report_data import View

MAP = JourneyMap.model_validate({
    "name": "Hand-made",
    "stages": [{"id": "awareness", "name": "Awareness"},
               {"id": "consideration", "name": "Consideration"},
               {"id": "decision", "name": "Decision"},
               {"id": "cessation", "name": "Cessation"}],
    "personas": [{"id": "cfo", "name": "CFO"}, {"id": "user", "name": "End user"}],
    "touchpoints": [
        {"id": "ads", "stage": "awareness", "name": "Ads", "owner": "marketing"},
        {"id": "sdr", "stage": "awareness", "name": "Qualification", "owner": "sdr",
         "next": [{"to": "call", "time_standard": "P3D"}]},
        {"id": "call", "stage": "consideration", "name": "Discovery call", "owner": "sales"},
        {"id": "ref", "stage": "decision", "name": "Reference call", "owner": "sales"},
    ],
})


def result(**tables: list[dict[str, Any]]) -> dict[str, Any]:
    return {"meta": {"accounts": 1000, "events": 9000}, "tables": tables}


def funnel_row(stage: str, name: str, accounts: int, previous: int | None) -> dict[str, Any]:
    drop = None if previous is None else previous - accounts
    return {"stage": stage, "stage_name": name, "accounts": accounts, "previous": previous,
            "drop_off": drop, "drop_off_rate": None if previous is None else drop / previous,
            "conversion": None if previous is None else accounts / previous}


def test_drop_off_names_the_largest_loss_between_consecutive_stages() -> None:
    r = result(**{"stages.funnel": [
        funnel_row("awareness", "Awareness", 1000, None),
        funnel_row("consideration", "Consideration", 700, 1000),
        funnel_row("decision", "Decision", 200, 700),
        funnel_row("cessation", "Cessation", 10, 200),
    ]})
    finding = summary.biggest_drop_off(r, MAP)
    assert finding is not None
    assert finding.sentence == ("500 of the 700 accounts that reached Consideration never "
                                "reached Decision (71%): the biggest loss between two stages.")
    assert finding.figure == "71%"


def test_leaving_for_an_exit_stage_is_no_drop_off() -> None:
    r = result(**{"stages.funnel": [
        funnel_row("decision", "Decision", 900, None),
        funnel_row("cessation", "Cessation", 10, 900),
    ]})
    assert summary.biggest_drop_off(r, MAP) is None


def designed(**values: Any) -> dict[str, Any]:
    row = {"source": "sdr", "target": "call", "from_owner": "sdr", "to_owner": "sales",
           "source_accounts": 900, "accounts": 800, "gap_median_days": 2.0, "gap_p90_days": 9.0,
           "time_standard_days": 3.0, "breach_share": 0.25, "conversion_within": 0.7,
           "conversion_breach": 0.35}
    row.update(values)
    return row


def test_handover_finding_counts_the_accounts_lost_to_lateness() -> None:
    finding = summary.costliest_handover(result(**{"handovers.designed": [designed()]}), MAP)
    assert finding is not None and finding.title == "Handover that loses most"
    # 800 handed over, a quarter late: 200 late accounts moving on at 35% instead of 70%.
    assert finding.figure == "70 accounts"
    assert finding.sentence == (
        "When sdr hands over to sales (Qualification to Discovery call) later than its "
        "standard of 3 days, as for 25% of accounts, only 35% move on, against 70% on time: "
        "about 70 accounts lost.")


def test_lateness_that_costs_nothing_gives_the_slowest_handover_instead() -> None:
    row = designed(conversion_breach=0.69)  # late handovers convert as well as on-time ones
    finding = summary.costliest_handover(result(**{"handovers.designed": [row]}), MAP)
    assert finding is not None and finding.title == "Slowest handover"
    assert finding.sentence.startswith("25% of the handovers from sdr to sales (Qualification "
                                       "to Discovery call) take longer than the standard of "
                                       "3 days (median 2 days, one in ten over 9 days)")


def stats(**values: Any) -> dict[str, Any]:
    row = {"touchpoint": "ref", "stage": "decision", "accounts": 300, "stage_accounts": 800,
           "met_before_decision": 300, "win_rate_met": 0.5, "win_rate_not_met": 0.25,
           "win_lift": 2.0}
    row.update(values)
    return row


def test_win_lift_finding_quotes_both_win_rates() -> None:
    finding = summary.best_win_lift(result(**{"touchpoints.stats": [
        stats(), stats(touchpoint="call", stage="consideration", win_lift=1.2,
                       win_rate_met=0.3)]}), MAP)
    assert finding is not None and finding.figure == "×2.00"
    assert finding.sentence == ("Accounts that met Reference call won 50% of their deals, "
                                "against 25% of those in Decision that did not (×2.00); 300 of "
                                "800 accounts met it.")


@pytest.mark.parametrize("row", [
    stats(met_before_decision=12, win_lift=3.0, win_rate_met=0.75),  # too few met it
    stats(met_before_decision=30, win_rate_met=0.33, win_lift=1.32),  # within chance
])
def test_win_lift_from_small_or_chance_differences_is_no_finding(row: dict[str, Any]) -> None:
    assert summary.best_win_lift(result(**{"touchpoints.stats": [row]}), MAP) is None


def test_persona_absence_estimates_the_deals_lost() -> None:
    rows = [
        {"stage": "decision", "persona": "user", "accounts": 800, "engaged": 400,
         "win_rate_engaged": 0.4, "win_rate_absent": 0.2},
        {"stage": "decision", "persona": "cfo", "accounts": 800, "engaged": 700,
         "win_rate_engaged": 0.32, "win_rate_absent": 0.3},
    ]
    finding = summary.costliest_absence(result(**{"committee.persona_reach": rows}), MAP)
    assert finding is not None and finding.figure == "80 deals"
    assert finding.sentence == ("In Decision, 400 accounts never engaged the End user; they "
                                "won 20% of their deals against 40% when the End user took "
                                "part: about 80 deals lost.")


def pain(**values: Any) -> dict[str, Any]:
    row = {"rank": 1, "touchpoint": "ref", "touchpoint_name": "Reference call",
           "stage": "decision", "revenue_at_risk": 2_500_000.0, "affected_accounts": 120,
           "accounts": 300, "evidence": ["90 of 300 accounts went back to an earlier stage"],
           "opportunities": ["A reference programme"]}
    row.update(values)
    return row


def test_pain_point_finding_gives_revenue_evidence_and_opportunity() -> None:
    finding = summary.top_painpoint(result(painpoints=[pain()]), MAP)
    assert finding is not None and finding.figure == "2.5 M"
    assert finding.sentence == ("Reference call (Decision) puts 2.5 M of revenue at risk: 120 "
                                "of 300 accounts that met it were hurt there. 90 of 300 accounts "
                                "went back to an earlier stage. The map's opportunity here: A "
                                "reference programme.")


def test_pain_point_evidence_reads_with_thousands_separators() -> None:
    row = pain(affected_accounts=1500, accounts=20500,
               evidence=["2210 of 20500 accounts (11%) went back to an earlier stage"])
    finding = summary.top_painpoint(result(painpoints=[row]), MAP)
    assert finding is not None
    assert ("1,500 of 20,500 accounts that met it were hurt there. 2,210 of 20,500 accounts "
            "(11%) went back to an earlier stage.") in finding.sentence


def test_without_deal_values_the_pain_point_hurting_most_accounts_leads() -> None:
    rows = [pain(revenue_at_risk=0.0), pain(rank=2, touchpoint="call", revenue_at_risk=0.0,
                                             touchpoint_name="Discovery call",
                                             stage="consideration", affected_accounts=150)]
    finding = summary.top_painpoint(result(painpoints=rows), MAP)
    assert finding is not None and finding.figure == "150 accounts"
    assert finding.sentence.startswith(
        "Discovery call (Consideration) hurts the most accounts: 150 of 300 accounts that met "
        "it were hurt there (the data holds no deal values to put a revenue on it).")


def test_summary_keeps_the_first_five_findings_in_order() -> None:
    r = result(**{
        "painpoints": [pain()],
        "stages.funnel": [funnel_row("awareness", "Awareness", 1000, None),
                          funnel_row("consideration", "Consideration", 600, 1000)],
        "handovers.designed": [designed()],
        "touchpoints.stats": [stats()],
        "committee.persona_reach": [{"stage": "decision", "persona": "user", "accounts": 800,
                                     "engaged": 400, "win_rate_engaged": 0.4,
                                     "win_rate_absent": 0.2}],
        "stages.time_in_stage": [{"stage": "awareness", "stage_name": "Awareness",
                                  "entered": 1000, "breach_share": 0.4, "standard_days": 30.0,
                                  "median_days": 20.0, "p90_days": 60.0}],
    })
    found = summary.executive_summary(r, MAP)
    assert [f.key for f in found] == ["painpoint", "drop_off", "handover", "win_lift", "persona"]


def test_empty_results_give_no_finding() -> None:
    assert summary.executive_summary(result(), MAP) == []


def test_demo_summary_finds_the_planted_effects(demo_views: list[View], demo) -> None:  # noqa: ANN001
    truth = demo_truth(demo)
    found = {f.key: f for f in summary.executive_summary(demo_views[0].result, demo.map)}
    names = {t.id: t.name for t in demo.map.touchpoints}
    assert set(found) >= {"painpoint", "handover", "win_lift"}
    assert names[truth["pain_point"]["touchpoint"]] in found["painpoint"].sentence
    handover = truth["handover_delay"]
    assert found["handover"].sentence.startswith(
        f"When {handover['from_owner']} hands over to {handover['to_owner']} "
        f"({names[handover['from_touchpoint']]} to {names[handover['to_touchpoint']]})")
    assert names[truth["touchpoint_win_rate"]["touchpoint"]] in found["win_lift"].sentence


def demo_truth(demo) -> dict[str, Any]:  # noqa: ANN001
    import json

    return json.loads((demo.folder / "data" / "TRUTH.json").read_text())["effects"]


def test_demo_findings_quote_the_figures_of_the_analysis(demo_views: list[View],
                                                         demo) -> None:  # noqa: ANN001
    r = demo_views[0].result
    top = r["tables"]["painpoints"][0]
    finding = summary.top_painpoint(r, demo.map)
    assert finding is not None
    assert f"{top['affected_accounts']:,} of {top['accounts']:,} accounts" in finding.sentence
    funnel = r["tables"]["stages.funnel"]
    drops = [f for f in funnel[1:] if not summary.is_exit_stage(f["stage"], f["stage_name"])]
    worst = max(drops, key=lambda f: f["drop_off"])
    drop = summary.biggest_drop_off(r, demo.map)
    assert drop is not None
    assert drop.sentence.startswith(f"{worst['drop_off']:,} of the {worst['previous']:,} ")
