"""Matching events to touchpoints, stages and outcomes: exact expected assignments on small
hand-made tables, in the workspace (DuckDB, `apply_matching`) and as an Ibis expression."""

from __future__ import annotations

import json

import duckdb
import pytest

from journeyscope.events import schema
from journeyscope.events.matching import (
    MatchRuleError,
    apply_matching,
    match_summary,
    match_table,
    unmatched_activities,
)
from journeyscope.model.types import JourneyMap

MAP = JourneyMap(
    name="rules",
    stages=[{"id": "aware", "name": "Awareness"}, {"id": "decide", "name": "Decision"},
            {"id": "support", "name": "Support"}],
    touchpoints=[
        # Map order decides: a reply e-mail is `reply`, any other e-mail is `outreach`.
        {"id": "reply", "stage": "decide", "name": "Reply",
         "match": {"activity": ["email"], "attributes": {"direction": ["INCOMING_EMAIL"]}}},
        {"id": "outreach", "stage": "aware", "name": "Outreach",
         "match": [{"activity": ["Email", "call"]}, {"channel": ["LinkedIn"]}]},
        {"id": "webinar", "stage": "aware", "name": "Webinar",
         "match": {"regex": ["^webinar_(attended|registered)$"]}},
        {"id": "demo", "stage": "decide", "name": "Demo",
         "match": {"regex": ["(?i)demo"], "owner": ["sales", "presales"]}},
        {"id": "exec-demo", "stage": "decide", "name": "Executive demo",
         "match": {"regex": ["(?i)demo"], "persona": ["cio"]}},
        {"id": "urgent", "stage": "support", "name": "Urgent ticket",
         "match": {"activity": ["ticket_created"], "attributes": {"priority": ["high"],
                                                                  "n": ["3"]}}},
        {"id": "portal", "stage": "support", "name": "Portal",
         "match": {"source": ["portal"], "attributes": {"segment": ["smb"]}}},
        {"id": "unused", "stage": "support", "name": "Design only"},
    ],
    outcomes={"won": {"activity": ["opportunity_won"]},
              "lost": [{"activity": ["opportunity_lost"]}, {"regex": ["^churn"]}],
              "renewed": {"activity": ["renewal_signed"], "channel": ["email"]}},
)

# (activity, channel, owner, source, persona, attributes, segment) -> (touchpoint, stage, outcome)
CASES = [
    (("email", "email", "sales", "crm", None, {"direction": "INCOMING_EMAIL"}, None),
     ("reply", "decide", None)),
    (("EMAIL", "email", "sales", "crm", None, {"direction": "incoming_email"}, None),
     ("reply", "decide", None)),
    (("email", "email", "sales", "crm", None, {"direction": "EMAIL"}, None),
     ("outreach", "aware", None)),
    (("Call", "phone", None, None, None, None, None), ("outreach", "aware", None)),
    (("connection", "linkedin", None, None, None, None, None), ("outreach", "aware", None)),
    (("webinar_attended", "video", None, None, None, None, None), ("webinar", "aware", None)),
    (("Webinar_Attended", "video", None, None, None, None, None), (None, None, None)),
    (("webinar_attended_late", "video", None, None, None, None, None), (None, None, None)),
    (("Product DEMO", "meeting", "Presales", None, None, None, None), ("demo", "decide", None)),
    (("product demo", "meeting", "marketing", None, "CIO", None, None),
     ("exec-demo", "decide", None)),
    (("product demo", "meeting", None, None, None, None, None), (None, None, None)),
    (("ticket_created", "email", None, None, None, {"priority": "HIGH", "n": 3}, None),
     ("urgent", "support", None)),
    (("ticket_created", "email", None, None, None, {"priority": "HIGH", "n": 4}, None),
     (None, None, None)),
    (("ticket_created", "email", None, None, None, {"priority": "high"}, None),
     (None, None, None)),
    (("login", "app", None, "Portal", None, None, "SMB"), ("portal", "support", None)),
    (("login", "app", None, "portal", None, None, "enterprise"), (None, None, None)),
    (("opportunity_won", None, "sales", "crm", None, None, None), (None, None, "won")),
    (("opportunity_lost", None, None, None, None, None, None), (None, None, "lost")),
    (("churned_at_renewal", None, None, None, None, None, None), (None, None, "lost")),
    (("renewal_signed", "email", None, None, None, None, None), (None, None, "renewed")),
    (("renewal_signed", "phone", None, None, None, None, None), (None, None, None)),
]


