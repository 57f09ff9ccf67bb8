"""A realistic, reproducible B2B data set for the `b2b` template, with known effects planted in
it, so that analyses can be checked against the truth (`journeyscope demo-data`).

Writes `events.parquet` (or `events.csv`) in the canonical event columns, `accounts.csv`,
`contacts.csv` (no persona: the importer assigns it from the map's title rules) and
`TRUTH.json` with the planted effects, their parameters and what they amount to in this data.
Accounts are simulated in chunks of `CHUNK_ACCOUNTS`, each with its own seeded generator, so
memory stays flat at any size and the same seed gives the same bytes. See docs/demo-data.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from journeyscope.errors import JourneyscopeError
from journeyscope.events import demo_vocab as vocab
from journeyscope.events.demo_journeys import (
    EPOCH,
    ChunkEvents,
    Standards,
    business_day,
    calendar_days,
    simulate,
)
from journeyscope.events.demo_people import People, make_people
from journeyscope.events.demo_truth import Tally
from journeyscope.events.schema import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    arrow_schema,
)
from journeyscope.model.types import JourneyMap, parse_duration

REFERENCE_DATE = dt.date(2026, 6, 30)  # the last day of the data; fixed, never the clock
CHUNK_ACCOUNTS = 10_000
FORMATS = ("parquet", "csv")
EVENTS_SCHEMA = arrow_schema(EVENT_COLUMNS)
ACCOUNTS_SCHEMA = arrow_schema(tuple(c for c in ACCOUNT_COLUMNS))
CONTACTS_SCHEMA = arrow_schema(tuple(c for c in CONTACT_COLUMNS if c.name != "persona"))
_EPOCH_SECONDS = (EPOCH - dt.date(1970, 1, 1)).days * 86400
# Dictionary-encode the few-valued columns only; ids gain little from it and cost time.
_DICTIONARY_COLUMNS = ["activity", "channel", "owner", "persona", "text", "source"]

# What the simulation needs to find in the map it is generated for.
REQUIRED_STAGES = ("awareness", "consideration", "decision", "implementation")
REQUIRED_TOUCHPOINTS = ("sdr-qualification", "consultation", "proposal-pricing",
                        "onboarding-training", "account-management", "reference-check",
                        "data-migration")


class DemoError(JourneyscopeError):
    """The demo data cannot be generated as asked (bad size, format, folder or map)."""

    exit_code = 2


@dataclass
class DemoTables:
    """A generated data set in memory."""

    events: pa.Table
    accounts: pa.Table
    contacts: pa.Table
    truth: dict


@dataclass
class DemoSummary:
    """What `generate` wrote."""

    accounts: int
    contacts: int
    events: int
    activities: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)
    truth: dict = field(default_factory=dict)
    unmatched_activities: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        span = (f"{self.first_ts:%Y-%m-%d} to {self.last_ts:%Y-%m-%d}"
                if self.first_ts and self.last_ts else "no events")
        out = [
            f"{self.events:,} events, {self.accounts:,} accounts, {self.contacts:,} contacts, "
            f"{self.activities} activities, {span} ({self.seconds:.1f} s)",
        ]
        out += [f"  {path}" for path in self.files.values()]
        out.append("planted effects: " + ", ".join(self.truth.get("effects", {})))
        if self.unmatched_activities:
            out.append("activities no match rule of the map names: "
                       + ", ".join(self.unmatched_activities))
        return out


# --- the map --------------------------------------------------------------------------------


def _resolve_map(journey_map: JourneyMap | str | os.PathLike[str] | None) -> JourneyMap:
    if journey_map is None:
        from journeyscope.model.templates import load_template

        return load_template("b2b")
    if isinstance(journey_map, JourneyMap):
        return journey_map
    from journeyscope.model.files import load_map

    return load_map(journey_map)


def _days(duration: str | None, default: float) -> float:
    return parse_duration(duration).total_seconds() / 86400 if duration else default


def standards_from_map(journey_map: JourneyMap) -> Standards:
    """The time standards the planted delays are measured against, from a map derived from the
    b2b template; `DemoError` names what the map lacks."""
    m = journey_map
    missing = [f"stage {s!r}" for s in REQUIRED_STAGES if m.stage(s) is None]
    missing += [f"touchpoint {t!r}" for t in REQUIRED_TOUCHPOINTS if m.touchpoint(t) is None]
    if missing:
        raise DemoError(f"the demo data follows the b2b template, but the map {m.name!r} has no "
                        f"{', '.join(missing)}; start from `journeyscope init NAME --template "
                        "b2b` or leave out --map")

    def stage(stage_id: str, default: float) -> float:
        found = m.stage(stage_id)
        return _days(found.time_standard if found else None, default)

    def touchpoint(touchpoint_id: str, default: float) -> float:
        found = m.touchpoint(touchpoint_id)
        return _days(found.time_standard if found else None, default)

    def link(source: str, target: str, default: float) -> float:
        found = m.touchpoint(source)
        hop = next((k for k in found.next if k.to == target), None) if found else None
        return _days(hop.time_standard if hop else None, default)

    d = Standards()
    return Standards(
        awareness=stage("awareness", d.awareness),
        consideration=stage("consideration", d.consideration),
        decision=stage("decision", d.decision),
        implementation=stage("implementation", d.implementation),
        sdr_handover=link("sdr-qualification", "consultation", d.sdr_handover),
        kickoff_handover=link("proposal-pricing", "onboarding-training", d.kickoff_handover),
        csm_handover=link("onboarding-training", "account-management", d.csm_handover),
        migration=touchpoint("data-migration", d.migration),
    )


def unmatched_activities(journey_map: JourneyMap) -> list[str]:
    """The generated activities that no activity name or regex of the map's match rules (of
    touchpoints or outcomes) names."""
    names: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    rules = [r for t in journey_map.touchpoints for r in t.match]
    rules += [r for _, rs in journey_map.outcomes.items() for r in rs]
    for rule in rules:
        names.update(a.lower() for a in rule.activity)
        patterns.extend(re.compile(p) for p in rule.regex)
    return [a for a in vocab.ACTIVITY_NAMES
            if a.lower() not in names and not any(p.search(a) for p in patterns)]


# --- chunks to tables ------------------------------------------------------------------------


def _decode(codes: np.ndarray, words: tuple[str, ...]) -> pa.Array:
    mask = codes < 0
    indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(words, pa.string())).dictionary_decode()


def _events_table(chunk: ChunkEvents, people: People) -> pa.Table:
    seconds = np.floor(calendar_days(chunk.b) * 86400.0).astype(np.int64)
    # One integer key (account, second since EPOCH; under 2**36 for two millennia) sorts
    # faster than a lexsort of two columns.
    key = chunk.account.astype(np.int64) << 36 | seconds
    order = np.argsort(key, kind="stable")
    # Two events of an account in the same second would look like one duplicated event to an
    # importer; a later one moves on by a second: key_i = max(key_i, key_(i-1) + 1).
    step = np.arange(len(order), dtype=np.int64)
    key = np.maximum.accumulate(key[order] - step) + step
    seconds = (key & ((1 << 36) - 1)) + _EPOCH_SECONDS
    contact = chunk.contact[order] - people.first_contact
    no_contact = contact < 0
    contact_col = people.contacts["contact_id"].take(
        pa.array(np.where(no_contact, 0, contact), mask=no_contact if no_contact.any() else None))
    activity = chunk.activity[order]
    value, score = chunk.value[order], chunk.score[order]
    columns = {
        "account_id": people.accounts["account_id"].take(pa.array(chunk.account[order])),
        "contact_id": contact_col,
        "ts": pa.array(seconds * 1_000_000, type=pa.timestamp("us")),
        "activity": _decode(activity, vocab.ACTIVITY_NAMES),
        "channel": _decode(chunk.channel[order], vocab.CHANNELS),
        "owner": _decode(vocab.OWNER_CODE[activity], vocab.OWNERS),
        "persona": pa.nulls(len(order), pa.string()),
        "value": pa.array(value, mask=np.isnan(value)),
        "score": pa.array(score, mask=np.isnan(score)),
        "text": _decode(chunk.text[order], vocab.TEXTS),
        "source": _decode(vocab.SOURCE_CODE[activity], vocab.SOURCES),
    }
    return pa.Table.from_pydict(columns, schema=EVENTS_SCHEMA)


def _chunks(accounts: int, seed: int, std: Standards, tally: Tally
            ) -> Iterator[tuple[pa.Table, pa.Table, pa.Table]]:
    end = float(business_day(REFERENCE_DATE) + 1)
    first_contact = 0
    for k, start in enumerate(range(0, accounts, CHUNK_ACCOUNTS)):
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        people = make_people(rng, start, min(CHUNK_ACCOUNTS, accounts - start), first_contact)
        first_contact += people.contacts.num_rows
        chunk = simulate(rng, people, std, end)
        tally.add(chunk, people)
        yield _events_table(chunk, people), people.accounts, people.contacts


def _check(accounts: int, seed: int, fmt: str) -> None:
    if not isinstance(accounts, int) or accounts < 1:
        raise DemoError(f"--accounts must be a whole number of at least 1, not {accounts!r}")
    if not isinstance(seed, int) or seed < 0:
        raise DemoError(f"--seed must be a whole number of at least 0, not {seed!r}")
    if fmt not in FORMATS:
        raise DemoError(f"unknown format {fmt!r}: use parquet or csv")


def generate_tables(accounts: int, seed: int = 0,
                    journey_map: JourneyMap | str | os.PathLike[str] | None = None) -> DemoTables:
    """The demo data set in memory, as pyarrow tables (for tests and small experiments).

    >>> t = generate_tables(50, seed=1)
    >>> t.accounts.num_rows, t.events.column_names[:3]
    (50, ['account_id', 'contact_id', 'ts'])
    """
    _check(accounts, seed, "parquet")
    m = _resolve_map(journey_map)
    std = standards_from_map(m)
    tally = Tally(std, REFERENCE_DATE)
    parts = list(_chunks(accounts, seed, std, tally))
    events = pa.concat_tables([p[0] for p in parts])
    tables = DemoTables(events, pa.concat_tables([p[1] for p in parts]),
                        pa.concat_tables([p[2] for p in parts]), {})
    tables.truth = tally.truth(seed=seed, accounts=accounts, contacts=tables.contacts.num_rows,
                               map_name=m.name)
    return tables


class _Out:
    """Files written under a temporary name and renamed when all is done, so that an
    interrupted run never leaves a half data set looking complete."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pending: list[tuple[Path, Path]] = []

    def path(self, name: str) -> Path:
        final = self.folder / name
        tmp = self.folder / f".{name}.partial"
        self.pending.append((tmp, final))
        return tmp

    def commit(self) -> dict[str, Path]:
        for tmp, final in self.pending:
            os.replace(tmp, final)
        return {final.name: final for _, final in self.pending}

    def abandon(self) -> None:
        for tmp, _ in self.pending:
            tmp.unlink(missing_ok=True)


