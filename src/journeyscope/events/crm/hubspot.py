"""HubSpot exports: companies, contacts, deals (with their `Date entered "<stage> (<pipeline>)"`
columns or a deal stage history file), calls, emails, meetings, notes, tasks and tickets, as
HubSpot writes them from an object's index page (Export view) with property labels as headers.

docs/crm.md lists every header read here and the events each file gives.
"""

from __future__ import annotations

import re

import duckdb

from journeyscope.events import schema
from journeyscope.events.crm.common import (
    CrmAdapter,
    Header,
    Parts,
    RawFile,
    check,
    event_select,
    first_id,
    flag,
    good_rows,
    literal,
    number,
    row_select,
    temp_name,
    text,
    timestamp,
)

SOURCE = "'hubspot'"

# Header aliases, the export's label first. Older exports name the id "<Object> ID".
ID = ("Record ID",)
COMPANY_IDS = ("Associated Company IDs", "Associated Company ID", "Primary Associated Company ID",
               "Company ID", "Associated Company IDs (Primary)")
CONTACT_IDS = ("Associated Contact IDs", "Associated Contact ID", "Contact ID")
DEAL_IDS = ("Associated Deal IDs", "Associated Deal ID")
ACTIVITY_OWNER = ("Activity assigned to", "Assigned to", "Activity owner", "HubSpot owner",
                  "Owner")
ACTIVITY_DATE = ("Activity date", "Activity Date", "Create date", "Created at")

_DATE_ENTERED = re.compile(r'^date entered\s+"(?P<inner>.+)"\s*$', re.IGNORECASE)
_PIPELINE = re.compile(r"^(?P<stage>.*\S)\s+\((?P<pipeline>[^()]*)\)$")

ENGAGEMENTS = ("calls", "emails", "meetings", "notes", "tasks")


def stage_columns(raw: RawFile) -> list[tuple[str, str, str | None]]:
    """The `Date entered "<stage> (<pipeline>)"` columns: (quoted column, stage, pipeline)."""
    out = []
    for name in raw.header.names:
        match = _DATE_ENTERED.match(name.strip())
        if not match:
            continue
        inner = match.group("inner").strip()
        pipe = _PIPELINE.match(inner)
        stage, pipeline = (pipe.group("stage"), pipe.group("pipeline")) if pipe else (inner, None)
        column = raw.column(name)
        assert column is not None
        out.append((column, stage, pipeline))
    return out


def _source_channel(col: str | None) -> str:
    """HubSpot's Original Source (traffic source) as a canonical channel."""
    if col is None:
        return "NULL"
    v = f"lower(TRIM({col}))"
    return (f"CASE WHEN {v} LIKE '%search%' THEN 'search' WHEN {v} LIKE '%social%' THEN 'social' "
            f"WHEN {v} LIKE '%email%' THEN 'email' WHEN {v} IN ('direct traffic', 'referrals') "
            f"THEN 'web' WHEN {v} LIKE '%offline%' THEN 'offline' WHEN {v} LIKE '%ads%' "
            f"OR {v} LIKE '%paid%' THEN 'advertising' END")


