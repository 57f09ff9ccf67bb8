"""Located problems in a map file: what is wrong, where (file, line, column) and how bad."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from journeyscope.errors import JourneyscopeError

Severity = Literal["error", "warning"]
Path = tuple[Any, ...]


@dataclass
class Issue:
    """One problem found in a map. `path` is the position in the document
    (``("touchpoints", 3, "emotion", "cio")``); `line` and `column` are 1-based."""

    severity: Severity
    code: str
    message: str
    path: Path = ()
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def where(self) -> str:
        parts = [self.file or "<map>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def dotted_path(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def __str__(self) -> str:
        at = f" (at {self.dotted_path()})" if self.path else ""
        return f"{self.where()}: {self.severity}: {self.message}{at} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = list(self.path)
        return data


@dataclass
class ValidationResult:
    """The outcome of `journeyscope.validate`: every issue, errors first."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def strict(self) -> ValidationResult:
        """Warnings promoted to errors (``validate --strict``)."""
        return ValidationResult(
            [Issue(**{**i.__dict__, "severity": "error"}) for i in self.issues]
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "issues": [i.to_dict() for i in self.issues],
            },
            indent=2,
        )


class MapError(JourneyscopeError):
    """A map could not be loaded. Carries every located issue; `str()` lists them."""

    exit_code = 2

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