def _csv_events_schema() -> pa.Schema:
    # Timestamps as ISO 8601 with an explicit UTC zone, whole seconds.
    return EVENTS_SCHEMA.set(EVENTS_SCHEMA.get_field_index("ts"),
                             pa.field("ts", pa.timestamp("s", tz="UTC"), nullable=False))


def generate(accounts: int, seed: int, out_dir: str | os.PathLike[str], fmt: str = "parquet",
             journey_map: JourneyMap | str | os.PathLike[str] | None = None) -> DemoSummary:
    """Write the demo data set for `accounts` accounts into `out_dir` (created if needed).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     sorted(generate(20, seed=3, out_dir=folder).files)
    ['TRUTH.json', 'accounts.csv', 'contacts.csv', 'events.parquet']
    """
    started = time.perf_counter()
    _check(accounts, seed, fmt)
    m = _resolve_map(journey_map)
    std = standards_from_map(m)
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} is a file; give a folder for the demo data")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"cannot create the folder {folder}: {exc.strerror}") from None
    out = _Out(folder)
    tally = Tally(std, REFERENCE_DATE)
    contacts = events = 0
    try:
        events_path = out.path(f"events.{fmt}")
        accounts_path, contacts_path = out.path("accounts.csv"), out.path("contacts.csv")
        if fmt == "parquet":
            writer = pq.ParquetWriter(events_path, EVENTS_SCHEMA, compression="zstd",
                                      use_dictionary=_DICTIONARY_COLUMNS)
        else:
            csv_schema = _csv_events_schema()
            writer = pacsv.CSVWriter(events_path, csv_schema)
        with writer, pacsv.CSVWriter(accounts_path, ACCOUNTS_SCHEMA) as acc_writer, \
                pacsv.CSVWriter(contacts_path, CONTACTS_SCHEMA) as con_writer:
            for ev, acc, con in _chunks(accounts, seed, std, tally):
                if fmt == "parquet":
                    writer.write_table(ev, row_group_size=max(ev.num_rows, 1))
                else:
                    writer.write_table(ev.cast(csv_schema))
                acc_writer.write_table(acc)
                con_writer.write_table(con)
                contacts += con.num_rows
                events += ev.num_rows
        truth = tally.truth(seed=seed, accounts=accounts, contacts=contacts, map_name=m.name)
        out.path("TRUTH.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        files = out.commit()
        # An events file of the other format from an earlier run would not match TRUTH.json.
        for other in FORMATS:
            if other != fmt:
                (folder / f"events.{other}").unlink(missing_ok=True)
    except OSError as exc:
        out.abandon()
        raise DemoError(f"cannot write the demo data into {folder}: "
                        f"{exc.strerror or exc}") from None
    except BaseException:
        out.abandon()
        raise
    first, last = tally.span()
    return DemoSummary(
        accounts=accounts, contacts=contacts, events=events,
        activities=sum(1 for c in truth["activities"].values() if c), first_ts=first,
        last_ts=last, seconds=time.perf_counter() - started, files=files, truth=truth,
        unmatched_activities=unmatched_activities(m),
    )
