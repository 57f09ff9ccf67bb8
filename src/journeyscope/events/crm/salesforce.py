"""Salesforce exports: Account, Contact, Opportunity, OpportunityHistory, Task, Event and Case,
one CSV per object with the fields' API names as headers (Data Loader, Workbench, the weekly
Data Export service; Data Loader writes them in capitals, which is the same here).

docs/crm.md lists every field read here and the events each object gives. Record ids are kept
as exported; lookups between files compare their first 15 characters, so the 15- and
18-character forms of one id meet.
"""

from __future__ import annotations

import duckdb

from journeyscope.events import schema
from journeyscope.events.crm.common import (
    CrmAdapter,
    Header,
    Parts,
    RawFile,
    check,
    event_select,
    flag,
    good_rows,
    number,
    row_select,
    temp_name,
    text,
    timestamp,
)

SOURCE = "'salesforce'"
ACCOUNT_PREFIX, CONTACT_PREFIX, OPPORTUNITY_PREFIX = "001", "003", "006"


def _lead_channel(col: str | None) -> str:
    """A LeadSource picklist value as a canonical channel."""
    if col is None:
        return "NULL"
    v = f"lower(TRIM({col}))"
    return (f"CASE WHEN {v} LIKE '%web%' THEN 'web' WHEN {v} LIKE '%phone%' THEN 'phone' "
            f"WHEN {v} LIKE '%partner%' THEN 'partner' WHEN {v} LIKE '%email%' THEN 'email' "
            f"WHEN {v} LIKE '%seminar%' OR {v} LIKE '%trade show%' OR {v} LIKE '%event%' "
            f"THEN 'event' WHEN {v} LIKE '%advert%' THEN 'advertising' "
            f"WHEN {v} LIKE '%referral%' THEN 'referral' END")


def _key(expr: str) -> str:
    """Compare Salesforce ids on their case-sensitive 15-character form."""
    return f"left({expr}, 15)"


def _prefixed_id(expr: str, prefix: str) -> str:
    """`expr` when it is an id of the object with key prefix `prefix`, else NULL."""
    return f"CASE WHEN starts_with({expr}, '{prefix}') THEN {expr} END"


