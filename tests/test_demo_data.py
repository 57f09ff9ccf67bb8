"""The demo data generator: reproducible files in the canonical columns, a believable B2B
journey, and planted effects that plain SQL on the written files finds again."""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from journeyscope.cli import app
from journeyscope.events.demo import (
    REFERENCE_DATE,
    DemoError,
    generate,
    generate_tables,
    unmatched_activities,
)
from journeyscope.events.schema import EVENT_COLUMNS
from journeyscope.model.files import save_map
from journeyscope.model.templates import load_template, template_path

ACCOUNTS = 3000
SEED = 11
END = dt.datetime.combine(REFERENCE_DATE + dt.timedelta(days=1), dt.time())


@pytest.fixture(scope="module")
def b2b():
    return load_template("b2b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 3,000-account data set on disk, and a DuckDB database file with views on it."""
    folder = tmp_path_factory.mktemp("demo")
    summary = generate(ACCOUNTS, SEED, folder)
    con = duckdb.connect(str(folder / "check.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet('{folder}/events.parquet')")
    con.execute(f"CREATE VIEW a AS SELECT * FROM read_csv('{folder}/accounts.csv')")
    con.execute(f"CREATE VIEW c AS SELECT * FROM read_csv('{folder}/contacts.csv')")
    yield folder, summary, con
    con.close()


def _truth(folder):
    return json.loads((folder / "TRUTH.json").read_text(encoding="utf-8"))


def _one(con, sql):
    return con.execute(sql).fetchone()


def _persona_sql(b2b, persona_id: str) -> str:
    """The persona's title rules as a DuckDB condition on `title`."""
    rules = b2b.persona(persona_id).titles
    return "(" + " OR ".join(f"regexp_matches(title, '{r}')" for r in rules) + ")"


def _stage_activities(b2b, stage: str) -> str:
    names = [a for t in b2b.touchpoints_in(stage) for rule in t.match for a in rule.activity]
    return "(" + ", ".join(f"'{n}'" for n in names) + ")"


# --- files and reproducibility ---------------------------------------------------------------


def test_same_seed_gives_the_same_bytes(tmp_path):
    first = generate(400, 5, tmp_path / "one")
    generate(400, 5, tmp_path / "two")
    assert set(first.files) == {"events.parquet", "accounts.csv", "contacts.csv", "TRUTH.json"}
    for name in first.files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    other = generate(400, 6, tmp_path / "three")
    assert (tmp_path / "three" / "events.parquet").read_bytes() != (
        tmp_path / "one" / "events.parquet").read_bytes()
    assert other.events != first.events or other.truth != first.truth


def test_in_memory_tables_equal_the_written_files(tmp_path):
    tables = generate_tables(300, 9)
    generate(300, 9, tmp_path)
    assert pq.read_table(tmp_path / "events.parquet").equals(tables.events)
    assert tables.truth == _truth(tmp_path)
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    assert _one(con, f"SELECT count(*) FROM read_csv('{tmp_path}/contacts.csv')")[0] == (
        tables.contacts.num_rows)


def test_events_have_exactly_the_canonical_columns_and_types(demo):
    folder, summary, con = demo
    schema = pq.read_schema(folder / "events.parquet")
    assert schema.names == [c.name for c in EVENT_COLUMNS]
    for column in EVENT_COLUMNS:
        assert schema.field(column.name).type == column.arrow_type, column.name
    assert pq.ParquetFile(folder / "events.parquet").metadata.num_rows == summary.events
    accounts_header = (folder / "accounts.csv").read_text(encoding="utf-8").splitlines()[0]
    contacts_header = (folder / "contacts.csv").read_text(encoding="utf-8").splitlines()[0]
    assert accounts_header == '"account_id","name","segment","industry","size","region","value"'
    assert contacts_header == '"contact_id","account_id","email","title"'
    assert _one(con, "SELECT count(*) FROM e WHERE persona IS NOT NULL")[0] == 0


def test_csv_format_writes_events_with_utc_timestamps(tmp_path):
    summary = generate(200, 3, tmp_path, fmt="csv")
    assert "events.csv" in summary.files and not (tmp_path / "events.parquet").exists()
    lines = (tmp_path / "events.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[:3] == ['"account_id"', '"contact_id"', '"ts"']
    assert re.search(r",\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ,", lines[1])
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    assert _one(con, f"SELECT count(*) FROM read_csv('{tmp_path}/events.csv')")[0] == (
        summary.events)


def test_no_partial_files_are_left_behind(demo):
    folder, _, _ = demo
    assert not list(folder.glob(".*partial"))


def test_a_new_run_replaces_the_files_of_an_earlier_one(tmp_path):
    generate(60, 1, tmp_path)
    summary = generate(40, 2, tmp_path, fmt="csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "TRUTH.json", "accounts.csv", "contacts.csv", "events.csv"]
    assert _truth(tmp_path)["accounts"] == 40 == summary.accounts


# --- the journey -------------------------------------------------------------------------------


def test_counts_match_the_summary_and_truth(demo):
    folder, summary, con = demo
    truth = _truth(folder)
    assert summary.accounts == ACCOUNTS == _one(con, "SELECT count(*) FROM a")[0]
    assert _one(con, "SELECT count(DISTINCT account_id) FROM e")[0] == ACCOUNTS
    assert summary.contacts == truth["contacts"] == _one(con, "SELECT count(*) FROM c")[0]
    assert summary.events == truth["events"] == _one(con, "SELECT count(*) FROM e")[0]
    assert 40 * ACCOUNTS < summary.events < 60 * ACCOUNTS  # about 10M for 200,000 accounts
    by_activity = dict(con.execute("SELECT activity, count(*) FROM e GROUP BY 1").fetchall())
    assert by_activity == {k: v for k, v in truth["activities"].items() if v}


def test_accounts_have_segment_industry_size_region_and_value(demo):
    _, _, con = demo
    segments = dict(con.execute("SELECT segment, count(*) FROM a GROUP BY 1").fetchall())
    assert set(segments) == {"enterprise", "mid-market", "smb"}
    assert _one(con, "SELECT count(DISTINCT industry), count(DISTINCT region), "
                     "count(DISTINCT size) FROM a") >= (8, 4, 6)
    assert _one(con, "SELECT count(DISTINCT name), min(value) > 0 FROM a") == (ACCOUNTS, True)
    medians = dict(con.execute("SELECT segment, median(value) FROM a GROUP BY 1").fetchall())
    assert medians["enterprise"] > medians["mid-market"] > medians["smb"]


def test_buying_committees_have_three_to_eight_contacts_with_unique_emails(demo):
    _, _, con = demo
    low, high = _one(con, "SELECT min(n), max(n) FROM (SELECT account_id, count(*) n FROM c "
                          "GROUP BY 1)")
    assert (low, high) == (3, 8)
    assert _one(con, "SELECT count(DISTINCT email) = count(*) FROM c")[0]
    free = _one(con, "SELECT avg((email LIKE '%@gmail.com' OR email LIKE '%@outlook.com' OR "
                     "email LIKE '%@yahoo.com' OR email LIKE '%@hotmail.com')::int) FROM c")[0]
    assert 0.01 < free < 0.06


def test_titles_match_one_persona_rule_except_a_few(demo, b2b):
    _, _, con = demo
    titles = [t for (t,) in con.execute("SELECT DISTINCT title FROM c").fetchall()]
    unmatched = []
    for title in titles:
        hits = [p.id for p in b2b.personas if any(re.search(rx, title) for rx in p.titles)]
        assert len(hits) <= 1, (title, hits)
        if not hits:
            unmatched.append(title)
    assert 3 <= len(unmatched) <= 10
    # the same rules in the engine (RE2) as in Python
    counts = {p.id: _one(con, f"SELECT count(*) FROM c WHERE {_persona_sql(b2b, p.id)}")[0]
              for p in b2b.personas}
    assert all(counts.values())
    total = _one(con, "SELECT count(*) FROM c")[0]
    assert 0.02 < 1 - sum(counts.values()) / total < 0.08


def test_every_activity_is_named_by_a_b2b_match_rule(demo, b2b):
    _, _, con = demo
    named = {a for t in b2b.touchpoints for rule in t.match for a in rule.activity}
    named |= {a for _, rules in b2b.outcomes.items() for rule in rules for a in rule.activity}
    activities = {a for (a,) in con.execute("SELECT DISTINCT activity FROM e").fetchall()}
    assert len(activities) >= 30
    assert activities <= named
    assert unmatched_activities(b2b) == []


def test_touchpoints_span_all_stages_and_many_channels(demo, b2b):
    _, _, con = demo
    for stage in b2b.stage_ids():
        n = _one(con, f"SELECT count(*) FROM e WHERE activity IN {_stage_activities(b2b, stage)}")
        assert n[0] > 0, stage
    assert _one(con, "SELECT count(DISTINCT channel) FROM e")[0] >= 10
    owners = {o for (o,) in con.execute("SELECT DISTINCT owner FROM e").fetchall()}
    assert owners == set(b2b.owners())


def test_events_cover_two_years_in_office_hours_up_to_the_reference_date(demo):
    _, _, con = demo
    first, last = _one(con, "SELECT min(ts), max(ts) FROM e")
    assert END - dt.timedelta(days=760) < first < END - dt.timedelta(days=700)
    assert END - dt.timedelta(days=2) < last < END
    assert _one(con, "SELECT count(*) FROM e WHERE dayofweek(ts) IN (0, 6) OR hour(ts) < 8 "
                     "OR hour(ts) >= 18")[0] == 0
    assert _one(con, "SELECT count(*) - count(DISTINCT (account_id, ts)) FROM e")[0] == 0


def test_outcomes_all_happen_and_carry_values(demo):
    _, _, con = demo
    rows = dict(con.execute(
        "SELECT activity, count(*) FROM e WHERE activity IN ('deal_won', 'deal_lost', "
        "'contract_cancelled', 'contract_renewed', 'expansion_signed') GROUP BY 1").fetchall())
    assert len(rows) == 5 and min(rows.values()) >= 20
    valued = {a for (a,) in con.execute("SELECT DISTINCT activity FROM e WHERE value IS NOT "
                                        "NULL").fetchall()}
    assert valued == {"deal_won", "contract_renewed", "expansion_signed"}
    assert _one(con, "SELECT min(value) > 0 FROM e WHERE value IS NOT NULL")[0]
    # a won deal is worth the account's annual value
    assert _one(con, "SELECT count(*) FROM e JOIN a USING (account_id) WHERE "
                     "e.activity = 'deal_won' AND e.value <> a.value")[0] == 0


def test_accounts_go_back_and_forth_between_stages(demo):
    _, _, con = demo
    back_to_consideration = _one(con, """
        SELECT count(DISTINCT account_id) FROM e d JOIN e p USING (account_id)
        WHERE d.activity = 'demo_meeting' AND p.activity = 'proposal_sent' AND d.ts > p.ts""")[0]
    back_to_decision = _one(con, """
        SELECT count(DISTINCT account_id) FROM e n JOIN e k USING (account_id)
        WHERE n.activity = 'pricing_negotiation' AND k.activity = 'kickoff_meeting'
          AND n.ts > k.ts""")[0]
    assert back_to_consideration > 50 and back_to_decision > 50


@pytest.mark.parametrize("before, after, standard_days", [
    ("lead_qualified", "discovery_call", 3), ("deal_won", "kickoff_meeting", 7),
    ("go_live", "csm_check_in", 5),
])
def test_handovers_between_teams_take_time_and_are_sometimes_late(demo, before, after,
                                                                  standard_days):
    _, _, con = demo
    n, late, negative = _one(con, f"""
        WITH p AS (SELECT account_id, min(ts) FILTER (activity = '{before}') t1,
                          min(ts) FILTER (activity = '{after}') t2 FROM e GROUP BY 1)
        SELECT count(*), avg((t2 - t1 > INTERVAL {standard_days} DAY)::int),
               count(*) FILTER (t2 <= t1)
        FROM p WHERE t1 IS NOT NULL AND t2 IS NOT NULL""")
    assert n > 100 and negative == 0
    assert 0.1 < late < 0.5


def test_survey_scores_are_in_range_and_comment_tone_follows_the_score(demo):
    _, _, con = demo
    assert _one(con, "SELECT min(score), max(score) FROM e WHERE activity LIKE '%csat'") == (1, 5)
    assert _one(con, "SELECT min(score), max(score) FROM e WHERE activity = 'nps_survey'") == (
        0, 10)
    # each comment is used within one tone band only
    assert _one(con, """
        SELECT count(*) FROM (
          SELECT text, count(DISTINCT CASE WHEN activity = 'nps_survey'
                 THEN (score >= 7)::int + (score >= 9)::int
                 ELSE (score >= 3)::int + (score >= 4)::int END) bands
          FROM e WHERE score IS NOT NULL AND text IS NOT NULL GROUP BY 1)
        WHERE bands > 1""")[0] == 0
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    rows = con.execute("SELECT DISTINCT score, text FROM e WHERE activity LIKE '%csat' AND "
                       "text IS NOT NULL").fetchall()
    low = [vader.polarity_scores(t)["compound"] for s, t in rows if s <= 2]
    high = [vader.polarity_scores(t)["compound"] for s, t in rows if s >= 4]
    assert sum(low) / len(low) < 0 < sum(high) / len(high)


# --- planted effects, found again with plain SQL -----------------------------------------------


def test_late_sales_development_handover_halves_conversion(demo):
    folder, _, con = demo
    rows = dict((late, (n, conv)) for late, n, conv in con.execute(f"""
        WITH p AS (SELECT account_id, min(ts) FILTER (activity = 'lead_qualified') lq,
                          min(ts) FILTER (activity = 'discovery_call') dc,
                          bool_or(activity = 'proposal_sent') proposal FROM e GROUP BY 1)
        SELECT dc - lq > INTERVAL 3 DAY, count(*), avg(proposal::int) FROM p
        WHERE lq < TIMESTAMP '{END}' - INTERVAL 200 DAY GROUP BY 1""").fetchall())
    ratio = rows[True][1] / rows[False][1]
    assert 0.4 < ratio < 0.6
    observed = _truth(folder)["effects"]["handover_delay"]["observed"]
    assert observed["late_accounts"] == rows[True][0]
    assert observed["on_time_conversion"] == pytest.approx(rows[False][1], abs=1e-4)


def _win_rates(con, flag_sql: str, join: str = "") -> dict[bool, tuple[int, float]]:
    return {flag: (n, rate) for flag, n, rate in con.execute(f"""
        WITH p AS (SELECT e.account_id, min(ts) FILTER (activity = 'proposal_sent') proposal,
                          {flag_sql} flag, bool_or(activity = 'deal_won') won
                   FROM e {join} GROUP BY 1)
        SELECT flag, count(*), avg(won::int) FROM p
        WHERE proposal < TIMESTAMP '{END}' - INTERVAL 120 DAY GROUP BY 1""").fetchall()}


def test_reference_check_doubles_the_win_rate(demo):
    folder, _, con = demo
    rates = _win_rates(con, "bool_or(activity = 'reference_call')")
    ratio = rates[True][1] / rates[False][1]
    assert 1.6 < ratio < 2.6
    observed = _truth(folder)["effects"]["touchpoint_win_rate"]["observed"]
    assert (observed["with_accounts"], observed["without_accounts"]) == (rates[True][0],
                                                                          rates[False][0])


def test_end_user_absent_from_decision_lowers_the_win_rate(demo, b2b):
    folder, _, con = demo
    decision = _stage_activities(b2b, "decision")
    rates = _win_rates(
        con, f"coalesce(bool_or(activity IN {decision} AND {_persona_sql(b2b, 'end-user')}), "
             "false)", join="LEFT JOIN c USING (contact_id)")
    ratio = rates[False][1] / rates[True][1]
    assert 0.35 < ratio < 0.65
    observed = _truth(folder)["effects"]["persona_absence"]["observed"]
    assert observed["absent_accounts"] == rates[False][0]
    assert observed["present_win_rate"] == pytest.approx(rates[True][1], abs=1e-4)


def test_data_migration_is_the_pain_point_with_most_revenue_at_risk(demo, b2b):
    folder, _, con = demo
    csat = dict(con.execute("SELECT activity, avg(score) FROM e WHERE activity LIKE '%csat' "
                            "GROUP BY 1").fetchall())
    assert csat["migration_csat"] < 2.5 and csat["migration_csat"] == min(csat.values())
    assert csat["training_csat"] > 3.8
    # value of the accounts giving negative feedback, per survey: migration first, by far
    at_risk = con.execute("""
        WITH negative AS (SELECT DISTINCT activity, account_id FROM e
                          WHERE (activity LIKE '%csat' AND score <= 2)
                             OR (activity = 'nps_survey' AND score <= 6))
        SELECT activity, sum(a.value) FROM negative JOIN a USING (account_id)
        GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    assert at_risk[0][0] == "migration_csat" and at_risk[0][1] > 1.5 * at_risk[1][1]
    # and its comments read the most negative of all
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    tone: dict[str, list[float]] = {}
    for activity, text, n in con.execute("SELECT activity, text, count(*) FROM e WHERE text IS "
                                         "NOT NULL GROUP BY 1, 2").fetchall():
        tone.setdefault(activity, []).extend([vader.polarity_scores(text)["compound"]] * n)
    mean_tone = {a: sum(v) / len(v) for a, v in tone.items()}
    assert min(mean_tone, key=mean_tone.get) == "migration_csat"
    assert mean_tone["migration_csat"] < -0.3
    late, days = _one(con, """
        WITH p AS (SELECT account_id, min(ts) FILTER (activity = 'migration_started') s,
                          max(ts) FILTER (activity = 'migration_completed') d FROM e GROUP BY 1)
        SELECT avg((d - s > INTERVAL 14 DAY)::int), median(date_diff('day', s, d))
        FROM p WHERE d IS NOT NULL""")
    assert late > 0.8 and days > 21
    regressed = _one(con, """
        WITH p AS (SELECT account_id, min(ts) FILTER (activity = 'migration_started') s,
                          max(ts) FILTER (activity = 'migration_completed') d FROM e GROUP BY 1),
        back AS (SELECT DISTINCT p.account_id FROM p JOIN e x USING (account_id)
                 WHERE x.activity = 'pricing_negotiation' AND x.ts BETWEEN p.s AND p.d)
        SELECT (SELECT count(*) FROM back) / count(*) FROM p WHERE d IS NOT NULL""")[0]
    assert 0.25 < regressed < 0.55
    churn = dict(con.execute("""
        WITH p AS (SELECT account_id, bool_or(activity = 'migration_started') migrated,
                          bool_or(activity = 'contract_cancelled') churned,
                          bool_or(activity IN ('contract_cancelled', 'contract_renewed')) decided
                   FROM e GROUP BY 1)
        SELECT migrated, avg(churned::int) FROM p WHERE decided GROUP BY 1""").fetchall())
    assert churn[True] > 2 * churn[False]
    mean_migrated, mean_other = _one(con, """
        WITH won AS (SELECT account_id, bool_or(activity = 'migration_started') migrated
                     FROM e GROUP BY 1 HAVING bool_or(activity = 'deal_won'))
        SELECT avg(a.value) FILTER (migrated), avg(a.value) FILTER (NOT migrated)
        FROM won JOIN a USING (account_id)""")
    assert mean_migrated > 2 * mean_other
    truth = _truth(folder)["effects"]["pain_point"]["observed"]
    assert truth["mean_csat"] == pytest.approx(csat["migration_csat"], abs=1e-3)


def test_stalled_accounts_sit_in_their_stage_longer_than_its_standard(demo, b2b):
    folder, _, con = demo
    stage_of = " ".join(f"WHEN activity IN {_stage_activities(b2b, s.id)} THEN '{s.id}'"
                        for s in b2b.stages)
    names = ("awareness", "consideration", "decision", "implementation")
    days = {s: int(b2b.stage(s).time_standard.strip("PD")) for s in names}
    over = " OR ".join(f"(stage = '{s}' AND since < TIMESTAMP '{END}' - INTERVAL {d} DAY)"
                       for s, d in days.items())
    rows = dict(con.execute(f"""
        WITH s AS (SELECT *, CASE {stage_of} END stage FROM e),
        last AS (SELECT account_id, arg_max(stage, ts) stage FROM s WHERE stage IS NOT NULL
                 GROUP BY 1),
        closed AS (SELECT DISTINCT account_id FROM e
                   WHERE activity IN ('deal_lost', 'contract_cancelled')),
        entered AS (SELECT s.account_id, last.stage, min(s.ts) since FROM s JOIN last
                    ON s.account_id = last.account_id AND s.stage = last.stage GROUP BY 1, 2)
        SELECT stage, count(*) FROM entered
        WHERE account_id NOT IN (SELECT account_id FROM closed) AND ({over})
        GROUP BY 1""").fetchall())
    truth = _truth(folder)["effects"]["stalled"]["observed"]
    assert truth["planted"]["total"] == pytest.approx(0.07 * ACCOUNTS, rel=0.15)
    for stage in names:
        expected = truth["over_standard_now"][stage]
        assert rows.get(stage, 0) == pytest.approx(expected, rel=0.2, abs=5), stage
    assert truth["over_standard_now"]["total"] == sum(
        truth["over_standard_now"][s] for s in names[1:])


# --- the map ---------------------------------------------------------------------------------


def test_the_maps_link_standard_sets_the_planted_handover_delay(tmp_path, b2b):
    m = b2b.model_copy(deep=True)
    link = m.touchpoint("sdr-qualification").next[0]
    link.time_standard = "P5D"
    path = save_map(m, tmp_path / "map.yaml")
    tables = generate_tables(2000, 4, journey_map=path)
    effect = tables.truth["effects"]["handover_delay"]
    assert effect["time_standard_days"] == 5
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.register("events", tables.events)
    late_share = _one(con, """
        WITH p AS (SELECT account_id, min(ts) FILTER (activity = 'lead_qualified') lq,
                          min(ts) FILTER (activity = 'discovery_call') dc FROM events GROUP BY 1)
        SELECT avg((dc - lq > INTERVAL 5 DAY)::int), count(*) FILTER (dc - lq BETWEEN
               INTERVAL 3 DAY AND INTERVAL 5 DAY) FROM p WHERE dc IS NOT NULL""")
    assert 0.25 < late_share[0] < 0.45 and late_share[1] > 0


def test_a_map_without_the_b2b_touchpoints_is_refused(tmp_path):
    with pytest.raises(DemoError, match="sdr-qualification"):
        generate(10, 1, tmp_path, journey_map=template_path("five-stage"))
    assert not (tmp_path / "events.parquet").exists()


def test_activities_a_map_does_not_match_are_reported(tmp_path, b2b):
    m = b2b.model_copy(deep=True)
    m.touchpoint("win-back").match[0].activity = ["winback_mail"]
    summary = generate(50, 1, tmp_path, journey_map=m)
    assert summary.unmatched_activities == ["winback_email"]
    assert any("winback_email" in line for line in summary.lines())


# --- the command -------------------------------------------------------------------------------


def test_cli_writes_the_data_set_and_says_what_it_wrote(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", "--accounts", "120", "--seed", "3", "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "120 accounts" in result.output and "events.parquet" in result.output
    assert "planted effects: handover_delay" in result.output
    truth = json.loads((tmp_path / "out" / "TRUTH.json").read_text(encoding="utf-8"))
    assert truth["accounts"] == 120 and truth["seed"] == 3


def test_cli_csv_format_and_map_option(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", "--accounts", "50", "--format", "csv",
                                      "--map", str(template_path("b2b")), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events.csv").is_file()


@pytest.mark.parametrize("args, message", [
    (["--format", "xlsx"], "unknown format 'xlsx'"),
    (["--map", "{tmp}/missing.yaml"], "no such file"),
    (["--accounts", "0"], "--accounts"),
])
def test_cli_bad_input_gives_a_clear_error_and_no_traceback(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(app, ["demo-data", "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_refuses_a_file_as_output_folder(tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo-data", "--accounts", "5", "-o", str(target)])
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert target.read_text(encoding="utf-8") == "x"


def test_cli_refuses_a_map_that_is_not_derived_from_b2b(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", "--accounts", "5", "-o", str(tmp_path),
                                      "--map", str(template_path("five-stage"))])
    assert result.exit_code == 2
    assert "follows the b2b template" in result.output
