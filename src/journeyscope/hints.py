"""Advice in messages that names a command-line option, kept in one place so that each front end
words it in its own terms: the CLI prints the messages as they are, and the web app, which has
no such options, puts its own advice in their place (`journeyscope.web.messages`).

Errors and notes raised deep in the importer and the analyses build their advice from these
hints; a message holds the CLI's words, e.g.

>>> SKIP_BAD_ROWS()
'--skip-bad-rows skips them and reports each'
>>> MAP_COLUMN(column="ts")
'map one with --map-column ts=COLUMN'
>>> MAP_COLUMN.find("ts: map one with --map-column ts=COLUMN")
[('map one with --map-column ts=COLUMN', {'column': 'ts'})]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hint:
    """Advice naming the command-line option `option`, worded as `cli` (with ``{name}`` fields
    filled in by the caller)."""

    option: str
    cli: str
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{(\w+)\}", self.cli)
        regex = "".join(re.escape(p) if i % 2 == 0 else rf"(?P<{p}>.+?)"
                        for i, p in enumerate(parts))
        object.__setattr__(self, "_pattern", re.compile(regex))

    def __call__(self, **values: str) -> str:
        return self.cli.format(**values)

    def find(self, message: str) -> list[tuple[str, dict[str, str]]]:
        """Each place `message` gives this advice: the text and its fields."""
        return [(m.group(0), m.groupdict()) for m in self._pattern.finditer(message)]


SKIP_BAD_ROWS = Hint("skip_bad_rows", "--skip-bad-rows skips them and reports each")
MAP_COLUMN = Hint("map_column", "map one with --map-column {column}=COLUMN")
TIMESTAMP_FORMAT = Hint("timestamp_format", "say which with timestamp_format, e.g. "
                        "--timestamp-format '{day}' or '{month}'")
ENCODING_UNKNOWN = Hint("encoding", "give it with --encoding (e.g. cp1252)")
ENCODING_WRONG = Hint("encoding", "give the right one with --encoding, e.g. --encoding cp1252")
ENCODING_WRONG_SHORT = Hint("encoding", "give the right one with --encoding")
ENCODING_GUESSED = Hint("encoding", "give --encoding if wrong")
# Filters: the CLI names them as options, the web as the fields of its forms and queries.
SEGMENT = Hint("segment", "--segment")
PERSONA = Hint("persona", "--persona")
SINCE = Hint("since", "--since")
UNTIL = Hint("until", "--until")

# Longest first: a hint that holds another (ENCODING_WRONG holds ENCODING_WRONG_SHORT) is found
# before it.
HINTS = tuple(sorted((SKIP_BAD_ROWS, MAP_COLUMN, TIMESTAMP_FORMAT, ENCODING_UNKNOWN,
                      ENCODING_WRONG, ENCODING_WRONG_SHORT, ENCODING_GUESSED, SEGMENT, PERSONA,
                      SINCE, UNTIL), key=lambda h: -len(h.cli)))
