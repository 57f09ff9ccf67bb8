"""Fixtures of the report tests: a rich map of our own and the shipped b2b template."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyscope.model.files import load_map
from journeyscope.model.types import JourneyMap

HERE = Path(__file__).parent


@pytest.fixture
def rich_map_path() -> Path:
    """7 stages, 6 personas, 20 touchpoints with owners, links, emotions and backstage lanes."""
    return HERE / "rich_map.yaml"


@pytest.fixture
def rich_map(rich_map_path: Path) -> JourneyMap:
    return load_map(rich_map_path)


@pytest.fixture
def b2b_map() -> JourneyMap:
    from journeyscope.model.templates import load_template

    return load_template("b2b")
