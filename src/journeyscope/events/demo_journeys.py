"""Simulated B2B journeys, vectorised: one chunk of accounts in, their events out.

Each account's milestones (lead qualified, discovery call, proposal, outcome, kickoff, migration,
go-live, contract end...) are drawn as NumPy arrays over all accounts of the chunk at once; then
each activity's events are spread between milestones with one array operation per activity,
never a Python step per event.

Time runs in *business days* (10 working hours, Monday to Friday) so that every event falls in
office hours and an order of milestones stays an order of timestamps; `calendar_days` maps it
to the calendar. The planted effects are documented in docs/demo-data.md and their parameters
are the constants below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from journeyscope.events import demo_vocab as v
from journeyscope.events.demo_people import (
    CHAMPION,
    ECONOMIC_BUYER,
    END_USER,
    EXECUTIVE,
    PROCUREMENT,
    TECHNICAL,
    People,
)

EPOCH = dt.date(2000, 1, 3)  # a Monday: business day 0
BUSINESS_PER_CALENDAR = 5 / 7

# --- planted effects and other parameters --------------------------------------------------
QUALIFY_RATE = 0.72
LATE_HANDOVER_SHARE = 0.35  # (a) sales development to sales, later than the link's standard
REACH_DECISION_ON_TIME = 0.78
REACH_DECISION_LATE = 0.39  # half the conversion of an on-time handover
REFERENCE_SHARE = 0.30  # (b) accounts in decision that get a reference call
BASE_WIN = 0.30
REFERENCE_WIN_FACTOR = 2.0
END_USER_IN_DECISION = 0.65  # (c) of accounts with an end user, share who meet them in decision
END_USER_ABSENT_WIN_FACTOR = 0.5
MIGRATION_SHARE = (0.95, 0.85, 0.4)  # (d) by segment: enterprise, mid-market, smb
MIGRATION_MEDIAN_BUSINESS_DAYS = 22.0
MIGRATION_REGRESSION_SHARE = 0.45  # a failed run sends them back to renegotiate scope
CHURN_WITH_MIGRATION = 0.30
CHURN_WITHOUT_MIGRATION = 0.10
MIGRATION_CSAT = (0.40, 0.38, 0.14, 0.05, 0.03)  # P(score 1..5)
TRAINING_CSAT = (0.03, 0.05, 0.12, 0.40, 0.40)
TICKET_CSAT = (0.02, 0.03, 0.10, 0.40, 0.45)
SLOW_TICKET_CSAT = (0.15, 0.20, 0.30, 0.20, 0.15)
NPS_SHARES = (0.08, 0.40, 0.52)  # detractor, passive, promoter
NPS_SHARES_MIGRATED = (0.30, 0.40, 0.30)
EXPANSION_SHARE = (0.40, 0.30, 0.15)
STALL_SHARE = 0.07  # of all accounts: stuck in a stage now, longer than its standard
REGRESS_TO_CONSIDERATION = 0.20

# Who at the account takes part in each activity (persona weights); the rest is anonymous
# (web analytics) or picked at random.
_PREFS: dict[str, dict[int, float]] = {
    "trade_show_visit": {CHAMPION: 0.5, EXECUTIVE: 0.3, TECHNICAL: 0.2},
    "ad_click": {CHAMPION: 0.5, TECHNICAL: 0.3, END_USER: 0.2},
    "whitepaper_download": {CHAMPION: 0.6, TECHNICAL: 0.4},
    "referral_received": {EXECUTIVE: 0.5, CHAMPION: 0.5},
    "sdr_outreach": {CHAMPION: 1.0},
    "lead_qualified": {CHAMPION: 1.0},
    "website_visit": {CHAMPION: 0.5, TECHNICAL: 0.3, END_USER: 0.2},
    "email_clicked": {CHAMPION: 0.6, ECONOMIC_BUYER: 0.2, TECHNICAL: 0.2},
    "webinar_attended": {CHAMPION: 0.5, END_USER: 0.5},
    "case_study_view": {CHAMPION: 0.5, ECONOMIC_BUYER: 0.3, EXECUTIVE: 0.2},
    "demo_meeting": {CHAMPION: 0.4, TECHNICAL: 0.3, END_USER: 0.3},
    "discovery_call": {CHAMPION: 0.7, TECHNICAL: 0.3},
    "proposal_sent": {ECONOMIC_BUYER: 0.6, PROCUREMENT: 0.4},
    "pricing_negotiation": {ECONOMIC_BUYER: 0.4, PROCUREMENT: 0.4, CHAMPION: 0.2},
    "reference_call": {ECONOMIC_BUYER: 0.4, EXECUTIVE: 0.3, CHAMPION: 0.3},
    "vendor_pitch": {EXECUTIVE: 0.4, ECONOMIC_BUYER: 0.3, TECHNICAL: 0.3},
    "deal_won": {ECONOMIC_BUYER: 1.0},
    "deal_lost": {CHAMPION: 1.0},
    "kickoff_meeting": {CHAMPION: 0.7, TECHNICAL: 0.3},
    "training_session": {END_USER: 0.8, CHAMPION: 0.2},
    "migration_started": {TECHNICAL: 1.0},
    "migration_failed": {TECHNICAL: 1.0},
    "migration_completed": {TECHNICAL: 1.0},
    "migration_csat": {TECHNICAL: 0.6, CHAMPION: 0.4},
    "implementation_ticket": {TECHNICAL: 0.8, CHAMPION: 0.2},
    "docs_viewed": {TECHNICAL: 0.5, END_USER: 0.5},
    "go_live": {CHAMPION: 1.0},
    "csm_check_in": {CHAMPION: 0.6, ECONOMIC_BUYER: 0.2, EXECUTIVE: 0.2},
    "support_ticket_opened": {END_USER: 0.7, TECHNICAL: 0.3},
    "nps_survey": {CHAMPION: 0.35, END_USER: 0.4, ECONOMIC_BUYER: 0.25},
    "renewal_discussion": {ECONOMIC_BUYER: 0.5, PROCUREMENT: 0.3, CHAMPION: 0.2},
    "contract_renewed": {ECONOMIC_BUYER: 1.0},
    "upsell_meeting": {ECONOMIC_BUYER: 0.4, EXECUTIVE: 0.3, CHAMPION: 0.3},
    "expansion_signed": {ECONOMIC_BUYER: 1.0},
    "churn_notice": {ECONOMIC_BUYER: 0.6, PROCUREMENT: 0.4},
    "exit_interview": {CHAMPION: 0.6, ECONOMIC_BUYER: 0.4},
    "contract_cancelled": {ECONOMIC_BUYER: 1.0},
    "winback_email": {CHAMPION: 1.0},
}
_ANONYMOUS = {"website_visit": 0.5, "ad_click": 0.6, "docs_viewed": 0.3}
DECISION_ACTIVITIES = ("proposal_sent", "pricing_negotiation", "reference_call", "vendor_pitch")


@dataclass(frozen=True)
class Standards:
    """The time standards (calendar days) the simulation plants delays against, read from the
    map by `journeyscope.events.demo`."""

    awareness: float = 30.0
    consideration: float = 45.0
    decision: float = 30.0
    implementation: float = 60.0
    sdr_handover: float = 3.0
    kickoff_handover: float = 7.0
    csm_handover: float = 5.0
    migration: float = 14.0


def business_day(day: dt.date) -> int:
    """The business-day number of a weekday (weekends count as the Friday before)."""
    days = (day - EPOCH).days
    return 5 * (days // 7) + min(days % 7, 4)


def calendar_days(b: np.ndarray) -> np.ndarray:
    """Business time (business days since EPOCH) to calendar days since EPOCH: the fraction
    of a business day runs from 08:00 to 18:00."""
    whole = np.floor(b)
    day = whole.astype(np.int64)
    return 7 * (day // 5) + day % 5 + (8.0 + 10.0 * (b - whole)) / 24.0


def business_time(c: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Calendar days to business time, moving a time outside office hours to the next opening
    (`forward`) or to the last closing before it."""
    day = np.floor(c).astype(np.int64)
    hour = (c - day) * 24.0
    week, weekday = day // 7, day % 7
    weekend = weekday >= 5
    b = (5 * week + np.minimum(weekday, 4)).astype(np.float64)
    frac = np.clip((hour - 8.0) / 10.0, 0.0, 0.999)
    after, before = ~weekend & (hour >= 18.0), ~weekend & (hour < 8.0)
    fwd = np.where(weekend, 5 * week + 5.0, np.where(after, b + 1.0, b + frac))
    bwd = np.where(weekend, 5 * week + 4.999, np.where(before, b - 0.001, b + frac))
    return np.where(forward, fwd, bwd)


