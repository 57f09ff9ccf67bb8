"""The buying committee: which personas of an account the vendor actually engaged, stage by
stage, how the win rate grows with the coverage of the committee, and which personas the map
expects in a stage (or at a touchpoint) that the data shows are never reached.

A persona is *engaged* in a stage when an event of the account in that stage carries the
persona (the contact's role, filled by the map's title rules when the source had none). Given
`contacts`, an event without a persona takes its contact's.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import account_outcomes
from journeyscope.analytics.touchpoints import safe_ratio
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


def personas_per_stage(
    events: ir.Table,
    *,
    account: str = "account_id",
    stage: str = "stage",
    persona: str = "persona",
    contacts: ir.Table | None = None,
    contact: str = "contact_id",
) -> ir.Table:
    """Distinct personas engaged per stage per account: `account`, `stage`, `personas`."""
    events = with_contact_personas(events, contacts, contact=contact, persona=persona)
    e = events.filter(events[stage].notnull())
    return e.group_by(account=e[account], stage=e[stage]).aggregate(
        personas=e[persona].nunique()
    )


def committee_by_stage(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    stage: str = "stage",
    persona: str = "persona",
    contacts: ir.Table | None = None,
    contact: str = "contact_id",
) -> ir.Table:
    """Per stage of the map: accounts in the stage and the distinct personas engaged per
    account (mean, median, max), against the personas the map expects there."""
    events = with_contact_personas(events, contacts, contact=contact, persona=persona)
    per = personas_per_stage(events, account=account, stage=stage, persona=persona)
    stages = ibis.memtable(pa.table({
        "position": pa.array(range(len(journey_map.stages)), pa.int32()),
        "stage": pa.array(journey_map.stage_ids(), pa.string()),
        "expected_personas": pa.array(
            [len(_expected(journey_map, "stage")[s]) for s in journey_map.stage_ids()],
            pa.int64()),
    }))
    agg = per.group_by("stage").aggregate(
        accounts=per.count(),
        personas_mean=per.personas.mean(),
        personas_median=per.personas.median(),
        personas_max=per.personas.max(),
    )
    r = stages.left_join(agg, "stage")
    out = r.select(
        "position", stage=r.stage, accounts=r.accounts.fill_null(0),
        personas_mean=r.personas_mean, personas_median=r.personas_median,
        personas_max=r.personas_max.fill_null(0), expected_personas=r.expected_personas,
    )
    return out.order_by("position").drop("position")


def win_rate_by_coverage(
    events: ir.Table,
    journey_map: JourneyMap,
    *,
    outcomes: ir.Table | None = None,
    account: str = "account_id",
    ts: str = "ts",
    persona: str = "persona",
    contacts: ir.Table | None = None,
    contact: str = "contact_id",
    outcome: str = "outcome",
) -> ir.Table:
    """Win rate by the number of distinct personas engaged before the decision (the first won,
    else the first lost event; every event for an account not yet decided): `coverage`,
    `coverage_share` (of the map's personas), `accounts`, `won`, `win_rate`."""
    events = with_contact_personas(events, contacts, contact=contact, persona=persona)
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome)
    o = outcomes.select(
        account=outcomes[account], won=outcomes.won,
        decided_ts=ibis.coalesce(outcomes.won_ts, outcomes.lost_ts),
    )
    e = events.filter(events[persona].notnull()).select(
        account=events[account], ts=events[ts], persona=events[persona]
    )
    j = e.join(o.select("account", "decided_ts"), "account")
    j = j.filter(j.decided_ts.isnull() | (j.ts <= j.decided_ts))
    covered = j.group_by("account").aggregate(coverage=j.persona.nunique())
    a = o.left_join(covered, "account")
    a = a.mutate(coverage=a.coverage.fill_null(0))
    n_personas = len(journey_map.personas)
    g = a.group_by("coverage").aggregate(accounts=a.count(), won=a.won.sum())
    return g.select(
        "coverage",
        coverage_share=(g.coverage / n_personas) if n_personas else ibis.null().cast("float64"),
        accounts=g.accounts,
        won=g.won,
        win_rate=safe_ratio(g.won, g.accounts),
    ).order_by("coverage")


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
    account: str = "account_id",
    ts: str = "ts",
    persona: str = "persona",
    contacts: ir.Table | None = None,
    contact: str = "contact_id",
    outcome: str = "outcome",
) -> ir.Table:
    """For each persona the map expects in a stage (`by="stage"`) or at a touchpoint
    (`by="touchpoint"`): accounts that got there, accounts where the persona was engaged there,
    `reach_share`, `never_reached` (accounts got there, none engaged the persona), and the win
    rate of the accounts that got there before their decision with the persona engaged there
    before the decision against those without (`win_rate_engaged`, `win_rate_absent`,
    `win_lift`)."""
    events = with_contact_personas(events, contacts, contact=contact, persona=persona)
    if by not in ("stage", "touchpoint"):
        raise ValueError(f"by must be 'stage' or 'touchpoint', not {by!r}")
    if outcomes is None:
        outcomes = account_outcomes(events, account=account, ts=ts, outcome=outcome)
    expected = _expected(journey_map, by)
    rows = [(place, p) for place, personas in expected.items() for p in personas]
    pairs = ibis.memtable(pa.table({
        "position": pa.array(range(len(rows)), pa.int32()),
        "place": pa.array([r[0] for r in rows], pa.string()),
        "persona": pa.array([r[1] for r in rows], pa.string()),
    }))
    o = outcomes.select(
        account=outcomes[account], won=outcomes.won,
        decided_ts=ibis.coalesce(outcomes.won_ts, outcomes.lost_ts),
    )
    e = events.filter(events[by].notnull()).select(
        account=events[account], place=events[by], persona=events[persona], ts=events[ts]
    )
    e = e.join(o, "account")
    e = e.mutate(before=e.decided_ts.isnull() | (e.ts <= e.decided_ts))
    there = e.group_by("place").aggregate(
        accounts=e.account.nunique(),
        accounts_before=e.account.nunique(where=e.before),
        won_before=e.account.nunique(where=e.before & e.won),
    )
    engaged_e = e.filter(e.persona.notnull())
    engaged = engaged_e.group_by("place", "persona").aggregate(
        engaged=engaged_e.account.nunique(),
        engaged_before=engaged_e.account.nunique(where=engaged_e.before),
        engaged_won=engaged_e.account.nunique(where=engaged_e.before & engaged_e.won),
    )
    r = pairs.left_join(there, "place").left_join(engaged, ["place", "persona"])
    accounts = r.accounts.fill_null(0)
    engaged_n = r.engaged.fill_null(0)
    engaged_before = r.engaged_before.fill_null(0)
    engaged_won = r.engaged_won.fill_null(0)
    rate_engaged = safe_ratio(engaged_won, engaged_before)
    rate_absent = safe_ratio(r.won_before.fill_null(0) - engaged_won,
                             r.accounts_before.fill_null(0) - engaged_before)
    out = r.select(
        position=r.position,
        **{by: r.place},
        persona=r.persona,
        accounts=accounts,
        engaged=engaged_n,
        reach_share=safe_ratio(engaged_n, accounts),
        never_reached=(accounts > 0) & (engaged_n == 0),
        win_rate_engaged=rate_engaged,
        win_rate_absent=rate_absent,
        win_lift=safe_ratio(rate_engaged, rate_absent),
    )
    return out.order_by("position").drop("position")
