"""The buying committee: which personas of an account the vendor actually engaged, stage by
stage, how the win rate grows with the coverage of the committee, and which personas the map
expects in a stage (or at a touchpoint) that the data shows are never reached.

A persona is *engaged* at a touchpoint (and so in its stage) when an event of the account
matched to the touchpoint carries the persona (the contact's role, filled by the map's title
rules when the source had none). Given `contacts`, an event without a persona takes its
contact's. Every analysis here reads one small table, `engagement`: the first time each
persona of each account was met at each touchpoint; an analysis run computes it once and hands
it to all of them (`engaged=`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import account_outcomes, ratio
from journeyscope.analytics.journey import STRINGS, Codes, distinct_count
from journeyscope.analytics.touchpoints import map_touchpoints
from journeyscope.model.types import JourneyMap


def with_contact_personas(
    events: ir.Table,
    contacts: ir.Table | None,
    *,
    contact: str = "contact_id",
    persona: str = "persona",
) -> ir.Table:
    """`events` whose missing persona is filled from their contact's persona in `contacts` (the
    role the map's title rules gave the contact); `events` unchanged without `contacts`."""
    if contacts is None:
        return events
    known = contacts.filter(contacts[persona].notnull())
    known = known.group_by(_contact=known[contact]).aggregate(_persona=known[persona].min())
    j = events.left_join(known, events[contact] == known._contact)
    return j.mutate(**{persona: ibis.coalesce(j[persona], j._persona)}).drop(
        "_contact", "_persona"
    )


def engagement(
    events: ir.Table,
    *,
    contacts: ir.Table | None = None,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    ts: str = "ts",
    contact: str = "contact_id",
) -> ir.Table:
    """One row per account, touchpoint and persona met there (persona null for the events
    without one): `account`, `touchpoint`, `persona`, `first_ts`."""
    events = with_contact_personas(events, contacts, contact=contact, persona=persona)
    met = events.filter(events[touchpoint].notnull())
    return met.group_by(
        account=met[account], touchpoint=met[touchpoint], persona=met[persona]
    ).aggregate(first_ts=met[ts].min())


def _engaged(events: ir.Table, engaged: ir.Table | None, contacts: ir.Table | None,
             names: dict[str, str]) -> ir.Table:
    if engaged is not None:
        return engaged
    return engagement(events, contacts=contacts, **names)


def _at(engaged: ir.Table, journey_map: JourneyMap, by: str, codes: Codes) -> ir.Table:
    """`engaged` with `place`: its touchpoint, or the touchpoint's stage."""
    if by == "touchpoint":
        return engaged.mutate(place=engaged.touchpoint)
    stages = map_touchpoints(journey_map, codes=codes).select("touchpoint", place="tp_stage")
    return engaged.join(stages, "touchpoint")


def _decisions(outcomes: ir.Table, account: str) -> ir.Table:
    return outcomes.select(
        account=outcomes[account], won=outcomes.won,
        decided_ts=ibis.coalesce(outcomes.won_ts, outcomes.lost_ts),
    )


def personas_per_stage(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    engaged: ir.Table | None = None,
    contacts: ir.Table | None = None,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    ts: str = "ts",
    contact: str = "contact_id",
    codes: Codes = STRINGS,
) -> ir.Table:
    """Distinct personas engaged per stage per account: `account`, `stage`, `personas`."""
    e = _at(_engaged(events, engaged, contacts, dict(
        account=account, touchpoint=touchpoint, persona=persona, ts=ts, contact=contact)),
        journey_map, "stage", codes)
    return e.group_by("account", stage=e.place).aggregate(
        personas=distinct_count(e.persona, codes, "persona"))


BY_STAGE_SCHEMA = pa.schema([
    ("stage", pa.string()), ("accounts", pa.int64()), ("personas_mean", pa.float64()),
    ("personas_median", pa.float64()), ("personas_max", pa.int64()),
    ("expected_personas", pa.int64()),
])


