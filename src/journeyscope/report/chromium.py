"""Headless Chromium, driven by Playwright: PNG screenshots and vector PDFs of rendered pages.

The browser is the system's Chromium (the `chromium` setting, ``JOURNEYSCOPE_CHROMIUM``), never
a browser that Playwright downloads. Where it is missing, a `MissingDependencyError` says what
to install and which setting to point at it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from journeyscope import settings
from journeyscope.errors import MissingDependencyError

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_TIMEOUT_MS = 60_000

T = TypeVar("T")


def chromium_path() -> str:
    """The Chromium executable to use, checked to exist; raises `MissingDependencyError`."""
    configured = settings.CHROMIUM.get()
    found = configured if os.path.sep in configured else shutil.which(configured)
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise MissingDependencyError(_missing(configured))
    return found


def _missing(configured: str, detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (f"Chromium is needed for PNG and PDF output but was not found at {configured!r}"
            f"{extra}. Install it (Debian/Ubuntu: `apt-get install chromium`) or point the "
            f"setting {settings.CHROMIUM.env} at the executable, e.g. "
            f"{settings.CHROMIUM.env}=/usr/bin/chromium.")


def _off_loop(fn: Callable[[], T]) -> T:
    """Run `fn` here, or in a worker thread when an asyncio loop runs in this thread (the web
    app), because Playwright's sync API refuses to run inside a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


@contextmanager
def browser() -> Iterator[Any]:
    """A launched headless Chromium (a Playwright `Browser`), closed on exit."""
    executable = chromium_path()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS,
                                          headless=True)
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "launch failed"
            raise MissingDependencyError(_missing(executable, first)) from None
        try:
            yield instance
        finally:
            instance.close()


def _open(instance: Any, html_path: Path, width: int, scale: float) -> Any:
    page = instance.new_page(viewport={"width": width, "height": 900},
                             device_scale_factor=scale)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(html_path.resolve().as_uri(), wait_until="load")
    return page


def _with_page_file(html: str, work: Callable[[Path], T]) -> T:
    # A file URL rather than set_content: the page behaves as the saved HTML file does.
    with tempfile.TemporaryDirectory(prefix="journeyscope-") as tmp:
        path = Path(tmp) / "map.html"
        path.write_text(html, encoding="utf-8")
        return work(path)


def html_to_png(html: str, out: str | os.PathLike[str], width: int = 1600,
                scale: float = 1.0) -> Path:
    """A full-page PNG screenshot of `html` at a viewport `width` (CSS pixels) and device
    `scale` (2 for a sharp wall print)."""
    target = Path(out)

    def run() -> Path:
        def work(path: Path) -> Path:
            with browser() as instance:
                page = _open(instance, path, width, scale)
                page.screenshot(path=str(target), full_page=True)
            return target

        return _with_page_file(html, work)

    target.parent.mkdir(parents=True, exist_ok=True)
    return _off_loop(run)


def html_to_pdf(html: str, out: str | os.PathLike[str], width: int = 1600) -> Path:
    """A vector PDF of `html` on the page size its CSS asks for (A3 landscape for maps)."""
    target = Path(out)

    def run() -> Path:
        def work(path: Path) -> Path:
            with browser() as instance:
                page = _open(instance, path, width, 1.0)
                page.emulate_media(media="print")
                page.pdf(path=str(target), print_background=True, prefer_css_page_size=True)
            return target

        return _with_page_file(html, work)

    target.parent.mkdir(parents=True, exist_ok=True)
    return _off_loop(run)


def console_errors(html: str, width: int = 1600) -> list[str]:
    """The console errors and page errors raised while `html` loads (for checks and tests)."""

    def run() -> list[str]:
        def work(path: Path) -> list[str]:
            errors: list[str] = []
            with browser() as instance:
                page = instance.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
                page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                        else errors.append(f"external request: {r.url}"))
                page.goto(path.resolve().as_uri(), wait_until="load")
                page.wait_for_timeout(100)
            return errors

        return _with_page_file(html, work)

    return _off_loop(run)
