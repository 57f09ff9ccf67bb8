"""Identity: which account (the buying organisation) each staged contact and event belongs to.

A contact keeps the account id its source gives. Without one, its e-mail domain places it: at
the account that domain is known for (a CRM company's web domain, or the account most other
contacts at that domain belong to, in this import or already in the workspace), or else the
domain itself forms a new account (`acme.com`). Free-mail domains (gmail.com, outlook.com, ...:
`freemail_domains.json`) never form or join an account. An event without an account id takes
its contact's account; an event whose contact id is an e-mail address is placed by its domain.
What cannot be placed is reported, with the reason and a count. All of it runs as SQL in the
importer's connection and transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import duckdb

from journeyscope.events import schema
from journeyscope.events.staging import Staged

FREEMAIL_TABLE = "js_freemail_domains"
# A CRM's own record of a company's web domain outweighs any number of contacts.
DECLARED_WEIGHT = 1_000_000


@cache
def freemail_domains() -> frozenset[str]:
    """The free-mail domains shipped with journeyscope (package data)."""
    text = resources.files("journeyscope.events").joinpath("freemail_domains.json").read_text(
        encoding="utf-8")
    return frozenset(d.strip().lower() for d in json.loads(text)["domains"])


def email_domain(expr: str) -> str:
    """SQL: the lower-case domain of an e-mail address, or NULL when it is none."""
    return (f"CASE WHEN regexp_matches(TRIM({expr}), '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$') "
            f"THEN lower(split_part(TRIM({expr}), '@', 2)) END")


@dataclass
class IdentityReport:
    """What identity did to one staged source, and what it could not do."""

    contacts_by_domain: int = 0
    events_by_contact: int = 0
    events_by_domain: int = 0
    accounts_created: list[str] = field(default_factory=list)
    unassigned_contacts: int = 0
    unassigned_events: int = 0
    # (what could not be placed, why, how many) e.g. ("events", "free-mail address", 12)
    unassigned: list[tuple[str, str, int]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as sentences for a person."""
        out = []
        if self.contacts_by_domain:
            out.append(f"{counted(self.contacts_by_domain, 'contact')} placed at an account by "
                       "e-mail domain")
        if self.events_by_contact:
            out.append(f"{counted(self.events_by_contact, 'event')} given their contact's account")
        if self.events_by_domain:
            out.append(f"{counted(self.events_by_domain, 'event')} placed by their contact's "
                       "e-mail domain")
        if self.accounts_created:
            out.append(f"{counted(len(self.accounts_created), 'account')} formed from e-mail "
                       "domains: " + ", ".join(self.accounts_created[:10])
                       + (" ..." if len(self.accounts_created) > 10 else ""))
        for what, why, count in self.unassigned:
            out.append(f"{counted(count, what.removesuffix('s'))} without an account: {why}")
        return out


def counted(n: int, word: str) -> str:
    """`n` and its noun, plural unless one (the report's `fmt.plural` sits a layer above).

    >>> counted(1, "contact"), counted(1234, "event")
    ('1 contact', '1,234 events')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _exists(con: duckdb.DuckDBPyConnection, name: str, *, temporary: bool) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary = ?",
        [name, temporary],
    ).fetchone()
    return bool(row and row[0])


def _ensure_freemail(con: duckdb.DuckDBPyConnection) -> None:
    if _exists(con, FREEMAIL_TABLE, temporary=True):
        return
    con.execute(f"CREATE TEMP TABLE {FREEMAIL_TABLE} (domain VARCHAR PRIMARY KEY)")
    con.executemany(f"INSERT INTO {FREEMAIL_TABLE} VALUES (?)",
                    [[d] for d in sorted(freemail_domains())])


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def assign_accounts(con: duckdb.DuckDBPyConnection, staged: Staged) -> IdentityReport:
    """Fill a missing `account_id` on the staged contacts and events; see the module doc.

    Sets `staged.accounts` (a new temp table when there was none) when e-mail domains form new
    accounts. Workspace tables `contacts` and `accounts`, when the connection has them, count as
    known.
    """
    report = IdentityReport()
    _ensure_freemail(con)
    workspace_contacts = _exists(con, "contacts", temporary=False)
    workspace_accounts = _exists(con, "accounts", temporary=False)

    # Every contact known: this source's and the workspace's (this source's take precedence).
    known = []
    if staged.contacts:
        known.append(f"SELECT contact_id, account_id, email, 0 AS rank FROM {staged.contacts}")
    if workspace_contacts:
        known.append("SELECT contact_id, account_id, email, 1 AS rank FROM main.contacts")

    _place_contacts(con, staged, report, known, workspace_accounts)
    if staged.events:
        _place_events(con, staged, report, known, workspace_accounts)
    _report_unassigned(con, staged, report, known)
    con.execute("DROP TABLE IF EXISTS js_identity_domains")
    return report


def _domain_map(con: duckdb.DuckDBPyConnection, staged: Staged, known: list[str]) -> str:
    """A temp table (domain, account_id): each non-free-mail domain's most likely account."""
    votes = []
    if staged.accounts and _exists(con, f"{staged.accounts}_domains", temporary=True):
        votes.append(f"SELECT domain, account_id, {DECLARED_WEIGHT} AS weight "
                     f"FROM {staged.accounts}_domains")
    if known:
        votes.append(f"SELECT {email_domain('email')} AS domain, account_id, 1 AS weight "
                     f"FROM ({' UNION ALL '.join(known)}) WHERE account_id IS NOT NULL")
    table = "js_identity_domains"
    con.execute(f"DROP TABLE IF EXISTS {table}")
    if not votes:
        con.execute(f"CREATE TEMP TABLE {table} (domain VARCHAR, account_id VARCHAR)")
        return table
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT domain, arg_max(account_id, score) AS account_id "
        f"FROM (SELECT domain, account_id, sum(weight) * 1e9 - rank() OVER "
        f"(PARTITION BY domain ORDER BY account_id) AS score FROM ({' UNION ALL '.join(votes)}) "
        f"WHERE domain IS NOT NULL AND domain NOT IN (SELECT domain FROM {FREEMAIL_TABLE}) "
        f"GROUP BY domain, account_id) GROUP BY domain"
    )
    return table


