"""The designed map: types, templates, file load/save, validation, variants, diff.

This layer imports nothing else of journeyscope.
"""

from journeyscope.model.files import dumps, load_map, read_document, save_map
from journeyscope.model.issues import Issue, MapError, ValidationResult
from journeyscope.model.types import (
    KPI,
    BackstageLane,
    EmpathyEntry,
    Handover,
    JourneyMap,
    Link,
    MatchRule,
    Persona,
    Stage,
    Touchpoint,
    parse_duration,
)

__all__ = [
    "KPI", "BackstageLane", "EmpathyEntry", "Handover", "Issue", "JourneyMap", "Link",
    "MapError", "MatchRule", "Persona", "Stage", "Touchpoint", "ValidationResult", "dumps",
    "load_map", "parse_duration", "read_document", "save_map",
]
