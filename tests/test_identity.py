"""Identity: contacts and events to accounts by account id, contact, or e-mail domain."""

from __future__ import annotations

import duckdb
import pytest

from journeyscope.events import schema
from journeyscope.events.identity import assign_accounts, freemail_domains
from journeyscope.events.staging import Staged


def _temp(con, name, columns, rows):
    """A staged temp table: canonical columns, none required yet (identity fills them)."""
    body = ", ".join(f"{c.name} {c.sql_type}" for c in columns)
    con.execute(f"CREATE TEMP TABLE {name} ({body})")
    if rows:
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)


EVENT_COLS = tuple(c for c in schema.EVENT_COLUMNS) + (
    schema.Column("attributes", "VARCHAR", None, False, ""),)  # type: ignore[arg-type]


def _event(account, contact, activity="call"):
    return [account, contact, "2024-01-01", activity, None, None, None, None, None, None, "t",
            None]


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield c
    c.close()


def _staged(con, contacts, events, accounts=()):
    _temp(con, "s_contacts", schema.CONTACT_COLUMNS, contacts)
    _temp(con, "s_events", EVENT_COLS, events)
    _temp(con, "s_accounts", schema.ACCOUNT_COLUMNS, list(accounts))
    return Staged(events="s_events", accounts="s_accounts", contacts="s_contacts", source="t",
                  rows=len(events))


def _accounts_of(con, table, key):
    return dict(con.execute(f"SELECT {key}, account_id FROM {table} ORDER BY 1").fetchall())


def test_freemail_list_ships_as_package_data():
    assert {"gmail.com", "outlook.com", "yahoo.com", "gmx.de"} <= freemail_domains()
    assert "acme.com" not in freemail_domains()


def test_contact_without_account_joins_the_account_most_colleagues_belong_to(con):
    staged = _staged(con, [
        ["c1", "A1", "ann@acme.com", None, None],
        ["c2", "A1", "bob@acme.com", None, None],
        ["c3", "A2", "cy@acme.com", None, None],
        ["c4", None, "dee@ACME.com", None, None],
    ], [])
    report = assign_accounts(con, staged)
    assert _accounts_of(con, "s_contacts", "contact_id")["c4"] == "A1"
    assert report.contacts_by_domain == 1 and report.accounts_created == []


def test_a_crm_web_domain_outweighs_colleagues(con):
    staged = _staged(con, [["c1", "A9", "ann@acme.com", None, None],
                           ["c2", None, "bob@acme.com", None, None]], [])
    con.execute("CREATE TEMP TABLE s_accounts_domains AS SELECT 'acme.com' AS domain, "
                "'A1' AS account_id")
    assign_accounts(con, staged)
    assert _accounts_of(con, "s_contacts", "contact_id")["c2"] == "A1"


def test_unknown_corporate_domain_forms_an_account_and_free_mail_never_does(con):
    staged = _staged(con, [
        ["c1", None, "ann@newco.io", None, None],
        ["c2", None, "bob@newco.io", None, None],
        ["c3", None, "cat@gmail.com", None, None],
        ["c4", None, None, None, None],
    ], [_event(None, "c1"), _event(None, "c3"), _event(None, None), _event(None, "zz")])
    report = assign_accounts(con, staged)
    contacts = _accounts_of(con, "s_contacts", "contact_id")
    assert contacts == {"c1": "newco.io", "c2": "newco.io", "c3": None, "c4": None}
    assert report.accounts_created == ["newco.io"]
    assert con.execute("SELECT account_id, name FROM s_accounts").fetchall() == [
        ("newco.io", "newco.io")]
    assert report.unassigned_contacts == 2 and report.unassigned_events == 3
    assert ("contacts", "free-mail address (gmail.com)", 1) in report.unassigned
    assert ("events", "contact at a free-mail address", 1) in report.unassigned
    assert ("events", "no account id and no contact", 1) in report.unassigned
    assert ("events", "contact not in any contacts export", 1) in report.unassigned


def test_events_take_their_contacts_account_also_from_the_workspace(con):
    con.execute(schema.create_table_sql("contacts", schema.CONTACT_COLUMNS))
    con.execute("INSERT INTO contacts VALUES ('old', 'W1', 'o@w.com', NULL, NULL)")
    con.execute(schema.create_table_sql("accounts", schema.ACCOUNT_COLUMNS))
    staged = _staged(con, [["c1", "A1", "a@a.com", None, None]], [
        _event(None, "c1"), _event(None, "old"), _event("KEEP", "c1"),
        _event(None, "someone@w.com"), _event(None, "x@fresh.org"), _event(None, "y@gmail.com"),
    ])
    report = assign_accounts(con, staged)
    got = [r[0] for r in con.execute("SELECT account_id FROM s_events ORDER BY rowid").fetchall()]
    assert got == ["A1", "W1", "KEEP", "W1", "fresh.org", None]
    assert report.events_by_contact == 2 and report.events_by_domain == 2
    assert report.accounts_created == ["fresh.org"]
    assert "1 event without an account: contact at a free-mail address" in report.lines()


def test_a_domain_account_already_in_the_workspace_is_not_created_again(con):
    con.execute(schema.create_table_sql("accounts", schema.ACCOUNT_COLUMNS))
    con.execute("INSERT INTO accounts (account_id, name) VALUES ('newco.io', 'NewCo')")
    staged = _staged(con, [["c1", None, "ann@newco.io", None, None]], [])
    report = assign_accounts(con, staged)
    assert _accounts_of(con, "s_contacts", "contact_id") == {"c1": "newco.io"}
    assert report.accounts_created == []
    assert con.execute("SELECT count(*) FROM s_accounts").fetchone()[0] == 0


def test_source_without_accounts_table_gets_one_for_new_domain_accounts(con):
    _temp(con, "only_events", EVENT_COLS, [_event(None, "a@corp.example")])
    staged = Staged(events="only_events", accounts=None, contacts=None, source="t", rows=1)
    assign_accounts(con, staged)
    assert staged.accounts is not None
    assert con.execute(f"SELECT account_id FROM {staged.accounts}").fetchall() == [
        ("corp.example",)]
