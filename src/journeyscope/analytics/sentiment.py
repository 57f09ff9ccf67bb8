"""Sentiment of free text (VADER, offline, MIT), scored once per distinct text.

Scoring runs in Python at some 25,000 texts a second, so half a million comments would take
most of a minute each time. The scores are therefore kept in the workspace, in a table
`text_sentiment(text, sentiment)`, filled by `update_cache` for the texts it does not hold yet;
an analysis joins the events to it in the engine. When a text is missing from the cache (an
in-memory source, or a workspace that cannot be written), `text_sentiment` scores the missing
texts on the fly, so the result is the same either way, only slower.

VADER's compound score runs from -1 (most negative) to +1; by its authors' convention a text
is negative at -0.05 or below and positive at +0.05 or above.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from journeyscope.analytics.base import distinct_rows

CACHE_TABLE = "text_sentiment"
NEGATIVE = -0.05
POSITIVE = 0.05
# Only the start of a long text is scored: support threads can run to pages, and VADER's
# cost grows with length while the tone is set early.
MAX_CHARS = 2000


@lru_cache(maxsize=1)
def _analyzer():  # type: ignore[no-untyped-def]
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_text(text: str) -> float:
    """VADER's compound score of one text, -1..+1.

    >>> score_text("The migration was a disaster") < NEGATIVE < POSITIVE < score_text("Great help!")
    True
    """
    return float(_analyzer().polarity_scores(text[:MAX_CHARS])["compound"])


def score_texts(texts: Iterable[str]) -> pa.Table:
    """A table (text, sentiment) of the given distinct texts."""
    texts = [t for t in texts if t is not None]
    return pa.table({
        "text": pa.array(texts, pa.string()),
        "sentiment": pa.array([score_text(t) for t in texts], pa.float64()),
    })


def text_sentiment(
    events: ir.Table,
    *,
    cache: ir.Table | None = None,
    text: str = "text",
) -> ir.Table:
    """(text, sentiment) for every distinct non-empty text of `events`: read from `cache`
    where it holds the text, scored now where it does not."""
    texts = events.filter(events[text].notnull() & (events[text].strip() != ""))
    distinct = distinct_rows(texts.select(text=texts[text]))
    missing = distinct if cache is None else distinct.anti_join(
        cache, distinct.text == cache.text)
    new = missing.to_pyarrow()["text"].to_pylist()
    scored = ibis.memtable(score_texts(new)) if new else None
    if cache is None:
        return scored if scored is not None else ibis.memtable(score_texts([]))
    known = cache.select("text", "sentiment")
    return known.union(scored) if scored is not None else known


def with_sentiment(
    events: ir.Table,
    scores: ir.Table,
    *,
    text: str = "text",
) -> ir.Table:
    """`events` with a `sentiment` column (null where there is no text)."""
    scores = scores.rename(_sentiment_text="text")
    joined = events.left_join(scores, events[text] == scores._sentiment_text)
    return joined.drop("_sentiment_text")


def update_cache(workspace: str | os.PathLike[str], *, table: str = "events",
                 text: str = "text") -> int | None:
    """Score the workspace's texts that its cache does not hold yet and store them; returns how
    many were scored, or None when the workspace cannot be written (then analyses score the
    missing texts on the fly)."""
    import duckdb

    path = Path(workspace)
    if not os.access(path, os.W_OK):
        return None
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error:
        return None  # open elsewhere, or read-only: analyses score on the fly
    try:
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        if text not in columns:
            return 0
        con.execute(f"CREATE TABLE IF NOT EXISTS {CACHE_TABLE} "
                    "(text VARCHAR PRIMARY KEY, sentiment DOUBLE NOT NULL)")
        missing = [row[0] for row in con.execute(
            f"SELECT DISTINCT e.{text} FROM {table} e "
            f"ANTI JOIN {CACHE_TABLE} c ON e.{text} = c.text "
            f"WHERE e.{text} IS NOT NULL AND trim(e.{text}) <> ''"
        ).fetchall()]
        if missing:
            scored = score_texts(missing)  # noqa: F841  (read by DuckDB's replacement scan)
            con.execute(f"INSERT INTO {CACHE_TABLE} SELECT text, sentiment FROM scored")
        return len(missing)
    finally:
        con.close()
