"""Accounts and their buying committees for the demo data.

Every account gets a unique name and e-mail domain, a segment, an industry, a size band, a
region and an annual contract value; every committee 3 to 8 contacts whose job titles the b2b
template's title rules assign to exactly one persona (a few match none, as real CRM titles do).
Names are a pure function of the account's number, so the same account looks the same whatever
the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Persona codes, in the b2b template's order; NO_PERSONA is a title no rule matches.
PERSONAS = ("economic-buyer", "champion", "procurement", "technical-evaluator", "end-user",
            "executive-sponsor")
ECONOMIC_BUYER, CHAMPION, PROCUREMENT, TECHNICAL, END_USER, EXECUTIVE = range(6)
NO_PERSONA = 6

TITLES: tuple[tuple[str, ...], ...] = (
    ("CFO", "Chief Financial Officer", "VP Finance", "Finance Director", "Head of Finance",
     "Financial Controller"),
    ("Head of Sales Operations", "Sales Operations Manager", "Director of Revenue Operations",
     "Revenue Operations Lead", "RevOps Manager"),
    ("Procurement Manager", "Head of Procurement", "Purchasing Manager", "Strategic Sourcing Lead",
     "Category Manager Software", "Vendor Manager"),
    ("IT Manager", "IT Director", "Head of IT", "CTO", "Solutions Architect",
     "Enterprise Architect", "Systems Administrator", "CRM Administrator"),
    ("Account Executive", "Senior Account Executive", "Account Manager",
     "Inside Sales Representative", "Field Sales Rep", "Customer Service Agent",
     "Customer Support Specialist"),
    ("CEO", "Chief Executive Officer", "COO", "Chief Operating Officer", "Chief Revenue Officer",
     "Managing Director", "General Manager", "President"),
    ("Office Manager", "Executive Assistant", "Marketing Coordinator", "Business Analyst",
     "HR Business Partner", "Intern"),
)
ALL_TITLES = tuple(t for group in TITLES for t in group)
_TITLE_START = np.cumsum([0] + [len(g) for g in TITLES])[:-1]
_TITLE_COUNT = np.array([len(g) for g in TITLES])

# Slot personas of a committee, in the order seats are filled; slot 2 is an end user in most
# accounts, a second technical evaluator in the rest (those have no end user in the committee).
_SLOTS = np.array([CHAMPION, ECONOMIC_BUYER, END_USER, TECHNICAL, PROCUREMENT, EXECUTIVE,
                   END_USER, END_USER])
UNMATCHED_SHARE = 0.05
FREE_MAIL_SHARE = 0.03
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com")

SEGMENTS = ("enterprise", "mid-market", "smb")
SEGMENT_SHARE = (0.2, 0.35, 0.45)
ENTERPRISE, MID_MARKET, SMB = range(3)
COMMITTEE_SIZE = ((5, 8), (4, 6), (3, 4))  # inclusive range per segment
SIZE_BANDS = (("1001-5000", "5001+"), ("201-500", "501-1000"), ("11-50", "51-200"))
ACV_MEDIAN = (150_000.0, 40_000.0, 9_000.0)
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_SHARE = (0.45, 0.35, 0.15, 0.05)

_PREFIX = ("North", "Blue", "Silver", "Green", "Red", "Bright", "Iron", "Stone", "Oak", "Pine",
           "River", "Lake", "Sun", "Star", "Cloud", "Rock", "Gold", "Swift", "True", "Clear",
           "High", "Far", "West", "East", "South", "Deep", "Wide", "Bold", "Prime", "Nova",
           "Alder", "Birch", "Cedar", "Maple", "Willow", "Summit", "Harbor", "Falcon", "Eagle",
           "Fox", "Wolf", "Bear", "Lion", "Hawk", "Crest", "Peak", "Ridge", "Vale", "Glen", "Bay")
_SUFFIX = ("wind", "field", "bridge", "gate", "way", "point", "stone", "wood", "brook", "ford",
           "haven", "light", "line", "mark", "port", "side", "view", "works", "crest", "path",
           "spring", "vale", "well", "wick", "worth", "ton", "by", "mont", "dale", "more",
           "land", "shore", "star", "tech", "sys", "core", "grid", "loop", "node", "flow")
_SECTORS = (
    ("Manufacturing", "manufacturing"), ("Industries", "manufacturing"),
    ("Components", "manufacturing"), ("Logistics", "logistics"), ("Freight", "logistics"),
    ("Transport", "logistics"), ("Software", "software"), ("Digital", "software"),
    ("Labs", "software"), ("Health", "healthcare"), ("Medical", "healthcare"),
    ("Care", "healthcare"), ("Financial", "financial services"), ("Capital", "financial services"),
    ("Insurance", "financial services"), ("Energy", "energy"), ("Power", "energy"),
    ("Solar", "energy"), ("Retail", "retail"), ("Stores", "retail"), ("Foods", "retail"),
    ("Telecom", "telecommunications"), ("Networks", "telecommunications"),
    ("Consulting", "professional services"), ("Partners", "professional services"),
    ("Advisory", "professional services"), ("Construction", "construction"),
    ("Builders", "construction"), ("Education", "education"), ("Learning", "education"),
)
_NAME_SPACE = len(_PREFIX) * len(_SUFFIX) * len(_SECTORS)
_NAME_STRIDE = 7_919  # a prime not dividing the space: g -> (g * stride) % space is a bijection

FIRST_NAMES = ("Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hannes", "Isabel",
               "James", "Keiko", "Lars", "Maria", "Nikhil", "Olivia", "Pieter", "Qi", "Rosa",
               "Samuel", "Tanja", "Umar", "Valerie", "William", "Xenia", "Yusuf", "Zoe",
               "Amelie", "Bruno", "Chloe", "Diego", "Emma", "Felix", "Giulia", "Hugo", "Ines",
               "Jonas", "Katarina", "Leon", "Mila", "Noah", "Oscar", "Priya", "Rafael", "Sofia",
               "Thomas", "Ugo", "Vera", "Wen", "Yara", "Zain", "Aisha", "Björn", "Camille")
LAST_NAMES = ("Smith", "Jansen", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Novak",
              "Nielsen", "Andersson", "Silva", "Kim", "Tanaka", "Patel", "Khan", "Okafor",
              "Brown", "de Vries", "Schmidt", "Martin", "Lopez", "Ivanova", "Horvat", "Berg",
              "Costa", "Walsh", "Murphy", "Fischer", "Weber", "Meyer", "Moreau", "Bianchi",
              "Larsen", "Hansen", "Johansson", "Nakamura", "Chen", "Singh", "Ali", "Mensah",
              "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Clarke", "Young", "King")
_ASCII = str.maketrans({"ö": "o", "ü": "u", "ä": "a", "é": "e", " ": ""})


@dataclass
class People:
    """One chunk of accounts with their committees (contacts sorted by account)."""

    first_account: int  # global number of the chunk's first account
    segment: np.ndarray
    value: np.ndarray
    accounts: pa.Table  # account_id, name, segment, industry, size, region, value
    contact_start: np.ndarray  # per account: index of its first contact in the chunk
    contact_count: np.ndarray
    contact_persona: np.ndarray  # per contact: persona code (NO_PERSONA for unmatched titles)
    first_contact: int  # global number of the chunk's first contact
    contacts: pa.Table  # contact_id, account_id, email, title

    @property
    def n(self) -> int:
        return len(self.segment)


def account_ids(numbers: np.ndarray) -> pa.Array:
    return _ids("A", numbers, 7)


def contact_ids(numbers: np.ndarray) -> pa.Array:
    return _ids("C", numbers, 8)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _names(numbers: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """Unique (name, e-mail domain, industry) of accounts by their global number."""
    names, domains, industries = [], [], []
    for g in numbers.tolist():
        p = (g * _NAME_STRIDE) % _NAME_SPACE
        cycle = g // _NAME_SPACE
        brand = _PREFIX[p % len(_PREFIX)] + _SUFFIX[(p // len(_PREFIX)) % len(_SUFFIX)]
        sector, industry = _SECTORS[p // (len(_PREFIX) * len(_SUFFIX))]
        tail = f" {cycle + 1}" if cycle else ""
        names.append(f"{brand} {sector}{tail}")
        domains.append(f"{brand}{sector}{cycle + 1 if cycle else ''}.com".lower())
        industries.append(industry)
    return names, domains, industries


def make_people(rng: np.random.Generator, first_account: int, n: int,
                first_contact: int) -> People:
    """`n` accounts numbered from `first_account`, with committees numbered from
    `first_contact`."""
    numbers = np.arange(first_account, first_account + n, dtype=np.int64)
    segment = rng.choice(3, n, p=SEGMENT_SHARE).astype(np.int8)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
    band = rng.integers(0, 2, n)
    median = np.asarray(ACV_MEDIAN)[segment]
    value = np.round(median * rng.lognormal(0.0, 0.45, n), -2)
    names, domains, industries = _names(numbers)
    size = [SIZE_BANDS[s][b] for s, b in zip(segment.tolist(), band.tolist(), strict=True)]
    accounts = pa.table({
        "account_id": account_ids(numbers),
        "name": pa.array(names),
        "segment": pa.array(np.asarray(SEGMENTS, dtype=object)[segment]),
        "industry": pa.array(industries),
        "size": pa.array(size),
        "region": pa.array(np.asarray(REGIONS, dtype=object)[region]),
        "value": pa.array(value, type=pa.float64()),
    })

    low = np.array([r[0] for r in COMMITTEE_SIZE])[segment]
    high = np.array([r[1] for r in COMMITTEE_SIZE])[segment]
    count = rng.integers(low, high + 1).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    m = int(count.sum())
    owner = np.repeat(np.arange(n), count)
    slot = np.arange(m) - start[owner]
    persona = _SLOTS[slot].copy()
    no_end_user = rng.random(n) < 0.15
    persona[(slot == 2) & no_end_user[owner]] = TECHNICAL
    # Never the champion: every committee keeps someone to run the evaluation.
    persona[(slot > 0) & (rng.random(m) < UNMATCHED_SHARE)] = NO_PERSONA

    title = _TITLE_START[persona] + (rng.random(m) * _TITLE_COUNT[persona]).astype(np.int64)
    # Distinct first names within an account keep e-mail addresses unique there.
    first = (rng.integers(0, len(FIRST_NAMES), n)[owner] + slot * 5) % len(FIRST_NAMES)
    last = rng.integers(0, len(LAST_NAMES), m)
    local = pc.binary_join_element_wise(
        pa.array(np.asarray([f.lower().translate(_ASCII) for f in FIRST_NAMES])[first]),
        pa.array(np.asarray([s.lower().translate(_ASCII) for s in LAST_NAMES])[last]), ".")
    free = rng.random(m) < FREE_MAIL_SHARE
    numbers_c = np.arange(first_contact, first_contact + m, dtype=np.int64)
    free_domain = np.asarray(FREE_MAIL)[rng.integers(0, len(FREE_MAIL), m)]
    domain = np.where(free, free_domain, np.asarray(domains)[owner])
    # A free-mail address gets a number, as people's private addresses do.
    local = pc.if_else(pa.array(free), pc.binary_join_element_wise(
        local, pa.array(numbers_c % 97).cast(pa.string()), ""), local)
    email = pc.binary_join_element_wise(local, pa.array(domain), "@")
    contacts = pa.table({
        "contact_id": contact_ids(numbers_c),
        "account_id": account_ids(numbers[owner]),
        "email": email,
        "title": pa.array(np.asarray(ALL_TITLES, dtype=object)[title]),
    })
    return People(first_account, segment, value, accounts, start, count, persona,
                  first_contact, contacts)
