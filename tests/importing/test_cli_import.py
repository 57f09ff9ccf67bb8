"""`journeyscope import`, `journeyscope workspace info` and `journeyscope export`: exit codes and
output."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from journeyscope.cli import app

runner = CliRunner()

MAP_YAML = """journeyscope: 1
name: CLI journey
stages: [{id: consideration, name: Consideration}, {id: decision, name: Decision}]
touchpoints:
  - {id: webinar, stage: consideration, name: Webinar, match: {activity: [webinar_attended]}}
  - {id: demo, stage: decision, name: Demo, match: {activity: [demo_held]}}
outcomes: {won: {activity: [deal_won]}}
"""


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_import_prints_a_summary(tmp_path, events_csv):
    workspace = tmp_path / "w.duckdb"
    result = invoke("import", events_csv, "--workspace", workspace)
    assert result.exit_code == 0, result.output
    for text in ("events added", "3", "new accounts", "2024-03-01 09:00 to 2024-03-03 11:00 UTC",
                 "no map", f"{events_csv} (csv): 3 read, 3 added, 0 duplicates, 0 skipped"):
        assert text in result.output
    again = invoke("import", events_csv, "-w", workspace, "--quiet")
    assert again.exit_code == 0
    assert "3 read, 0 added, 3 duplicates" in again.output


def test_import_with_a_map_reports_the_matched_share(tmp_path, events_csv):
    map_file = tmp_path / "map.yaml"
    map_file.write_text(MAP_YAML)
    result = invoke("import", events_csv, "-w", tmp_path / "w.duckdb", "--map", map_file)
    assert result.exit_code == 0, result.output
    assert "100.0% (3)" in result.output


def test_import_and_match_stop_on_a_broken_map_as_validate_does(tmp_path, events_csv):
    map_file = tmp_path / "map.yaml"
    map_file.write_text(MAP_YAML.replace("stage: decision", "stage: nowhere"))
    workspace = tmp_path / "w.duckdb"
    result = invoke("import", events_csv, "-w", workspace, "--map", map_file)
    assert result.exit_code == 2, result.output
    assert f"{map_file}:6:" in result.output and "unknown stage 'nowhere'" in result.output
    assert not workspace.exists()
    assert invoke("import", events_csv, "-w", workspace).exit_code == 0
    matched = invoke("match", map_file, "-w", workspace)
    assert matched.exit_code == 2 and "unknown stage 'nowhere'" in matched.output


def test_import_mapping_flags_and_file(tmp_path, write):
    leads = write("leads.csv", "lead,day,origin\nl1,2018-02-01,social\nl2,2018-02-02,email\n")
    mapping = write("m.yaml", "columns: {account_id: lead, ts: day}\n"
                              "constants: {activity: first_contact}\n")
    result = invoke("import", leads, "-w", tmp_path / "w.duckdb", "--mapping", mapping,
                    "--map-column", "channel=origin", "--constant", "source=crm")
    assert result.exit_code == 0, result.output
    info = invoke("workspace", "info", tmp_path / "w.duckdb")
    assert "crm: 2 events" in info.output


def test_import_errors_exit_non_zero_without_traceback(tmp_path, events_csv):
    cases = [
        (["--mapping", tmp_path / "none.yaml"], 2, "no such mapping file"),
        (["--map-column", "acount_id=x"], 2, "did you mean 'account_id'"),
        (["--map-column", "owner=nope"], 4, "column nope"),
    ]
    for extra, code, message in cases:
        result = invoke("import", events_csv, "-w", tmp_path / "w.duckdb", *extra)
        assert result.exit_code == code, (extra, result.output)
        assert message in result.output and "Traceback" not in result.output
    missing = invoke("import", tmp_path / "missing.csv", "-w", tmp_path / "new.duckdb")
    assert missing.exit_code == 4 and "no such file" in missing.output
    assert not (tmp_path / "new.duckdb").exists()  # a failed first import leaves no workspace


def test_workspace_info(tmp_path, events_csv):
    workspace = tmp_path / "w.duckdb"
    invoke("import", events_csv, "-w", workspace)
    result = invoke("workspace", "info", workspace)
    assert result.exit_code == 0, result.output
    for text in ("events:   3", "accounts: 2", "contacts: 0", "imports: 1", "events.csv: 3 events",
                 "map: none"):
        assert text in result.output
    missing = invoke("workspace", "info", tmp_path / "nope.duckdb")
    assert missing.exit_code == 5 and "no such workspace" in missing.output


def test_export_writes_each_format(tmp_path, events_csv):
    workspace = tmp_path / "w.duckdb"
    invoke("import", events_csv, "-w", workspace)
    for name in ("e.csv", "e.parquet", "e.xes.gz"):
        result = invoke("export", "-w", workspace, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert f"wrote 3 events to {tmp_path / name}" in result.output
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 3
    bad = invoke("export", "-w", workspace, "-o", tmp_path / "e.xlsx")
    assert bad.exit_code == 2 and "cannot tell the format" in bad.output


def test_import_reading_options(tmp_path, write):
    path = write("de.csv", "kunde;zeit;aktion\nacme;31.01.2024 14:05;Anruf\n".encode("cp1252"))
    workspace = tmp_path / "w.duckdb"
    result = invoke("import", path, "-w", workspace, "--delimiter", ";", "--encoding", "cp1252",
                    "--timezone", "Europe/Berlin", "--timestamp-format", "%d.%m.%Y %H:%M",
                    "--map-column", "account_id=kunde", "--map-column", "ts=zeit",
                    "--map-column", "activity=aktion")
    assert result.exit_code == 0, result.output
    assert "2024-01-31 13:05 to 2024-01-31 13:05 UTC" in result.output  # CET is UTC+1


def test_import_says_how_many_free_mail_events_were_left_out(tmp_path, write):
    contacts = write("contacts.csv", "contact_id,account_id,email\nc1,acme,ann@acme.com\n"
                                     "c2,,bob@gmail.com\n")
    events = write("events.csv", "contact_id,ts,activity\nc1,2024-01-01,call\n"
                                 "c2,2024-01-02,call\nc2,2024-01-03,mail\n")
    result = invoke("import", contacts, events, "-w", tmp_path / "w.duckdb")
    assert result.exit_code == 0, result.output
    assert ("2 events of 1 contact at free-mail domains have no account and were not "
            "imported; give them an account id to keep them") in " ".join(result.output.split())
    assert f"{events} (csv): 3 read, 1 added" in result.output


def test_summary_of_an_accounts_and_a_contacts_file_counts_what_they_added(tmp_path, write):
    accounts = write("accounts.csv", "account_id,name,segment\na1,Acme,smb\na2,Beta,smb\n")
    contacts = write("contacts.csv", "contact_id,account_id,email,title\n"
                                     "c1,a1,x@acme.com,CIO\nc2,a2,y@beta.com,CFO\n")
    result = invoke("import", accounts, contacts, "-w", tmp_path / "w.duckdb")
    assert result.exit_code == 0, result.output
    assert f"{accounts} (csv): 2 read, 2 accounts added, 0 not new, 0 skipped" in result.output
    assert f"{contacts} (csv): 2 read, 2 contacts added, 0 not new, 0 skipped" in result.output
    more = write("more.csv", "account_id,name,segment\na2,Beta,smb\na3,Gamma,mid\n")
    again = invoke("import", more, "-w", tmp_path / "w.duckdb")
    assert f"{more} (csv): 2 read, 1 account added, 1 not new, 0 skipped" in again.output


def test_import_with_a_bad_memory_limit_names_the_setting_and_creates_nothing(
        tmp_path, events_csv, monkeypatch):
    monkeypatch.setenv("JOURNEYSCOPE_MEMORY_LIMIT", "bogus")
    workspace = tmp_path / "memtest.duckdb"
    result = invoke("import", events_csv, "-w", workspace)
    assert result.exit_code == 2
    assert result.output.startswith("error: JOURNEYSCOPE_MEMORY_LIMIT: 'bogus'")
    assert "memtest.duckdb" not in result.output and not workspace.exists()


def test_workspace_sort_stores_the_events_in_journey_order(tmp_path):
    """Events imported out of order (accounts interleaved, times back and forth) are stored
    each account's together, in time order, then import order; the same events, keys and
    import order, so a re-import still adds nothing and the analyses read them unsorted."""
    import duckdb

    from journeyscope.analytics import journey
    from journeyscope.analytics.engine import materialize, open_workspace
    from journeyscope.model.files import load_map

    rows = ["account_id,ts,activity"]
    for i in range(60):
        # b, a, c, b, a, ... with times running backwards for some: never in journey order.
        rows.append(f"acct-{'bac'[i % 3]},2024-03-{1 + (i * 7) % 28:02d} {i % 24:02d}:00,"
                    f"{['webinar_attended', 'demo_held'][i % 2]}")
    rows.append("acct-a,2024-03-08 01:00,demo_held")  # at the time of row 2: import order
    source = tmp_path / "log.csv"
    source.write_text("\n".join(rows) + "\n")
    map_file = tmp_path / "map.yaml"
    map_file.write_text(MAP_YAML)
    workspace = tmp_path / "w.duckdb"
    assert invoke("import", source, "-w", workspace, "--map", map_file).exit_code == 0
    before = _events(workspace)

    def fast() -> bool:
        src = open_workspace(workspace)
        try:
            events = src.table("events")
            m = load_map(map_file)
            codes = journey.dictionaries(events, m)
            facts = materialize(journey.account_facts(events))
            return journey.ordered_journey(events, facts, codes) is not None
        finally:
            src.close()

    assert not fast()
    result = invoke("workspace", "sort", workspace)
    assert result.exit_code == 0, result.output
    assert "61 events stored in journey order" in result.output
    after = _events(workspace)
    assert sorted(after) == sorted(before)
    assert after == sorted(after, key=lambda r: (r[0], r[1], r[3]))
    assert fast()
    again = invoke("import", source, "-w", workspace, "--quiet")
    assert "61 read, 0 added, 61 duplicates" in again.output
    con = duckdb.connect(str(workspace), read_only=True)
    assert [r[0] for r in con.execute("SHOW TABLES").fetchall()].count("events") == 1
    con.close()
    missing = invoke("workspace", "sort", tmp_path / "nope.duckdb")
    assert missing.exit_code == 5 and "no such workspace" in missing.output


def _events(workspace: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(workspace), read_only=True)
    try:
        return con.execute("SELECT account_id, ts, activity, seq, event_key, touchpoint "
                           "FROM events").fetchall()
    finally:
        con.close()
