"""The executive summary: three to five findings in plain words, each sentence built from the
figures of one analysis run, never canned.

Candidates, in the order they are offered (the first five the data supports are kept):

1. the pain point with the most revenue at risk (without deal values: the most accounts hurt),
   its first piece of evidence and the map's opportunity there;
2. the biggest drop-off between two consecutive stages (leaving for an exit stage such as
   cessation is not a drop-off);
3. the handover that loses most: accounts handed over later than the link's standard that did
   not move on, beyond what on-time handovers lose; where lateness makes no measurable
   difference, the designed handover most often late against its standard;
4. the touchpoint with the biggest win-rate lift;
5. the persona whose absence in a stage costs most deals;
6. the stage with the largest share of accounts over its time standard;
7. the touchpoint customers feel worst about;
8. how much of the real journeys the map explains.

A comparison of two groups (late against on-time handovers, accounts that met a touchpoint or
a persona against those that did not) needs `MIN_GROUP` accounts on each side and a
difference that is significant (`significant`); otherwise it is no finding.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from journeyscope.model.types import JourneyMap
from journeyscope.report import fmt
from journeyscope.report.measures import rows

MIN_GROUP = 20  # accounts needed on each side of a comparison before it is a finding
Z_CRITICAL = 1.96  # a difference of two rates is a finding when significant at 5% (two-sided)
MAX_FINDINGS = 5
_EXIT = re.compile(r"cessation|churn|exit|offboard|termination|lost", re.IGNORECASE)

Result = Mapping[str, Any]


@dataclass(frozen=True)
class Finding:
    """One finding: a short `title`, the headline `figure`, the `sentence` that explains it,
    and the `anchor` of the page section that shows the detail."""

    key: str
    title: str
    figure: str
    sentence: str
    anchor: str


def _names(journey_map: JourneyMap) -> dict[str, str]:
    out = {s.id: s.name for s in journey_map.stages}
    out.update({t.id: t.name for t in journey_map.touchpoints})
    out.update({p.id: p.name for p in journey_map.personas})
    return out


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def is_exit_stage(stage_id: str, name: str = "") -> bool:
    """A stage that ends the relationship (cessation, churn...): reaching it is no progress.

    >>> is_exit_stage("cessation"), is_exit_stage("decision", "Decision")
    (True, False)
    """
    return bool(_EXIT.search(stage_id) or _EXIT.search(name))


def significant(p1: float, n1: float, p2: float, n2: float, z: float = Z_CRITICAL) -> bool:
    """Whether two rates (shares of `n1` and `n2` accounts) differ by more than chance, by a
    two-proportion z-test: a finding is never read from noise.

    >>> significant(0.37, 460, 0.23, 379), significant(0.38, 51, 0.30, 788)
    (True, False)
    """
    if n1 < 1 or n2 < 1:
        return False
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    return spread > 0 and abs(p1 - p2) / spread >= z


def top_painpoint(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The pain point with the most revenue at risk."""
    ranked = [r for r in rows(result, "painpoints")
              if (r.get("affected_accounts") or 0) >= MIN_GROUP]
    if not ranked:
        return None
    valued = any((r.get("revenue_at_risk") or 0) > 0 for r in ranked)
    # Without deal values the ranking has nothing to weigh: the most accounts hurt lead.
    r = ranked[0] if valued else max(ranked, key=lambda x: x["affected_accounts"])
    names = _names(journey_map)
    where = f"{r['touchpoint_name']} ({names.get(r.get('stage'), r.get('stage'))})"
    affected = f"{fmt.count(r['affected_accounts'])} of {fmt.count(r.get('accounts'))} accounts"
    if valued:
        sentence = (f"{where} puts {fmt.money(r['revenue_at_risk'])} of revenue at risk: "
                    f"{affected} that met it were hurt there.")
        figure = fmt.money(r["revenue_at_risk"])
    else:
        sentence = (f"{where} hurts the most accounts: {affected} that met it were hurt there "
                    "(the data holds no deal values to put a revenue on it).")
        figure = fmt.plural(r["affected_accounts"], "account")
    evidence = r.get("evidence") or []
    if evidence:
        sentence += f" {_first_upper(fmt.figures(evidence[0]))}."
    opportunities = r.get("opportunities") or []
    if opportunities:
        sentence += f" The map's opportunity here: {opportunities[0]}."
    title = "Most revenue at risk" if valued else "Pain point that hurts most accounts"
    return Finding("painpoint", title, figure, sentence, "painpoints")


