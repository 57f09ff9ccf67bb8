"""Variants and persona views: a map that `extends` a base map, and the map as one persona meets it.

A variant file names its base (`extends: ../b2b.yaml`, relative to the variant) and writes only
what differs: stages, personas and touchpoints with a known id are merged field by field (the
variant's fields win), new ids are added, `remove:` drops ids, and the other top-level fields
replace the base's (`review` and `outcomes` merge by key). Bases may themselves extend a base.

Merging happens on the file data, before the map is built, so a variant may write just
`{id: demo, owner: solutions}`; every issue of the effective map is still reported in the file
and on the line it comes from.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeyscope.model.files import SourceMap, build_map, read_document
from journeyscope.model.issues import Issue, MapError
from journeyscope.model.types import JourneyMap, Link

MAX_DEPTH = 10
_ID_LISTS = ("stages", "personas", "touchpoints", "backstage")
_MERGED_DICTS = ("review", "outcomes", "meta")


@dataclass(frozen=True)
class _Origin:
    """Where an item of the effective map comes from: the base (at `base_index`), the variant
    (at `own_index`), or both (a variant item merged onto a base item; `own_keys` are the fields
    the variant wrote)."""

    base_index: int | None
    own_index: int | None
    own_keys: frozenset[str] = frozenset()


class MergedSource:
    """Locates a path of the effective map in the file (base or variant) it comes from."""

    def __init__(self, own: SourceMap, base: MergedSource | SourceMap):
        self.own = own
        self.base = base
        self.items: dict[tuple[str, int], _Origin] = {}
        self.fields_from_base: set[str] = set()

    @property
    def file(self) -> str | None:
        return self.own.file

    def locate_full(self, path: tuple[Any, ...]) -> tuple[str | None, int | None, int | None]:
        if len(path) >= 2 and path[0] in _ID_LISTS and isinstance(path[1], int):
            origin = self.items.get((path[0], path[1]))
            if origin is not None:
                rest = path[2:]
                mine = origin.own_index is not None and (
                    origin.base_index is None or (rest and rest[0] in origin.own_keys))
                if mine:
                    return self._own((path[0], origin.own_index, *rest))
                return self._base((path[0], origin.base_index, *rest))
        if path and path[0] in self.fields_from_base:
            return self._base(path)
        return self._own(path)

    def _own(self, path: tuple[Any, ...]) -> tuple[str | None, int | None, int | None]:
        line, col = self.own.locate(path)
        return self.own.file, line, col

    def _base(self, path: tuple[Any, ...]) -> tuple[str | None, int | None, int | None]:
        if isinstance(self.base, MergedSource):
            return self.base.locate_full(path)
        line, col = self.base.locate(path)
        return self.base.file, line, col

    def issue(self, severity: str, code: str, message: str, path: tuple[Any, ...] = ()) -> Issue:
        file, line, col = self.locate_full(tuple(path))
        return Issue(severity, code, message, tuple(path), file, line, col)  # type: ignore[arg-type]


def _fail(source: SourceMap, message: str, *path: Any) -> MapError:
    return MapError([source.issue("error", "extends", message, path)])


def _merge(base: dict[str, Any], variant: dict[str, Any], base_src: MergedSource | SourceMap,
           own_src: SourceMap) -> tuple[dict[str, Any], MergedSource]:
    merged = copy.deepcopy(base)
    located = MergedSource(own_src, base_src)
    located.fields_from_base = {key for key in base if key not in variant}
    for key, value in variant.items():
        if key in ("extends", "remove") or key in _ID_LISTS:
            continue
        if key in _MERGED_DICTS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key == "empathy" and isinstance(value, list) and isinstance(merged.get(key), list):
            # An entry for the same persona and stage replaces the base's.
            replaced = {(e.get("persona"), e.get("stage")) for e in value if isinstance(e, dict)}
            merged[key] = [e for e in merged[key] if not (
                isinstance(e, dict) and (e.get("persona"), e.get("stage")) in replaced)] + value
        else:
            merged[key] = value
    removals = variant.get("remove") if isinstance(variant.get("remove"), dict) else {}
    _check_removals(merged, removals, own_src)
    gone = _removed_ids(merged, removals)
    for name in _ID_LISTS:
        base_items = merged.get(name) or []
        own_items = variant.get(name) or []
        if not isinstance(base_items, list) or not isinstance(own_items, list):
            if name in variant:
                merged[name] = own_items
            continue
        items = list(base_items)
        origins = [_Origin(i, None) for i in range(len(items))]
        position = {item.get("id"): i for i, item in enumerate(items) if isinstance(item, dict)}
        for j, item in enumerate(own_items):
            ident = item.get("id") if isinstance(item, dict) else None
            if ident is not None and ident in position:
                i = position[ident]
                items[i] = {**items[i], **item}
                origins[i] = _Origin(i, j, frozenset(item))
            else:
                position[ident] = len(items)
                items.append(item)
                origins.append(_Origin(None, j))
        kept = [(item, origin) for item, origin in zip(items, origins, strict=True)
                if not (isinstance(item, dict) and item.get("id") in gone.get(name, set()))]
        if name in base or name in variant:
            merged[name] = [item for item, _ in kept]
        for i, (_, origin) in enumerate(kept):
            located.items[(name, i)] = origin
    return merged, located


def _check_removals(merged: dict[str, Any], remove: dict[str, Any], own_src: SourceMap) -> None:
    for name in ("stages", "personas", "touchpoints"):
        for k, ident in enumerate(remove.get(name) or []):
            items = merged.get(name) or []
            if not any(isinstance(x, dict) and x.get("id") == ident for x in items):
                raise _fail(own_src, f"cannot remove {name[:-1]} {ident!r}: the base map has no "
                            f"such {name[:-1]}", "remove", name, k)


def _removed_ids(merged: dict[str, Any], remove: dict[str, Any]) -> dict[str, set[str]]:
    gone = {name: set(remove.get(name) or []) for name in ("stages", "personas", "touchpoints")}
    for t in merged.get("touchpoints") or []:
        if isinstance(t, dict) and t.get("stage") in gone["stages"]:
            gone["touchpoints"].add(t.get("id"))  # a removed stage takes its touchpoints along
    return gone


def _load_raw(
    path: Path, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], MergedSource | SourceMap]:
    data, src = read_document(path)
    if not isinstance(data, dict):
        build_map(data, src)  # raises the located "must be a mapping" error
    extends = data.get("extends")
    if not extends:
        return data, src
    if not isinstance(extends, str):
        raise _fail(src, "'extends' must be the path of the base map file", "extends")
    base_path = (path.parent / extends).resolve()
    if base_path in chain or base_path == path.resolve():
        names = " -> ".join(p.name for p in (*chain, path.resolve(), base_path))
        raise _fail(src, f"'extends' forms a cycle: {names}", "extends")
    if len(chain) >= MAX_DEPTH:
        raise _fail(src, f"variants extend each other more than {MAX_DEPTH} deep", "extends")
    if not base_path.is_file():
        raise _fail(src, f"the base map {extends!r} does not exist (looked for {base_path})",
                    "extends")
    base, base_src = _load_raw(base_path, (*chain, path.resolve()))
    return _merge(base, data, base_src, src)


def resolve_with_sources(source: JourneyMap | str | os.PathLike[str]) -> tuple[JourneyMap, Any]:
    """The effective map of a variant (before any persona view) and a locator for its issues."""
    if isinstance(source, JourneyMap):
        if not source.extends:
            return source, SourceMap()
        data = source.model_dump(mode="json", exclude_defaults=True)
        base_path = Path(source.extends).resolve()
        if not base_path.is_file():
            raise MapError([Issue("error", "extends", f"the base map {source.extends!r} does "
                                  "not exist", ("extends",))])
        base, base_src = _load_raw(base_path, ())
        merged, located = _merge(base, data, base_src, SourceMap())
    else:
        merged, located = _load_raw(Path(source), ())
    merged.pop("extends", None)
    merged.pop("remove", None)
    locator = _AsSourceMap(located)
    return build_map(merged, locator), locator


class _AsSourceMap(SourceMap):
    """Gives a `MergedSource` the `SourceMap.issue` interface that validation uses."""

    def __init__(self, inner: MergedSource | SourceMap):
        super().__init__(inner.file)
        self.inner = inner

    def issue(self, severity: str, code: str, message: str, path: tuple[Any, ...] = ()) -> Issue:
        return self.inner.issue(severity, code, message, path)  # type: ignore[arg-type]


def persona_view(journey_map: JourneyMap, persona: str) -> JourneyMap:
    """The map as one persona meets it: only the touchpoints that involve the persona (listed in
    `personas` or given an emotion), links bridged across the touchpoints left out, emotions,
    empathy and information reduced to that persona.

    >>> from journeyscope.model.templates import load_template
    >>> m = load_template("b2b")
    >>> view = persona_view(m, m.personas[0].id)
    >>> [p.id for p in view.personas] == [m.personas[0].id]
    True
    """
    if journey_map.persona(persona) is None:
        known = ", ".join(p.id for p in journey_map.personas)
        raise MapError([Issue("error", "unknown-persona", f"no persona {persona!r} in the map "
                              f"(known: {known})", ("persona_view",))])
    kept = {t.id for t in journey_map.touchpoints
            if persona in t.personas or persona in t.emotion}
    by_id = {t.id: t for t in journey_map.touchpoints}

    def successors(tid: str, seen: set[str]) -> list[Link]:
        out: list[Link] = []
        for link in by_id[tid].next if tid in by_id else []:
            if link.to in seen:
                continue
            seen.add(link.to)
            if link.to in kept:
                out.append(link)
            elif link.to in by_id:
                out.extend(successors(link.to, seen))
        return out

    touchpoints = []
    for t in journey_map.touchpoints:
        if t.id not in kept:
            continue
        links, targets = [], set()
        for link in successors(t.id, {t.id}):
            if link.to not in targets:
                targets.add(link.to)
                links.append(link)
        touchpoints.append(t.model_copy(update={
            "personas": [persona],
            "emotion": {k: v for k, v in t.emotion.items() if k == persona},
            "next": links,
            "information": [i for i in t.information if not i.audience or persona in i.audience],
        }))
    return journey_map.model_copy(update={
        "personas": [journey_map.persona(persona)],
        "touchpoints": touchpoints,
        "empathy": [e for e in journey_map.empathy if e.persona == persona],
        "persona_view": persona,
    })


def resolve(source: JourneyMap | str | os.PathLike[str], persona: str | None = None) -> JourneyMap:
    """The effective map: a variant merged onto its bases, then filtered to a persona view when
    the map declares `persona_view` or `persona` is given.

    Raises `MapError` when a file in the chain is broken; reference errors of the effective map
    are for `validate` to report.
    """
    journey_map, _ = resolve_with_sources(source)
    view = persona or journey_map.persona_view
    return persona_view(journey_map, view) if view else journey_map