class HubSpotAdapter(CrmAdapter):
    """HubSpot CRM exports (one CSV per object, property labels as headers)."""

    name = "hubspot"
    label = "HubSpot"

    def classify(self, header: Header) -> str | None:
        if not header.has_any(*ID, "Company ID", "Contact ID", "Deal ID", "Ticket ID"):
            return None
        if header.has_any("Date entered stage") and header.has_any("Deal Stage", "Stage"):
            return "deal_stage_history"
        if header.has_any("Deal Name", "Deal Stage"):
            return "deals"
        if header.has_any("Ticket name", "Ticket status"):
            return "tickets"
        if header.has_any("Call Title", "Call outcome", "Call notes"):
            return "calls"
        if header.has_any("Email subject"):
            return "emails"
        if header.has_any("Meeting name", "Meeting outcome", "Meeting start time"):
            return "meetings"
        if header.has_any("Note body"):
            return "notes"
        if header.has_any("Task Title", "Task status"):
            return "tasks"
        if header.has_any("Email") and header.has_any("First Name", "Last Name", "Job Title"):
            return "contacts"
        if header.has_any("Company name", "Company Domain Name"):
            return "companies"
        return None

    def build(self, con: duckdb.DuckDBPyConnection, files: dict[str, list[RawFile]],
              parts: Parts, *, skip_bad_rows: bool, skipped: list[str]) -> None:
        opts = {"skip_bad_rows": skip_bad_rows, "skipped": skipped}
        for raw in files.get("companies", []):
            self._companies(con, raw, parts, opts)
        for raw in files.get("contacts", []):
            self._contacts(con, raw, parts, opts)
        deals = self._deal_lookup(con, files.get("deals", []), opts)
        for raw in files.get("deals", []):
            self._deals(raw, parts)
        for raw in files.get("deal_stage_history", []):
            self._deal_history(con, raw, deals, parts, opts)
        for kind in ENGAGEMENTS:
            for raw in files.get(kind, []):
                self._engagement(con, kind, raw, deals, parts, opts)
        for raw in files.get("tickets", []):
            self._tickets(con, raw, parts, opts)

    # -- records -----------------------------------------------------------------------------

    def _companies(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
                   opts: dict) -> None:
        rid = raw.require("company id", *ID, "Company ID")
        value = raw.column("Total Revenue")
        created = raw.column("Create Date")
        stages = stage_columns(raw)
        check(con, raw, "number", [value], **opts)
        check(con, raw, "timestamp", [created, *(c for c, _, _ in stages)], **opts)
        rows = good_rows(raw)
        parts.accounts.append(row_select(rows, schema.ACCOUNT_COLUMNS, {
            "account_id": text(rid),
            "name": text(raw.column("Company name", "Name")),
            "segment": text(raw.column("Segment", "Customer segment")),
            "industry": text(raw.column("Industry")),
            "size": text(raw.column("Number of Employees", "Company size")),
            "region": text(raw.column("Country/Region", "Country")),
            "value": number(value),
        }))
        domain = raw.column("Company Domain Name", "Website URL", "Domain")
        if domain is not None:
            parts.domains.append(f"SELECT {text(domain)} AS url, {text(rid)} AS account_id "
                                 f"FROM {rows}")
        for col, stage, pipeline in stages:
            parts.events.append(event_select(
                rows, ts=timestamp(col), activity=literal(f"lifecycle_stage:{stage}"),
                account_id=text(rid), owner=text(raw.column("Company owner")), source=SOURCE,
                attributes={"object": "'company'", "company_id": text(rid),
                            "pipeline": literal(pipeline) if pipeline else "NULL"},
            ))

    def _contacts(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
                  opts: dict) -> None:
        rid = raw.require("contact id", *ID, "Contact ID")
        created = raw.column("Create Date", "Created at")
        stages = stage_columns(raw)
        check(con, raw, "timestamp", [created, *(c for c, _, _ in stages)], **opts)
        rows = good_rows(raw)
        company = first_id(raw.column(*COMPANY_IDS))
        parts.contacts.append(row_select(rows, schema.CONTACT_COLUMNS, {
            "contact_id": text(rid), "account_id": company,
            "email": f"lower({text(raw.column('Email'))})",
            "title": text(raw.column("Job Title")),
        }))
        origin = raw.column("Original Source", "Original Traffic Source")
        owner = text(raw.column("Contact owner"))
        parts.events.append(event_select(
            rows, ts=timestamp(created), activity="'contact_created'", account_id=company,
            contact_id=text(rid), channel=_source_channel(origin), owner=owner, source=SOURCE,
            attributes={"object": "'contact'", "original_source": text(origin),
                        "lifecycle_stage": text(raw.column("Lifecycle Stage"))},
        ))
        for col, stage, pipeline in stages:
            parts.events.append(event_select(
                rows, ts=timestamp(col), activity=literal(f"lifecycle_stage:{stage}"),
                account_id=company, contact_id=text(rid), owner=owner, source=SOURCE,
                attributes={"object": "'contact'",
                            "pipeline": literal(pipeline) if pipeline else "NULL"},
            ))

    # -- deals -------------------------------------------------------------------------------

    def _deal_lookup(self, con: duckdb.DuckDBPyConnection, raws: list[RawFile],
                     opts: dict) -> str | None:
        """A temp table of every deal's id, account, contact, owner, pipeline and amount, for
        the stage history and the engagements that name a deal but no company."""
        if not raws:
            return None
        selects = []
        for raw in raws:
            rid = raw.require("deal id", *ID, "Deal ID")
            amount = raw.column("Amount")
            close, created = raw.column("Close Date"), raw.column("Create Date")
            check(con, raw, "number", [amount], **opts)
            check(con, raw, "timestamp",
                  [close, created, *(c for c, _, _ in stage_columns(raw))], **opts)
            check(con, raw, "flag", [raw.column("Is Closed Won"), raw.column("Is closed lost")],
                  **opts)
            selects.append(
                f"SELECT {text(rid)} AS deal_id, {first_id(raw.column(*COMPANY_IDS))} AS "
                f"account_id, {first_id(raw.column(*CONTACT_IDS))} AS contact_id, "
                f"{text(raw.column('Deal owner'))} AS owner, "
                f"{text(raw.column('Pipeline'))} AS pipeline, "
                f"{text(raw.column('Deal Name'))} AS deal_name, {number(amount)} AS amount "
                f"FROM {good_rows(raw)}"
            )
        table = temp_name("hubspot_deal_lookup")
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM ("
                    + " UNION ALL ".join(selects) + ") WHERE deal_id IS NOT NULL")
        return table

    def _deals(self, raw: RawFile, parts: Parts) -> None:
        rid = raw.require("deal id", *ID, "Deal ID")
        rows = good_rows(raw)
        stage = text(raw.column("Deal Stage"))
        pipeline = text(raw.column("Pipeline"))
        common = {
            "account_id": first_id(raw.column(*COMPANY_IDS)),
            "contact_id": first_id(raw.column(*CONTACT_IDS)),
            "owner": text(raw.column("Deal owner")), "value": number(raw.column("Amount")),
            "source": SOURCE,
        }
        attrs = {"object": "'deal'", "deal_id": text(rid),
                 "deal_name": text(raw.column("Deal Name")), "pipeline": pipeline,
                 "deal_type": text(raw.column("Deal Type"))}
        parts.events.append(event_select(
            rows, ts=timestamp(raw.column("Create Date")), activity="'deal_created'",
            attributes=attrs, **common))
        stages = stage_columns(raw)
        for col, name, pipe in stages:
            parts.events.append(event_select(
                rows, ts=timestamp(col), activity=literal(f"deal_stage:{name}"),
                attributes={**attrs, "pipeline": literal(pipe) if pipe else pipeline}, **common))
        # Won or lost: HubSpot's flags when exported, else the default closed stages' names.
        squashed = f"regexp_replace(lower(coalesce({stage}, '')), '[^a-z]', '', 'g')"
        won = f"coalesce({flag(raw.column('Is Closed Won'))}, {squashed} = 'closedwon')"
        lost = f"coalesce({flag(raw.column('Is closed lost'))}, {squashed} = 'closedlost')"
        close = timestamp(raw.column("Close Date"))
        reason = text(raw.column("Closed Lost Reason"))
        for activity, condition in (("opportunity_won", won), ("opportunity_lost", lost)):
            parts.events.append(event_select(
                rows, ts=close, activity=literal(activity), where=condition,
                attributes={**attrs, "stage": stage, "lost_reason": reason}, **common))

    def _deal_history(self, con: duckdb.DuckDBPyConnection, raw: RawFile, deals: str | None,
                      parts: Parts, opts: dict) -> None:
        rid = raw.require("deal id", *ID, "Deal ID")
        entered = raw.require("date entered stage", "Date entered stage")
        stage = raw.require("deal stage", "Deal Stage", "Stage")
        check(con, raw, "timestamp", [entered], **opts)
        h = f"(SELECT * FROM {good_rows(raw)}) AS h"
        if deals is not None:
            h += f" LEFT JOIN {deals} AS d ON d.deal_id = {text('h.' + rid)}"
            d = {k: f"d.{k}" for k in ("account_id", "contact_id", "owner", "pipeline",
                                       "deal_name", "amount")}
        else:
            d = {k: "NULL" for k in ("account_id", "contact_id", "owner", "pipeline",
                                     "deal_name", "amount")}
        own = raw.column("Deal owner")
        pipe = raw.column("Pipeline")
        parts.events.append(event_select(
            h, ts=timestamp("h." + entered),
            activity=f"'deal_stage:' || {text('h.' + stage)}",
            account_id=d["account_id"], contact_id=d["contact_id"],
            owner=f"coalesce({text('h.' + own) if own else 'NULL'}, {d['owner']})",
            value=d["amount"], source=SOURCE,
            attributes={"object": "'deal'", "deal_id": text("h." + rid),
                        "deal_name": d["deal_name"],
                        "pipeline": f"coalesce({text('h.' + pipe) if pipe else 'NULL'}, "
                                    f"{d['pipeline']})"},
        ))

    # -- activities --------------------------------------------------------------------------

    def _engagement(self, con: duckdb.DuckDBPyConnection, kind: str, raw: RawFile,
                    deals: str | None, parts: Parts, opts: dict) -> None:
        rid = raw.require(f"{kind[:-1]} id", *ID)
        when = raw.column("Meeting start time", *ACTIVITY_DATE) if kind == "meetings" \
            else raw.column(*ACTIVITY_DATE)
        if when is None:
            raw.require("activity date", *ACTIVITY_DATE)
        check(con, raw, "timestamp", [when], **opts)
        e = f"(SELECT * FROM {good_rows(raw)}) AS e"
        deal = first_id(_prefixed(raw.column(*DEAL_IDS)))
        account = first_id(_prefixed(raw.column(*COMPANY_IDS)))
        if deals is not None:
            e += f" LEFT JOIN {deals} AS d ON d.deal_id = {deal}"
            account = f"coalesce({account}, d.account_id)"

        def c(*names: str) -> str:
            return text(_prefixed(raw.column(*names)))

        activity, channel, body, attrs = {
            "calls": ("'call'", "'phone'", c("Call notes", "Call body"), {
                "title": c("Call Title"), "outcome": c("Call outcome"),
                "direction": c("Call direction"), "status": c("Call status"),
                "duration": c("Call duration", "Call duration (HH:mm:ss)")}),
            "emails": ("'email'", "'email'", f"coalesce({c('Email body', 'Email text')}, "
                                            f"{c('Email subject')})", {
                "subject": c("Email subject"), "direction": c("Email direction"),
                "status": c("Email send status", "Email status")}),
            "meetings": ("'meeting'", "'meeting'", c("Meeting description", "Internal notes"), {
                "title": c("Meeting name"), "outcome": c("Meeting outcome"),
                "location": c("Meeting location")}),
            "notes": ("'note'", "NULL", c("Note body"), {}),
            "tasks": ("'task'", "NULL", c("Task notes", "Notes"), {
                "title": c("Task Title"), "status": c("Task status"),
                "task_type": c("Task type"), "priority": c("Priority")}),
        }[kind]
        parts.events.append(event_select(
            e, ts=timestamp(_prefixed(when)), activity=activity, account_id=account,
            contact_id=first_id(_prefixed(raw.column(*CONTACT_IDS))), channel=channel,
            owner=c(*ACTIVITY_OWNER), text_=body, source=SOURCE,
            attributes={"object": literal(kind[:-1]), "engagement_id": text("e." + rid),
                        "deal_id": deal, **attrs},
        ))

    def _tickets(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
                 opts: dict) -> None:
        rid = raw.require("ticket id", *ID, "Ticket ID")
        created = raw.require("create date", "Create date", "Created at")
        closed = raw.column("Close date", "Closed date")
        stages = stage_columns(raw)
        check(con, raw, "timestamp", [created, closed, *(c for c, _, _ in stages)], **opts)
        rows = good_rows(raw)
        src = text(raw.column("Source", "Ticket source"))
        channel = f"CASE WHEN lower({src}) = 'form' THEN 'web' ELSE lower({src}) END"
        common = {
            "account_id": first_id(raw.column(*COMPANY_IDS)),
            "contact_id": first_id(raw.column(*CONTACT_IDS)),
            "owner": text(raw.column("Ticket owner")), "source": SOURCE,
            "text_": f"coalesce({text(raw.column('Ticket description'))}, "
                     f"{text(raw.column('Ticket name'))})",
        }
        attrs = {"object": "'ticket'", "ticket_id": text(rid),
                 "ticket_name": text(raw.column("Ticket name")),
                 "pipeline": text(raw.column("Pipeline")),
                 "status": text(raw.column("Ticket status")),
                 "priority": text(raw.column("Priority")),
                 "category": text(raw.column("Category")), "ticket_source": src}
        parts.events.append(event_select(rows, ts=timestamp(created), activity="'ticket_created'",
                                         channel=channel, attributes=attrs, **common))
        if closed is not None:
            parts.events.append(event_select(rows, ts=timestamp(closed),
                                             activity="'ticket_closed'", attributes=attrs,
                                             **common))
        for col, stage, _ in stages:
            parts.events.append(event_select(rows, ts=timestamp(col),
                                             activity=literal(f"ticket_status:{stage}"),
                                             attributes=attrs, **common))


def _prefixed(col: str | None) -> str | None:
    """A column of the engagement file under its alias `e` in a join."""
    return None if col is None else f"e.{col}"