@dataclass
class ChunkEvents:
    """The events of one chunk as parallel arrays (unsorted), plus the account-level facts the
    truth file reports."""

    account: np.ndarray  # local account index
    b: np.ndarray  # business time
    activity: np.ndarray
    channel: np.ndarray
    contact: np.ndarray  # global contact number, -1 for none
    value: np.ndarray
    score: np.ndarray
    text: np.ndarray  # index into demo_vocab.TEXTS, -1 for none
    facts: dict[str, np.ndarray] = field(default_factory=dict)


class _Sink:
    """Collects events activity by activity, picking the contact and channel of each."""

    def __init__(self, rng: np.random.Generator, people: People, no_end_user: np.ndarray):
        self.rng = rng
        self.people = people
        self.no_end_user = no_end_user  # accounts whose end users stay out of decision events
        n = people.n
        owner = np.repeat(np.arange(n), people.contact_count)
        # per account and persona: its first and its last contact of that persona (-1: none)
        local = np.arange(len(owner), dtype=np.int64)
        big = np.iinfo(np.int64).max
        self.first = np.full((n, 7), big, dtype=np.int64)
        np.minimum.at(self.first, (owner, people.contact_persona), local)
        self.first[self.first == big] = -1
        self.last = np.full((n, 7), -1, dtype=np.int64)
        np.maximum.at(self.last, (owner, people.contact_persona), local)
        self.parts: list[tuple[np.ndarray, ...]] = []

    def has(self, persona: int) -> np.ndarray:
        return self.first[:, persona] >= 0

    def contact_of(self, persona: int, idx: np.ndarray) -> np.ndarray:
        return self.first[idx, persona]

    def pick(self, name: str, idx: np.ndarray) -> np.ndarray:
        rng, p = self.rng, self.people
        k = len(idx)
        prefs = _PREFS.get(name, {CHAMPION: 1.0})
        personas = np.fromiter(prefs, dtype=np.int64)
        weights = np.fromiter(prefs.values(), dtype=np.float64)
        chosen = personas[rng.choice(len(personas), k, p=weights / weights.sum())]
        contact = np.where(rng.random(k) < 0.5, self.first[idx, chosen], self.last[idx, chosen])
        anyone = p.contact_start[idx] + (rng.random(k) * p.contact_count[idx]).astype(np.int64)
        contact = np.where((contact < 0) | (rng.random(k) < 0.1), anyone, contact)
        if name in DECISION_ACTIVITIES:
            # (c): where the end user is absent from the decision, nobody of that role appears
            is_eu = p.contact_persona[contact] == END_USER
            contact = np.where(is_eu & self.no_end_user[idx], p.contact_start[idx], contact)
        out = contact + p.first_contact
        if name in _ANONYMOUS:
            out[rng.random(k) < _ANONYMOUS[name]] = -1
        return out

    def add(self, name: str, idx: np.ndarray, b: np.ndarray, *, contact: np.ndarray | None = None,
            value: np.ndarray | None = None, score: np.ndarray | None = None,
            text: np.ndarray | None = None) -> np.ndarray:
        """Events of activity `name` for accounts `idx` at times `b`; returns their contacts."""
        k = len(idx)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        code = v.ACTIVITY_CODE[name]
        spec = v.CATALOG[code]
        shares = np.array([s for _, s in spec.channels])
        channel_codes = np.array([v.CHANNELS.index(c) for c, _ in spec.channels], dtype=np.int8)
        channel = channel_codes[self.rng.choice(len(shares), k, p=shares / shares.sum())]
        contact = self.pick(name, idx) if contact is None else contact
        self.parts.append((
            idx.astype(np.int64), b.astype(np.float64), np.full(k, code, dtype=np.int16),
            channel, contact,
            np.full(k, np.nan) if value is None else value.astype(np.float64),
            np.full(k, np.nan) if score is None else score.astype(np.float64),
            np.full(k, -1, dtype=np.int32) if text is None else text.astype(np.int32),
        ))
        return contact

    def at(self, name: str, mask: np.ndarray, t: np.ndarray, **kw: np.ndarray) -> np.ndarray:
        """One event per account in `mask`, at its time in `t`; returns the accounts."""
        idx = np.flatnonzero(mask)
        self.add(name, idx, t[idx], **{k: a[idx] for k, a in kw.items()})
        return idx

    def spread(self, name: str, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               subject: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`counts[i]` events of account i at uniform times in [lo[i], hi[i]] (with a ticket
        subject as text when `subject`); returns accounts, times and contacts."""
        idx = np.repeat(np.arange(len(counts)), counts)
        t = lo[idx] + self.rng.random(len(idx)) * np.maximum(hi[idx] - lo[idx], 0.0)
        text = v.pick_text(self.rng, "subject", np.full(len(idx), v.NEUTRAL)) if subject else None
        return idx, t, self.add(name, idx, t, text=text)

    def collect(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(cols) for cols in zip(*self.parts, strict=True))


def _scores(rng: np.random.Generator, k: int, shares: tuple[float, ...] | np.ndarray,
            low: int = 1) -> np.ndarray:
    shares = np.asarray(shares, dtype=np.float64)
    return low + rng.choice(len(shares), k, p=shares / shares.sum())


def _nps(rng: np.random.Generator, migrated: np.ndarray) -> np.ndarray:
    k = len(migrated)
    category = np.where(migrated, rng.choice(3, k, p=NPS_SHARES_MIGRATED),
                        rng.choice(3, k, p=NPS_SHARES))
    detractor = rng.choice(7, k, p=np.array([1, 1, 1, 2, 3, 5, 6]) / 19)
    return np.select([category == 0, category == 1],
                     [detractor, 7 + rng.integers(0, 2, k)], 9 + rng.integers(0, 2, k))


def _commented(rng: np.random.Generator, topic: str, tone: np.ndarray) -> np.ndarray:
    """A comment for most negative answers, fewer neutral and positive ones."""
    text = v.pick_text(rng, topic, tone)
    keep = rng.random(len(tone)) < np.choose(tone, [0.85, 0.5, 0.6])
    return np.where(keep, text, -1)


def simulate(rng: np.random.Generator, people: People, std: Standards, end: float) -> ChunkEvents:
    """The events of one chunk of accounts, none at or after business time `end`."""
    n, r, bd = people.n, rng, BUSINESS_PER_CALENDAR
    u = r.uniform

    # --- milestones ------------------------------------------------------------------------
    t0 = end - u(5, 520, n)
    aware = r.gamma(2.0, 7.0, n)
    qualified = r.random(n) < QUALIFY_RATE
    t_lq = t0 + aware
    late = r.random(n) < LATE_HANDOVER_SHARE
    s = std.sdr_handover
    delay = np.where(late, u(s + 0.3, s + 18.0, n), u(0.05, max(s - 0.3, 0.1), n))
    # Outside office hours a late call moves to a later opening and an on-time one to an
    # earlier time, so that a weekend never turns one into the other.
    due = calendar_days(t_lq) + delay
    later = business_time(due, np.ones(n, dtype=bool))
    earlier = business_time(due, np.zeros(n, dtype=bool))
    t_disc = np.where(late, later + u(0.0, 0.3, n) * (later % 1.0 == 0.0),
                      t_lq + u(0.5, 1.0, n) * (earlier - t_lq))
    t_disc = np.maximum(t_disc, t_lq + 0.01)
    reach = qualified & (r.random(n) < np.where(late, REACH_DECISION_LATE, REACH_DECISION_ON_TIME))
    consider = r.gamma(2.5, 9.0, n)
    t_dec = t_disc + consider
    decide = r.gamma(2.0, 8.0, n) + 1.0
    t_out = t_dec + decide
    sink = _Sink(r, people, np.zeros(n, dtype=bool))
    reference = reach & (r.random(n) < REFERENCE_SHARE)
    eu_present = sink.has(END_USER) & (r.random(n) < END_USER_IN_DECISION)
    sink.no_end_user = ~eu_present
    p_win = BASE_WIN * np.where(reference, REFERENCE_WIN_FACTOR, 1.0) * np.where(
        eu_present, 1.0, END_USER_ABSENT_WIN_FACTOR)
    won = reach & (r.random(n) < p_win)
    lost = reach & ~won

    k_std = std.kickoff_handover * bd
    t_kick = t_out + np.where(r.random(n) < 0.3, u(1.1 * k_std, 3 * k_std, n),
                              u(0.2, 0.9 * k_std, n))
    base_impl = r.gamma(3.0, 9.0, n) + 5.0
    migrated = won & (r.random(n) < np.asarray(MIGRATION_SHARE)[people.segment])
    mig_start = t_kick + u(1.0, 5.0, n)
    mig_done = mig_start + r.lognormal(np.log(MIGRATION_MEDIAN_BUSINESS_DAYS), 0.4, n)
    go_live = np.where(migrated, np.maximum(t_kick + base_impl, mig_done + u(2, 6, n)),
                       t_kick + base_impl)
    c_std = std.csm_handover * bd
    t_csm = go_live + np.where(r.random(n) < 0.25, u(1.2 * c_std, 3.5 * c_std, n),
                               u(0.2, 0.95 * c_std, n))
    t_end = t_out + 261.0  # one contract year
    t_renew = t_end - u(25, 40, n)
    churn = won & (r.random(n) < np.where(migrated, CHURN_WITH_MIGRATION, CHURN_WITHOUT_MIGRATION))
    renewed = won & ~churn
    expand = renewed & (r.random(n) < np.asarray(EXPANSION_SHARE)[people.segment])

    # --- stalled accounts: stuck in their last stage, entered well over its standard ago ----
    stall = qualified & (r.random(n) < STALL_SHARE / QUALIFY_RATE)
    reached = np.where(won, 3, np.where(reach, 2, 1))
    stage = np.minimum(r.integers(1, 4, n), reached)
    entry = np.choose(stage - 1, [t_disc, t_dec, t_kick])
    length = np.choose(stage - 1, [consider, decide, go_live - t_kick])
    standard = np.choose(stage - 1, [std.consideration, std.decision, std.implementation]) * bd
    cut = entry + np.minimum(0.4 * standard, 0.6 * length)
    # whole weeks, so that weekdays (and the handover delays measured on them) stay the same
    shift = np.where(stall, 5.0 * np.round((end - u(1.3, 3.0, n) * standard - entry) / 5.0), 0.0)
    for arr in (t0, t_lq, t_disc, t_dec, t_out, t_kick, mig_start, mig_done, go_live, t_csm,
                t_end, t_renew, cut):
        arr += shift
    limit = np.where(stall, np.minimum(cut, end), end)

    # --- awareness ---------------------------------------------------------------------------
    first = r.choice(4, n, p=[0.4, 0.2, 0.15, 0.25])
    for code, name in enumerate(("ad_click", "trade_show_visit", "referral_received",
                                 "whitepaper_download")):
        sink.at(name, first == code, t0)
    sink.spread("ad_click", r.poisson(3.0, n), t0, t_lq)
    sink.spread("whitepaper_download", r.poisson(1.0, n), t0, t_lq)
    sink.spread("trade_show_visit", (r.random(n) < 0.08).astype(np.int64), t0, t_lq)
    tried = qualified | (r.random(n) < 0.5)
    sink.spread("sdr_outreach", np.where(tried, 1 + r.poisson(2.0, n), 0),
                np.maximum(t0, t_lq - u(2.0, 12.0, n)), t_lq - 0.01)
    sink.at("lead_qualified", qualified, t_lq)

    # --- consideration -----------------------------------------------------------------------
    q = qualified.astype(np.int64)
    sink.at("discovery_call", qualified, t_disc)
    sink.spread("discovery_call", q * r.poisson(0.4, n), t_disc + 0.1, t_dec)
    sink.spread("website_visit", q * r.poisson(33.0, n), t_disc, t_dec)
    sink.spread("email_clicked", q * r.poisson(9.0, n), t_disc, t_dec)
    sink.spread("webinar_attended", q * r.poisson(1.0, n), t_disc, t_dec)
    sink.spread("case_study_view", q * r.poisson(2.0, n), t_disc, t_dec)
    demos = np.where(reach, 1 + r.poisson(0.4, n), q * (r.random(n) < 0.6))
    sink.spread("demo_meeting", demos, t_disc + 0.3 * consider, t_dec - 0.01)

    # --- decision ------------------------------------------------------------------------------
    d = reach.astype(np.int64)
    sink.at("proposal_sent", reach, t_dec)
    sink.spread("proposal_sent", d * (r.random(n) < 0.3), t_dec + 0.5 * decide, t_out - 0.02)
    sink.spread("pricing_negotiation", d * r.poisson(1.2, n), t_dec, t_out - 0.02)
    pitch = t_dec + u(0.2, 0.6, n) * decide
    idx = np.flatnonzero(reach & eu_present)
    sink.add("vendor_pitch", idx, pitch[idx], contact=sink.contact_of(END_USER, idx)
             + people.first_contact)
    sink.at("vendor_pitch", reach & ~eu_present, pitch)
    sink.spread("reference_call", reference * (1 + (r.random(n) < 0.3)), t_dec + 0.3 * decide,
                t_out - 0.05)
    back = reach & (r.random(n) < REGRESS_TO_CONSIDERATION)
    t_back = t_dec + u(0.3, 0.6, n) * decide
    sink.at("demo_meeting", back, t_back)
    sink.at("pricing_negotiation", back, t_back + u(0.1, 0.2, n) * decide)
    # the final offer goes out just before the decision
    sink.at("proposal_sent", reach, t_out - u(0.1, 1.0, n))
    sink.at("deal_won", won, t_out, value=people.value)
    # an opportunity that never got a proposal is closed as lost ("no decision") too
    dropped = qualified & ~reach
    sink.at("deal_lost", lost | dropped, np.where(reach, t_out, t_dec))

    # --- implementation ------------------------------------------------------------------------
    w = won.astype(np.int64)
    sink.at("kickoff_meeting", won, t_kick)
    sessions_idx, sessions_t, _ = sink.spread(
        "training_session", w * (2 + r.poisson(2.0, n)), t_kick + 0.3 * (go_live - t_kick), go_live)
    answered = r.random(len(sessions_idx)) < 0.6
    score = _scores(r, int(answered.sum()), TRAINING_CSAT)
    sink.add("training_csat", sessions_idx[answered],
             sessions_t[answered] + u(0.1, 1.0, len(score)), score=score,
             text=_commented(r, "training", v.csat_tone(score)))
    sink.at("migration_started", migrated, mig_start)
    # A failed run sends some back to the decision stage to renegotiate scope, then retry.
    regress = migrated & (r.random(n) < MIGRATION_REGRESSION_SHARE)
    t_fail = mig_start + u(0.25, 0.5, n) * (mig_done - mig_start)
    sink.at("migration_failed", regress, t_fail)
    sink.at("pricing_negotiation", regress, t_fail + u(0.05, 0.3, n))
    retry = regress | (migrated & (r.random(n) < 0.1))
    sink.at("migration_started", retry, np.where(
        regress, t_fail + u(0.5, 2.0, n), mig_start + u(0.3, 0.7, n) * (mig_done - mig_start)))
    sink.at("migration_completed", migrated, mig_done)
    rated = migrated & (r.random(n) < 0.95)
    score = _scores(r, n, MIGRATION_CSAT)
    sink.at("migration_csat", rated, mig_done + u(0.5, 3.0, n), score=score,
            text=_commented(r, "migration", v.csat_tone(score)))
    sink.spread("implementation_ticket", w * r.poisson(1.0 + 2.0 * migrated), t_kick, go_live,
                subject=True)
    sink.spread("docs_viewed", w * r.poisson(8.0, n), t_kick, go_live)
    sink.at("go_live", won, go_live)

    # --- support: the first contract year, and the second after a renewal ----------------------
    ticket_rate = np.array([0.12, 0.08, 0.05])[people.segment] + 0.02 * migrated
    sink.at("csm_check_in", won, t_csm)
    for period, lo, hi in ((won, t_csm, t_renew), (renewed, t_end, t_end + 261.0)):
        span = np.where(period, np.maximum(hi - lo, 0.0), 0.0)
        sink.spread("csm_check_in", r.poisson(span / 20.0), lo, hi)
        opened_idx, opened_t, contact = sink.spread(
            "support_ticket_opened", r.poisson(span * ticket_rate), lo, hi, subject=True)
        if len(opened_idx):
            took = r.gamma(1.5, 1.2, len(opened_idx))
            sink.add("support_ticket_resolved", opened_idx, opened_t + took, contact=contact)
            rated = r.random(len(opened_idx)) < 0.25
            slow = took[rated] > 4.0
            score = np.where(slow, _scores(r, int(rated.sum()), SLOW_TICKET_CSAT),
                             _scores(r, int(rated.sum()), TICKET_CSAT))
            sink.add("ticket_csat", opened_idx[rated], opened_t[rated] + took[rated] + 0.2,
                     contact=contact[rated], score=score,
                     text=_commented(r, "ticket", v.csat_tone(score)))
        nps_idx = np.repeat(np.arange(n), r.poisson(span / 130.0))
        nps_t = lo[nps_idx] + r.random(len(nps_idx)) * span[nps_idx]
        score = _nps(r, migrated[nps_idx])
        sink.add("nps_survey", nps_idx, nps_t, score=score,
                 text=_commented(r, "nps", v.nps_tone(score)))
    mid = won & (r.random(n) < 0.08)
    t_mid = t_csm + u(0.3, 0.6, n) * np.maximum(t_renew - t_csm, 1.0)
    sink.at("upsell_meeting", mid, t_mid)
    sink.at("expansion_signed", mid, t_mid + u(5, 20, n), value=np.round(
        people.value * u(0.1, 0.3, n), -2))

    # --- renewal and cessation -------------------------------------------------------------
    sink.at("renewal_discussion", won, t_renew)
    sink.at("renewal_discussion", won & (r.random(n) < 0.5), t_renew + u(3, 15, n))
    sink.at("contract_renewed", renewed, t_end - u(0, 5, n),
            value=np.round(people.value * u(1.0, 1.08, n), -2))
    sink.at("upsell_meeting", expand, t_renew + u(5, 15, n))
    sink.at("expansion_signed", expand, t_end - u(0, 5, n),
            value=np.round(people.value * u(0.15, 0.6, n), -2))
    sink.at("churn_notice", churn, t_end - u(8, 20, n))
    why = np.where(migrated | (r.random(n) < 0.5), v.NEGATIVE, v.NEUTRAL)
    sink.at("exit_interview", churn & (r.random(n) < 0.65), t_end - u(0, 7, n),
            text=v.pick_text(r, "exit", why))
    sink.at("contract_cancelled", churn, t_end)
    winback = churn & (r.random(n) < 0.4)
    first_winback = t_end + u(40, 90, n)
    sink.at("winback_email", winback, first_winback)
    sink.at("winback_email", winback & (r.random(n) < 0.5), first_winback + u(40, 90, n))

    account, b, activity, channel, contact, value, score, text = sink.collect()
    keep = b < limit[account]
    facts = {
        "qualified": qualified, "late": late, "reach": reach, "reference": reference,
        "eu_present": eu_present, "won": won, "lost": lost, "migrated": migrated,
        "churn": churn, "renewed": renewed, "regress": regress, "stall": stall,
        "stall_stage": np.where(stall, stage, 0), "limit": limit, "t0": t0, "t_lq": t_lq,
        "t_disc": t_disc, "t_dec": t_dec, "t_out": t_out, "t_kick": t_kick, "go_live": go_live,
        "mig_start": mig_start, "mig_done": mig_done, "t_end": t_end, "value": people.value,
        "segment": people.segment,
    }
    return ChunkEvents(account[keep], b[keep], activity[keep], channel[keep], contact[keep],
                       value[keep], score[keep], text[keep], facts)

