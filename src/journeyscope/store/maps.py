"""Maps and their versions: every save is a new version (who, when, what changed), guarded by
the version it was based on, so two people never silently overwrite each other.

`save` takes the version the editor started from (`base_version`). When someone else saved in
between, it raises `VersionConflict` carrying the other person's change as a diff, and nothing is
written. The check is a conditional ``UPDATE maps SET version = version + 1 WHERE version =
base``, so it holds between processes and on PostgreSQL as on SQLite.

A variant (a map for a segment, an account or a persona view) stores only what differs from its
base map, as a map file with `extends` would; `effective` merges it onto the base's current
version with `journeyscope.model.variants`.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from journeyscope.model.diff import MapDiff, diff
from journeyscope.model.files import build_map, dumps, map_to_data
from journeyscope.model.issues import Issue, MapError
from journeyscope.model.types import JourneyMap
from journeyscope.model.validate import check_map
from journeyscope.model.variants import resolve_with_sources
from journeyscope.store.errors import Conflict, Invalid, NotFound
from journeyscope.store.models import Map, MapVersion, Membership, User, utcnow
from journeyscope.store.workspaces import access, require

MAX_VARIANT_DEPTH = 10
_ITEM_LISTS = ("stages", "personas", "touchpoints", "backstage")


class VersionConflict(Conflict):
    """A save based on an old version: `diff` is what the other person changed since."""

    def __init__(self, base_version: int, current: MapVersion, change: MapDiff):
        who = current.author.label if current.author else "someone"
        super().__init__(f"{who} saved version {current.version} of this map after version "
                         f"{base_version} that you edited; nothing was saved. Their change:\n"
                         + "\n".join(change.to_text().splitlines()[2:]))
        # Plain values: the session that loaded `current` is rolled back before anyone reads them.
        self.base_version = base_version
        self.current_version = current.version
        self.author = current.author.label if current.author else None
        self.saved_at = current.created_at
        self.diff = change


@dataclass
class Loaded:
    """A map row, the membership that opened it and one of its versions, parsed."""

    row: Map
    membership: Membership
    version: MapVersion
    journey_map: JourneyMap

    @property
    def can_edit(self) -> bool:
        return self.membership.role in ("owner", "editor")


def issues_to_invalid(issues: list[Issue], prefix: tuple[Any, ...] = ("document",)) -> Invalid:
    errors = [i for i in issues if i.severity == "error"] or issues
    fields = [((*prefix, *i.path), i.message) for i in errors]
    first = errors[0].message if errors else "invalid map"
    return Invalid(f"the map is not valid: {first}", fields)


def parse(data: Any, prefix: tuple[Any, ...] = ("document",)) -> JourneyMap:
    """A map document (plain data) as a `JourneyMap`; `Invalid` with a message per field."""
    try:
        return build_map(data)
    except MapError as exc:
        raise issues_to_invalid(exc.issues, prefix) from None


def check(journey_map: JourneyMap, prefix: tuple[Any, ...] = ("document",)) -> list[Issue]:
    """The map's warnings; `Invalid` when it has reference errors (an unknown stage, ...)."""
    issues = check_map(journey_map)
    if any(i.severity == "error" for i in issues):
        raise issues_to_invalid(issues, prefix)
    return issues


def change_of(before: JourneyMap, after: JourneyMap, a_name: str, b_name: str,
              before_doc: dict[str, Any] | None = None,
              after_doc: dict[str, Any] | None = None) -> MapDiff:
    """`journeyscope.model.diff` of two versions, run on the touchpoints that changed and those
    linked to them (the rest cannot contribute a difference), so a small edit of a large map
    is summarised in a few milliseconds. The maps' documents, when given, find the changed
    touchpoints faster than comparing the models."""
    if before_doc is not None and after_doc is not None:
        old = {t.get("id"): t for t in before_doc.get("touchpoints", [])}
        new = {t.get("id"): t for t in after_doc.get("touchpoints", [])}
    else:
        old = {t.id: t for t in before.touchpoints}
        new = {t.id: t for t in after.touchpoints}
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    keep = set(changed)
    for tps in (before.touchpoints, after.touchpoints):
        for t in tps:
            targets = {link.to for link in t.next}
            if t.id in changed or targets & changed:
                keep.add(t.id)
                keep |= targets
    if len(keep) < len(old.keys() | new.keys()):
        before = before.model_copy(update={"touchpoints": [t for t in before.touchpoints
                                                           if t.id in keep]})
        after = after.model_copy(update={"touchpoints": [t for t in after.touchpoints
                                                         if t.id in keep]})
    return diff(before, after, a_name, b_name)


