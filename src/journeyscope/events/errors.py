"""Errors of event import, located the way a person looks for them: file, row or line, column,
value, and why.

Readers raise `SourceError` for anything wrong with a source file; the importer rolls the
workspace back and lets it through; the CLI prints it as one line and exits non-zero.
"""

from __future__ import annotations

from journeyscope.errors import JourneyscopeError

_MAX_SHOWN_VALUE = 80


def show_value(value: object) -> str:
    """A value as it belongs in an error message: quoted, and shortened when long."""
    text = repr(value) if not isinstance(value, str) else value
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 3] + "..."
    # One line, quoted, and otherwise as the file has it (no doubled backslashes).
    return "'" + text.replace("\r", "\\r").replace("\n", "\\n") + "'"


class SourceError(JourneyscopeError):
    """A source file cannot be imported as it is.

    >>> str(SourceError("leads.csv", "is not a timestamp", row=4, column="ts", value="13/13/2020"))
    "leads.csv: row 4: column ts: value '13/13/2020': is not a timestamp"
    """

    exit_code = 4

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        has_value: bool | None = None,
    ) -> None:
        self.file = file
        self.reason = reason
        self.row = row
        self.line = line
        self.column = column
        self.value = value
        self.has_value = value is not None if has_value is None else has_value
        super().__init__(self._render())

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.has_value:
            parts.append(f"value {show_value(self.value)}" if self.value is not None
                         else "value empty")
        return ": ".join(parts)

    def _render(self) -> str:
        return f"{self.where()}: {self.reason}"


class MappingError(JourneyscopeError):
    """A column mapping (flags or a mapping file) is malformed or names what does not exist."""

    exit_code = 2


class WorkspaceError(JourneyscopeError):
    """The workspace file is missing, not a journeyscope workspace, or of a newer format."""

    exit_code = 5
