"""`analyze` over the demo data: the planted effects are found, results serialise to JSON,
filters narrow the data, and bad filters say why."""

from __future__ import annotations

import json
import shutil

import pytest

import journeyscope
from journeyscope.analytics.analyze import analyze
from journeyscope.analytics.base import AnalysisError
from journeyscope.events.errors import WorkspaceError
from journeyscope.model.templates import template_path

B2B = template_path("b2b")


@pytest.fixture(scope="module")
def result(demo_workspace):
    return journeyscope.analyze(B2B, demo_workspace)


@pytest.fixture(scope="module")
def truth(demo_workspace):
    return json.loads((demo_workspace.parent / "TRUTH.json").read_text())["effects"]


def test_the_planted_pain_point_ranks_first(result, truth):
    top = result["painpoints"].to_pylist()[0]
    assert top["touchpoint"] == truth["pain_point"]["touchpoint"] == "data-migration"
    assert top["negative_feedback"] and top["delay"] and top["back_and_forth"] and top["churn"]
    assert "A self-service migration toolkit with validation reports" in top["opportunities"]
    migrated = truth["pain_point"]["observed"]["migrated_accounts"]
    assert top["accounts"] == migrated


def test_migration_has_the_lowest_csat(result, truth):
    rows = {r["touchpoint"]: r for r in result["voc.by_touchpoint"].to_pylist()}
    csat = {tp: r["csat_mean"] for tp, r in rows.items() if r["csat_responses"]}
    assert min(csat, key=csat.get) == "data-migration"
    assert csat["data-migration"] == pytest.approx(truth["pain_point"]["observed"]["mean_csat"],
                                                   abs=0.01)
    assert rows["data-migration"]["csat_met"] is False


def test_the_planted_migration_delay_misses_the_migrations_kpi(result, truth):
    # The migration runs from its start to its completion, weeks past the 14-day target: the
    # KPI reads the time at the touchpoint, not the gap to the next step (a few days: other
    # events come between the start and the completion).
    kpis = {(r["touchpoint"], r["kpi"]): r for r in result["touchpoints.kpis"].to_pylist()}
    days = kpis[("data-migration", "Days from migration start to completion")]
    assert days["measure"] == "time_at" and days["met"] is False
    assert days["actual"] > 2 * days["target"]
    stats = {r["touchpoint"]: r for r in result["touchpoints.stats"].to_pylist()}
    assert days["actual"] == pytest.approx(stats["data-migration"]["time_at_median_days"])


def test_customers_who_went_over_implementations_standard_churn_more(result):
    rows = {(r["stage"], r["history"]): r
            for r in result["retention.by_stage_history"].to_pylist()}
    over = rows[("implementation", "over standard")]["churn_rate"]
    within = rows[("implementation", "within standard")]["churn_rate"]
    assert over > within


def test_retention_overall_matches_the_outcomes_written(result, demo_workspace):
    counts = json.loads((demo_workspace.parent / "TRUTH.json").read_text())["outcomes"]
    row = result["retention.overall"].to_pylist()[0]
    assert row["customers"] == counts["won"]
    assert row["churned"] <= counts["churned"]  # an account churns once at most


def test_measured_emotion_is_lowest_at_the_migration(result):
    rows = {r["touchpoint"]: r for r in result["voc.emotion_by_touchpoint"].to_pylist()}
    measured = {t: r["measured"] for t, r in rows.items() if r["measured"] is not None}
    assert min(measured, key=measured.get) == "data-migration"
    assert measured["data-migration"] < -0.5
    assert rows["data-migration"]["designed"] < 0  # the map expected it to hurt, too


def test_negative_themes_name_the_migration(result):
    themes = [t["theme"] for t in result["voc.negative_themes"].to_pylist()]
    assert any("migration" in t for t in themes[:5])


def test_every_section_is_in_the_result_and_json_round_trips(result):
    for name in ("stages.funnel", "paths.dfg_touchpoints", "paths.variants",
                 "conformance.fitness", "touchpoints.stats", "attribution.touchpoint",
                 "handovers.designed", "committee.by_stage", "voc.by_segment",
                 "retention.by_segment", "retention.time_to_first_value", "painpoints"):
        assert result[name].num_rows > 0, name
    data = json.loads(result.to_json())
    assert data["meta"]["events"] == result.meta["events"] > 0
    assert len(data["tables"]["painpoints"]) == result["painpoints"].num_rows


