"""The JSON Schema of the map file format (`journeyscope schema`), for editors and CI checks."""

from __future__ import annotations

from typing import Any

from journeyscope.model.types import JourneyMap

SCHEMA_ID = "https://journeyscope.dev/schema/map-1.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a map file.

    >>> json_schema()["title"]
    'JourneyMap'
    """
    schema = JourneyMap.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