def summary_of(change: MapDiff) -> str:
    lines = change.to_text().splitlines()[2:]
    return "\n".join(lines) if not change.empty else "no changes"


# -- reading ------------------------------------------------------------------------------------


def map_row(db: DbSession, user: User, map_id: int) -> tuple[Map, Membership]:
    row = db.get(Map, map_id)
    if row is None:
        raise NotFound("no such map")
    try:
        return row, access(db, user, row.workspace_id)
    except NotFound:
        raise NotFound("no such map") from None


def version_row(db: DbSession, row: Map, version: int | None = None) -> MapVersion:
    number = row.version if version is None else version
    found = db.scalar(select(MapVersion).where(MapVersion.map_id == row.id,
                                               MapVersion.version == number))
    if found is None:
        raise NotFound(f"map {row.id} has no version {number}")
    return found


class _Parsed:
    """Parsed versions and their documents by (map id, version, saved at): a version never
    changes, and decoding and parsing a large map costs more than a page's whole database
    work. Callers must not mutate what they get. Few are kept, and a save replaces its map's
    older versions: a parsed map of 200 touchpoints is some 9,000 objects, and every full pass
    of the garbage collector walks them all (with one entry per version of an editing session,
    such passes took 0.1 to 0.5 s, in the middle of a save)."""

    def __init__(self, size: int = 16):
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], tuple[JourneyMap, dict[str, Any]]] = \
            OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(version: MapVersion) -> tuple[Any, ...]:
        return (version.map_id, version.version, version.created_at)

    def put(self, version: MapVersion, journey_map: JourneyMap,
            document: dict[str, Any], newest: bool = False) -> None:
        """Keep a parsed version; `newest` (a save) drops the map's older versions, which
        only the history pages read again."""
        with self.lock:
            if newest:
                for key in [k for k in self.items
                            if k[0] == version.map_id and k[1] < version.version]:
                    del self.items[key]
            self.items[self.key(version)] = (journey_map, document)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def _entry(self, version: MapVersion) -> tuple[JourneyMap, dict[str, Any]]:
        with self.lock:
            found = self.items.get(self.key(version))
            if found is not None:
                self.items.move_to_end(self.key(version))
                return found
        document = version.document
        entry = (build_map(document), document)
        self.put(version, *entry)
        return entry

    def get(self, version: MapVersion) -> JourneyMap:
        return self._entry(version)[0]

    def document(self, version: MapVersion) -> dict[str, Any]:
        return self._entry(version)[1]


_parsed = _Parsed()


def effective(db: DbSession, row: Map, document: dict[str, Any] | MapVersion,
              depth: int = 0) -> JourneyMap:
    """The map a version (or its document) describes: merged onto its base map for a
    variant."""
    if isinstance(document, MapVersion):
        if row.base_map_id is None:
            return _parsed.get(document)
        document = document.document
    if row.base_map_id is None:
        return build_map(document)
    base = db.get(Map, row.base_map_id)
    if base is None or depth >= MAX_VARIANT_DEPTH:
        raise Invalid("the base map of this variant is gone", [(("base_map_id",),
                                                                 "base map not found")])
    base_map = effective(db, base, version_row(db, base).document, depth + 1)
    return merge_variant(base_map, document)


def merge_variant(base: JourneyMap, document: dict[str, Any]) -> JourneyMap:
    """`document` (a variant's own fields) merged onto `base` by the library's variant rules."""
    with tempfile.TemporaryDirectory(prefix="journeyscope-variant-") as tmp:
        (Path(tmp) / "base.yaml").write_text(dumps(base, "yaml"), encoding="utf-8")
        own = {**document, "extends": "base.yaml"}
        path = Path(tmp) / "variant.yaml"
        path.write_text(yaml.safe_dump(own, sort_keys=False, allow_unicode=True), "utf-8")
        try:
            merged, _ = resolve_with_sources(path)
        except MapError as exc:
            raise issues_to_invalid(exc.issues) from None
    return merged


