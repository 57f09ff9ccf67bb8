"""Fixtures of the analysis report tests: a demo workspace imported with the b2b map, its
analysis for all accounts and two segments, and the report page built from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from journeyscope.model.templates import new_map
from journeyscope.model.types import JourneyMap
from journeyscope.report.report_data import View

DEMO_ACCOUNTS = 1500
DEMO_SEED = 1



@dataclass
class Demo:
    map: JourneyMap
    workspace: Path
    folder: Path


def import_demo(folder: Path, journey_map: JourneyMap, accounts: int, seed: int) -> Path:
    """Demo data generated and imported into a workspace in `folder`."""
    from journeyscope.events.demo import generate
    from journeyscope.events.importer import import_sources
    from journeyscope.events.workspace import open_for_import

    data = generate(accounts, seed, folder / "data", journey_map=journey_map)
    workspace = folder / "ws.duckdb"
    files = [data.files[n] for n in ("events.parquet", "accounts.csv", "contacts.csv")]
    with open_for_import(workspace) as ws:
        import_sources(ws, files, journey_map=journey_map)
    return workspace


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """1,500 demo accounts imported with the b2b map (the workspace is read, never changed,
    by the tests that share it)."""
    folder = tmp_path_factory.mktemp("report-demo")
    journey_map = new_map("Demo buyers", "b2b")
    return Demo(journey_map, import_demo(folder, journey_map, DEMO_ACCOUNTS, DEMO_SEED), folder)


@pytest.fixture(scope="session")
def demo_views(demo: Demo) -> list[View]:
    """The report's views of the demo: all accounts and the two largest segments."""
    from journeyscope.report.analysis_report import compute_views

    return compute_views(demo.map, demo.workspace, max_segments=2)


@pytest.fixture(scope="session")
def demo_html(demo: Demo, demo_views: list[View]) -> str:
    from journeyscope.report.analysis_report import report_html

    return report_html(demo.map, demo_views)


HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="session")
def hostile(demo: Demo) -> tuple[JourneyMap, str]:
    """The demo map with HTML in a touchpoint's name, a stage's name and an opportunity, and
    its report page (all accounts and one segment)."""
    from journeyscope.report.analysis_report import compute_views, report_html

    data = demo.map.model_dump()
    data["touchpoints"][13]["name"] = HOSTILE  # data-migration: cards, charts and tables
    data["stages"][3]["name"] = f"Implementation {HOSTILE}"
    data["touchpoints"][13]["opportunities"][0]["text"] = f"Fix it {HOSTILE}"
    m = JourneyMap.model_validate(data)
    return m, report_html(m, compute_views(m, demo.workspace, max_segments=1))