def biggest_drop_off(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The largest number of accounts lost between two consecutive stages."""
    funnel = rows(result, "stages.funnel")
    best = None
    for before, after in itertools.pairwise(funnel):
        if is_exit_stage(after["stage"], after.get("stage_name") or ""):
            continue
        lost = after.get("drop_off")
        if fmt.is_number(lost) and lost > 0 and (best is None or lost > best[1]["drop_off"]):
            best = (before, after)
    if best is None:
        return None
    before, after = best
    sentence = (f"{fmt.count(after['drop_off'])} of the {fmt.count(after.get('previous'))} "
                f"accounts that reached {before['stage_name']} never reached "
                f"{after['stage_name']} ({fmt.pct(after.get('drop_off_rate'))}): the biggest "
                "loss between two stages.")
    return Finding("drop_off", "Biggest drop-off", fmt.pct(after.get("drop_off_rate")),
                   sentence, "funnel")


def costliest_handover(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The designed handover where lateness loses the most accounts (or, failing that, the one
    most often late)."""
    names = _names(journey_map)
    designed = rows(result, "handovers.designed")
    best, best_lost = None, 0.0
    for r in designed:
        within, late, share = (r.get("conversion_within"), r.get("conversion_breach"),
                               r.get("breach_share"))
        if not all(fmt.is_number(v) for v in (within, late, share)) or not r.get("accounts"):
            continue
        n_late, n_within = r["accounts"] * share, r["accounts"] * (1 - share)
        if not significant(within, n_within, late, n_late):
            continue
        lost = n_late * (within - late)
        if lost > best_lost:
            best, best_lost = r, lost
    if best is not None:
        r = best
        sentence = (f"When {r.get('from_owner') or 'no owner'} hands over to "
                    f"{r.get('to_owner') or 'no owner'} "
                    f"({names.get(r['source'], r['source'])} to "
                    f"{names.get(r['target'], r['target'])}) later than its standard of "
                    f"{fmt.days(r['time_standard_days'])}, as for "
                    f"{fmt.pct(r['breach_share'])} of accounts, only "
                    f"{fmt.pct(r['conversion_breach'])} move on, against "
                    f"{fmt.pct(r['conversion_within'])} on time: about "
                    f"{fmt.count(best_lost)} accounts lost.")
        return Finding("handover", "Handover that loses most",
                       f"{fmt.count(best_lost)} accounts", sentence, "handovers")
    late = [r for r in designed
            if fmt.is_number(r.get("breach_share")) and r["breach_share"] > 0
            and fmt.is_number(r.get("time_standard_days"))
            and (r.get("accounts") or 0) >= MIN_GROUP]
    if not late:
        return None
    r = max(late, key=lambda x: x["breach_share"])
    sentence = (f"{fmt.pct(r['breach_share'])} of the handovers from "
                f"{r.get('from_owner') or 'no owner'} to {r.get('to_owner') or 'no owner'} "
                f"({names.get(r['source'], r['source'])} to "
                f"{names.get(r['target'], r['target'])}) take longer than the standard of "
                f"{fmt.days(r['time_standard_days'])} (median {fmt.days(r.get('gap_median_days'))},"
                f" one in ten over {fmt.days(r.get('gap_p90_days'))}), over "
                f"{fmt.plural(r['accounts'], 'account')} handed over.")
    return Finding("handover", "Slowest handover", fmt.pct(r["breach_share"]), sentence,
                   "handovers")


def best_win_lift(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The touchpoint whose accounts win most often relative to those that skip it."""
    names = _names(journey_map)
    candidates = [
        r for r in rows(result, "touchpoints.stats")
        if fmt.is_number(r.get("win_lift")) and r["win_lift"] > 1
        and (r.get("met_before_decision") or 0) >= MIN_GROUP
        and (r.get("stage_accounts") or 0) - (r.get("met_before_decision") or 0) >= MIN_GROUP
        and significant(r["win_rate_met"], r["met_before_decision"], r["win_rate_not_met"],
                        r["stage_accounts"] - r["met_before_decision"])]
    if not candidates:
        return None
    r = max(candidates, key=lambda x: x["win_lift"])
    sentence = (f"Accounts that met {names.get(r['touchpoint'], r['touchpoint'])} won "
                f"{fmt.pct(r['win_rate_met'])} of their deals, against "
                f"{fmt.pct(r['win_rate_not_met'])} of those in "
                f"{names.get(r.get('stage'), r.get('stage'))} that did not "
                f"({fmt.ratio(r['win_lift'])}); {fmt.count(r['met_before_decision'])} of "
                f"{fmt.count(r['stage_accounts'])} accounts met it.")
    return Finding("win_lift", "Touchpoint that wins deals", fmt.ratio(r["win_lift"]),
                   sentence, "touchpoints")


def costliest_absence(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The persona whose absence in a stage costs the most won deals."""
    names = _names(journey_map)
    best, best_lost = None, 0.0
    for r in rows(result, "committee.persona_reach"):
        engaged, total = r.get("engaged") or 0, r.get("accounts") or 0
        absent = total - engaged
        with_, without = r.get("win_rate_engaged"), r.get("win_rate_absent")
        if engaged < MIN_GROUP or absent < MIN_GROUP or not (
                fmt.is_number(with_) and fmt.is_number(without)) \
                or not significant(with_, engaged, without, absent):
            continue
        lost = absent * (with_ - without)
        if lost > best_lost:
            best, best_lost = r, lost
    if best is None:
        return None
    r = best
    who = names.get(r["persona"], r["persona"])
    absent = r["accounts"] - r["engaged"]
    sentence = (f"In {names.get(r['stage'], r['stage'])}, {fmt.count(absent)} accounts never "
                f"engaged the {who}; they won {fmt.pct(r['win_rate_absent'])} of their deals "
                f"against {fmt.pct(r['win_rate_engaged'])} when the {who} took part: about "
                f"{fmt.count(best_lost)} deals lost.")
    return Finding("persona", "Absence that costs most", f"{fmt.count(best_lost)} deals",
                   sentence, "committee")


def slowest_stage(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The stage with the largest share of accounts over its time standard."""
    data = [r for r in rows(result, "stages.time_in_stage")
            if fmt.is_number(r.get("breach_share")) and r["breach_share"] > 0
            and (r.get("entered") or 0) >= MIN_GROUP]
    if not data:
        return None
    r = max(data, key=lambda x: x["breach_share"])
    sentence = (f"{fmt.pct(r['breach_share'])} of the accounts in {r['stage_name']} stay longer "
                f"than its standard of {fmt.days(r['standard_days'])} (median "
                f"{fmt.days(r['median_days'])}, one in ten over {fmt.days(r.get('p90_days'))}).")
    return Finding("time", "Slowest stage", fmt.pct(r["breach_share"]), sentence, "time")


def worst_feeling(result: Result, journey_map: JourneyMap) -> Finding | None:
    """The touchpoint with the lowest measured emotion."""
    names = _names(journey_map)
    data = [r for r in rows(result, "voc.emotion_by_touchpoint")
            if fmt.is_number(r.get("measured")) and (r.get("signals") or 0) >= MIN_GROUP]
    if not data:
        return None
    r = min(data, key=lambda x: x["measured"])
    if r["measured"] >= 0:
        return None
    designed = (f" (designed {fmt.signed(r['designed'])})"
                if fmt.is_number(r.get("designed")) else "")
    sentence = (f"Customers feel worst at {names.get(r['touchpoint'], r['touchpoint'])}: "
                f"{fmt.signed(r['measured'])} on the −2..+2 scale from "
                f"{fmt.count(r['signals'])} scores and comments{designed}.")
    return Finding("emotion", "Lowest moment", fmt.signed(r["measured"]), sentence, "voice")


def map_fit(result: Result, journey_map: JourneyMap) -> Finding | None:
    """How much of the real journeys follow the designed links."""
    fit = rows(result, "conformance.fitness")
    if not fit or not fmt.is_number(fit[0].get("move_fitness")):
        return None
    f = fit[0]
    names = _names(journey_map)
    sentence = (f"{fmt.pct(f['move_fitness'])} of the moves between touchpoints follow a link "
                f"of the map, and {fmt.pct(f.get('fitness'))} of the accounts travel on "
                "designed links only.")
    off = [r for r in rows(result, "conformance.undesigned_moves") if r.get("moves")]
    if off:
        o = off[0]
        sentence += (f" The most common move off the map: {names.get(o['source'], o['source'])} "
                     f"to {names.get(o['target'], o['target'])} ({fmt.count(o['moves'])} times).")
    return Finding("conformance", "How well the map fits", fmt.pct(f["move_fitness"]),
                   sentence, "conformance")


CANDIDATES: list[Callable[[Result, JourneyMap], Finding | None]] = [
    top_painpoint, biggest_drop_off, costliest_handover, best_win_lift, costliest_absence,
    slowest_stage, worst_feeling, map_fit,
]


def executive_summary(result: Result, journey_map: JourneyMap,
                      limit: int = MAX_FINDINGS) -> list[Finding]:
    """The first `limit` findings the results support, in the order of `CANDIDATES`."""
    found = []
    for candidate in CANDIDATES:
        finding = candidate(result, journey_map)
        if finding is not None:
            found.append(finding)
        if len(found) >= limit:
            break
    return found
