"""The importer: event keys, duplicates, accounts and contacts, matching, the import log."""

from __future__ import annotations

import datetime as dt

import pytest

from journeyscope.events.importer import import_sources
from journeyscope.events.workspace import Workspace
from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "Test journey",
    "stages": [{"id": "consideration", "name": "Consideration"},
               {"id": "decision", "name": "Decision"}],
    "touchpoints": [
        {"id": "webinar", "stage": "consideration", "name": "Webinar",
         "match": {"activity": ["webinar_attended"]}},
        {"id": "demo", "stage": "decision", "name": "Demo", "match": {"regex": ["^demo"]}},
    ],
    "outcomes": {"won": {"activity": ["deal_won"]}},
})


def count(ws: Workspace, table: str = "events") -> int:
    return ws.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_import_summarises_what_it_added(ws, events_csv):
    summary = import_sources(ws, [events_csv])
    assert (summary.events, summary.duplicates, summary.accounts) == (3, 0, 2)
    assert summary.first_ts == dt.datetime(2024, 3, 1, 9, 0)
    assert summary.last_ts == dt.datetime(2024, 3, 3, 11, 0)
    assert summary.matched is None and summary.matched_share is None
    assert count(ws) == 3


def test_reimport_adds_nothing(ws, events_csv):
    import_sources(ws, [events_csv])
    before = ws.con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
    again = import_sources(ws, [events_csv])
    assert (again.events, again.duplicates, again.accounts) == (0, 3, 0)
    assert ws.con.execute("SELECT * FROM events ORDER BY event_key").fetchall() == before


def test_overlapping_exports_add_each_event_once(ws, write):
    header = "account_id,ts,activity\n"
    a = write("jan.csv", header + "acme,2024-01-10,call\nacme,2024-01-20,email\n")
    b = write("jan_feb.csv", header + "acme,2024-01-20,email\nacme,2024-02-05,demo\n")
    summary = import_sources(ws, [a, b])
    assert (summary.events, summary.duplicates) == (3, 1)
    assert [s.added for s in summary.sources] == [2, 1]


def test_the_same_file_twice_in_one_import_adds_it_once(ws, events_csv):
    summary = import_sources(ws, [events_csv, events_csv])
    assert (summary.events, summary.duplicates) == (3, 3)


def test_identical_rows_within_a_source_are_separate_events(ws, write):
    path = write("log.csv", "account_id,ts,activity\na,2024-01-01 10:00,retry\n"
                            "a,2024-01-01 10:00,retry\na,2024-01-01 10:00,retry\n")
    assert import_sources(ws, [path]).events == 3
    assert import_sources(ws, [path]).events == 0
    keys = ws.con.execute("SELECT count(DISTINCT event_key) FROM events").fetchone()[0]
    assert keys == 3


def test_event_key_ignores_file_name_and_column_order(ws, write):
    import_sources(ws, [write("a.csv", "account_id,ts,activity,x,y\nq,2024-01-01,call,1,2\n")])
    again = import_sources(ws, [write("b.csv", "y,activity,x,ts,account_id\n"
                                               "2,call,1,2024-01-01T00:00:00Z,q\n")])
    assert (again.events, again.duplicates) == (0, 1)


def test_matching_sets_touchpoints_and_is_remembered(ws, events_csv, write):
    summary = import_sources(ws, [events_csv], journey_map=MAP, map_origin="map.yaml")
    assert summary.matched == 3 and summary.matched_share == 1.0
    got = ws.con.execute("SELECT activity, touchpoint, stage, outcome FROM events "
                         "ORDER BY ts").fetchall()
    assert got == [("webinar_attended", "webinar", "consideration", None),
                   ("demo_held", "demo", "decision", None),
                   ("deal_won", None, None, "won")]
    # a later import without --map matches with the map the workspace remembers
    later = import_sources(ws, [write("more.csv", "account_id,ts,activity\n"
                                                  "initech,2024-04-01,demo_requested\n"
                                                  "initech,2024-04-02,newsletter\n")])
    assert later.matched == 1 and later.matched_share == 0.5
    assert ws.journey_map().name == "Test journey"
    assert ws.info().map_name == "Test journey"


def test_accounts_and_contacts_files_fill_their_tables(ws, write, events_csv):
    accounts = write("accounts.csv", "account_id,name,segment\nacme,Acme,enterprise\n"
                                     "hooli,Hooli,smb\n")
    contacts = write("contacts.csv", "contact_id,account_id,email,title\n"
                                     "c1,acme,ann@acme.com,Chief Information Officer\n")
    summary = import_sources(ws, [events_csv, accounts, contacts])
    assert summary.accounts == 3  # acme and globex from events, hooli from the accounts file
    assert summary.contacts == 1
    assert count(ws, "accounts") == 2 and count(ws, "contacts") == 1
    # a later file fills what an account lacked, without duplicating it
    more = write("accounts2.csv", "account_id,name,segment,industry\nacme,,,software\n")
    assert import_sources(ws, [more]).accounts == 0
    assert ws.con.execute("SELECT name, segment, industry FROM accounts WHERE account_id = "
                          "'acme'").fetchone() == ("Acme", "enterprise", "software")


def test_import_log_records_each_source(ws, events_csv):
    import_sources(ws, [events_csv])
    import_sources(ws, [events_csv])
    log = ws.con.execute("SELECT id, source, format, rows, added, duplicates, skipped, "
                         "length(checksum) FROM imports ORDER BY id").fetchall()
    assert log == [(1, str(events_csv), "csv", 3, 3, 0, 0, 64),
                   (2, str(events_csv), "csv", 3, 0, 3, 0, 64)]


def test_progress_reports_steps(ws, events_csv):
    steps = []
    import_sources(ws, [events_csv], progress=lambda step, done, total: steps.append(step))
    assert steps[0].startswith("reading") and steps[-1] == "done"
    assert "saving" in steps


def test_folder_of_sources_is_expanded(ws, tmp_path, write):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.csv").write_text("account_id,ts,activity\na,2024-01-01,x\n")
    (folder / "b.jsonl").write_text('{"account_id": "b", "ts": "2024-01-02", "activity": "y"}\n')
    (folder / "notes.md").write_text("not data")
    assert import_sources(ws, [folder]).events == 2


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_other_formats_import_too(ws, tmp_path, fmt):
    import duckdb

    path = tmp_path / f"e.{fmt}"
    kind = "parquet" if fmt == "parquet" else "json"
    duckdb.sql(f"COPY (SELECT 'a' || i AS account_id, TIMESTAMP '2024-01-01' + "
               f"INTERVAL (i) HOUR AS ts, 'x' AS activity FROM range(50) t(i)) TO '{path}' "
               f"(FORMAT {kind})")
    assert import_sources(ws, [path]).events == 50


def test_a_guessed_encoding_is_noted_in_the_summary(ws, write):
    text = ("account_id,ts,activity,comment\na,2024-01-01,demo,très bien café\n"
            "b,2024-01-02,trial,déçu\n")
    summary = import_sources(ws, [write("fr.csv", text.encode("latin-1"))])
    assert "fr.csv: read as Windows-1252 (guessed); give --encoding if wrong" in summary.notes
    assert ws.con.execute("SELECT attributes->>'comment' FROM events ORDER BY ts").fetchall() \
        == [("très bien café",), ("déçu",)]
    utf8 = import_sources(ws, [write("u.csv", text.replace("demo", "call").encode())])
    assert not [n for n in utf8.notes if "guessed" in n]