def _place_contacts(con: duckdb.DuckDBPyConnection, staged: Staged, report: IdentityReport,
                    known: list[str], workspace_accounts: bool) -> None:
    if not staged.contacts:
        return
    c = staged.contacts
    if not _count(con, f"SELECT count(*) FROM {c} WHERE account_id IS NULL"):
        return  # the usual export: every contact has its account id
    domains = _domain_map(con, staged, known)
    domain = email_domain(c + ".email")
    report.contacts_by_domain = _count(
        con, f"SELECT count(*) FROM {c} JOIN {domains} d ON d.domain = {domain} "
             f"WHERE {c}.account_id IS NULL")
    con.execute(f"UPDATE {c} SET account_id = d.account_id FROM {domains} d "
                f"WHERE {c}.account_id IS NULL AND d.domain = {email_domain(c + '.email')}")
    # A corporate domain nobody is known for forms its own account.
    new = con.execute(
        f"SELECT DISTINCT {email_domain('email')} AS domain FROM {c} WHERE account_id IS NULL "
        f"AND {email_domain('email')} NOT IN (SELECT domain FROM {FREEMAIL_TABLE}) ORDER BY 1"
    ).fetchall()
    new_domains = [d for (d,) in new if d]
    if new_domains:
        con.execute(f"UPDATE {c} SET account_id = {email_domain('email')} WHERE account_id IS NULL "
                    f"AND {email_domain('email')} NOT IN (SELECT domain FROM {FREEMAIL_TABLE})")
        report.contacts_by_domain += _count(
            con, f"SELECT count(*) FROM {c} WHERE account_id = {email_domain('email')}")
        _create_accounts(con, staged, new_domains, workspace_accounts, report)