def _table(con, name="events"):
    con.execute(schema.create_table_sql(name, schema.ALL_EVENT_COLUMNS))
    con.execute(f"ALTER TABLE {name} ADD COLUMN segment VARCHAR")
    for i, ((activity, channel, owner, source, persona, attrs, segment), _) in enumerate(CASES):
        con.execute(
            f"INSERT INTO {name} (account_id, ts, activity, channel, owner, source, persona, "
            f"attributes, event_key, segment) VALUES ('a', TIMESTAMP '2024-01-01' + "
            f"INTERVAL (?) MINUTE, ?, ?, ?, ?, ?, ?, ?, ?)",
            [i, activity, channel, owner, source, persona,
             json.dumps(attrs) if attrs is not None else None, str(i), segment])


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "m.duckdb"))
    yield c
    c.close()


def _results(con, name="events"):
    return [tuple(r) for r in con.execute(
        f"SELECT touchpoint, stage, outcome FROM {name} ORDER BY CAST(event_key AS INT)"
    ).fetchall()]


def test_apply_matching_assigns_exactly_the_expected_touchpoints(con):
    _table(con)
    matched = apply_matching(con, MAP)
    expected = [want for _, want in CASES]
    assert _results(con) == expected
    assert matched == sum(1 for tp, _, out in expected if tp or out)


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_the_ibis_expression_gives_the_same_assignments_on_every_engine(con, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
    from journeyscope.analytics.engine import from_arrow

    _table(con)
    data = con.sql("SELECT * FROM events").to_arrow_table()
    source = from_arrow({"events": data}, engine=engine, prefix="match_test")
    try:
        matched = match_table(source.table("events"), MAP).order_by("ts")
        got = [(r["touchpoint"], r["stage"], r["outcome"]) for r in
               matched.select("touchpoint", "stage", "outcome").to_pyarrow().to_pylist()]
    finally:
        source.close()
    assert got == [want for _, want in CASES]


def test_rematching_with_another_map_clears_old_assignments(con):
    _table(con)
    apply_matching(con, MAP)
    small = JourneyMap(name="small", stages=[{"id": "aware", "name": "A"}], touchpoints=[
        {"id": "calls", "stage": "aware", "name": "Calls", "match": {"activity": ["call"]}}])
    assert apply_matching(con, small) == 1  # the one "Call", case-insensitively
    assert con.execute("SELECT count(*) FROM events WHERE outcome IS NOT NULL OR touchpoint "
                       "NOT IN ('calls')").fetchone()[0] == 0


def test_where_limits_matching_to_new_rows(con):
    _table(con)
    apply_matching(con, MAP, where="CAST(event_key AS INT) >= 16")
    got = _results(con)
    assert all(r == (None, None, None) for r in got[:16])
    assert got[16:] == [want for _, want in CASES[16:]]


def test_a_map_without_rules_matches_nothing(con):
    _table(con)
    apply_matching(con, MAP)
    bare = JourneyMap(name="bare", stages=[{"id": "s", "name": "S"}])
    assert apply_matching(con, bare) == 0
    assert match_summary(con).matched == 0


def test_unmatched_activities_are_reported_with_counts_most_first(con):
    _table(con)
    con.execute("INSERT INTO events (account_id, ts, activity, source, event_key) "
                "SELECT 'b', TIMESTAMP '2024-02-01', 'page_view', 'web', '100' FROM range(3)")
    apply_matching(con, MAP)
    report = unmatched_activities(con)
    assert report[0] == ("page_view", "web", 3)
    assert ("product demo", None, 1) in report
    assert sum(n for *_, n in report) == match_summary(con).events - match_summary(con).matched
    summary = match_summary(con)
    assert summary.to_outcome == 4 and 0 < summary.share < 1


def test_a_regex_re2_cannot_run_is_a_located_error(con):
    _table(con)
    bad = JourneyMap(name="bad", stages=[{"id": "s", "name": "S"}], touchpoints=[
        {"id": "t", "stage": "s", "name": "T", "match": {"regex": [r"(a)\1"]}}])
    with pytest.raises(MatchRuleError, match=r"touchpoints\[0\] \(t\)\.match\[0\]\.regex\[0\]"):
        apply_matching(con, bad)
