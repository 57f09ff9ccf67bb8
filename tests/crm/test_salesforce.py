"""The Salesforce adapter on exports with API field names (tests/data/crm/salesforce)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import defaultdict

import pytest

from journeyscope.events.crm import CrmExportError, classify, detect, split_sources
from journeyscope.events.crm.salesforce import SalesforceAdapter

from .conftest import CRM, activity_counts, csv_rows

SALESFORCE = CRM / "salesforce"


@pytest.fixture
def staged(con):
    adapter = detect([SALESFORCE])
    assert isinstance(adapter, SalesforceAdapter)
    return adapter.read(con, [SALESFORCE])


def test_every_salesforce_object_is_recognised_also_in_data_loader_capitals():
    kinds = {p.stem: classify(p)[1] for p in SALESFORCE.iterdir()}
    assert kinds == {name: name for name in ("Account", "Contact", "Opportunity",
                                             "OpportunityHistory", "Task", "Event", "Case")}


def test_opportunity_history_gives_one_event_per_stage_change(con, staged):
    history = csv_rows(SALESFORCE / "OpportunityHistory.csv")
    by_opportunity = defaultdict(list)
    for row in sorted(history, key=lambda r: (r["CreatedDate"], r["Id"])):
        by_opportunity[row["OpportunityId"]].append(row["StageName"])
    changes: dict[str, int] = defaultdict(int)
    for stages in by_opportunity.values():
        for previous, stage in zip([None, *stages], stages, strict=False):
            if stage != previous:
                changes[f"deal_stage:{stage}"] += 1
    counts = activity_counts(con, staged.events)
    assert {k: v for k, v in counts.items() if k.startswith("deal_stage:")} == dict(changes)
    assert sum(changes.values()) < len(history)  # amount-only changes are no stage events


def test_salesforce_counts_equal_an_independent_count(con, staged):
    counts = activity_counts(con, staged.events)
    opportunities = csv_rows(SALESFORCE / "Opportunity.csv")
    tasks = csv_rows(SALESFORCE / "Task.csv")
    events = csv_rows(SALESFORCE / "Event.csv")
    cases = csv_rows(SALESFORCE / "Case.csv")
    assert counts["contact_created"] == len(csv_rows(SALESFORCE / "Contact.csv"))
    assert counts["deal_created"] == len(opportunities)
    assert counts["opportunity_won"] == sum(
        1 for o in opportunities if o["IsClosed"] == "true" and o["IsWon"] == "true")
    assert counts["opportunity_lost"] == sum(
        1 for o in opportunities if o["IsClosed"] == "true" and o["IsWon"] == "false")
    assert counts["call"] == sum(1 for t in tasks if t["TaskSubtype"] == "Call") + sum(
        1 for e in events if e["Type"] == "Call")
    assert counts["email"] == sum(1 for t in tasks if t["TaskSubtype"] in ("Email", "ListEmail"))
    assert counts["meeting"] == sum(1 for e in events if e["Type"] != "Call")
    assert counts["task"] == sum(1 for t in tasks if t["TaskSubtype"] in ("Task", "LinkedIn"))
    assert counts["ticket_created"] == len(cases)
    assert counts["ticket_closed"] == sum(1 for c in cases if c["ClosedDate"])
    accounts = con.execute(f"SELECT count(*) FROM {staged.accounts}").fetchone()[0]
    assert accounts == len(csv_rows(SALESFORCE / "Account.csv"))


def test_task_on_an_opportunity_without_account_id_takes_the_opportunitys_account(con, staged):
    account, contact, ts, attributes = con.execute(
        f"SELECT account_id, contact_id, ts, attributes FROM {staged.events} WHERE "
        f"json_extract_string(attributes, '$.activity_id') = '00THs00005Tsk04AAA'").fetchone()
    assert (account, contact) == ("001Hs00001GlobxAAV", "003Hs00002Cnt04AAA")
    # ActivityDate is a date; the task was logged that day, so CreatedDate gives the time.
    assert ts == dt.datetime(2023, 12, 13, 16, 0)
    assert json.loads(attributes)["call_duration_seconds"] == 900


def test_a_lead_is_no_contact_and_an_all_day_event_keeps_its_date(con, staged):
    contact = con.execute(f"SELECT contact_id FROM {staged.events} WHERE json_extract_string("
                          f"attributes, '$.activity_id') = '00THs00005Tsk12AAA'").fetchone()[0]
    assert contact is None  # WhoId 00Q... is a Lead
    ts = con.execute(f"SELECT ts FROM {staged.events} WHERE json_extract_string(attributes, "
                     f"'$.activity_id') = '00UHs00007Evt09AAA'").fetchone()[0]
    assert ts == dt.datetime(2024, 5, 27)


def test_website_urls_become_domains(con, staged):
    domains = dict(con.execute(f"SELECT domain, account_id FROM {staged.accounts}_domains")
                   .fetchall())
    assert domains == {"acmerobotics.com": "001Hs00001AcmeRAAV",
                       "globex-utilities.com": "001Hs00001GlobxAAV",
                       "initech.ca": "001Hs00001InitcAAV",
                       "umbrella-pharma.de": "001Hs00001UmbrlAAV",
                       "starkaero.com": "001Hs00001StarkAAV"}


def test_mixed_sources_split_into_crm_groups_and_other_files(tmp_path):
    other = tmp_path / "web.csv"
    other.write_text("account_id,ts,activity\na,2024-01-01,visit\n")
    groups, others = split_sources([SALESFORCE, CRM / "hubspot", other])
    assert sorted(a.name for a, _ in groups) == ["hubspot", "salesforce"]
    assert others == [other]
    assert detect([SALESFORCE, CRM / "hubspot"]) is None


def test_bad_flag_is_a_located_error(con, tmp_path):
    folder = tmp_path / "sf"
    shutil.copytree(SALESFORCE, folder)
    opp = folder / "Opportunity.csv"
    opp.write_text(opp.read_text().replace('"true","true","005Hs000001RepCAAA"',
                                           '"true","maybe","005Hs000001RepCAAA"'))
    with pytest.raises(CrmExportError, match=r"Opportunity.csv: row 4: column IsWon: "
                                             r"value 'maybe': is not true or false"):
        SalesforceAdapter().read(con, [folder])


def test_a_folder_mixing_an_export_with_other_files_splits_file_by_file(tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(SALESFORCE, folder)
    (folder / "web-visits.csv").write_text("account_id,ts,activity\na,2024-01-01,visit\n")
    groups, others = split_sources([folder])
    assert [(a.name, len(files)) for a, files in groups] == [("salesforce", 7)]
    assert others == [folder / "web-visits.csv"]
    assert detect([folder]) is None


def test_an_event_without_an_account_is_located_in_its_export_file(tmp_path):
    # Task row 12 is a call logged on a lead (WhoId 00Q...), which is no contact, and names no
    # account: the error says which file of the export and which row, and skipping lists it.
    from journeyscope.events.errors import SourceError
    from journeyscope.events.importer import import_sources
    from journeyscope.events.workspace import Workspace

    task = next(r for r in csv_rows(SALESFORCE / "Task.csv") if r["Id"].endswith("Tsk12AAA"))
    assert not (task["AccountId"] or task["WhatId"]) and task["WhoId"].startswith("00Q")
    with Workspace.create(tmp_path / "w.duckdb") as ws:
        with pytest.raises(SourceError) as info:
            import_sources(ws, [SALESFORCE])
        error = info.value
        assert (error.file, error.row, error.column) == (str(SALESFORCE / "Task.csv"), 12,
                                                         "account_id")
        assert "it names no contact to find one by" in str(error)
        assert ws.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
        summary = import_sources(ws, [SALESFORCE], skip_bad_rows=True)
    assert summary.skipped == [f"{SALESFORCE / 'Task.csv'}: row 12: column account_id: value "
                               "empty: the event has no account: it names no contact to find "
                               "one by"]
    source = summary.sources[0]
    assert source.rows == source.added + source.duplicates + source.skipped + source.free_mail
