"""Timestamps as sources write them, turned into naive UTC in SQL.

`detect_format` looks at a sample of a text column and picks the one format that reads all of
it: ISO 8601 (with or without an offset), epoch seconds or milliseconds, or one of the common
day-first / month-first / dotted layouts. `timestamp_sql` is the DuckDB expression that converts
the whole column with that format, in the engine. A value that does not fit becomes NULL there,
and the reader reports it with its row.

Values with an offset (``+02:00``, ``Z``, or an RFC 2822 zone name such as ``GMT`` or ``EST``)
are converted to UTC; values without one are taken in the source's time zone (UTC unless the
mapping says ``timezone: Europe/Amsterdam``). The workspace connection runs with
``TimeZone = 'UTC'``, which the ISO cast relies on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from journeyscope import hints
from journeyscope.events.errors import SourceError

# Formats tried after ISO and epoch, in this order. Where day-first and month-first both read
# the whole sample, the sample is ambiguous and the user must say (`timestamp_format`).
_TIMES = ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
_DATES_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")
_DATES_MONTH_FIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
_DATES_OTHER = ("%Y/%m/%d", "%Y%m%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")
_WITH_ZONE = ("%a, %d %b %Y %H:%M:%S %z", "%d/%b/%Y:%H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z")


def _with_times(dates: tuple[str, ...]) -> list[str]:
    out = []
    for d in dates:
        out.extend(f"{d} {t}" for t in _TIMES)
        out.extend(f"{d}T{t}" for t in _TIMES[:3])
        out.append(d)
    return out


DAY_FIRST = _with_times(_DATES_DAY_FIRST)
MONTH_FIRST = _with_times(_DATES_MONTH_FIRST)
OTHER = _with_times(_DATES_OTHER) + list(_WITH_ZONE)

# RFC 2822's zone names (section 4.3), each a fixed offset. DuckDB's %Z would ask ICU instead,
# which knows neither UT nor the daylight names and reads CST with daylight saving.
ZONE_NAMES = {
    "UT": "+0000", "GMT": "+0000", "Z": "+0000",
    "EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
    "MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
}

_EPOCH_RE = re.compile(r"^\s*-?\d{9,13}(\.\d+)?\s*$")
SAMPLE_SIZE = 2000


@dataclass(frozen=True)
class TimestampFormat:
    """How a column's timestamps are written: ``iso``, ``epoch_s``, ``epoch_ms`` or a strptime
    format; `described` says it in words for messages."""

    kind: str
    strptime: str | None = None

    @property
    def described(self) -> str:
        return {
            "iso": "ISO 8601 (e.g. 2024-03-01 14:05:00+01:00)",
            "epoch_s": "seconds since 1970",
            "epoch_ms": "milliseconds since 1970",
        }.get(self.kind, f"the format {self.strptime}")


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _naive_to_utc(expr: str, timezone: str) -> str:
    if timezone.upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        return expr
    return f"timezone('UTC', timezone({quote_literal(timezone)}, {expr}))"


def _zone_names_as_offsets(text: str) -> str:
    """SQL: `text` with a trailing RFC 2822 zone name written as its offset, for %z to read.

    >>> _zone_names_as_offsets("t")[:66]
    "(CASE upper(split_part(t, ' ', -1)) WHEN 'UT' THEN left(t, -2) || "
    """
    whens = " ".join(f"WHEN {quote_literal(name)} THEN left({text}, {-len(name)}) || "
                     f"{quote_literal(offset)}" for name, offset in ZONE_NAMES.items())
    return f"(CASE upper(split_part({text}, ' ', -1)) {whens} ELSE {text} END)"


def timestamp_sql(expr: str, fmt: TimestampFormat, *, timezone: str = "UTC") -> str:
    """A DuckDB expression turning the text `expr` into a naive UTC TIMESTAMP (NULL if it does
    not fit `fmt`)."""
    if fmt.kind == "iso":
        # A plain TIMESTAMP cast would silently drop an offset, so anything that may carry one
        # (a '+', a '-' after the date, a trailing 'Z') goes through TIMESTAMPTZ; the rest takes
        # the cheaper cast.
        aware = f"timezone('UTC', TRY_CAST({expr} AS TIMESTAMPTZ))"
        if timezone.upper() not in ("UTC", "Z", "ETC/UTC", "GMT"):
            naive = _naive_to_utc(f"TRY_CAST({expr} AS TIMESTAMP)", timezone)
        else:
            naive = f"TRY_CAST({expr} AS TIMESTAMP)"
        # A trailing Z is UTC already: the plain cast is exact and much cheaper. It reads the Z
        # itself; only what it refuses with one (a bare date: '2024-03-01Z') is cast without it,
        # which costs a copy of the text.
        return (
            f"(CASE WHEN suffix({expr}, 'Z') AND strpos({expr}, '+') = 0 "
            f"THEN coalesce(TRY_CAST({expr} AS TIMESTAMP), "
            f"TRY_CAST(left({expr}, -1) AS TIMESTAMP)) "
            f"WHEN strpos({expr}, '+') > 0 OR strpos(substr({expr}, 11), '-') > 0 "
            f"OR suffix(upper(rtrim({expr})), 'Z') OR suffix(upper(rtrim({expr})), 'UTC') "
            f"THEN {aware} ELSE {naive} END)"
        )
    if fmt.kind == "epoch_s":
        return f"timezone('UTC', to_timestamp(TRY_CAST({expr} AS DOUBLE)))"
    if fmt.kind == "epoch_ms":
        return f"timezone('UTC', to_timestamp(TRY_CAST({expr} AS DOUBLE) / 1000.0))"
    assert fmt.strptime is not None
    text = f"trim({expr})"
    if fmt.strptime.endswith(" %z"):
        text = _zone_names_as_offsets(text)
    parsed = f"try_strptime({text}, {quote_literal(fmt.strptime)})"
    if "%z" in fmt.strptime or "%Z" in fmt.strptime:
        return f"timezone('UTC', {parsed})"
    return _naive_to_utc(parsed, timezone)


def typed_timestamp_sql(expr: str, duckdb_type: str, *, timezone: str = "UTC") -> str | None:
    """The conversion for a column that already has a temporal type, or None for text."""
    t = duckdb_type.upper()
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return f"timezone('UTC', {expr})"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return _naive_to_utc(f"CAST({expr} AS TIMESTAMP)", timezone)
    if t in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DOUBLE", "FLOAT", "DECIMAL") or \
            t.startswith("DECIMAL"):
        return None  # numbers: decided by detect_format on their text
    return None


def detect_format(
    con: duckdb.DuckDBPyConnection, sample: list[str], *, file: str, column: str,
    explicit: str | None = None,
) -> TimestampFormat:
    """The format that reads every value of `sample` (text values of one column).

    With no format reading them all, the one reading most wins: its misfits are reported with
    their rows when the full column is converted.
    """
    if explicit:
        if explicit.lower() in ("iso", "epoch_s", "epoch_ms"):
            return TimestampFormat(explicit.lower())
        try:
            con.execute("SELECT try_strptime('2020-01-01', ?)", [explicit]).fetchall()
        except duckdb.Error as exc:
            raise SourceError(file, f"timestamp_format {explicit!r} is not a valid strptime "
                              f"format: {exc}", column=column) from None
        return TimestampFormat("strptime", explicit)
    values = [v for v in sample if v is not None and v.strip()][:SAMPLE_SIZE]
    if not values:
        return TimestampFormat("iso")
    if all(_EPOCH_RE.match(v) for v in values):
        biggest = max(abs(float(v)) for v in values)
        return TimestampFormat("epoch_ms" if biggest > 1e11 else "epoch_s")
    iso = TimestampFormat("iso")
    if _score(con, values, [iso])[0] == len(values):
        return iso  # the common case, settled in one cheap query
    candidates = [iso] + [
        TimestampFormat("strptime", f) for f in (*DAY_FIRST, *MONTH_FIRST, *OTHER)
    ]
    scores = _score(con, values, candidates)
    full = [c for c, n in zip(candidates, scores, strict=True) if n == len(values)]
    if full:
        day = next((c for c in full if c.strptime in DAY_FIRST), None)
        month = next((c for c in full if c.strptime in MONTH_FIRST), None)
        if day and month and full[0] in (day, month):
            raise SourceError(
                file, "timestamps could be day-first or month-first (no day above 12 in the "
                f"first {len(values)} values); "
                f"{hints.TIMESTAMP_FORMAT(day=day.strptime, month=month.strptime)}",
                column=column, value=values[0])
        return full[0]
    best = max(range(len(candidates)), key=lambda i: scores[i])
    return candidates[best]


def _score(con: duckdb.DuckDBPyConnection, values: list[str],
           candidates: list[TimestampFormat]) -> list[int]:
    """How many of `values` each candidate reads, counted in one query."""
    counts = ", ".join(
        f"count({timestamp_sql('v', c)})" for c in candidates
    )
    rel = con.execute(
        f"SELECT {counts} FROM (SELECT unnest(?::VARCHAR[]) AS v)", [values]
    ).fetchone()
    assert rel is not None
    return list(rel)
