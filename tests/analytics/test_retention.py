"""Retention on a hand-counted subscription journey, on every engine."""

from __future__ import annotations

import pytest

from journeyscope.analytics.base import (
    AnalysisError,
    account_dimensions,
    account_outcomes,
    journey_steps,
    prepare,
)
from journeyscope.analytics.retention import (
    regressed_accounts,
    retention,
    retention_by_stage_history,
    time_to_first_value,
)
from journeyscope.analytics.stages import stage_progress

from .journeys_g import ACCOUNTS, EVENTS, MAP


@pytest.fixture
def built(load):
    src = load(events=EVENTS, accounts=ACCOUNTS)
    events = prepare(src.table("events"), MAP)
    journey = journey_steps(events)
    dims = account_dimensions(account_outcomes(events), src.table("accounts"))
    return journey, dims, stage_progress(journey, MAP)


def test_churn_and_renewal_rates_count_only_decided_customers(built):
    _, dims, _ = built
    row = retention(dims).to_pyarrow().to_pylist()[0]
    assert (row["customers"], row["decided"], row["renewed"], row["churned"]) == (3, 3, 2, 1)
    assert row["renewal_rate"] == pytest.approx(2 / 3)
    assert row["churn_rate"] == pytest.approx(1 / 3)
    assert row["expansion_rate"] == 0.0
    assert row["customer_value"] == 230.0 and row["churned_value"] == 100.0


def test_retention_by_segment_splits_customers(built):
    _, dims, _ = built
    rows = {r["segment"]: r for r in retention(dims, by="segment").to_pyarrow().to_pylist()}
    assert rows["enterprise"]["customers"] == 2
    assert rows["enterprise"]["churn_rate"] == pytest.approx(0.5)
    assert rows["smb"]["customers"] == 1 and rows["smb"]["renewal_rate"] == 1.0


def test_retention_by_win_cohort_uses_the_month_of_the_win(built):
    _, dims, _ = built
    rows = retention(dims, by="win_cohort").to_pyarrow().to_pylist()
    assert [(r["win_cohort"], r["customers"]) for r in rows] == [("2024-01", 3)]


def test_retention_by_unknown_column_says_what_is_available(built):
    _, dims, _ = built
    with pytest.raises(AnalysisError, match="available: .*segment"):
        retention(dims, by="colour")


def test_stage_history_splits_churn_by_time_over_standard_and_going_back(built):
    journey, dims, progress = built
    table = retention_by_stage_history(progress, MAP, dims,
                                       went_back=regressed_accounts(journey, MAP))
    rows = {(r["stage"], r["history"]): r for r in table.to_pyarrow().to_pylist()}
    # Onboarding took A 16 days, B 10 and C 17 against 10.
    over = rows[("onboard", "over standard")]
    assert (over["customers"], over["churned"], over["renewed"]) == (2, 1, 1)
    assert rows[("onboard", "within standard")]["renewal_rate"] == 1.0
    assert rows[("buy", "within standard")]["customers"] == 3
    assert rows[("any", "went back")]["customers"] == 1  # C
    assert rows[("any", "never went back")]["churn_rate"] == pytest.approx(0.5)


def test_time_to_first_value_runs_from_the_win_to_leaving_onboarding(built):
    journey, dims, progress = built
    row = time_to_first_value(journey, MAP, dims, progress=progress).to_pyarrow().to_pylist()[0]
    assert (row["customers"], row["reached"]) == (3, 3)
    assert row["median_days"] == pytest.approx(17.0)  # 17, 17, 18 days
    assert row["standard_days"] == 10.0 and row["breach_share"] == 1.0


def test_time_to_first_value_from_a_named_activity(built):
    journey, dims, _ = built
    table = time_to_first_value(journey, MAP, dims, first_value_activity="kickoff", by="segment")
    rows = {r["segment"]: r for r in table.to_pyarrow().to_pylist()}
    assert rows["enterprise"]["median_days"] == pytest.approx(4.0)  # 1 and 7 days
    assert rows["smb"]["median_days"] == pytest.approx(1.0)
    assert rows["smb"]["breach_share"] is None  # no standard for a named activity
