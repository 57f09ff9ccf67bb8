"""Data uploads: event files and CRM exports saved under the data directory and handed to
`journeyscope.events.importer.import_sources` in a background thread, one import at a time per
workspace, with its progress recorded in the store for the page to poll.

The importer is all or nothing: a broken file fails the import and leaves the workspace's
events as they were; only a completed import bumps the workspace's data version.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from journeyscope.errors import JourneyscopeError
from journeyscope.events.readers import COMPRESSED, SUFFIXES, detect_format
from journeyscope.model.types import JourneyMap
from journeyscope.report.fmt import plural
from journeyscope.store import Database, Invalid
from journeyscope.store import data as store_data
from journeyscope.store.models import Membership, User, Workspace
from journeyscope.web.messages import web_text

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """A file name without folders or odd characters (kept readable for CRM adapters, which
    recognise exports by their file names)."""
    name = _SAFE.sub("_", Path(filename.replace("\\", "/")).name).strip("._") or "upload"
    return name[:120]


class Uploads:
    """Runs imports in the background and keeps their progress in the store."""

    def __init__(self, db: Database, data_dir: Path):
        self.db = db
        self.data_dir = data_dir
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="journeyscope-import")
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self.futures: dict[int, Future[None]] = {}

    def lock(self, workspace_id: int) -> threading.Lock:
        """The lock an import or an analysis of the workspace holds."""
        with self._guard:
            return self._locks.setdefault(workspace_id, threading.Lock())

    def start(self, membership: Membership, user: User,
              files: Iterable[tuple[str, BinaryIO]], journey_map: JourneyMap | None,
              limit_bytes: int) -> int:
        """Save the uploaded files and start importing them; returns the import id."""
        files = list(files)
        if not files:
            raise Invalid("no file", [(("files",), "choose at least one file to upload")])
        names = [safe_name(name) for name, _ in files]
        for name in names:
            # The names the importer recognises (CRM exports are CSV): one list, the readers'.
            if detect_format(Path(name)) is None:
                raise Invalid(f"{name}: unsupported file type", [(("files",), (
                    f"{name}: upload CSV, Parquet, JSON Lines or XES event files, or a CRM "
                    f"export (CSV): files named {', '.join(SUFFIXES)} (text files also "
                    f"gzipped: {COMPRESSED[0]})"))])
        with self.db.write() as s:
            row = store_data.start_import(s, membership, user, names)
            import_id, workspace_id = row.id, membership.workspace_id
            workspace = s.get(Workspace, workspace_id)
            assert workspace is not None
            target = store_data.workspace_file(workspace, self.data_dir)
        folder = self.data_dir / "uploads" / str(import_id)
        folder.mkdir(parents=True, exist_ok=True)
        paths, total = [], 0
        try:
            for name, handle in zip(names, (h for _, h in files), strict=True):
                path = folder / name
                while path.exists():
                    path = path.with_name("_" + path.name)
                with path.open("wb") as out:
                    while chunk := handle.read(1 << 20):
                        total += len(chunk)
                        if total > limit_bytes:
                            raise Invalid("upload too large", [(("files",), (
                                f"the upload is larger than {limit_bytes // 2**20} MB"))])
                        out.write(chunk)
                paths.append(path)
        except Invalid as exc:
            shutil.rmtree(folder, ignore_errors=True)
            with self.db.write() as s:
                store_data.finish_import(s, import_id, ok=False, message=str(exc))
            raise
        self.futures[import_id] = self._pool.submit(
            self._run, import_id, workspace_id, target, paths, journey_map)
        return import_id

    def _run(self, import_id: int, workspace_id: int, target: Path, paths: list[Path],
             journey_map: JourneyMap | None) -> None:
        from journeyscope.events.importer import import_sources
        from journeyscope.events.workspace import open_for_import

        last = {"at": 0.0, "step": ""}

        def progress(step: str, done: float, total: float | None) -> None:
            # A write per call would cost a synced transaction per batch: record a new step
            # at once, and the same step's progress at most twice a second.
            now = time.monotonic()
            if step == last["step"] and now - last["at"] < 0.5:
                return
            last.update(at=now, step=step)
            share = done / total if total else 0.0
            with self.db.write() as s:
                store_data.set_progress(s, import_id, share, step)

        with self.lock(workspace_id):
            try:
                with self.db.write() as s:
                    store_data.set_progress(s, import_id, 0.0, "reading")
                target.parent.mkdir(parents=True, exist_ok=True)
                # A workspace this upload creates goes again if its import fails.
                with open_for_import(target) as ws:
                    summary = import_sources(ws, paths, journey_map=journey_map,
                                             progress=progress)
                share = summary.matched_share
                message = (f"{plural(summary.events, 'event')} added ({summary.duplicates:,} "
                           f"already there), {plural(summary.accounts, 'new account')}, "
                           f"{plural(summary.contacts, 'new contact')}"
                           + (f", {share:.0%} matched to the map" if share is not None else ""))
                details = {"notes": [web_text(n) for n in summary.notes[:50]],
                           "skipped": [web_text(n) for n in summary.skipped[:50]],
                           "per_file": [{"file": Path(x.file).name, "kind": x.kind,
                                         "rows": x.rows, "added": x.added}
                                        for x in summary.sources]}
                with self.db.write() as s:
                    store_data.finish_import(s, import_id, ok=True, events=summary.events,
                                             message=message, details=details)
            except JourneyscopeError as exc:
                with self.db.write() as s:
                    store_data.finish_import(s, import_id, ok=False,
                                             message=_relative(web_text(str(exc)),
                                                               self.data_dir))
            except Exception as exc:  # an unexpected failure is still reported, not lost
                with self.db.write() as s:
                    store_data.finish_import(s, import_id, ok=False, message=(
                        f"the import failed: {exc.__class__.__name__}: {exc}"))
            finally:
                shutil.rmtree(paths[0].parent, ignore_errors=True)

    def wait(self, import_id: int, timeout: float | None = None) -> None:
        """Block until an import started here has finished (tests, the demo seed)."""
        future = self.futures.get(import_id)
        if future is not None:
            future.result(timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _relative(message: str, data_dir: Path) -> str:
    """Error messages name the uploaded file, not the server's folders."""
    return re.sub(re.escape(str(data_dir)) + r"/uploads/\d+/", "", message)