def committee_by_stage(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    engaged: ir.Table | None = None,
    contacts: ir.Table | None = None,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    ts: str = "ts",
    contact: str = "contact_id",
    codes: Codes = STRINGS,
) -> ir.Table:
    """Per stage of the map: accounts in the stage and the distinct personas engaged per
    account (mean, median, max), against the personas the map expects there."""
    per = personas_per_stage(events, journey_map, engaged=engaged, contacts=contacts,
                             account=account, touchpoint=touchpoint, persona=persona, ts=ts,
                             contact=contact, codes=codes)
    agg = {r["stage"]: r for r in per.group_by("stage").aggregate(
        accounts=per.count(),
        personas_mean=per.personas.mean(),
        personas_median=per.personas.median(),
        personas_max=per.personas.max(),
    ).to_pyarrow().to_pylist()}
    expected = _expected(journey_map, "stage")
    rows = []
    for stage in journey_map.stage_ids():
        r = agg.get(stage, {})
        rows.append({"stage": stage, "accounts": r.get("accounts") or 0,
                     "personas_mean": r.get("personas_mean"),
                     "personas_median": r.get("personas_median"),
                     "personas_max": r.get("personas_max") or 0,
                     "expected_personas": len(expected[stage])})
    return ibis.memtable(pa.Table.from_pylist(rows, schema=BY_STAGE_SCHEMA))


COVERAGE_SCHEMA = pa.schema([
    ("coverage", pa.int64()), ("coverage_share", pa.float64()), ("accounts", pa.int64()),
    ("won", pa.int64()), ("win_rate", pa.float64()),
])


def win_rate_by_coverage(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    outcomes: ir.Table | None = None,
    engaged: ir.Table | None = None,
    contacts: ir.Table | None = None,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    ts: str = "ts",
    contact: str = "contact_id",
    outcome: str = "outcome",
) -> ir.Table:
    """Win rate by the number of distinct personas engaged before the decision (the first won,
    else the first lost event; every touchpoint event for an account not yet decided):
    `coverage`, `coverage_share` (of the map's personas), `accounts`, `won`, `win_rate`."""
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome)
    e = _engaged(events, engaged, contacts, dict(
        account=account, touchpoint=touchpoint, persona=persona, ts=ts, contact=contact))
    e = e.filter(e.persona.notnull())
    e = e.group_by("account", "persona").aggregate(first_ts=e.first_ts.min())
    o = _decisions(outcomes, account)
    j = e.join(o.select("account", "decided_ts"), "account")
    j = j.filter(j.decided_ts.isnull() | (j.first_ts <= j.decided_ts))
    covered = j.group_by("account").aggregate(coverage=j.count())
    a = o.left_join(covered, "account")
    a = a.mutate(coverage=a.coverage.fill_null(0))
    g = a.group_by("coverage").aggregate(accounts=a.count(), won=a.won.cast("int64").sum())
    n_personas = len(journey_map.personas)
    rows = [{"coverage": r["coverage"],
             "coverage_share": r["coverage"] / n_personas if n_personas else None,
             "accounts": r["accounts"], "won": r["won"],
             "win_rate": ratio(r["won"], r["accounts"])}
            for r in sorted(g.to_pyarrow().to_pylist(), key=lambda r: r["coverage"])]
    return ibis.memtable(pa.Table.from_pylist(rows, schema=COVERAGE_SCHEMA))


def _expected(journey_map: JourneyMap, by: str) -> dict[str, list[str]]:
    """Personas the map expects per stage (those of its touchpoints) or per touchpoint."""
    out: dict[str, list[str]] = {}
    if by == "stage":
        for s in journey_map.stage_ids():
            seen: dict[str, None] = {}
            for tp in journey_map.touchpoints_in(s):
                for p in tp.personas:
                    seen.setdefault(p, None)
            out[s] = list(seen)
    else:
        for tp in journey_map.touchpoints:
            out[tp.id] = list(dict.fromkeys(tp.personas))
    return out


