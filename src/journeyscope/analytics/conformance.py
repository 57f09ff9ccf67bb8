"""Conformance: how far the real journeys follow the designed links of the map.

A journey is read from `base.journey_steps` (touchpoint events with their next touchpoint). A
*move* is a step from one touchpoint to a different one; a repeat of the same touchpoint (three
support tickets in a row) is not a move. A move is *designed* when the map has a link (`next`)
from its touchpoint to the next one. Definitions (docs/conformance.md says the same for users):

- **fitness**: the share of accounts whose every move is designed (an account with a single
  touchpoint, or repeats only, fits); `move_fitness` is the share of all moves that are designed.
- **undesigned moves**: moves that happen but that no link of the map draws, most frequent first.
- **unmet touchpoints**: touchpoints of the map that no event was matched to, and **untravelled
  links**: designed links no account followed.

The designed links are a small table joined to the moves after they are counted, so the work
in the engine is one filter and two aggregations over the journey.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import US_PER_DAY
from journeyscope.model.types import JourneyMap, parse_duration


def designed_links(journey_map: JourneyMap) -> ir.Table:
    """The map's links as a small table: `source`, `target`, their stages, whether the link is a
    handover (the owners differ) and the link's time standard in days."""
    by_id = {t.id: t for t in journey_map.touchpoints}
    rows = [(src, link, by_id.get(link.to)) for src, link in journey_map.links()]
    rows = [r for r in rows if r[2] is not None]
    return ibis.memtable(pa.table({
        "source": pa.array([s.id for s, _, _ in rows], pa.string()),
        "target": pa.array([t.id for _, _, t in rows], pa.string()),
        "source_stage": pa.array([s.stage for s, _, _ in rows], pa.string()),
        "target_stage": pa.array([t.stage for _, _, t in rows], pa.string()),
        "handover": pa.array([s.owner != t.owner for s, _, t in rows], pa.bool_()),
        "standard_days": pa.array(
            [parse_duration(link.time_standard).total_seconds() / 86400
             if link.time_standard else None for _, link, _ in rows], pa.float64()),
    }))


def _moves(journey: ir.Table, *, touchpoint: str, next_touchpoint: str) -> ir.Table:
    return journey.filter(
        journey[next_touchpoint].notnull() & (journey[next_touchpoint] != journey[touchpoint])
    )


def _edges(journey: ir.Table, journey_map: JourneyMap, *, account: str, touchpoint: str,
           next_touchpoint: str, gap: str) -> ir.Table:
    """Every observed move source -> target with its counts and whether the map designs it."""
    moves = _moves(journey, touchpoint=touchpoint, next_touchpoint=next_touchpoint)
    counted = moves.group_by(
        moves[touchpoint].name("source"), moves[next_touchpoint].name("target")
    ).aggregate(
        moves=moves.count(),
        accounts=moves[account].nunique(),
        median_days=(moves[gap].cast("float64") / US_PER_DAY).median(),
    )
    links = designed_links(journey_map).select("source", "target", designed=ibis.literal(True))
    out = counted.left_join(links, ["source", "target"])
    return out.select(*counted.columns, designed=out.designed.fill_null(False))


def fitness(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
) -> ir.Table:
    """One row: `accounts` on the journey, `fitting_accounts` whose every move is on the map,
    `fitness` (their share), `moves`, `designed_moves` and `move_fitness` (their share)."""
    moves = _moves(journey, touchpoint=touchpoint, next_touchpoint=next_touchpoint)
    links = designed_links(journey_map).select(s="source", t="target")
    # The few designed links are the small side of an anti-join: what is left are the moves
    # off the map, and an account misfits when it made one.
    on_map = (moves[touchpoint] == links.s) & (moves[next_touchpoint] == links.t)
    off = moves.anti_join(links, on_map)
    accounts = journey.select(journey[account].name("a")).distinct().count().as_scalar()
    counts = moves.aggregate(moves=moves.count()).cross_join(off.aggregate(
        off_moves=off.count(), misfits=off[account].nunique()))
    out = counts.mutate(accounts=accounts)
    fitting = out.accounts - out.misfits
    designed = out.moves - out.off_moves
    return out.select(
        accounts=out.accounts,
        fitting_accounts=fitting,
        fitness=ibis.ifelse(out.accounts > 0, fitting.cast("float64") / out.accounts,
                            ibis.null("float64")),
        moves=out.moves,
        designed_moves=designed,
        move_fitness=ibis.ifelse(out.moves > 0, designed.cast("float64") / out.moves,
                                 ibis.null("float64")),
    )


def undesigned_moves(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
    gap: str = "gap_us",
) -> ir.Table:
    """Moves that happen but are not on the map: `source`, `target`, their stages, `moves`,
    distinct `accounts`, the median days between the two, and `share` of all moves."""
    edges = _edges(journey, journey_map, account=account, touchpoint=touchpoint,
                   next_touchpoint=next_touchpoint, gap=gap)
    total = edges.moves.sum().as_scalar()
    out = edges.filter(~edges.designed)
    stage = {t.id: t.stage for t in journey_map.touchpoints}
    out = out.mutate(
        source_stage=out.source.substitute(stage, else_=ibis.null("string")),
        target_stage=out.target.substitute(stage, else_=ibis.null("string")),
        share=out.moves.cast("float64") / total,
    )
    return out.select("source", "target", "source_stage", "target_stage", "moves", "accounts",
                      "median_days", "share").order_by([ibis.desc("moves"), "source", "target"])


def unmet_touchpoints(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
) -> ir.Table:
    """The map's touchpoints that no event was matched to: `touchpoint`, `name`, `stage`,
    `owner`, and whether it has match rules at all (`has_rules`: without rules nothing can
    meet it, which is a gap in the map rather than in the journey)."""
    tps = journey_map.touchpoints
    design = ibis.memtable(pa.table({
        "touchpoint": pa.array([t.id for t in tps], pa.string()),
        "name": pa.array([t.name for t in tps], pa.string()),
        "stage": pa.array([t.stage for t in tps], pa.string()),
        "owner": pa.array([t.owner for t in tps], pa.string()),
        "has_rules": pa.array([bool(t.match) for t in tps], pa.bool_()),
        "position": pa.array(range(len(tps)), pa.int32()),
    }))
    met = journey.select(journey[touchpoint].name("__met")).distinct()
    out = design.anti_join(met, design.touchpoint == met["__met"])
    return out.order_by("position").drop("position")


def untravelled_links(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
) -> ir.Table:
    """Designed links that no account followed: `source`, `target`, their stages and whether
    the link is a handover."""
    moves = _moves(journey, touchpoint=touchpoint, next_touchpoint=next_touchpoint)
    seen = moves.select(moves[touchpoint].name("s"), moves[next_touchpoint].name("t")).distinct()
    links = designed_links(journey_map)
    out = links.anti_join(seen, (links.source == seen.s) & (links.target == seen.t))
    return out.select("source", "target", "source_stage", "target_stage", "handover").order_by(
        ["source", "target"])
