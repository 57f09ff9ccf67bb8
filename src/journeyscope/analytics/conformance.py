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

The moves are counted per pair of touchpoints in one query (`paths.edge_stats`, which the
directly-follows graph and the Sankey flows share in an analysis run); whether a pair is
designed is judged on that small result. Only the accounts that made a move off the map need
a query of their own (`misfits`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.journey import STRINGS, Codes
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


def _links(journey_map: JourneyMap) -> list[tuple[str, str]]:
    by_id = {t.id: t for t in journey_map.touchpoints}
    return [(src.id, link.to) for src, link in journey_map.links() if link.to in by_id]


def on_map(source: ir.Value, target: ir.Value, journey_map: JourneyMap, *,
           codes: Codes = STRINGS) -> ir.BooleanValue:
    """Whether the move `source` to `target` (touchpoints) is a designed link of the map."""
    links = _links(journey_map)
    if not links:
        return ibis.literal(False)
    if codes.coded("touchpoint"):
        # One integer per pair: a set lookup instead of a comparison per link.
        keys = [codes.key("touchpoint", a) * 2**20 + codes.key("touchpoint", b)
                for a, b in links]
        return (source.cast("int64") * 2**20 + target.cast("int64")).isin(keys)
    on = ibis.literal(False)
    for a, b in links:
        on = on | ((source == a) & (target == b))
    return on


def off_map(journey: ir.Table, journey_map: JourneyMap, *, touchpoint: str = "touchpoint",
            next_touchpoint: str = "next_touchpoint",
            codes: Codes = STRINGS) -> ir.BooleanValue:
    """Whether each step is a move (to a different touchpoint) the map does not design."""
    j = journey
    return (j[next_touchpoint].notnull() & (j[next_touchpoint] != j[touchpoint])
            & ~on_map(j[touchpoint], j[next_touchpoint], journey_map, codes=codes))


def misfits(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
    codes: Codes = STRINGS,
) -> dict[str, int]:
    """One small query: `accounts` on the journey and `misfits`, those that made a move off
    the map."""
    j = journey
    off = off_map(j, journey_map, touchpoint=touchpoint, next_touchpoint=next_touchpoint,
                  codes=codes)
    row = j.aggregate(accounts=j[account].nunique(), misfits=j[account].nunique(where=off))
    return row.to_pyarrow().to_pylist()[0]


FITNESS_SCHEMA = pa.schema([
    ("accounts", pa.int64()), ("fitting_accounts", pa.int64()), ("fitness", pa.float64()),
    ("moves", pa.int64()), ("designed_moves", pa.int64()), ("move_fitness", pa.float64()),
])


def fitness_table(edges: pa.Table, counts: dict[str, int], journey_map: JourneyMap, *,
                  codes: Codes = STRINGS) -> pa.Table:
    """`fitness` from the touchpoints' `paths.edge_stats` and `misfits`."""
    links = set(_links(journey_map))
    moves = designed = 0
    for e in edges.to_pylist():
        src, dst = codes.name("touchpoint", e["source"]), codes.name("touchpoint", e["target"])
        if src != dst:
            moves += e["frequency"]
            designed += e["frequency"] if (src, dst) in links else 0
    accounts = counts["accounts"] or 0
    fitting = accounts - (counts["misfits"] or 0)
    return pa.Table.from_pylist([{
        "accounts": accounts, "fitting_accounts": fitting,
        "fitness": fitting / accounts if accounts > 0 else None,
        "moves": moves, "designed_moves": designed,
        "move_fitness": designed / moves if moves > 0 else None,
    }], schema=FITNESS_SCHEMA)


def _edges(journey: ir.Table, *, account: str, touchpoint: str, next_touchpoint: str,
           gap: str) -> pa.Table:
    from journeyscope.analytics.paths import edge_stats

    return edge_stats(journey, source=touchpoint, target=next_touchpoint, account=account,
                      gap=gap)


def fitness(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
    codes: Codes = STRINGS,
) -> ir.Table:
    """One row: `accounts` on the journey, `fitting_accounts` whose every move is on the map,
    `fitness` (their share), `moves`, `designed_moves` and `move_fitness` (their share)."""
    from journeyscope.analytics.paths import edge_stats

    edges = edge_stats(journey, source=touchpoint, target=next_touchpoint, account=account,
                       durations=False, accounts=False)
    counts = misfits(journey, journey_map, account=account, touchpoint=touchpoint,
                     next_touchpoint=next_touchpoint, codes=codes)
    return ibis.memtable(fitness_table(edges, counts, journey_map, codes=codes))


UNDESIGNED_SCHEMA = pa.schema([
    ("source", pa.string()), ("target", pa.string()), ("source_stage", pa.string()),
    ("target_stage", pa.string()), ("moves", pa.int64()), ("accounts", pa.int64()),
    ("median_days", pa.float64()), ("share", pa.float64()),
])


def undesigned_table(edges: pa.Table, journey_map: JourneyMap, *,
                     codes: Codes = STRINGS) -> pa.Table:
    """`undesigned_moves` from the touchpoints' `paths.edge_stats` (with durations and
    accounts)."""
    links = set(_links(journey_map))
    stage = {t.id: t.stage for t in journey_map.touchpoints}
    rows, total = [], 0
    for e in edges.to_pylist():
        src, dst = codes.name("touchpoint", e["source"]), codes.name("touchpoint", e["target"])
        if src == dst:
            continue
        total += e["frequency"]
        if (src, dst) not in links:
            median = e["median_seconds"]
            rows.append({"source": src, "target": dst, "source_stage": stage.get(src),
                         "target_stage": stage.get(dst), "moves": e["frequency"],
                         "accounts": e["accounts"],
                         "median_days": median / 86400 if median is not None else None})
    for r in rows:
        r["share"] = r["moves"] / total
    rows.sort(key=lambda r: (-r["moves"], r["source"], r["target"]))
    return pa.Table.from_pylist(rows, schema=UNDESIGNED_SCHEMA)


def undesigned_moves(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    account: str = "account_id",
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
    gap: str = "gap_us",
    codes: Codes = STRINGS,
) -> ir.Table:
    """Moves that happen but are not on the map: `source`, `target`, their stages, `moves`,
    distinct `accounts`, the median days between the two, and `share` of all moves."""
    edges = _edges(journey, account=account, touchpoint=touchpoint,
                   next_touchpoint=next_touchpoint, gap=gap)
    return ibis.memtable(undesigned_table(edges, journey_map, codes=codes))


UNMET_SCHEMA = pa.schema([("touchpoint", pa.string()), ("name", pa.string()),
                          ("stage", pa.string()), ("owner", pa.string()),
                          ("has_rules", pa.bool_())])


def unmet_table(met: set[str], journey_map: JourneyMap) -> pa.Table:
    """`unmet_touchpoints` from the names of the touchpoints met."""
    return pa.Table.from_pylist(
        [{"touchpoint": t.id, "name": t.name, "stage": t.stage, "owner": t.owner,
          "has_rules": bool(t.match)} for t in journey_map.touchpoints if t.id not in met],
        schema=UNMET_SCHEMA)


def unmet_touchpoints(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    codes: Codes = STRINGS,
) -> ir.Table:
    """The map's touchpoints that no event was matched to: `touchpoint`, `name`, `stage`,
    `owner`, and whether it has match rules at all (`has_rules`: without rules nothing can
    meet it, which is a gap in the map rather than in the journey)."""
    met = journey.select(journey[touchpoint].name("__met")).distinct().to_pyarrow()
    names = {codes.name("touchpoint", v) for v in met.column("__met").to_pylist()}
    return ibis.memtable(unmet_table(names, journey_map))


LINK_SCHEMA = pa.schema([("source", pa.string()), ("target", pa.string()),
                         ("source_stage", pa.string()), ("target_stage", pa.string()),
                         ("handover", pa.bool_())])


def untravelled_table(edges: pa.Table, journey_map: JourneyMap, *,
                      codes: Codes = STRINGS) -> pa.Table:
    """`untravelled_links` from the touchpoints' `paths.edge_stats`."""
    seen = {(codes.name("touchpoint", e["source"]), codes.name("touchpoint", e["target"]))
            for e in edges.to_pylist()}
    # Staying put is no move, so a link of a touchpoint to itself is never travelled.
    seen = {(a, b) for a, b in seen if a != b}
    by_id = {t.id: t for t in journey_map.touchpoints}
    rows = [{"source": a, "target": b, "source_stage": by_id[a].stage,
             "target_stage": by_id[b].stage, "handover": by_id[a].owner != by_id[b].owner}
            for a, b in _links(journey_map) if (a, b) not in seen]
    rows.sort(key=lambda r: (r["source"], r["target"]))
    return pa.Table.from_pylist(rows, schema=LINK_SCHEMA)


def untravelled_links(
    journey: ir.Table,
    journey_map: JourneyMap,
    *,
    touchpoint: str = "touchpoint",
    next_touchpoint: str = "next_touchpoint",
    codes: Codes = STRINGS,
) -> ir.Table:
    """Designed links that no account followed: `source`, `target`, their stages and whether
    the link is a handover."""
    from journeyscope.analytics.paths import edge_stats

    edges = edge_stats(journey, source=touchpoint, target=next_touchpoint, durations=False,
                       accounts=False)
    return ibis.memtable(untravelled_table(edges, journey_map, codes=codes))