class SalesforceAdapter(CrmAdapter):
    """Salesforce exports (one CSV per object, API field names as headers)."""

    name = "salesforce"
    label = "Salesforce"

    def classify(self, header: Header) -> str | None:
        if not header.has("Id"):
            return None
        if header.has("OpportunityId", "StageName"):
            return "OpportunityHistory"
        if header.has("StageName") and header.has_any("IsWon", "IsClosed", "CloseDate"):
            return "Opportunity"
        if header.has("CaseNumber"):
            return "Case"
        activity = header.has_any("WhoId", "WhatId") and header.has("Subject")
        if activity and header.has_any("DurationInMinutes", "StartDateTime", "ActivityDateTime",
                                        "EventSubtype"):
            return "Event"
        if activity and header.has_any("TaskSubtype", "Status", "CompletedDateTime"):
            return "Task"
        if header.has("AccountId", "Email") and header.has_any("LastName", "Title"):
            return "Contact"
        if header.has("Name") and header.has_any("Industry", "BillingCountry", "Website",
                                                 "NumberOfEmployees", "AnnualRevenue"):
            return "Account"
        return None

    def build(self, con: duckdb.DuckDBPyConnection, files: dict[str, list[RawFile]],
              parts: Parts, *, skip_bad_rows: bool, skipped: list[str]) -> None:
        opts = {"skip_bad_rows": skip_bad_rows, "skipped": skipped}
        for raw in files.get("Account", []):
            self._accounts(con, raw, parts, opts)
        for raw in files.get("Contact", []):
            self._contacts(con, raw, parts, opts)
        opportunities = self._opportunity_lookup(con, files.get("Opportunity", []), opts)
        for raw in files.get("Opportunity", []):
            self._opportunities(raw, parts)
        for raw in files.get("OpportunityHistory", []):
            self._history(con, raw, opportunities, parts, opts)
        for kind in ("Task", "Event"):
            for raw in files.get(kind, []):
                self._activities(con, kind, raw, opportunities, parts, opts)
        for raw in files.get("Case", []):
            self._cases(con, raw, parts, opts)

    # -- records -----------------------------------------------------------------------------

    def _accounts(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
                  opts: dict) -> None:
        rid = raw.require("Id", "Id")
        rows = good_rows(raw)
        parts.accounts.append(row_select(rows, schema.ACCOUNT_COLUMNS, {
            "account_id": text(rid), "name": text(raw.column("Name")),
            "segment": text(raw.column("Segment__c", "CustomerSegment__c")),
            "industry": text(raw.column("Industry")),
            "size": text(raw.column("NumberOfEmployees")),
            "region": text(raw.column("BillingCountry", "ShippingCountry")),
        }))
        website = raw.column("Website")
        if website is not None:
            parts.domains.append(f"SELECT {text(website)} AS url, {text(rid)} AS account_id "
                                 f"FROM {rows}")

    def _contacts(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
                  opts: dict) -> None:
        rid = raw.require("Id", "Id")
        created = raw.column("CreatedDate")
        check(con, raw, "timestamp", [created], **opts)
        rows = good_rows(raw)
        account = text(raw.column("AccountId"))
        parts.contacts.append(row_select(rows, schema.CONTACT_COLUMNS, {
            "contact_id": text(rid), "account_id": account,
            "email": f"lower({text(raw.column('Email'))})", "title": text(raw.column("Title")),
        }))
        lead = raw.column("LeadSource")
        parts.events.append(event_select(
            rows, ts=timestamp(created), activity="'contact_created'", account_id=account,
            contact_id=text(rid), channel=_lead_channel(lead),
            owner=text(raw.column("OwnerId")), source=SOURCE,
            attributes={"object": "'Contact'", "lead_source": text(lead)},
        ))

    # -- opportunities -----------------------------------------------------------------------

    def _opportunity_lookup(self, con: duckdb.DuckDBPyConnection, raws: list[RawFile],
                            opts: dict) -> str | None:
        """Every opportunity's id, account, contact, owner and name, for the history, tasks
        and events that point at an opportunity."""
        if not raws:
            return None
        selects = []
        for raw in raws:
            rid = raw.require("Id", "Id")
            check(con, raw, "timestamp", [raw.column("CreatedDate"), raw.column("CloseDate")],
                  **opts)
            check(con, raw, "number", [raw.column("Amount")], **opts)
            check(con, raw, "flag", [raw.column("IsWon"), raw.column("IsClosed")], **opts)
            selects.append(
                f"SELECT {text(rid)} AS opportunity_id, {text(raw.column('AccountId'))} AS "
                f"account_id, {text(raw.column('ContactId'))} AS contact_id, "
                f"{text(raw.column('OwnerId'))} AS owner, {text(raw.column('Name'))} AS name, "
                f"{text(raw.column('Type'))} AS type FROM {good_rows(raw)}"
            )
        table = temp_name("salesforce_opportunity_lookup")
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM ("
                    + " UNION ALL ".join(selects) + ") WHERE opportunity_id IS NOT NULL")
        return table

    def _opportunities(self, raw: RawFile, parts: Parts) -> None:
        rid = raw.require("Id", "Id")
        rows = good_rows(raw)
        common = {"account_id": text(raw.column("AccountId")),
                  "contact_id": text(raw.column("ContactId")),
                  "owner": text(raw.column("OwnerId")), "value": number(raw.column("Amount")),
                  "source": SOURCE}
        attrs = {"object": "'Opportunity'", "opportunity_id": text(rid),
                 "opportunity_name": text(raw.column("Name")), "type": text(raw.column("Type")),
                 "lead_source": text(raw.column("LeadSource")),
                 "stage": text(raw.column("StageName"))}
        parts.events.append(event_select(rows, ts=timestamp(raw.column("CreatedDate")),
                                         activity="'deal_created'", attributes=attrs, **common))
        closed = flag(raw.column("IsClosed"))
        won = flag(raw.column("IsWon"))
        close = timestamp(raw.column("CloseDate"))
        parts.events.append(event_select(rows, ts=close, activity="'opportunity_won'",
                                         where=f"{closed} AND {won}", attributes=attrs,
                                         **common))
        parts.events.append(event_select(rows, ts=close, activity="'opportunity_lost'",
                                         where=f"{closed} AND NOT {won}", attributes=attrs,
                                         **common))

    def _history(self, con: duckdb.DuckDBPyConnection, raw: RawFile, opportunities: str | None,
                 parts: Parts, opts: dict) -> None:
        raw.require("Id", "Id")
        opp = raw.require("OpportunityId", "OpportunityId")
        stage = raw.require("StageName", "StageName")
        created = raw.require("CreatedDate", "CreatedDate")
        amount = raw.column("Amount")
        check(con, raw, "timestamp", [created], **opts)
        check(con, raw, "number", [amount], **opts)
        # One row per change of any tracked field: a stage event only where the stage changed.
        h = (f"(SELECT *, {text(opp)} AS __opp, {text(stage)} AS __stage, "
             f"{timestamp(created)} AS __ts, lag({text(stage)}) OVER (PARTITION BY "
             f"{_key(text(opp))} ORDER BY {timestamp(created)}, {raw.column('Id')}) AS __prev "
             f"FROM {good_rows(raw)}) AS h")
        o = {k: "NULL" for k in ("account_id", "contact_id", "owner", "name", "type")}
        if opportunities is not None:
            h += (f" LEFT JOIN {opportunities} AS o "
                  f"ON {_key('o.opportunity_id')} = {_key('h.__opp')}")
            o = {k: f"o.{k}" for k in o}
        by = raw.column("CreatedById")
        parts.events.append(event_select(
            h, ts="h.__ts", activity="'deal_stage:' || h.__stage", account_id=o["account_id"],
            contact_id=o["contact_id"],
            owner=f"coalesce({o['owner']}, {text('h.' + by) if by else 'NULL'})",
            value=number("h." + amount) if amount else "NULL", source=SOURCE,
            attributes={"object": "'OpportunityHistory'", "opportunity_id": "h.__opp",
                        "opportunity_name": o["name"], "type": o["type"],
                        "previous_stage": "h.__prev"},
            where="h.__stage IS NOT NULL AND h.__prev IS DISTINCT FROM h.__stage",
        ))

    # -- activities and cases ----------------------------------------------------------------

    def _activities(self, con: duckdb.DuckDBPyConnection, kind: str, raw: RawFile,
                    opportunities: str | None, parts: Parts, opts: dict) -> None:
        rid = raw.require("Id", "Id")

        def c(name: str) -> str | None:
            col = raw.column(name)
            return None if col is None else f"a.{col}"

        if raw.column("ActivityDate", "CreatedDate") is None:
            raw.require("ActivityDate", "ActivityDate", "CreatedDate")
        check(con, raw, "timestamp", [raw.column(n) for n in (
            "CompletedDateTime", "StartDateTime", "ActivityDateTime", "ActivityDate",
            "CreatedDate")], **opts)
        if kind == "Task":
            check(con, raw, "number", [raw.column("CallDurationInSeconds")], **opts)
        # ActivityDate is a date only; a task logged on that day has its time in CreatedDate.
        day, created = timestamp(c("ActivityDate")), timestamp(c("CreatedDate"))
        dated = f"CASE WHEN {day} = date_trunc('day', {created}) THEN {created} ELSE {day} END"
        exact = ([timestamp(c("CompletedDateTime"))] if kind == "Task"
                 else [timestamp(c("StartDateTime")), timestamp(c("ActivityDateTime"))])
        ts = "coalesce(" + ", ".join([*exact, dated, created]) + ")"
        a = f"(SELECT * FROM {good_rows(raw)}) AS a"
        what, who = text(c("WhatId")), text(c("WhoId"))
        account = f"coalesce({text(c('AccountId'))}, {_prefixed_id(what, ACCOUNT_PREFIX)}"
        if opportunities is not None:
            a += (f" LEFT JOIN {opportunities} AS o ON {_key('o.opportunity_id')} = "
                  f"{_key(_prefixed_id(what, OPPORTUNITY_PREFIX))}")
            account += ", o.account_id"
        account += ")"
        sub = c("TaskSubtype" if kind == "Task" else "EventSubtype")
        subtype = f"lower(coalesce({text(sub)}, ''))"
        type_ = f"lower(coalesce({text(c('Type'))}, ''))"
        default = "'task'" if kind == "Task" else "'meeting'"
        activity = (f"CASE WHEN {subtype} = 'call' OR {type_} = 'call' THEN 'call' "
                    f"WHEN {subtype} IN ('email', 'listemail') OR {type_} = 'email' THEN 'email' "
                    f"WHEN {type_} = 'meeting' THEN 'meeting' ELSE {default} END")
        channel = (f"CASE {activity} WHEN 'call' THEN 'phone' WHEN 'email' THEN 'email' "
                   f"WHEN 'meeting' THEN 'meeting' WHEN 'task' THEN CASE WHEN {subtype} = "
                   f"'linkedin' THEN 'social' END END")
        attrs = {"object": f"'{kind}'", "activity_id": text("a." + rid),
                 "subject": text(c("Subject")), "type": text(c("Type")),
                 "subtype": f"NULLIF({subtype}, '')",
                 "what_id": what, "who_id": who}
        if kind == "Task":
            attrs.update(status=text(c("Status")), priority=text(c("Priority")),
                         call_type=text(c("CallType")),
                         call_disposition=text(c("CallDisposition")),
                         call_duration_seconds=number(c("CallDurationInSeconds")))
        else:
            attrs.update(location=text(c("Location")),
                         duration_minutes=number(c("DurationInMinutes")))
        parts.events.append(event_select(
            a, ts=ts, activity=activity, account_id=account,
            contact_id=_prefixed_id(who, CONTACT_PREFIX), channel=channel,
            owner=text(c("OwnerId")),
            text_=f"coalesce({text(c('Description'))}, {text(c('Subject'))})",
            source=SOURCE, attributes=attrs,
        ))

    def _cases(self, con: duckdb.DuckDBPyConnection, raw: RawFile, parts: Parts,
               opts: dict) -> None:
        rid = raw.require("Id", "Id")
        created = raw.require("CreatedDate", "CreatedDate")
        closed = raw.column("ClosedDate")
        check(con, raw, "timestamp", [created, closed], **opts)
        check(con, raw, "flag", [raw.column("IsClosed"), raw.column("IsEscalated")], **opts)
        rows = good_rows(raw)
        origin = text(raw.column("Origin"))
        common = {"account_id": text(raw.column("AccountId")),
                  "contact_id": text(raw.column("ContactId")),
                  "owner": text(raw.column("OwnerId")), "source": SOURCE,
                  "text_": f"coalesce({text(raw.column('Description'))}, "
                           f"{text(raw.column('Subject'))})"}
        attrs = {"object": "'Case'", "case_id": text(rid),
                 "case_number": text(raw.column("CaseNumber")),
                 "subject": text(raw.column("Subject")), "status": text(raw.column("Status")),
                 "priority": text(raw.column("Priority")), "origin": origin,
                 "type": text(raw.column("Type")), "reason": text(raw.column("Reason")),
                 "escalated": flag(raw.column("IsEscalated"))}
        channel = (f"CASE lower({origin}) WHEN 'web' THEN 'web' WHEN 'phone' THEN 'phone' "
                   f"WHEN 'email' THEN 'email' WHEN 'chat' THEN 'chat' ELSE lower({origin}) END")
        parts.events.append(event_select(rows, ts=timestamp(created), activity="'ticket_created'",
                                         channel=channel, attributes=attrs, **common))
        if closed is not None:
            is_closed = raw.column("IsClosed")
            where = f"coalesce({flag(is_closed)}, true)" if is_closed else None
            parts.events.append(event_select(rows, ts=timestamp(closed),
                                             activity="'ticket_closed'", attributes=attrs,
                                             where=where, **common))
