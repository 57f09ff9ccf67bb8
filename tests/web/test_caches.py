"""What the web app keeps in memory to answer saves and pages fast never goes stale (parsed
versions, decoded analysis results, the measurement waiting for a map's quiet spell), and what
keeps the garbage collector's full passes rare and short (see `journeyscope.web.serve`)."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from journeyscope.model.templates import new_map
from journeyscope.store import Database, maps, users, workspaces
from journeyscope.web import measure


def test_a_save_drops_older_parsed_versions_of_its_map_only(db: Database) -> None:
    with db.write() as s:
        owner = users.create_user(s, "owner@example.com", "password-1")
        membership = workspaces.access(s, owner, workspaces.create_workspace(s, owner, "A").id)
        first = maps.create(s, membership, new_map("First", "b2b"), owner).id
        other = maps.create(s, membership, new_map("Other", "b2b"), owner).id
    with db.read() as s:
        maps.load(s, owner, first)
        maps.load(s, owner, other)
    for n in range(3):
        maps.save_in(db, owner, first, lambda m, n=n: m.model_copy(update={"name": f"v{n}"}),
                     base_version=n + 1)
    kept = [key[:2] for key in maps._parsed.items if key[0] in (first, other)]
    assert (first, 4) in kept and (other, 1) in kept
    assert not [k for k in kept if k[0] == first and k[1] < 4]
    with db.read() as s:  # an old version is read again from the database
        assert maps.load(s, owner, first, version=2).journey_map.name == "v0"
        assert maps.load(s, owner, first).journey_map.name == "v2"


def test_a_newer_grid_of_a_map_replaces_its_older_ones_only() -> None:
    from journeyscope.web.grid import GridCache

    cache = GridCache()
    cache.put((1, 1, "", -1, "", None), "map 1 v1")
    cache.put((1, 1, "cio", -1, "", None), "map 1 v1 for the CIO")
    cache.put((1, "v1:123", "", -1, "", None), "map 1 v1 in the history")
    cache.put((2, 1, "", -1, "", None), "map 2 v1")
    cache.put((1, 2, "", -1, "", None), "map 1 v2")
    assert cache.get((1, 1, "", -1, "", None)) is None
    assert cache.get((1, 1, "cio", -1, "", None)) is None
    assert cache.get((1, "v1:123", "", -1, "", None)) == "map 1 v1 in the history"
    assert cache.get((2, 1, "", -1, "", None)) == "map 2 v1"
    assert cache.get((1, 2, "", -1, "", None)) == "map 1 v2"


def _import_demo(app, owner, workspace: int, map_id: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from journeyscope.events.demo import generate

    files = generate(120, seed=5, out_dir=tmp_path / "demo", journey_map=new_map("x", "b2b"))
    answer = owner.post(f"/api/workspaces/{workspace}/imports", data={"map_id": str(map_id)},
                        files=[("files", (name, files.files[name].read_bytes()))
                               for name in ("events.parquet", "accounts.csv", "contacts.csv")])
    assert answer.status_code == 202, answer.text
    app.state.uploads.wait(answer.json()["id"], timeout=300)


def _banner(web, map_id: int) -> str:  # type: ignore[no-untyped-def]
    page = web.get(f"/maps/{map_id}").text
    return page.split('class="banner measured">', 1)[1].split("</div>", 1)[0]


def test_page_after_a_save_shows_older_figures_until_the_new_version_is_measured(
        app, owner, workspace: int, map_id: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.web.conftest import browser_client

    monkeypatch.setattr(measure, "QUIET_SECONDS", 0.2)
    _import_demo(app, owner, workspace, map_id, tmp_path)
    assert owner.get(f"/api/maps/{map_id}/analysis").json()["data_version"] == 1
    web = browser_client(app, "owner@example.com")
    assert "while version" not in _banner(web, map_id)
    document = owner.get(f"/api/maps/{map_id}").json()["document"]
    for version in (1, 2):
        document["touchpoints"][0]["name"] = f"Renamed {version}"
        saved = owner.put(f"/api/maps/{map_id}", json={"base_version": version,
                                                       "document": document})
        assert saved.status_code == 200, saved.text
        banner = _banner(web, map_id)
        assert f"figures of version 1 while version {version + 1} is measured" in banner
    deadline = time.monotonic() + 120
    while "while version" in banner and time.monotonic() < deadline:
        time.sleep(0.2)
        banner = _banner(web, map_id)
    assert "while version" not in banner and "events of" in banner
    # Version 3 was measured in the background (the only version waiting), then a save
    # shows version 3's figures, not the decoded result of version 1 kept in memory.
    document["touchpoints"][0]["name"] = "Renamed 3"
    assert owner.put(f"/api/maps/{map_id}", json={"base_version": 3,
                                                  "document": document}).status_code == 200
    assert "figures of version 3 while version 4 is measured" in _banner(web, map_id)


def test_one_measurement_waits_per_map_and_it_holds_no_map(app) -> None:  # type: ignore[no-untyped-def]
    measurements = app.state.measurements
    for version in (2, 3, 4):
        measurements._measure_later(7, version)
    measurements._measure_later(8, 2)
    waiting = measurements._waiting
    assert sorted((k, v[0]) for k, v in waiting.items()) == [(7, 4), (8, 2)]
    timer = waiting[7][1]
    assert timer.args[1:] == (7, 4)
    measurements.shutdown()
    assert all(not t.is_alive() or t.finished.is_set() for _, t in waiting.values())


def test_an_analysis_leaves_no_garbage_for_a_later_request_to_collect(
        app, owner, workspace: int, map_id: int, tmp_path: Path) -> None:
    _import_demo(app, owner, workspace, map_id, tmp_path)
    gc.collect()
    assert owner.get(f"/api/maps/{map_id}/analysis").json()["data_version"] == 1
    assert gc.collect() < 2_000


def test_served_process_freezes_its_start_up_heap_and_collects_fully_less_often() -> None:
    from journeyscope.web import serve

    before = gc.get_threshold()
    try:
        serve.settle_heap()
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == serve.GC_THRESHOLD
        assert serve.GC_THRESHOLD[2] > before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_a_measured_persona_view_shows_the_figures_of_its_own_touchpoints(
        app, owner, workspace: int, map_id: int, tmp_path: Path) -> None:
    from tests.web.conftest import browser_client

    _import_demo(app, owner, workspace, map_id, tmp_path)
    web = browser_client(app, "owner@example.com")
    created = web.post(f"/maps/{map_id}/variants", data={"name": "Champion view",
                                                         "persona_view": "champion"},
                       headers={"X-CSRF-Token": web.csrf, "HX-Request": "true"})
    view_id = int(created.headers["HX-Redirect"].rsplit("/", 1)[1])
    # Measured now (as the background measurement would): the result covers every
    # touchpoint of the map, the view draws only the champion's.
    assert owner.get(f"/api/maps/{view_id}/analysis").json()["data_version"] == 1
    page = web.get(f"/maps/{view_id}")
    assert page.status_code == 200, page.text
    assert "persona view: champion" in page.text and "events of" in page.text
    assert 'id="tp-vendor-pitch"' not in page.text and 'id="tp-website"' in page.text
