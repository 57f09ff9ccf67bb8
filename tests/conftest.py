"""Shared fixtures: where the real public data lives, and a project-wide temp layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# PySpark 4.0 converts results through pandas with a keyword pandas 3 deprecates, and py4j
# leaves its gateway sockets to the garbage collector: their warnings, not ours, let through on
# the tests marked `spark` only. (Ibis 12's call of DuckDB's deprecated `fetch_arrow_table` is
# let through everywhere, in pyproject.toml.)
SPARK_NOISE = (
    "ignore::pandas.errors.Pandas4Warning",
    "ignore:unclosed <socket:ResourceWarning",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("spark") is not None:
            for noise in SPARK_NOISE:
                item.add_marker(pytest.mark.filterwarnings(noise))


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


def _in_ci() -> bool:
    return os.environ.get("JOURNEYSCOPE_CI") == "1"


def require(what: str, how: str) -> None:
    """Skip a test whose outside component is missing here; fail it in CI, where `.ci/run`
    installs and starts every component the suite needs."""
    message = f"{what} is not available: {how}"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (apt-get install chromium), or JOURNEYSCOPE_CHROMIUM."""
    from journeyscope import settings

    path = settings.get("chromium")
    if not Path(path).is_file():
        require("Chromium", f"no executable at {path}; apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server's SQLAlchemy URL (JOURNEYSCOPE_TEST_POSTGRES_URL)."""
    url = os.environ.get("JOURNEYSCOPE_TEST_POSTGRES_URL")
    if not url:
        require("PostgreSQL", "set JOURNEYSCOPE_TEST_POSTGRES_URL (`.ci/run` starts a server)")
    return url  # type: ignore[return-value]
