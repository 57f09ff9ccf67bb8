"""End to end in headless Chromium: sign in, create a map from a template, drag a touchpoint to
another stage, edit an emotion and see the curve change, see a conflict message, upload a file,
read a dashboard; no console errors on the way."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, make_user
from tests.web.test_serve import free_port

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn in a thread on a free loopback port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def chrome(chromium_path: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield chromium
        chromium.close()


def _page(browser, errors: list[str]):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(base + "/")


def _new_map(page, base: str) -> int:  # type: ignore[no-untyped-def]
    page.fill("input[name=name][placeholder^='e.g. Mid-market sales']", "Acme")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r".*/workspaces/\d+$"))
    page.fill("#new-map input[name=name]", "Mid-market buyers")
    page.select_option("#new-map select[name=template]", "b2b")
    page.click("#new-map button:has-text('Create map')")
    page.wait_for_url(re.compile(r".*/maps/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _stage_of(page, touchpoint: str) -> str:  # type: ignore[no-untyped-def]
    return page.eval_on_selector(f"#tp-{touchpoint}", "el => el.closest('td').dataset.stage")


def test_design_a_map_in_the_browser(app, live: str, chrome) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "ana@example.com")
    errors: list[str] = []
    page = _page(chrome, errors)
    _login(page, live, "ana@example.com")
    map_id = _new_map(page, live)
    assert page.locator("#editor").get_attribute("data-version") == "1"
    assert page.locator("h1").first.inner_text() == "Mid-market buyers"

    # Drag the first awareness card into the decision column.
    card = page.locator("td[data-stage=awareness] article.tp").first
    touchpoint = card.get_attribute("id").removeprefix("tp-")
    target = page.locator("td[data-stage=decision]")
    card.scroll_into_view_if_needed()
    box, goal = card.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 40, box["y"] + 40, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 30, steps=25)
    page.mouse.up()
    page.wait_for_selector("#editor[data-version='2']")
    assert _stage_of(page, touchpoint) == "decision"

    # Edit an emotion: the curve is redrawn.
    curve = page.locator(".curve path.line").first
    persona = page.locator(".curve").first.get_attribute("data-persona")
    before = curve.get_attribute("d")
    first = page.locator(f".curve[data-persona='{persona}']").first
    assert first.count() == 1
    tp_with_emotion = page.evaluate(
        "p => Array.from(document.querySelectorAll('article.tp')).map(a => a.id.slice(3))",
        persona)
    page.click(f"#tp-{tp_with_emotion[0]} h3")
    page.wait_for_selector("#touchpoint-form")
    select = page.locator(f"select[data-persona='{persona}']")
    current = select.input_value()
    select.select_option("-2" if current != "-2" else "2")
    page.wait_for_selector("#editor[data-version='3']")
    after = page.locator(f".curve[data-persona='{persona}'] path.line").get_attribute("d")
    assert after != before

    # Add a touchpoint through the panel's form.
    page.click(".tabs a:has-text('Map')")
    page.wait_for_selector("#add-touchpoint")
    page.fill("#add-touchpoint input[name=name]", "Reference call <b>")
    page.select_option("#add-touchpoint select[name=stage]", "decision")
    page.click("#add-touchpoint button")
    page.wait_for_selector("#editor[data-version='4']")
    assert page.locator("td[data-stage=decision] h3", has_text="Reference call <b>").count() == 1

    history = app.state.db
    with history.read() as s:
        from journeyscope.store.models import Map

        assert s.get(Map, map_id).version == 4
    assert errors == []


def test_conflicting_edit_shows_the_other_change(app, live: str, chrome) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "ana@example.com")
    errors: list[str] = []
    first = _page(chrome, errors)
    _login(first, live, "ana@example.com")
    map_id = _new_map(first, live)
    second = first.context.new_page()
    second.goto(f"{live}/maps/{map_id}")
    # The first tab renames the map ...
    first.fill("form[hx-post$='/details'] input[name=name]", "Renamed in tab one")
    first.click("form[hx-post$='/details'] button")
    first.wait_for_selector("#editor[data-version='2']")
    # ... the second tab, still on version 1, adds a touchpoint and is told.
    second.fill("#add-touchpoint input[name=name]", "Late change")
    second.click("#add-touchpoint button")
    flash = second.locator("#flash .flash-conflict")
    flash.wait_for()
    text = flash.inner_text()
    assert "saved version 2 of this map after version 1" in text
    assert "Renamed in tab one" in text
    assert second.locator("#editor").get_attribute("data-version") == "1"
    assert errors == []


def test_upload_data_and_read_the_dashboard(app, live: str, chrome,  # type: ignore[no-untyped-def]
                                            shared_data: Path) -> None:
    make_user(app, "ana@example.com")
    errors: list[str] = []
    page = _page(chrome, errors)
    _login(page, live, "ana@example.com")
    page.fill("input[name=name][placeholder^='e.g. Mid-market sales']", "Support")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r".*/workspaces/\d+$"))
    workspace_url = page.url
    helpdesk_map = Path(__file__).resolve().parents[1] / "data" / "crm" / "helpdesk-map.yaml"
    page.set_input_files("input[type=file][name=file]", str(helpdesk_map))
    page.click("button:has-text('Import map')")
    page.wait_for_url(re.compile(r".*/maps/\d+$"))
    map_id = int(page.url.rsplit("/", 1)[1])
    page.goto(workspace_url)
    page.set_input_files("#upload-form input[name=files]",
                         str(shared_data / "event_logs" / "helpdesk.xes.gz"))
    page.click("#upload-form button")
    page.wait_for_selector("tr.import-done", timeout=120_000)
    assert "21,348 events added" in page.locator("tr.import-done .message").inner_text()

    page.goto(f"{live}/maps/{map_id}/dashboard")
    page.wait_for_selector("#funnel .main-svg", timeout=120_000)
    assert "21,348 events" in page.locator("#dashboard-meta").inner_text()
    assert page.locator("#card-painpoints").count() == 1
    # the Sankeys' labels are sized for about 1,000 px: their cards take the grid's whole row
    grid = page.locator("#dashboard").bounding_box()
    for card in ("#card-sankey", "#card-sankey_touchpoints"):
        box = page.locator(card).bounding_box()
        assert abs(box["x"] - grid["x"]) < 1 and abs(box["width"] - grid["width"]) < 1, card
    assert page.locator("#card-funnel").bounding_box()["width"] < grid["width"] / 2
    page.goto(f"{live}/maps/{map_id}")
    assert "Measured on data version 1" in page.locator(".banner.measured").inner_text()
    assert page.locator("#tp-ticket-intake .figs").count() == 1
    assert page.locator("#tp-ticket-intake .ev-data").count() == 1
    assert errors == []