def variant_document(base: JourneyMap, target: JourneyMap, base_map_id: int) -> dict[str, Any]:
    """What a variant must store so that merging it onto `base` gives `target`: changed
    top-level fields, changed fields of items by id, new items, and removals."""
    a, b = base.model_dump(mode="json"), target.model_dump(mode="json")
    out: dict[str, Any] = {"journeyscope": 1, "name": target.name,
                           "extends": f"map:{base_map_id}"}
    for key, value in b.items():
        if key in (*_ITEM_LISTS, "remove", "extends", "journeyscope", "name"):
            continue
        if a.get(key) != value:
            out[key] = value
    removals: dict[str, list[str]] = {}
    for name in _ITEM_LISTS:
        before = {item["id"]: item for item in a.get(name) or []}
        after = {item["id"]: item for item in b.get(name) or []}
        own = []
        for ident, item in after.items():
            if ident not in before:
                own.append(item)
                continue
            changed = {k: v for k, v in item.items() if before[ident].get(k) != v}
            if changed:
                own.append({"id": ident, **changed})
        if own:
            out[name] = own
        gone = [ident for ident in before if ident not in after]
        if gone and name != "backstage":
            removals[name] = gone
    if removals:
        out["remove"] = removals
    return out


def document_of(row: Map, version: MapVersion) -> dict[str, Any]:
    """What a version stores (from memory when it was read or saved before)."""
    return _parsed.document(version) if row.base_map_id is None else version.document


def load(db: DbSession, user: User, map_id: int, version: int | None = None) -> Loaded:
    """A map the user may read, at its current version or at `version`."""
    row, membership = map_row(db, user, map_id)
    found = version_row(db, row, version)
    return Loaded(row, membership, found, effective(db, row, found))


def list_maps(db: DbSession, workspace_id: int) -> list[Map]:
    return list(db.scalars(select(Map).where(Map.workspace_id == workspace_id)
                           .order_by(Map.name, Map.id)))


def versions(db: DbSession, row: Map) -> list[MapVersion]:
    return list(db.scalars(select(MapVersion).where(MapVersion.map_id == row.id)
                           .order_by(MapVersion.version.desc())))


def diff_versions(db: DbSession, row: Map, a: int, b: int) -> MapDiff:
    ma = effective(db, row, version_row(db, row, a).document)
    mb = effective(db, row, version_row(db, row, b).document)
    return diff(ma, mb, f"version {a}", f"version {b}")


# -- writing ----------------------------------------------------------------------------------


def create(db: DbSession, membership: Membership, journey_map: JourneyMap, author: User,
           message: str = "created", base_map: Map | None = None) -> Map:
    """A new map (version 1) in the member's workspace; editors and owners only."""
    require(membership, "editor")
    check(journey_map)
    if base_map is not None and base_map.workspace_id != membership.workspace_id:
        raise NotFound("no such base map")
    row = Map(workspace_id=membership.workspace_id, name=journey_map.name[:300], version=1,
              base_map_id=base_map.id if base_map else None)
    db.add(row)
    db.flush()
    if base_map is not None:
        base = effective(db, base_map, version_row(db, base_map).document)
        document = variant_document(base, journey_map, base_map.id)
        effective_map = merge_variant(base, document)
        check(effective_map)
    else:
        document = map_to_data(journey_map)
    db.add(MapVersion(map_id=row.id, version=1, document=document, author_id=author.id,
                      summary=f"created with {len(journey_map.stages)} stages and "
                      f"{len(journey_map.touchpoints)} touchpoints", message=message[:2000]))
    db.flush()
    return row


@dataclass
class Prepared:
    """A save worked out on a read session (`prepare`), to be written by `commit`: the slow
    part of a save (checking the map, the diff) runs before the write lock is taken."""

    loaded: Loaded
    journey_map: JourneyMap
    base_version: int
    document: dict[str, Any]
    summary: str
    issues: list[Issue]
    unchanged: bool


def prepare(db: DbSession, loaded: Loaded, journey_map: JourneyMap,
            base_version: int) -> Prepared:
    """Check and summarise a save of `journey_map` on `base_version` (nothing is written)."""
    row = loaded.row
    require(loaded.membership, "editor")
    issues = check(journey_map)
    if base_version != row.version:
        raise _conflict(db, row, base_version)
    current = version_row(db, row)
    if row.base_map_id is not None:
        base_row = db.get(Map, row.base_map_id)
        assert base_row is not None
        base = effective(db, base_row, version_row(db, base_row).document)
        document = variant_document(base, journey_map, base_row.id)
    else:
        document = map_to_data(journey_map)
    if document == document_of(row, current):
        return Prepared(loaded, journey_map, base_version, document, "", issues, True)
    full = row.base_map_id is None
    change = change_of(effective(db, row, current), journey_map, f"version {row.version}",
                       "saved", document_of(row, current) if full else None,
                       document if full else None)
    summary = summary_of(change) if not change.empty else "details changed"
    return Prepared(loaded, journey_map, base_version, document, summary, issues, False)