def test_segment_filter_keeps_only_that_segments_accounts(demo_workspace, result):
    smb = analyze(B2B, demo_workspace, segment="smb")
    segments = {r["segment"] for r in smb["retention.by_segment"].to_pylist()}
    assert segments == {"smb"}
    assert 0 < smb.meta["accounts"] < result.meta["accounts"]


def test_since_and_until_keep_events_in_the_span(demo_workspace, result):
    part = analyze(B2B, demo_workspace, since="2025-01-01", until="2025-06-30")
    assert 0 < part.meta["events"] < result.meta["events"]
    assert part.meta["filters"]["until"] == "2025-07-01T00:00:00"


def test_persona_filter_keeps_that_personas_events(demo_workspace):
    part = analyze(B2B, demo_workspace, persona="end-user")
    personas = {r["persona"] for r in part["voc.by_persona"].to_pylist()}
    assert personas == {"end-user"}


@pytest.mark.parametrize(("options", "message"), [
    ({"segment": "galactic"}, "no account has it; the segments are: enterprise, mid-market, smb"),
    ({"persona": "astronaut"}, "the map has no such persona"),
    ({"since": "yesterday"}, "not a date or time"),
    ({"since": "2025-02-01", "until": "2025-01-01"}, "is not before"),
])
def test_bad_filters_say_why(demo_workspace, options, message):
    with pytest.raises(AnalysisError, match=message):
        analyze(B2B, demo_workspace, **options)


def test_a_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="no such workspace file"):
        analyze(B2B, tmp_path / "none.duckdb")


def test_the_heap_is_frozen_during_a_run_and_given_back_after_even_on_error(demo_workspace):
    """The objects alive before a run stay out of full collections while it runs, and go
    back to them after: the process's collector is as it was, also after a failed run."""
    import gc

    before = gc.get_freeze_count()
    frozen = []
    analyze(B2B, demo_workspace, since="2025-01-01", until="2025-03-01",
            progress=lambda *_: frozen.append(gc.get_freeze_count()))
    assert frozen and min(frozen) > 0
    assert gc.get_freeze_count() == before
    with pytest.raises(AnalysisError):
        analyze(B2B, demo_workspace, segment="galactic")
    assert gc.get_freeze_count() == before
    # A heap frozen by the process itself stays frozen.
    gc.freeze()
    try:
        frozen_by_us = gc.get_freeze_count()
        analyze(B2B, demo_workspace, since="2025-01-01", until="2025-03-01")
        # (A few frozen objects may have been freed since; none were thawed.)
        assert gc.get_freeze_count() > 0.9 * frozen_by_us > 0
    finally:
        gc.unfreeze()


def test_analysis_never_writes_events_and_caches_sentiment_once(demo_workspace, tmp_path):
    import duckdb

    copy = tmp_path / "ws.duckdb"
    shutil.copy(demo_workspace, copy)
    con = duckdb.connect(str(copy))
    con.execute("DROP TABLE IF EXISTS text_sentiment")
    before = con.execute("SELECT count(*), sum(hash(ts, activity)) FROM events").fetchone()
    con.close()
    analyze(B2B, copy, segment="smb")
    con = duckdb.connect(str(copy), read_only=True)
    after = con.execute("SELECT count(*), sum(hash(ts, activity)) FROM events").fetchone()
    cached = con.execute("SELECT count(*) FROM text_sentiment").fetchone()[0]
    distinct = con.execute("SELECT count(DISTINCT text) FROM events WHERE trim(text) <> ''"
                           ).fetchone()[0]
    con.close()
    assert after == before
    assert cached == distinct > 0


def test_in_memory_tables_give_the_same_results_as_the_imported_workspace(tmp_path):
    from journeyscope.analytics.engine import from_arrow
    from journeyscope.events.demo import generate_tables

    from .conftest import build_demo_workspace

    ws = build_demo_workspace(tmp_path, 300, 7)
    tables = generate_tables(300, seed=7)
    memory = analyze(B2B, from_arrow({"events": tables.events, "accounts": tables.accounts}))
    imported = analyze(B2B, ws)
    assert memory.meta["rematched"] and not imported.meta["rematched"]
    assert memory.meta["events"] == imported.meta["events"]
    for name in ("stages.funnel", "retention.overall", "paths.dfg_touchpoints", "painpoints"):
        assert _sorted(memory[name]) == _sorted(imported[name]), name


def _sorted(table) -> list:
    return sorted(repr([round(v, 6) if isinstance(v, float) else v for v in row.values()])
                   for row in table.to_pylist())
