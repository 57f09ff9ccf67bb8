"""A small journey map and hand-made journeys whose analytics can be computed by hand, for the
touchpoint, attribution, handover and committee tests.

`journeys` turns compact journeys into prepared, stepped events on the engine under test.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from journeyscope.analytics.base import with_steps
from journeyscope.events.schema import EVENTS_SCHEMA
from journeyscope.model.types import JourneyMap

T0 = dt.datetime(2025, 1, 1)

TINY_MAP = {
    "name": "Tiny",
    "stages": [
        {"id": "aware", "name": "Aware", "time_standard": "P10D"},
        {"id": "consider", "name": "Consider", "time_standard": "P10D"},
        {"id": "decide", "name": "Decide", "time_standard": "P10D"},
        {"id": "onboard", "name": "Onboard", "time_standard": "P20D"},
        {"id": "cessation", "name": "Cessation", "time_standard": "P30D"},
    ],
    "personas": [
        {"id": "buyer", "name": "Buyer"},
        {"id": "user", "name": "User"},
        {"id": "it", "name": "IT"},
    ],
    "touchpoints": [
        {"id": "ad", "stage": "aware", "name": "Ad", "channels": ["web"], "owner": "marketing",
         "personas": ["user"], "next": ["call"],
         "kpis": [{"name": "Accounts reached", "unit": "count", "target": 3, "measure": "reach"},
                  {"name": "Share reached", "unit": "percent", "target": 90,
                   "measure": "reach"}]},
        {"id": "call", "stage": "aware", "name": "Call", "channels": ["phone"], "owner": "sdr",
         "personas": ["buyer"], "next": [{"to": "demo", "time_standard": "P2D"}],
         "kpis": [{"name": "Calls to later stage", "unit": "ratio", "target": 0.5,
                   "measure": "conversion"}]},
        {"id": "demo", "stage": "consider", "name": "Demo", "channels": ["video"],
         "owner": "sales", "personas": ["buyer", "it"], "next": ["proposal"],
         "kpis": [{"name": "Days to next", "unit": "days", "target": 2, "direction": "lower",
                   "measure": "time_to_next"},
                  {"name": "Gap from the call", "unit": "days", "target": 2,
                   "direction": "lower", "measure": "handover_gap"}]},
        {"id": "webinar", "stage": "consider", "name": "Webinar", "channels": ["video"],
         "owner": "marketing", "personas": ["user"], "next": ["demo"]},
        {"id": "proposal", "stage": "decide", "name": "Proposal", "channels": ["email"],
         "owner": "sales", "personas": ["buyer", "user"],
         "next": [{"to": "kickoff", "time_standard": "P3D"}],
         "kpis": [{"name": "Win rate", "unit": "ratio", "target": 0.5, "measure": "win_rate"},
                  {"name": "Days in decision", "unit": "days", "target": 10,
                   "direction": "lower", "measure": "time_in_stage"}]},
        {"id": "kickoff", "stage": "onboard", "name": "Kickoff", "channels": ["meeting"],
         "owner": "onboarding", "personas": ["user"],
         "kpis": [{"name": "Kickoff CSAT", "unit": "score", "target": 4, "measure": "csat"}]},
        {"id": "exit", "stage": "cessation", "name": "Exit", "channels": ["email"],
         "owner": "success", "personas": ["buyer"]},
    ],
    "outcomes": {"won": {"activity": ["deal_won"]}, "lost": {"activity": ["deal_lost"]},
                 "renewed": {"activity": ["renewed"]}, "churned": {"activity": ["cancelled"]}},
}

STAGE_OF = {tp["id"]: tp["stage"] for tp in TINY_MAP["touchpoints"]}
OWNER_OF = {tp["id"]: tp["owner"] for tp in TINY_MAP["touchpoints"]}
CHANNEL_OF = {tp["id"]: tp["channels"][0] for tp in TINY_MAP["touchpoints"]}
STAGE_INDEX = {s["id"]: i for i, s in enumerate(TINY_MAP["stages"])}
OUTCOME_OWNER = {"deal_won": "sales", "deal_lost": "sales", "renewed": "success",
                 "cancelled": "success"}
OUTCOME_OF = {"deal_won": "won", "deal_lost": "lost", "renewed": "renewed",
              "cancelled": "churned"}


@pytest.fixture
def tiny_map() -> JourneyMap:
    return JourneyMap(**TINY_MAP)


def event_rows(journeys: dict[str, list[tuple]]) -> list[dict]:
    """Events from compact journeys: account -> [(day, touchpoint or outcome activity,
    persona, value, score, owner), ...] (trailing items optional). Touchpoint, stage, outcome,
    contact, channel and owner (unless given; "" for none) are filled as matching would."""
    rows = []
    seq = 0
    for account, steps in journeys.items():
        for step in steps:
            day, what, *rest = step
            persona, value, score, owner = (list(rest) + [None] * 4)[:4]
            if owner is None:
                owner = OWNER_OF.get(what) or OUTCOME_OWNER.get(what)
            tp = what if what in STAGE_OF else None
            rows.append({
                "account_id": account,
                "contact_id": f"{account}-{persona}" if persona else None,
                "ts": T0 + dt.timedelta(days=day),
                "activity": what,
                "channel": CHANNEL_OF.get(what, "meeting"),
                "owner": owner or None,
                "persona": persona,
                "value": value,
                "score": score,
                "touchpoint": tp,
                "stage": STAGE_OF.get(what),
                "outcome": OUTCOME_OF.get(what),
                "seq": seq,
            })
            seq += 1
    return rows


def events_table(journeys: dict[str, list[tuple]]) -> pa.Table:
    schema = pa.schema(
        [f for f in EVENTS_SCHEMA if f.name not in ("attributes", "event_key", "text",
                                                    "source", "seq", "stage_index")]
        + [pa.field("seq", pa.int64()), pa.field("stage_index", pa.int16())]
    )
    rows = event_rows(journeys)
    for r in rows:
        r["stage_index"] = STAGE_INDEX.get(r["stage"]) if r["stage"] else None
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture
def journeys(load):
    """Compact journeys to prepared, stepped events on the engine under test (the `load`
    fixture of tests/analytics/conftest.py runs each test on DuckDB and on PySpark)."""

    def make(spec: dict[str, list[tuple]], *, contacts: list[dict] | None = None):
        """The events; with `contacts` rows, (events, contacts) on the same backend."""
        if contacts is None:
            return with_steps(load(events=events_table(spec)).table("events"))
        source = load(events=events_table(spec), contacts=pa.Table.from_pylist(
            contacts, schema=pa.schema([("contact_id", pa.string()), ("persona", pa.string())])))
        return with_steps(source.table("events")), source.table("contacts")

    return make


# Four accounts; expected figures in the tests are worked out by hand from these.
JOURNEYS = {
    "A1": [(0, "ad", "user"), (1, "call", "buyer"), (3, "demo", "buyer"),
           (5, "proposal", "buyer"), (6, "deal_won", None, 100.0),
           (10, "kickoff", "user", None, 5.0)],
    "A2": [(0, "call", "buyer"), (4, "demo", "it"), (8, "deal_lost")],
    "A3": [(0, "ad", "user"), (2, "deal_lost")],
    "A4": [(0, "ad", "user"), (1, "call", "buyer"), (2, "demo", "buyer"),
           (3, "proposal", "buyer"), (4, "deal_won", None, 300.0),
           (9, "kickoff", "user", None, 3.0)],
}


@pytest.fixture
def events(journeys):
    """The four accounts of JOURNEYS as prepared, stepped events."""
    return journeys(JOURNEYS)


def rows_by(table: ibis.Table, *key: str) -> dict:
    """An executed result keyed by one or more columns."""
    out = {}
    for row in table.to_pyarrow().to_pylist():
        out[row[key[0]] if len(key) == 1 else tuple(row[k] for k in key)] = row
    return out


@pytest.fixture
def by():
    return rows_by


@pytest.fixture
def arrow_events():
    """Compact journeys to an Arrow events table (for tests that open their own engine)."""
    return events_table