def commit(db: DbSession, prepared: Prepared, author: User, message: str = "") -> MapVersion:
    """Write a prepared save as the next version, if its base version is still the current
    one (a conditional update: `VersionConflict` when someone saved in between)."""
    row_id = prepared.loaded.row.id
    row = db.get(Map, row_id)
    if row is None:
        raise NotFound("no such map")
    require(access(db, author, row.workspace_id), "editor")
    base_version = prepared.base_version
    if prepared.unchanged and row.version == base_version:
        current = version_row(db, row)
        current.issues = prepared.issues  # type: ignore[attr-defined]
        return current
    now = utcnow()
    done = db.execute(update(Map).where(Map.id == row_id, Map.version == base_version).values(
        version=Map.version + 1, name=prepared.journey_map.name[:300], updated_at=now))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(db, row, base_version)
    new = MapVersion(map_id=row_id, version=base_version + 1, document=prepared.document,
                     author_id=author.id, created_at=now, summary=prepared.summary,
                     message=message[:2000])
    db.add(new)
    db.flush()
    db.refresh(row)
    if row.base_map_id is None:
        _parsed.put(new, prepared.journey_map, prepared.document, newest=True)
    new.issues = prepared.issues  # type: ignore[attr-defined]  # the warnings, for the answer
    return new


def save(db: DbSession, loaded: Loaded, journey_map: JourneyMap, base_version: int,
         author: User, message: str = "") -> MapVersion:
    """Save `journey_map` as the next version, if `base_version` is still the current one.

    Raises `VersionConflict` (nothing written) when someone saved in between, `Invalid` when the
    map has errors, `Forbidden` for a viewer. A save that changes nothing returns the current
    version unchanged. The version returned carries the map's warnings as `issues`. (The web
    app runs `prepare` on a read session and `commit` on a short write session instead.)
    """
    return commit(db, prepare(db, loaded, journey_map, base_version), author, message)


def save_in(database: Any, user: User, map_id: int,
            change: Any, base_version: int, message: str = "") -> tuple[Loaded, MapVersion]:
    """Load the map on a read session, apply `change` (a function of the current map giving the
    new one), prepare the save there, and commit it on a short write session; returns the map
    as saved (its row with the new name and date) and the saved version. `database` is a
    `journeyscope.store.Database`."""
    with database.read() as s:
        loaded = load(s, user, map_id)
        prepared = prepare(s, loaded, change(loaded.journey_map), base_version)
    with database.write() as s:
        saved = commit(s, prepared, user, message)
        return saved_map(s, prepared, saved), saved


def saved_map(db: DbSession, prepared: Prepared, saved: MapVersion) -> Loaded:
    """The map as `commit` left it, on the session that committed: the row read before the
    save still has the old name and `updated_at`."""
    row = db.get(Map, prepared.loaded.row.id)  # the row `commit` refreshed
    if row is None:
        raise NotFound("no such map")
    return Loaded(row, prepared.loaded.membership, saved, prepared.journey_map)


def _conflict(db: DbSession, row: Map, base_version: int) -> VersionConflict:
    db.refresh(row)
    current = version_row(db, row)
    if base_version > row.version or base_version < 1:
        raise Invalid(f"base_version {base_version} does not exist",
                      [(("base_version",), f"the map's versions run from 1 to {row.version}")])
    base = effective(db, row, version_row(db, row, base_version).document)
    now = effective(db, row, current.document)
    return VersionConflict(base_version, current,
                           diff(base, now, f"version {base_version}", f"version {row.version}"))


def restore(db: DbSession, loaded: Loaded, version: int, base_version: int,
            author: User) -> MapVersion:
    """Save an old version's content as the newest version."""
    old = version_row(db, loaded.row, version)
    journey_map = effective(db, loaded.row, old.document)
    return save(db, loaded, journey_map, base_version, author,
                message=f"restored version {version}")


def delete(db: DbSession, loaded: Loaded) -> None:
    """Delete a map with its versions and comments (editors); a map that variants extend
    stays until they are deleted, since they store only their differences from it."""
    require(loaded.membership, "editor")
    variants = list(db.scalars(select(Map.name).where(Map.base_map_id == loaded.row.id)))
    if variants:
        raise Invalid("the map has variants", [(("map_id",), (
            f"variants extend this map ({', '.join(variants[:5])}): delete them first"))])
    db.delete(loaded.row)
