"""The words of the demo data: which activities the simulated systems record (with their owner,
source system and channels), and the free text of survey comments, exit interviews and
tickets, whose tone follows the score.

Kept apart from the simulation so that the activity names can be checked against the b2b
template's match rules, and the comments read like customers wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activity:
    name: str
    owner: str
    source: str
    channels: tuple[tuple[str, float], ...]  # channel and its share; the first is the main one


def _a(name: str, owner: str, source: str, *channels: tuple[str, float]) -> Activity:
    return Activity(name, owner, source, channels)


# Owners are the b2b template's teams; sources are the systems a B2B vendor exports from.
CATALOG: tuple[Activity, ...] = (
    # awareness
    _a("trade_show_visit", "marketing", "hubspot", ("event", 0.85), ("video", 0.15)),
    _a("ad_click", "marketing", "google-ads", ("search", 0.6), ("social", 0.4)),
    _a("whitepaper_download", "marketing", "hubspot", ("web", 1.0)),
    _a("referral_received", "marketing", "hubspot", ("partner", 0.7), ("email", 0.3)),
    _a("sdr_outreach", "sales-development", "salesforce", ("email", 0.55), ("phone", 0.45)),
    _a("lead_qualified", "sales-development", "salesforce", ("phone", 0.8), ("email", 0.2)),
    # consideration
    _a("website_visit", "marketing", "web-analytics", ("web", 1.0)),
    _a("email_clicked", "marketing", "hubspot", ("email", 1.0)),
    _a("webinar_attended", "marketing", "hubspot", ("video", 1.0)),
    _a("case_study_view", "marketing", "web-analytics", ("web", 1.0)),
    _a("demo_meeting", "sales", "salesforce", ("video", 0.7), ("meeting", 0.3)),
    _a("discovery_call", "sales", "salesforce", ("video", 0.5), ("phone", 0.4), ("meeting", 0.1)),
    # decision
    _a("proposal_sent", "sales", "salesforce", ("email", 1.0)),
    _a("pricing_negotiation", "sales", "salesforce", ("meeting", 0.5), ("video", 0.3),
       ("phone", 0.2)),
    _a("reference_call", "sales", "salesforce", ("phone", 0.6), ("video", 0.4)),
    _a("vendor_pitch", "sales", "salesforce", ("meeting", 0.65), ("video", 0.35)),
    _a("deal_won", "sales", "salesforce", ("email", 1.0)),
    _a("deal_lost", "sales", "salesforce", ("email", 1.0)),
    # implementation
    _a("kickoff_meeting", "onboarding", "gainsight", ("video", 0.7), ("meeting", 0.3)),
    _a("training_session", "onboarding", "gainsight", ("video", 0.8), ("meeting", 0.2)),
    _a("training_csat", "onboarding", "qualtrics", ("email", 1.0)),
    _a("migration_started", "onboarding", "gainsight", ("portal", 1.0)),
    _a("migration_failed", "onboarding", "gainsight", ("portal", 1.0)),
    _a("migration_completed", "onboarding", "gainsight", ("portal", 1.0)),
    _a("migration_csat", "onboarding", "qualtrics", ("email", 1.0)),
    _a("implementation_ticket", "support", "zendesk", ("portal", 0.6), ("phone", 0.25),
       ("chat", 0.15)),
    _a("docs_viewed", "onboarding", "web-analytics", ("portal", 0.8), ("web", 0.2)),
    _a("go_live", "onboarding", "gainsight", ("portal", 1.0)),
    # support and relationship management
    _a("csm_check_in", "customer-success", "gainsight", ("video", 0.6), ("meeting", 0.25),
       ("phone", 0.15)),
    _a("support_ticket_opened", "support", "zendesk", ("portal", 0.5), ("email", 0.25),
       ("chat", 0.15), ("phone", 0.1)),
    _a("support_ticket_resolved", "support", "zendesk", ("portal", 0.7), ("email", 0.3)),
    _a("ticket_csat", "support", "zendesk", ("email", 1.0)),
    _a("nps_survey", "customer-success", "qualtrics", ("email", 1.0)),
    # renewal and expansion
    _a("renewal_discussion", "customer-success", "salesforce", ("meeting", 0.5), ("video", 0.4),
       ("email", 0.1)),
    _a("contract_renewed", "customer-success", "salesforce", ("email", 1.0)),
    _a("upsell_meeting", "sales", "salesforce", ("video", 0.6), ("meeting", 0.4)),
    _a("expansion_signed", "sales", "salesforce", ("email", 1.0)),
    # cessation
    _a("churn_notice", "customer-success", "salesforce", ("email", 0.8), ("phone", 0.2)),
    _a("exit_interview", "customer-success", "gainsight", ("phone", 0.6), ("video", 0.4)),
    _a("contract_cancelled", "customer-success", "salesforce", ("email", 1.0)),
    _a("winback_email", "marketing", "hubspot", ("email", 1.0)),
)

ACTIVITY_NAMES = tuple(a.name for a in CATALOG)
ACTIVITY_CODE = {a.name: i for i, a in enumerate(CATALOG)}
CHANNELS = tuple(sorted({c for a in CATALOG for c, _ in a.channels}))
OWNERS = tuple(sorted({a.owner for a in CATALOG}))
SOURCES = tuple(sorted({a.source for a in CATALOG}))
OWNER_CODE = np.array([OWNERS.index(a.owner) for a in CATALOG], dtype=np.int8)
SOURCE_CODE = np.array([SOURCES.index(a.source) for a in CATALOG], dtype=np.int8)

# --- free text ------------------------------------------------------------------------------

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2

COMMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "migration": (
        (
            "Terrible migration, weeks late and nothing like what sales told us.",
            "Half of our historical opportunities were lost in the migration. Very disappointed.",
            "Awful field mapping errors everywhere; we had to fix the data by hand. Painful.",
            "Nobody told us the import failed until our angry reps complained.",
            "The migration was a nightmare, duplicate accounts all over the place. Horrible.",
            "We lost contact history during the migration and our team is furious.",
            "Terrible experience: the migration blocked our go-live for a month.",
            "The migration tool kept failing and nobody could explain why. Frustrating.",
            "Very frustrating, the migrated data is wrong and we cannot trust the reports.",
            "Poor planning on the migration, deadlines missed again and again. Bad experience.",
        ),
        (
            "Migration finished eventually, with some manual fixes on our side.",
            "The import worked but took longer than planned.",
            "Data is mostly there now; a few custom fields still need mapping.",
            "It was OK once the engineer joined the calls.",
        ),
        (
            "Smooth migration, all our records arrived intact.",
            "The migration engineer was excellent and kept us informed every day.",
            "Great job on the data import, faster than we expected.",
        ),
    ),
    "training": (
        (
            "The training was too generic and useless for how we actually sell.",
            "Sessions were rushed and the trainer could not answer our questions. Disappointing.",
            "Too long, boring and too theoretical for our reps.",
        ),
        (
            "Training was fine, the recordings help.",
            "Useful overview, but we need a follow-up on reporting.",
            "Decent session, a bit fast for new users.",
        ),
        (
            "Excellent training, our reps were productive the next day.",
            "Great trainer, very practical and patient.",
            "Loved the role-based sessions, exactly what our team needed.",
            "Clear, hands-on and well organised. Thank you!",
            "The short videos after the session are really helpful.",
        ),
    ),
    "ticket": (
        (
            "It took days to get a real answer to a simple question. Frustrating.",
            "I had to explain the issue three times to different agents, annoying.",
            "The ticket was closed without fixing the problem.",
            "Slow and unhelpful support this time, disappointing.",
        ),
        (
            "Resolved, but it took a while.",
            "The answer helped partly; we found a workaround.",
            "OK support, nothing special.",
        ),
        (
            "Quick and friendly help, problem solved.",
            "Great support, the agent understood the issue immediately.",
            "Fast resolution, thank you!",
            "Very helpful answer with clear steps.",
        ),
    ),
    "nps": (
        (
            "Since the migration our data quality is worse than before.",
            "Too expensive for what we get, and support is slow.",
            "The product is hard to use for our reps and adoption is poor.",
            "We are disappointed, the promises from the sales process were not kept.",
            "Reporting is unreliable and our managers have stopped trusting it.",
        ),
        (
            "Good product overall, some features are still missing.",
            "It does the job; the mobile app needs work.",
            "Solid tool, though the price went up.",
            "Fine for us, nothing that stands out.",
        ),
        (
            "Our team loves it, pipeline reviews take half the time now.",
            "Great product and a customer success manager who really cares.",
            "Best CRM decision we have made, easy to recommend.",
            "Reliable, fast and the support team is excellent.",
            "Huge improvement in forecast accuracy since we switched.",
        ),
    ),
    "exit": (
        (
            "We never recovered from the migration problems.",
            "The tool failed to deliver the value we were promised.",
            "Too expensive compared to the alternatives we evaluated.",
            "Our users never adopted it and leadership lost patience.",
            "Support was too slow when it mattered.",
        ),
        (
            "We are consolidating tools across the group.",
            "We were acquired and the parent company uses another system.",
            "Our needs changed; nothing personal.",
        ),
        (),
    ),
}

TICKET_SUBJECTS: tuple[str, ...] = (
    "Export of report to spreadsheet",
    "How do I configure single sign-on?",
    "Question about API rate limits",
    "Dashboard loading time",
    "User permissions setup",
    "Email sync status",
    "Custom field not showing in list view",
    "How to set up territory rules?",
    "Mobile app login",
    "Forecast totals differ from spreadsheet",
    "Request to add more licences",
    "ERP integration returns status 500",
)

# One flat text vocabulary: events store an index into it.
TEXTS: tuple[str, ...]
_TEXT_START: dict[tuple[str, int], tuple[int, int]] = {}


def _build_texts() -> tuple[str, ...]:
    texts: list[str] = []
    for topic, tones in COMMENTS.items():
        for tone, sentences in enumerate(tones):
            _TEXT_START[(topic, tone)] = (len(texts), len(sentences))
            texts.extend(sentences)
    _TEXT_START[("subject", NEUTRAL)] = (len(texts), len(TICKET_SUBJECTS))
    texts.extend(TICKET_SUBJECTS)
    return tuple(texts)


TEXTS = _build_texts()


def pick_text(rng: np.random.Generator, topic: str, tone: np.ndarray) -> np.ndarray:
    """Index into `TEXTS` of a comment on `topic` in each row's tone (-1 where the topic has
    nothing in that tone)."""
    out = np.full(len(tone), -1, dtype=np.int32)
    for t in (NEGATIVE, NEUTRAL, POSITIVE):
        start, count = _TEXT_START.get((topic, t), (0, 0))
        rows = tone == t
        if count and rows.any():
            out[rows] = start + rng.integers(0, count, int(rows.sum()))
    return out


def csat_tone(score: np.ndarray) -> np.ndarray:
    """CSAT 1-5: 1-2 negative, 3 neutral, 4-5 positive."""
    return np.where(score <= 2, NEGATIVE, np.where(score == 3, NEUTRAL, POSITIVE))


def nps_tone(score: np.ndarray) -> np.ndarray:
    """NPS 0-10: detractors (0-6) negative, passives (7-8) neutral, promoters positive."""
    return np.where(score <= 6, NEGATIVE, np.where(score <= 8, NEUTRAL, POSITIVE))
