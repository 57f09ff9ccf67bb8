"""Themes of negative comments: phrases that negative comments use far more than the others."""

from __future__ import annotations

import pytest

from journeyscope.analytics.sentiment import text_sentiment, with_sentiment
from journeyscope.analytics.themes import negative_themes, tokens


def _comments():
    rows = []
    bad = ["The data migration failed again, terrible.",
           "Terrible: the data migration lost our records.",
           "Awful support, the data migration is still broken."]
    good = ["Great training, very helpful.", "Lovely onboarding, great people.",
            "Great support and a helpful answer."]
    for i, text in enumerate(bad * 2):
        rows.append({"account_id": f"b{i}", "ts": "2024-01-01", "activity": "survey",
                     "touchpoint": "migration", "text": text})
    for i, text in enumerate(good * 3):
        rows.append({"account_id": f"g{i}", "ts": "2024-01-01", "activity": "survey",
                     "touchpoint": "training", "text": text})
    return rows


def test_the_phrase_negative_comments_share_is_the_main_theme(load):
    events = load(events=_comments()).table("events")
    scored = with_sentiment(events, text_sentiment(events))
    themes = negative_themes(scored, min_comments=2).to_pylist()
    top = themes[0]
    assert top["theme"] == "data migration"
    assert top["comments"] == 6 and top["share"] == pytest.approx(1.0)
    assert top["touchpoints"] == ["migration"]
    # Its words are not repeated as themes of their own.
    assert not {"data", "migration"} & {t["theme"] for t in themes}
    # Words of the positive comments are never themes.
    assert "great" not in {t["theme"] for t in themes}


def test_tokens_drop_stopwords_and_short_words():
    assert tokens("It is NOT OK, the import's stuck!") == ["import's", "stuck"]
