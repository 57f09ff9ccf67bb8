"""The truth file of the demo data: which effects were planted, with which parameters, how to
measure them, and what they amount to in the generated events.

`Tally` adds up, chunk by chunk, the account-level facts the simulation knows (who was late,
who met a reference, who migrated) restricted to what the written events show (events after the
reference date or a stall are never written), so that an analysis of the files can be compared
with `observed` exactly, not only with the planted parameters.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

from journeyscope.events import demo_journeys as j
from journeyscope.events.demo_journeys import EPOCH, ChunkEvents, Standards, calendar_days
from journeyscope.events.demo_people import People
from journeyscope.events.demo_vocab import ACTIVITY_CODE, ACTIVITY_NAMES

MATURE_HANDOVER_DAYS = 200  # (a) counts leads qualified at least this long before the end
MATURE_DECISION_DAYS = 120  # (b), (c) count accounts in decision at least this long before
OUTCOME_ACTIVITIES = {"won": "deal_won", "lost": "deal_lost", "churned": "contract_cancelled",
                      "renewed": "contract_renewed", "expanded": "expansion_signed"}
CSAT_ACTIVITIES = ("training_csat", "migration_csat", "ticket_csat")


def _rate(hits: float, n: float) -> float | None:
    return round(hits / n, 4) if n else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


class Tally:
    """Counts over all chunks of one generation run."""

    def __init__(self, std: Standards, reference_date: dt.date):
        self.std = std
        self.reference_date = reference_date
        self.end_day = (reference_date - EPOCH).days + 1  # calendar days since EPOCH
        self.c: dict[str, float] = defaultdict(float)
        k = len(ACTIVITY_NAMES)
        self.activity_counts = np.zeros(k, dtype=np.int64)
        self.score_sum = np.zeros(k)
        self.score_n = np.zeros(k, dtype=np.int64)
        self.first_b = np.inf
        self.last_b = -np.inf

    def add(self, chunk: ChunkEvents, people: People) -> None:
        f, c, std = chunk.facts, self.c, self.std
        limit, value = f["limit"], f["value"]

        def seen(t: np.ndarray) -> np.ndarray:
            return t < limit

        # (a) the handover from sales development to sales
        mature = f["qualified"] & seen(f["t_lq"]) & (
            calendar_days(f["t_lq"]) < self.end_day - MATURE_HANDOVER_DAYS)
        reached = f["reach"] & seen(f["t_dec"])
        for tag, group in (("on_time", ~f["late"]), ("late", f["late"])):
            c[f"a_{tag}_n"] += int((mature & group).sum())
            c[f"a_{tag}_reached"] += int((mature & group & reached).sum())
        # (b) the reference check, (c) the end user in the decision stage
        mature = reached & (calendar_days(f["t_dec"]) < self.end_day - MATURE_DECISION_DAYS)
        won = f["won"] & seen(f["t_out"])
        for key, flag in (("b", f["reference"]), ("c", f["eu_present"])):
            for tag, group in (("with", flag), ("without", ~flag)):
                c[f"{key}_{tag}_n"] += int((mature & group).sum())
                c[f"{key}_{tag}_won"] += int((mature & group & won).sum())
        # (d) the data migration
        migrated = f["migrated"] & seen(f["mig_start"])
        c["d_won"] += int(won.sum())
        c["d_won_value"] += float(value[won].sum())
        c["d_migrated"] += int(migrated.sum())
        c["d_migrated_value"] += float(value[migrated].sum())
        done = f["migrated"] & seen(f["mig_done"])
        took = calendar_days(f["mig_done"]) - calendar_days(f["mig_start"])
        c["d_done"] += int(done.sum())
        c["d_done_late"] += int((done & (took > std.migration)).sum())
        c["d_done_days"] += float(took[done].sum())
        c["d_regressed"] += int((done & f["regress"]).sum())
        decided = f["won"] & seen(f["t_end"])
        for tag, group in (("migrated", f["migrated"]), ("not_migrated", ~f["migrated"])):
            c[f"d_{tag}_decided"] += int((decided & group).sum())
            c[f"d_{tag}_churned"] += int((decided & group & f["churn"]).sum())
        # stalled: planted, and all accounts over the standard in their stage now
        end = limit.max(initial=0.0)
        now_day = self.end_day
        natural = ~f["stall"]
        in_stage = {
            "awareness": (natural & (f["t0"] < end) & (~f["qualified"] | (f["t_disc"] >= end)),
                          f["t0"]),
            "consideration": (natural & f["qualified"] & (f["t_disc"] < end)
                              & (f["t_dec"] >= end), f["t_disc"]),
            "decision": (natural & f["reach"] & (f["t_dec"] < end) & (f["t_out"] >= end),
                         f["t_dec"]),
            "implementation": (natural & f["won"] & (f["t_kick"] < end) & (f["go_live"] >= end),
                               f["t_kick"]),
        }
        for stage, name in ((0, "awareness"), (1, "consideration"), (2, "decision"),
                            (3, "implementation")):
            planted = (f["stall_stage"] == stage) & f["stall"]
            c[f"stalled_{name}"] += int(planted.sum())
            now, entered = in_stage[name]
            over = now & (now_day - calendar_days(entered) > getattr(std, name))
            c[f"over_{name}"] += int((over | planted).sum())

        k = len(ACTIVITY_NAMES)
        self.activity_counts += np.bincount(chunk.activity, minlength=k)
        rated = ~np.isnan(chunk.score)
        self.score_sum += np.bincount(chunk.activity[rated], weights=chunk.score[rated],
                                      minlength=k)
        self.score_n += np.bincount(chunk.activity[rated], minlength=k)
        if len(chunk.b):
            self.first_b = min(self.first_b, float(chunk.b.min()))
            self.last_b = max(self.last_b, float(chunk.b.max()))

    def span(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        if not np.isfinite(self.first_b):
            return None, None

        def when(b: float) -> dt.datetime:
            seconds = int(np.floor(calendar_days(np.array([b]))[0] * 86400.0))
            return dt.datetime.combine(EPOCH, dt.time()) + dt.timedelta(seconds=seconds)

        return when(self.first_b), when(self.last_b)

    def _mean_score(self, activity: str) -> float | None:
        code = ACTIVITY_CODE[activity]
        n = self.score_n[code]
        return round(float(self.score_sum[code] / n), 3) if n else None

    def truth(self, *, seed: int, accounts: int, contacts: int, map_name: str) -> dict:
        """The TRUTH.json document (deterministic: no clock, rounded figures)."""
        c, std = self.c, self.std
        first, last = self.span()
        counts = {name: int(n) for name, n in zip(ACTIVITY_NAMES, self.activity_counts,
                                                  strict=True)}
        a_on = _rate(c["a_on_time_reached"], c["a_on_time_n"])
        a_late = _rate(c["a_late_reached"], c["a_late_n"])
        b_with, b_without = (_rate(c[f"b_{t}_won"], c[f"b_{t}_n"]) for t in ("with", "without"))
        c_with, c_without = (_rate(c[f"c_{t}_won"], c[f"c_{t}_n"]) for t in ("with", "without"))
        churn_m = _rate(c["d_migrated_churned"], c["d_migrated_decided"])
        churn_n = _rate(c["d_not_migrated_churned"], c["d_not_migrated_decided"])
        stages = ("consideration", "decision", "implementation")
        stalled = {s: int(c[f"stalled_{s}"]) for s in stages}
        over = {s: int(c[f"over_{s}"]) for s in ("awareness", *stages)}
        return {
            "generator": "journeyscope demo-data",
            "truth_format": 1,
            "seed": seed,
            "map": map_name,
            "accounts": accounts,
            "contacts": contacts,
            "events": int(self.activity_counts.sum()),
            "reference_date": self.reference_date.isoformat(),
            "first_event": first.isoformat() if first else None,
            "last_event": last.isoformat() if last else None,
            "activities": counts,
            "outcomes": {o: counts[a] for o, a in OUTCOME_ACTIVITIES.items()},
            "mean_scores": {a: self._mean_score(a) for a in (*CSAT_ACTIVITIES, "nps_survey")},
            "effects": {
                "handover_delay": {
                    "summary": "A lead that sales development hands to sales later than the "
                               "link's time standard reaches the decision stage half as often.",
                    "from_touchpoint": "sdr-qualification", "to_touchpoint": "consultation",
                    "from_owner": "sales-development", "to_owner": "sales",
                    "from_activity": "lead_qualified", "to_activity": "discovery_call",
                    "time_standard_days": std.sdr_handover,
                    "parameters": {"late_share": j.LATE_HANDOVER_SHARE,
                                   "conversion_on_time": j.REACH_DECISION_ON_TIME,
                                   "conversion_late": j.REACH_DECISION_LATE},
                    "measure": "per account: delay = first discovery_call - lead_qualified, late "
                               "when over the time standard; converted when a proposal_sent "
                               f"follows. Accounts qualified over {MATURE_HANDOVER_DAYS} days "
                               "before the reference date.",
                    "observed": {"on_time_accounts": int(c["a_on_time_n"]),
                                 "on_time_conversion": a_on,
                                 "late_accounts": int(c["a_late_n"]), "late_conversion": a_late,
                                 "late_to_on_time": _ratio(a_late, a_on)},
                },
                "touchpoint_win_rate": {
                    "summary": "Accounts that hold a reference call in the decision stage win "
                               "twice as often.",
                    "touchpoint": "reference-check", "activity": "reference_call",
                    "parameters": {"share": j.REFERENCE_SHARE, "base_win_rate": j.BASE_WIN,
                                   "win_factor": j.REFERENCE_WIN_FACTOR},
                    "measure": "win rate (deal_won) of accounts with a proposal_sent, with vs "
                               "without a reference_call; proposals over "
                               f"{MATURE_DECISION_DAYS} days before the reference date.",
                    "observed": {"with_accounts": int(c["b_with_n"]), "with_win_rate": b_with,
                                 "without_accounts": int(c["b_without_n"]),
                                 "without_win_rate": b_without,
                                 "with_to_without": _ratio(b_with, b_without)},
                },
                "persona_absence": {
                    "summary": "Deals where no end user takes part in a decision-stage event are "
                               "won half as often.",
                    "persona": "end-user", "stage": "decision",
                    "parameters": {"present_share_of_accounts_with_end_user":
                                   j.END_USER_IN_DECISION,
                                   "absent_win_factor": j.END_USER_ABSENT_WIN_FACTOR},
                    "measure": "persona from contacts.csv titles by the map's title rules; an "
                               "account has the end user in decision when any event of a "
                               "decision-stage touchpoint has an end-user contact. Win rate as "
                               "for touchpoint_win_rate.",
                    "observed": {"present_accounts": int(c["c_with_n"]),
                                 "present_win_rate": c_with,
                                 "absent_accounts": int(c["c_without_n"]),
                                 "absent_win_rate": c_without,
                                 "absent_to_present": _ratio(c_without, c_with)},
                },
                "pain_point": {
                    "summary": "Data migration in implementation: low CSAT with angry comments, "
                               "far over its time standard, sends accounts back to the decision "
                               "stage to renegotiate, and triples churn; it hits most enterprise "
                               "and mid-market (high-value) accounts.",
                    "touchpoint": "data-migration", "stage": "implementation",
                    "activities": ["migration_started", "migration_failed",
                                   "migration_completed", "migration_csat"],
                    "pain_points": ["migration-delays", "data-errors"],
                    "time_standard_days": std.migration,
                    "parameters": {
                        "share_by_segment": dict(zip(("enterprise", "mid-market", "smb"),
                                                     j.MIGRATION_SHARE, strict=True)),
                        "median_business_days": j.MIGRATION_MEDIAN_BUSINESS_DAYS,
                        "csat_distribution_1_to_5": list(j.MIGRATION_CSAT),
                        "regression_share": j.MIGRATION_REGRESSION_SHARE,
                        "churn_with_migration": j.CHURN_WITH_MIGRATION,
                        "churn_without_migration": j.CHURN_WITHOUT_MIGRATION,
                    },
                    "measure": "mean score of migration_csat vs the other CSAT activities; "
                               "migration_completed - migration_started against the standard; "
                               "pricing_negotiation (decision) right after migration_failed is "
                               "a regression; "
                               "churn at renewal of migrated vs other won accounts.",
                    "observed": {
                        "migrated_accounts": int(c["d_migrated"]),
                        "won_accounts": int(c["d_won"]),
                        "share_of_won_value": _rate(c["d_migrated_value"], c["d_won_value"]),
                        "mean_value_migrated": _rate(c["d_migrated_value"], c["d_migrated"]),
                        "mean_value_won": _rate(c["d_won_value"], c["d_won"]),
                        "mean_csat": self._mean_score("migration_csat"),
                        "late_share": _rate(c["d_done_late"], c["d_done"]),
                        "mean_days": _rate(c["d_done_days"], c["d_done"]),
                        "regression_share": _rate(c["d_regressed"], c["d_done"]),
                        "churn_migrated": churn_m, "churn_not_migrated": churn_n,
                    },
                },
                "stalled": {
                    "summary": "Accounts stuck in a stage now, having entered it longer ago than "
                               "its time standard, with no event since shortly after entering. "
                               "Slow accounts still in progress add to them.",
                    "parameters": {"share": j.STALL_SHARE},
                    "time_standard_days": {"awareness": std.awareness,
                                           "consideration": std.consideration,
                                           "decision": std.decision,
                                           "implementation": std.implementation},
                    "measure": "accounts without a lost or churned outcome whose last event is in "
                               "a stage, and whose first event in that stage is longer ago than "
                               "the stage's time standard at the end of the reference date. "
                               "Stalled are those in consideration, decision or implementation; "
                               "awareness holds the leads never qualified (over_standard_now "
                               "counts them apart, not in the total).",
                    "observed": {"planted": {**stalled, "total": sum(stalled.values())},
                                 "over_standard_now": {**over, "total": sum(
                                     over[s] for s in stages)}},
                },
            },
        }
