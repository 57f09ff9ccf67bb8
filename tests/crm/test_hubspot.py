"""The HubSpot adapter on exports in HubSpot's own layout (tests/data/crm/hubspot)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from journeyscope.events.crm import CrmExportError, classify, detect
from journeyscope.events.crm.hubspot import HubSpotAdapter

from .conftest import CRM, activity_counts, csv_rows, export_file

HUBSPOT = CRM / "hubspot"


@pytest.fixture
def staged(con):
    adapter = detect([HUBSPOT])
    assert isinstance(adapter, HubSpotAdapter)
    return adapter.read(con, [HUBSPOT])


def test_every_hubspot_file_is_recognised_by_its_header():
    kinds = {p.name.split("-all-")[1].split("-2024")[0]: classify(p)[1] for p in
             HUBSPOT.iterdir()}
    assert kinds == {"companies": "companies", "contacts": "contacts", "deals": "deals",
                     "calls": "calls", "emails": "emails", "meetings": "meetings",
                     "notes": "notes", "tickets": "tickets"}


def test_hubspot_counts_equal_an_independent_count(con, staged):
    counts = activity_counts(con, staged.events)
    contacts = csv_rows(export_file("hubspot", "contacts"))
    deals = csv_rows(export_file("hubspot", "deals"))
    tickets = csv_rows(export_file("hubspot", "tickets"))
    assert counts["contact_created"] == len(contacts)
    assert counts["deal_created"] == len(deals)
    for kind, activity in (("calls", "call"), ("emails", "email"), ("meetings", "meeting"),
                           ("notes", "note")):
        assert counts[activity] == len(csv_rows(export_file("hubspot", kind))), kind
    assert counts["ticket_created"] == len(tickets)
    assert counts["ticket_closed"] == sum(1 for t in tickets if t["Close date"])
    stage_columns = [c for c in deals[0] if c.startswith("Date entered")]
    for column in stage_columns:
        stage = column.split('"')[1].rsplit(" (", 1)[0]
        assert counts[f"deal_stage:{stage}"] == sum(1 for d in deals if d[column]), stage
    assert counts["opportunity_won"] == sum(1 for d in deals if d["Is Closed Won"] == "true")
    assert counts["opportunity_lost"] == sum(1 for d in deals if d["Deal Stage"] == "Closed Lost")
    mql = 'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"'
    assert counts["lifecycle_stage:Marketing Qualified Lead"] == sum(
        1 for c in contacts if c[mql])
    n_accounts, n_contacts = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                              for t in (staged.accounts, staged.contacts))
    assert n_accounts == len(csv_rows(export_file("hubspot", "companies")))
    assert n_contacts == len(contacts)
    assert staged.rows == sum(counts.values())  # what the importer adds: events


def test_hubspot_deal_stages_carry_the_deal_and_its_company(con, staged):
    rows = con.execute(
        f"SELECT ts, account_id, contact_id, owner, value, attributes FROM {staged.events} "
        f"WHERE activity = 'deal_stage:Contract Sent' AND json_extract_string(attributes, "
        f"'$.deal_id') = '7701'").fetchall()
    assert len(rows) == 1
    ts, account, contact, owner, value, attributes = rows[0]
    assert ts == dt.datetime(2024, 4, 12, 15, 0)
    assert (account, contact, owner, value) == ("9871001", "51001", "Maria Keller", 84000.0)
    assert json.loads(attributes)["pipeline"] == "Sales Pipeline"


def test_hubspot_engagement_without_company_takes_its_deals_company(con, staged):
    account, channel, text = con.execute(
        f"SELECT account_id, channel, text FROM {staged.events} WHERE json_extract_string("
        f"attributes, '$.engagement_id') = '30001000105'").fetchone()
    assert (account, channel, text) == ("9871002", "phone", "Budget approved for a pilot")


def test_hubspot_meeting_time_is_its_start_time_and_emails_keep_direction(con, staged):
    ts = con.execute(f"SELECT ts FROM {staged.events} WHERE json_extract_string(attributes, "
                     f"'$.engagement_id') = '50003000301'").fetchone()[0]
    assert ts == dt.datetime(2024, 2, 20, 14, 0)
    incoming = con.execute(
        f"SELECT count(*) FROM {staged.events} WHERE activity = 'email' AND "
        f"json_extract_string(attributes, '$.direction') = 'INCOMING_EMAIL'").fetchone()[0]
    rows = csv_rows(export_file("hubspot", "emails"))
    assert incoming == sum(1 for r in rows if r["Email direction"] == "INCOMING_EMAIL")


def test_hubspot_company_domains_are_kept_for_identity(con, staged):
    domains = dict(con.execute(f"SELECT domain, account_id FROM {staged.accounts}_domains")
                   .fetchall())
    assert domains["meridian-analytics.com"] == "9871008"  # from https://www.meridian-...com/
    assert domains["northwind-logistics.com"] == "9871001"


def test_hubspot_stage_history_file_gives_every_stage_entry_with_the_deals_company(con):
    folder = CRM / "hubspot_stage_history"
    staged = detect([folder]).read(con, [folder])
    history = csv_rows(folder / "deal-stage-history.csv")
    rows = con.execute(f"SELECT activity, account_id FROM {staged.events} WHERE activity "
                       f"LIKE 'deal_stage:%' ORDER BY ts").fetchall()
    assert len(rows) == len(history)
    assert [a for a, acc in rows if acc == "9872001"].count("deal_stage:Contract Sent") == 2


def test_bad_date_names_file_row_column_and_value(con, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(HUBSPOT, folder)
    calls = next(folder.glob("*calls*"))
    text = calls.read_text(encoding="utf-8").replace('"2024-02-20 14:00"', '"20/2/24 2pm"', 1)
    calls.write_text(text, encoding="utf-8")
    with pytest.raises(CrmExportError) as info:
        HubSpotAdapter().read(con, [folder])
    message = str(info.value)
    assert str(calls) in message and "row 5" in message
    assert "Activity date" in message and "'20/2/24 2pm'" in message


def test_skip_bad_rows_drops_only_the_bad_row_and_says_where(con, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(HUBSPOT, folder)
    calls = next(folder.glob("*calls*"))
    text = calls.read_text(encoding="utf-8").replace('"2024-02-20 14:00"', '"soon"', 1)
    calls.write_text(text, encoding="utf-8")
    staged = HubSpotAdapter().read(con, [folder], skip_bad_rows=True)
    assert activity_counts(con, staged.events)["call"] == len(csv_rows(calls)) - 1
    assert len(staged.skipped) == 1 and "row 5" in staged.skipped[0]


def test_old_id_header_is_recognised_and_a_bad_amount_is_located(con, tmp_path):
    bad = tmp_path / "deals.csv"
    bad.write_text('"Deal ID","Deal Name","Deal Stage"\n"1","x","Closed Won"\n')
    assert classify(bad)[1] == "deals"
    renamed = tmp_path / "renamed.csv"
    renamed.write_text('"Record ID","Deal Name","Deal Stage","Amount"\n"1","x","won","lots"\n')
    with pytest.raises(CrmExportError, match=r"row 1: column Amount: value 'lots'"):
        HubSpotAdapter().read(con, [renamed])


def test_a_file_of_another_kind_is_not_taken_for_hubspot(tmp_path: Path):
    other = tmp_path / "events.csv"
    other.write_text("account_id,ts,activity\na,2024-01-01,x\n")
    assert classify(other) is None
    assert detect([other]) is None
    assert detect([HUBSPOT, other]) is None
