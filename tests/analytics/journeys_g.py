"""A small subscription journey whose retention and pain points are counted by hand (shared by
test_retention.py and test_painpoints.py).

A  (enterprise, 100): demo, contract, won day 3, kickoff day 4 rated 1 and day 12 (8 days at
   a 5-day touchpoint), care, renewal talk, churned day 31.
B  (enterprise, 50): demo, contract day 2, won day 3, kickoff only day 10 (8 days after the
   contract on a 2-day link), rated 5, care, renewal talk, renewed.
C  (smb, 80): demo, won day 2, kickoff days 3 and 4 (rated 4), back to a demo on day 5,
   kickoff day 6, care, renewal talk, renewed.
D  (smb, 40): demo, then lost.
E  (smb, 60): demo, still open.
"""

from __future__ import annotations

from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "subscription",
    "stages": [
        {"id": "buy", "name": "Buy", "phase": "pre-purchase", "time_standard": "P10D"},
        {"id": "onboard", "name": "Onboard", "phase": "post-purchase", "time_standard": "P10D"},
        {"id": "care", "name": "Care", "phase": "post-purchase"},
        {"id": "renewal", "name": "Renewal", "phase": "post-purchase"},
    ],
    "touchpoints": [
        {"id": "demo", "stage": "buy", "name": "Demo", "owner": "sales", "next": ["contract"],
         "match": {"activity": ["demo"]}},
        {"id": "contract", "stage": "buy", "name": "Contract", "owner": "sales",
         "next": [{"to": "kickoff", "time_standard": "P2D"}],
         "match": {"activity": ["contract"]}},
        {"id": "kickoff", "stage": "onboard", "name": "Kickoff", "owner": "onboarding",
         "time_standard": "P5D", "next": ["care"],
         "kpis": [{"name": "Kickoff CSAT", "target": 4, "measure": "csat"}],
         "pain_points": [{"id": "slow", "text": "Kickoff drags on", "severity": "medium"},
                         {"id": "bad", "text": "Kickoff confuses", "severity": "high"}],
         "opportunities": [{"text": "Shorter kickoff", "addresses": ["slow"]},
                           {"text": "Clear agenda", "addresses": ["bad"]}],
         "match": {"activity": ["kickoff"]}},
        {"id": "care", "stage": "care", "name": "Care", "owner": "success",
         "next": ["renew"], "match": {"activity": ["care"]}},
        {"id": "renew", "stage": "renewal", "name": "Renewal talk", "owner": "success",
         "match": {"activity": ["renew"]}},
        {"id": "goodbye", "stage": "renewal", "name": "Offboarding", "owner": "success",
         "match": {"activity": ["goodbye"]}},
    ],
    "outcomes": {"won": {"activity": ["deal_won"]}, "lost": {"activity": ["deal_lost"]},
                 "churned": {"activity": ["cancelled"]}, "renewed": {"activity": ["renewed"]},
                 "expanded": {"activity": ["expanded"]}},
})

_STAGE = {"demo": "buy", "contract": "buy", "kickoff": "onboard", "care": "care",
          "renew": "renewal", "goodbye": "renewal"}
_OUTCOME = {"deal_won": "won", "deal_lost": "lost", "cancelled": "churned",
            "renewed": "renewed", "expanded": "expanded"}


def ev(account: str, activity: str, day: int, score: float | None = None) -> dict:
    return {"account_id": account, "ts": f"2024-01-{day:02d} 10:00", "activity": activity,
            "touchpoint": activity if activity in _STAGE else None,
            "stage": _STAGE.get(activity), "outcome": _OUTCOME.get(activity), "score": score,
            "value": {"deal_won": 1.0}.get(activity)}


EVENTS = [
    ev("A", "demo", 1), ev("A", "contract", 2), ev("A", "deal_won", 3),
    ev("A", "kickoff", 4, 1.0), ev("A", "kickoff", 12), ev("A", "care", 20),
    ev("A", "renew", 30), ev("A", "cancelled", 31),
    ev("B", "demo", 1), ev("B", "contract", 2), ev("B", "deal_won", 3),
    ev("B", "kickoff", 10, 5.0), ev("B", "care", 20), ev("B", "renew", 30),
    ev("B", "renewed", 31),
    ev("C", "demo", 1), ev("C", "deal_won", 2), ev("C", "kickoff", 3, 4.0),
    ev("C", "kickoff", 4), ev("C", "demo", 5), ev("C", "kickoff", 6), ev("C", "care", 20),
    ev("C", "renew", 30), ev("C", "renewed", 31),
    ev("D", "demo", 1), ev("D", "deal_lost", 2),
    ev("E", "demo", 1),
]

ACCOUNTS = [
    {"account_id": "A", "segment": "enterprise", "value": 100.0},
    {"account_id": "B", "segment": "enterprise", "value": 50.0},
    {"account_id": "C", "segment": "smb", "value": 80.0},
    {"account_id": "D", "segment": "smb", "value": 40.0},
    {"account_id": "E", "segment": "smb", "value": 60.0},
]
