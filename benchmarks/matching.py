"""Benchmark: matching N canonical events to the b2b template's touchpoints and outcomes.

Writes a synthetic canonical Parquet file (activities of the template's rules plus some no rule
names, channels, owners, a JSON attribute on every tenth event), loads it into a workspace
table, then times `apply_matching` (the workspace path: the rules on the distinct rule keys,
then one UPDATE of the events whose result changes, here all of them) and, for comparison, the
plain Ibis `match_table` expression aggregated in DuckDB.

    python benchmarks/matching.py --events 10000000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis

from journeyscope.events import schema
from journeyscope.events.matching import apply_matching, match_summary, match_table
from journeyscope.model.templates import load_template
from journeyscope.model.types import JourneyMap


def _activities(journey_map: JourneyMap) -> list[str]:
    names = {a for t in journey_map.touchpoints for r in t.match for a in r.activity}
    names |= {a for _, rules in journey_map.outcomes.items() for r in rules for a in r.activity}
    # Mixed case that the rules match case-insensitively, and names no rule knows.
    return sorted(names) + ["Webinar_Attended", "page_view", "newsletter_opened", "login"]


def write_parquet(path: Path, events: int, journey_map: JourneyMap) -> None:
    names = _activities(journey_map)
    listed = "[" + ", ".join("'" + n.replace("'", "''") + "'" for n in names) + "]"
    con = duckdb.connect()
    con.execute(f"""
        COPY (
          SELECT 'acc' || (i % 200000) AS account_id, 'con' || (i % 900000) AS contact_id,
                 TIMESTAMP '2023-01-01' + INTERVAL (i % 31536000) SECOND AS ts,
                 {listed}[1 + (hash(i) % {len(names)})::INT] AS activity,
                 ['web', 'email', 'phone', 'meeting', 'video'][1 + (i % 5)::INT] AS channel,
                 ['marketing', 'sales', 'onboarding', 'customer-success'][1 + (i % 4)::INT]
                   AS owner,
                 NULL::VARCHAR AS persona, NULL::DOUBLE AS value, NULL::DOUBLE AS score,
                 NULL::VARCHAR AS text, 'synthetic' AS source,
                 CASE WHEN i % 10 = 0 THEN '{{"direction": "IN", "tier": ' || (i % 3) || '}}'
                 END AS attributes
          FROM range({events}) AS r(i)
        ) TO '{path}' (FORMAT parquet)
    """)
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    args = parser.parse_args(argv)
    journey_map = load_template("b2b")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parquet = folder / "events.parquet"
        started = time.perf_counter()
        write_parquet(parquet, args.events, journey_map)
        print(f"synthetic parquet: {args.events:,} events in {time.perf_counter() - started:.2f} s")

        con = duckdb.connect(str(folder / "workspace.duckdb"))
        if args.threads:
            con.execute(f"SET threads = {args.threads}")
        con.execute(schema.create_table_sql("events", schema.ALL_EVENT_COLUMNS))
        names = ", ".join(c.name for c in schema.EVENT_COLUMNS) + ", attributes"
        started = time.perf_counter()
        con.execute(f"INSERT INTO events ({names}) SELECT {names} FROM read_parquet('{parquet}')")
        print(f"loaded into the workspace table in {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        matched = apply_matching(con, journey_map)
        con.execute("COMMIT")
        seconds = time.perf_counter() - started
        summary = match_summary(con)
        print(f"apply_matching: {args.events:,} events in {seconds:.2f} s "
              f"({args.events / seconds:,.0f} events/s); matched {matched:,} "
              f"({summary.share:.1%}: {summary.to_touchpoint:,} touchpoint, "
              f"{summary.to_outcome:,} outcome)")

        backend = ibis.duckdb.from_connection(con)
        expr = match_table(backend.table("events"), journey_map)
        counted = expr.group_by("touchpoint").agg(n=expr.count())
        started = time.perf_counter()
        sql = ibis.to_sql(counted, dialect="duckdb")
        rows = con.execute(sql).fetchall()
        seconds = time.perf_counter() - started
        print(f"match_table (Ibis expression, every rule per event, counted): {seconds:.2f} s "
              f"({args.events / seconds:,.0f} events/s, {len(rows)} touchpoints)")
        con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (this process): {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
