"""Messages of the importer and the analyses in the web app's terms: the advice they give in
command-line options (`journeyscope.hints`) becomes what a web user can do, or the name of the
form field or query parameter the web uses for the same thing.

>>> web_text("a.csv: row 2: column ts: value 'x': is not a timestamp (1 more bad row after it; "
...          "--skip-bad-rows skips them and reports each)")
"a.csv: row 2: column ts: value 'x': is not a timestamp (1 more bad row after it; correct or \
remove them in the file and upload it again)"
"""

from __future__ import annotations

from journeyscope import hints
from journeyscope.hints import Hint

_AGAIN = "save the file as UTF-8 and upload it again"
WEB_WORDS: dict[Hint, str] = {
    hints.SKIP_BAD_ROWS: "correct or remove them in the file and upload it again",
    hints.MAP_COLUMN: "rename one of the file's columns to {column} and upload it again",
    hints.TIMESTAMP_FORMAT: "write the timestamps in the file as year-month-day (e.g. "
                            "2024-01-31) and upload it again",
    hints.ENCODING_UNKNOWN: _AGAIN,
    hints.ENCODING_WRONG: _AGAIN,
    hints.ENCODING_WRONG_SHORT: _AGAIN,
    hints.ENCODING_GUESSED: f"if that is wrong, {_AGAIN}",
    hints.SEGMENT: "segment",
    hints.PERSONA: "persona",
    hints.SINCE: "since",
    hints.UNTIL: "until",
}


def web_text(message: str) -> str:
    """`message` with each command-line hint in it worded for the web."""
    for hint in hints.HINTS:
        for text, values in hint.find(message):
            message = message.replace(text, WEB_WORDS[hint].format(**values), 1)
    return message


def filter_field(message: str) -> str | None:
    """The filter (segment, persona, since, until) an analysis error is about, if it names
    one: the query parameter or form field to point at."""
    named = [h for h in (hints.SEGMENT, hints.PERSONA, hints.SINCE, hints.UNTIL)
             if h.find(message)]
    if not named:
        return None
    # The one named first: "--since X is not before --until Y" is about since.
    return min(named, key=lambda h: message.index(h.cli)).option
