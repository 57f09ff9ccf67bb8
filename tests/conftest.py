"""Shared fixtures: where the real public data lives, and a project-wide temp layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    candidates = [
        os.environ.get("JOURNEYSCOPE_SHARED_DATA"),
        ROOT.parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "README.md").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data of ../shared/data (read there, never copied into the project)."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data is not present; set JOURNEYSCOPE_SHARED_DATA")
    return path
