"""The main themes of negative comments: the words and two-word phrases that negative comments
use far more often than the other comments, with where they come from.

No downloaded model: term and phrase statistics over the distinct texts, which the engine has
already counted. A term is a theme when it appears in at least `min_comments` negative
comments and its rate there is at least `min_lift` times its rate in the other comments
(smoothed, so that a term absent from the others still gets a finite lift). Themes are ranked
by negative comments times the log of the lift, which favours what is both frequent and
specific; a phrase hides the words it is made of when it covers most of their uses.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.journey import STRINGS, Codes

_WORD = re.compile(r"[a-z][a-z'\-]+")
# English function words and words every support or feedback text uses.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each even ever every few for from further get gets getting got
had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me
more most much mustn't my myself no nor not now of off on once only or other ought our ours
ourselves out over own really same shan't she she'd she'll she's should shouldn't so some still
such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those through to too under until up upon us very was wasn't we
we'd we'll we're we've were weren't what what's when when's where where's which while who who's
whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
yourself yourselves thanks thank please hi hello dear regards team us one two also yet via
""".split())  # noqa: SIM905


def tokens(text: str) -> list[str]:
    """The lower-case content words of a text, in order.

    >>> tokens("The migration took WEEKS longer than planned!")
    ['migration', 'took', 'weeks', 'longer', 'planned']
    """
    return [w.strip("'-") for w in _WORD.findall(text.lower())
            if w.strip("'-") not in STOPWORDS and len(w.strip("'-")) > 2]


def _terms(text: str) -> set[str]:
    words = tokens(text)
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def negative_themes(
    events: ir.Table,
    *,
    text: str = "text",
    sentiment: str = "sentiment",
    touchpoint: str = "touchpoint",
    negative: float = -0.05,
    top: int = 15,
    min_comments: int = 3,
    min_lift: float = 1.5,
    codes: Codes = STRINGS,
) -> pa.Table:
    """Themes of negative comments: `theme`, `comments` (negative comments using it),
    `share` (of all negative comments), `lift` (rate among negative over rate among the
    other comments), `touchpoints` (the three where it is most used) and an `example`."""
    t = events.filter(events[text].notnull() & events[sentiment].notnull())
    counted = t.group_by([t[text].name("text"), t[touchpoint].name("touchpoint")]).aggregate(
        n=t.count(), negative=(t[sentiment] <= negative).any()
    ).to_pyarrow()
    neg_terms: Counter[str] = Counter()
    other_terms: Counter[str] = Counter()
    where: dict[str, Counter[str]] = defaultdict(Counter)
    example: dict[str, tuple[int, str]] = {}
    neg_total = other_total = 0
    cache: dict[str, set[str]] = {}
    rows = counted.to_pylist()
    for row in rows:
        row["touchpoint"] = codes.name("touchpoint", row["touchpoint"])
    # In a fixed order, whatever order the engine gave: ties of `most_common` below keep it.
    rows.sort(key=lambda r: (r["text"], r["touchpoint"] is None, r["touchpoint"] or ""))
    for row in rows:
        txt, n = row["text"], row["n"]
        place = row["touchpoint"]
        terms = cache.get(txt)
        if terms is None:
            terms = cache[txt] = _terms(txt)
        if row["negative"]:
            neg_total += n
            for term in terms:
                neg_terms[term] += n
                if place:
                    where[term][place] += n
                if term not in example or example[term][0] < n or (
                        example[term][0] == n and len(txt) < len(example[term][1])):
                    example[term] = (n, txt)
        else:
            other_total += n
            for term in terms:
                other_terms[term] += n
    candidates = []
    for term, k in neg_terms.items():
        if k < min_comments:
            continue
        lift = (k / neg_total) / ((other_terms[term] + 0.5) / (other_total + 1.0))
        if lift < min_lift:
            continue
        candidates.append((k * math.log(lift), term, k, lift))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    chosen: list[tuple[float, str, int, float]] = []
    for cand in candidates:
        _, term, k, _ = cand
        # A word mostly used inside an already chosen phrase adds nothing of its own.
        if " " not in term and any(term in c[1].split() and c[2] >= 0.8 * k for c in chosen
                                   if " " in c[1]):
            continue
        # A phrase whose word is already chosen with about the same count repeats it.
        if " " in term and any(c[1] in term.split() and k >= 0.8 * c[2] for c in chosen
                               if " " not in c[1]):
            chosen = [c for c in chosen if not (c[1] in term.split() and k >= 0.8 * c[2])]
        chosen.append(cand)
        if len(chosen) >= top:
            break
    chosen.sort(key=lambda c: (-c[0], c[1]))
    return pa.table({
        "theme": [c[1] for c in chosen],
        "comments": pa.array([c[2] for c in chosen], pa.int64()),
        "share": pa.array([c[2] / neg_total for c in chosen], pa.float64()),
        "lift": pa.array([round(c[3], 3) for c in chosen], pa.float64()),
        "touchpoints": pa.array([[tp for tp, _ in where[c[1]].most_common(3)] for c in chosen],
                                pa.list_(pa.string())),
        "example": [example[c[1]][1] for c in chosen],
    })