def persona_reach(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    by: str = "stage",
    outcomes: ir.Table | None = None,
    engaged: ir.Table | None = None,
    contacts: ir.Table | None = None,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    persona: str = "persona",
    ts: str = "ts",
    contact: str = "contact_id",
    outcome: str = "outcome",
    codes: Codes = STRINGS,
) -> ir.Table:
    """For each persona the map expects in a stage (`by="stage"`) or at a touchpoint
    (`by="touchpoint"`): accounts that got there, accounts where the persona was engaged there,
    `reach_share`, `never_reached` (accounts got there, none engaged the persona), and the win
    rate of the accounts that got there before their decision with the persona engaged there
    before the decision against those without (`win_rate_engaged`, `win_rate_absent`,
    `win_lift`)."""
    if by not in ("stage", "touchpoint"):
        raise ValueError(f"by must be 'stage' or 'touchpoint', not {by!r}")
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome)
    e = _at(_engaged(events, engaged, contacts, dict(
        account=account, touchpoint=touchpoint, persona=persona, ts=ts, contact=contact)),
        journey_map, by, codes)
    o = _decisions(outcomes, account)
    at_place = e.group_by("account", "place").aggregate(first_ts=e.first_ts.min())
    at_place = at_place.join(o, "account")
    before = at_place.decided_ts.isnull() | (at_place.first_ts <= at_place.decided_ts)
    there = {r["place"]: r for r in at_place.group_by("place").aggregate(
        accounts=at_place.count(),
        accounts_before=before.cast("int64").sum(),
        won_before=(before & at_place.won).cast("int64").sum(),
    ).to_pyarrow().to_pylist()}
    with_persona = e.filter(e.persona.notnull())
    with_persona = with_persona.group_by("account", "place", "persona").aggregate(
        first_ts=with_persona.first_ts.min()
    ).join(o, "account")
    before = with_persona.decided_ts.isnull() | (with_persona.first_ts <= with_persona.decided_ts)
    engaged_n = {(r["place"], r["persona"]): r for r in with_persona.group_by(
        "place", "persona").aggregate(
        engaged=with_persona.count(),
        engaged_before=before.cast("int64").sum(),
        engaged_won=(before & with_persona.won).cast("int64").sum(),
    ).to_pyarrow().to_pylist()}
    place_key = (lambda p: codes.key("touchpoint", p)) if by == "touchpoint" else (lambda p: p)
    rows = []
    for place, personas in _expected(journey_map, by).items():
        t = there.get(place_key(place), {})
        for p in personas:
            g = engaged_n.get((place_key(place), codes.key("persona", p)), {})
            accounts, n_engaged = t.get("accounts") or 0, g.get("engaged") or 0
            engaged_before, engaged_won = g.get("engaged_before") or 0, g.get("engaged_won") or 0
            rate_engaged = ratio(engaged_won, engaged_before)
            rate_absent = ratio((t.get("won_before") or 0) - engaged_won,
                                 (t.get("accounts_before") or 0) - engaged_before)
            rows.append({by: place, "persona": p, "accounts": accounts, "engaged": n_engaged,
                         "reach_share": ratio(n_engaged, accounts),
                         "never_reached": accounts > 0 and n_engaged == 0,
                         "win_rate_engaged": rate_engaged, "win_rate_absent": rate_absent,
                         "win_lift": ratio(rate_engaged, rate_absent)})
    schema = pa.schema([(by, pa.string()), ("persona", pa.string()), ("accounts", pa.int64()),
                        ("engaged", pa.int64()), ("reach_share", pa.float64()),
                        ("never_reached", pa.bool_()), ("win_rate_engaged", pa.float64()),
                        ("win_rate_absent", pa.float64()), ("win_lift", pa.float64())])
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema))