def _create_accounts(con: duckdb.DuckDBPyConnection, staged: Staged, domains: list[str],
                     workspace_accounts: bool, report: IdentityReport) -> None:
    """Account rows for domains that formed an account, unless the id is already known."""
    if staged.accounts is None:
        staged.accounts = f"{staged.events or staged.contacts}_accounts"
        con.execute(schema.create_table_sql(staged.accounts, schema.ACCOUNT_COLUMNS)
                    .replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    existing = [f"SELECT account_id FROM {staged.accounts}"]
    if workspace_accounts:
        existing.append("SELECT account_id FROM main.accounts")
    fresh = con.execute(
        f"SELECT d FROM unnest(?::VARCHAR[]) AS t(d) WHERE d NOT IN "
        f"({' UNION ALL '.join(existing)}) ORDER BY d", [domains]).fetchall()
    names = [d for (d,) in fresh]
    if names:
        con.execute(f"INSERT INTO {staged.accounts} (account_id, name) "
                    f"SELECT d, d FROM unnest(?::VARCHAR[]) AS t(d)", [names])
    report.accounts_created.extend(names)


def _place_events(con: duckdb.DuckDBPyConnection, staged: Staged, report: IdentityReport,
                  known: list[str], workspace_accounts: bool) -> None:
    e = staged.events
    if known:
        lookup = (f"(SELECT contact_id, arg_min(account_id, rank) AS account_id FROM "
                  f"({' UNION ALL '.join(known)}) WHERE account_id IS NOT NULL "
                  f"GROUP BY contact_id)")
        report.events_by_contact = _count(
            con, f"SELECT count(*) FROM {e} JOIN {lookup} k ON k.contact_id = {e}.contact_id "
                 f"WHERE {e}.account_id IS NULL")
        con.execute(f"UPDATE {e} SET account_id = k.account_id FROM {lookup} k "
                    f"WHERE {e}.account_id IS NULL AND k.contact_id = {e}.contact_id")
    # A contact id that is an e-mail address (marketing and web exports) places by domain.
    pending = _count(con, f"SELECT count(*) FROM {e} WHERE account_id IS NULL AND "
                          f"{email_domain('contact_id')} IS NOT NULL")
    if not pending:
        return
    domains = _domain_map(con, staged, known)
    domain = email_domain(f"{e}.contact_id")
    report.events_by_domain = _count(
        con, f"SELECT count(*) FROM {e} JOIN {domains} d ON d.domain = {domain} "
             f"WHERE {e}.account_id IS NULL")
    con.execute(f"UPDATE {e} SET account_id = d.account_id FROM {domains} d "
                f"WHERE {e}.account_id IS NULL AND d.domain = {domain}")
    free = f"(SELECT domain FROM {FREEMAIL_TABLE})"
    new = [d for (d,) in con.execute(
        f"SELECT DISTINCT {email_domain('contact_id')} FROM {e} WHERE account_id IS NULL AND "
        f"{email_domain('contact_id')} NOT IN {free} ORDER BY 1").fetchall() if d]
    if new:
        report.events_by_domain += _count(
            con, f"SELECT count(*) FROM {e} WHERE account_id IS NULL AND "
                 f"{email_domain('contact_id')} NOT IN {free}")
        con.execute(f"UPDATE {e} SET account_id = {email_domain('contact_id')} WHERE account_id "
                    f"IS NULL AND {email_domain('contact_id')} NOT IN {free}")
        _create_accounts(con, staged, [d for d in new if d not in report.accounts_created],
                         workspace_accounts, report)


def _report_unassigned(con: duckdb.DuckDBPyConnection, staged: Staged, report: IdentityReport,
                       known: list[str]) -> None:
    free = f"(SELECT domain FROM {FREEMAIL_TABLE})"
    if staged.contacts:
        rows = con.execute(
            f"SELECT CASE WHEN email IS NULL THEN 'no account id and no e-mail address' "
            f"WHEN {email_domain('email')} IN {free} THEN 'free-mail address (' || "
            f"{email_domain('email')} || ')' ELSE 'no account id and no usable e-mail address' "
            f"END AS why, count(*) FROM {staged.contacts} WHERE account_id IS NULL "
            f"GROUP BY why ORDER BY 2 DESC, 1").fetchall()
        report.unassigned_contacts = sum(n for _, n in rows)
        report.unassigned.extend(("contacts", why, n) for why, n in rows)
    if staged.events:
        e = staged.events
        emails = (f"(SELECT contact_id, arg_min(email, rank) AS email FROM "
                  f"({' UNION ALL '.join(known)}) GROUP BY contact_id)") if known else \
            "(SELECT NULL::VARCHAR AS contact_id, NULL::VARCHAR AS email)"
        rows = con.execute(
            f"SELECT CASE WHEN ev.contact_id IS NULL THEN 'no account id and no contact' "
            f"WHEN {email_domain('coalesce(k.email, ev.contact_id)')} IN {free} "
            f"THEN 'contact at a free-mail address' "
            f"WHEN k.contact_id IS NULL AND {email_domain('ev.contact_id')} IS NULL "
            f"THEN 'contact not in any contacts export' "
            f"ELSE 'contact without an account' END AS why, count(*) "
            f"FROM {e} ev LEFT JOIN {emails} k ON k.contact_id = ev.contact_id "
            f"WHERE ev.account_id IS NULL GROUP BY why ORDER BY 2 DESC, 1").fetchall()
        report.unassigned_events = sum(n for _, n in rows)
        report.unassigned.extend(("events", why, n) for why, n in rows)


def drop_free_mail_events(con: duckdb.DuckDBPyConnection, events: str) -> tuple[int, int]:
    """Delete from the staged `events` those without an account whose contact is at a
    free-mail address (the contact's e-mail in the workspace, or a contact id that is one):
    such events cannot be attributed to any account. Returns (events, contacts) deleted."""
    _ensure_freemail(con)
    emails = "SELECT contact_id, email FROM main.contacts" if _exists(
        con, "contacts", temporary=False) else \
        "SELECT NULL::VARCHAR AS contact_id, NULL::VARCHAR AS email"
    domain = email_domain("coalesce(k.email, e.contact_id)")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE js_free_mail_contacts AS SELECT DISTINCT e.contact_id "
        f"FROM {events} AS e LEFT JOIN ({emails}) AS k ON k.contact_id = e.contact_id "
        f"WHERE e.account_id IS NULL AND e.contact_id IS NOT NULL "
        f"AND {domain} IN (SELECT domain FROM {FREEMAIL_TABLE})")
    contacts = _count(con, "SELECT count(*) FROM js_free_mail_contacts")
    dropped = 0
    if contacts:
        row = con.execute(f"DELETE FROM {events} WHERE account_id IS NULL AND contact_id IN "
                          "(SELECT contact_id FROM js_free_mail_contacts)").fetchone()
        dropped = int(row[0]) if row else 0
    con.execute("DROP TABLE js_free_mail_contacts")
    return dropped, contacts
