"""REST API: maps (from a template, a document or a map file), saves guarded by
`base_version`, import and export as YAML or JSON, versions, diffs, restore, validation and
comments."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from journeyscope.model.files import build_map, dumps, map_to_data, parse_text
from journeyscope.model.issues import MapError
from journeyscope.model.templates import new_map, template_names
from journeyscope.model.types import JourneyMap
from journeyscope.model.validate import check_map
from journeyscope.store import comments, maps, workspaces
from journeyscope.store.errors import Invalid
from journeyscope.store.maps import Loaded
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.schemas import (
    CommentIn,
    CommentOut,
    Format,
    IssueOut,
    MapCreate,
    MapOut,
    MapSave,
    MapSummary,
    MapText,
    PathId,
    RestoreIn,
    VersionOut,
)

router = APIRouter(prefix="/api", tags=["maps"])
_MEDIA = {"yaml": "application/yaml", "json": "application/json"}


def map_out(loaded: Loaded, issues: list[Any] | None = None) -> MapOut:
    row = loaded.row
    found = check_map(loaded.journey_map) if issues is None else issues
    warnings = [IssueOut(severity=i.severity, code=i.code, message=i.message, path=list(i.path))
                for i in found]
    # A map that is not a variant stores exactly its file form: no need to dump it again.
    document = maps.document_of(row, loaded.version) if row.base_map_id is None else \
        map_to_data(loaded.journey_map)
    return MapOut(id=row.id, workspace_id=row.workspace_id, name=row.name,
                  version=loaded.version.version, base_map_id=row.base_map_id,
                  updated_at=row.updated_at, can_edit=loaded.can_edit, document=document,
                  own_document=loaded.version.document if row.base_map_id else None,
                  warnings=warnings)


def parse_map_text(text: str, fmt: str) -> JourneyMap:
    """A map from YAML or JSON text; `Invalid` with the line and column of each problem, its
    reference errors (an unknown stage, ...) located as `journeyscope validate` locates them."""
    try:
        data, source = parse_text(text, f"<map.{fmt}>", fmt)
        journey_map = build_map(data, source)
    except MapError as exc:
        raise _text_invalid(exc.issues) from None
    errors = [i for i in check_map(journey_map, source) if i.severity == "error"]
    if errors:
        raise _text_invalid(errors)
    return journey_map


def _text_invalid(issues: list[Any]) -> Invalid:
    fields = []
    for issue in issues:
        where = f"line {issue.line}, column {issue.column}: " if issue.line else ""
        at = f" (at {issue.dotted_path()})" if issue.path else ""
        fields.append((("text",), f"{where}{issue.message}{at}"))
    return Invalid(f"the map text is not valid: {fields[0][1]}", fields)


def new_from(body: MapCreate, base: JourneyMap | None = None) -> JourneyMap:
    """The map `body` asks for: its `document`, a copy of `base` (the current version of the
    map `base_map_id` names) under the new name, or a new map from its template."""
    if body.base_map_id is not None and "template" in body.model_fields_set:
        raise Invalid("a variant has no template", [(("template",), (
            "a variant starts from its base map (base_map_id): leave out template"))])
    if body.document is not None and "template" in body.model_fields_set:
        raise Invalid("a document and a template", [(("template",), (
            "give either a document or a template, not both"))])
    if body.document is not None:
        return maps.parse(body.document)
    if base is None and body.template not in template_names():
        raise Invalid(f"unknown template {body.template!r}", [(
            ("template",), f"use one of: {', '.join(template_names())}")])
    if not body.name or not body.name.strip():
        raise Invalid("name missing", [(("name",), "give the new map a name")])
    if base is not None:
        return base.model_copy(update={"name": body.name.strip()})
    return new_map(body.name.strip(), body.template)


@router.get("/workspaces/{workspace_id}/maps", response_model=list[MapSummary])
def list_maps(workspace_id: PathId, user: CurrentUser, db: Db) -> list[MapSummary]:
    """The maps of a workspace."""
    with db.read() as s:
        workspaces.access(s, user, workspace_id)
        return [MapSummary(id=m.id, workspace_id=m.workspace_id, name=m.name, version=m.version,
                           base_map_id=m.base_map_id, updated_at=m.updated_at)
                for m in maps.list_maps(s, workspace_id)]


@router.post("/workspaces/{workspace_id}/maps", response_model=MapOut, status_code=201)
def create_map(workspace_id: PathId, body: MapCreate, user: CurrentUser, db: Db) -> MapOut:
    """Create a map from a template (`name`, `template`) or from a whole `document`; with
    `base_map_id`, as a variant of that map (editors)."""
    # Without a document, a variant is a copy of its base's current version (as the
    # editor's "Create variant" makes it), never of a template.
    journey_map = new_from(body) if body.document is not None or not body.base_map_id else None
    with db.write() as s:
        membership = workspaces.access(s, user, workspace_id)
        base = maps.load(s, user, body.base_map_id) if body.base_map_id else None
        if journey_map is None:
            assert base is not None
            journey_map = new_from(body, base.journey_map)
        row = maps.create(s, membership, journey_map, user,
                          base_map=base.row if base else None)
        return map_out(maps.load(s, user, row.id))


@router.post("/workspaces/{workspace_id}/maps/import", response_model=MapOut, status_code=201)
def import_map(workspace_id: PathId, body: MapText, user: CurrentUser, db: Db) -> MapOut:
    """Create a map from a map file's text (YAML or JSON: map-as-code)."""
    journey_map = parse_map_text(body.text, body.format)
    with db.write() as s:
        row = maps.create(s, workspaces.access(s, user, workspace_id), journey_map, user,
                          message=body.message or "imported")
        return map_out(maps.load(s, user, row.id))


@router.get("/maps/{map_id}", response_model=MapOut)
def get_map(map_id: PathId, user: CurrentUser, db: Db,
            version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> MapOut:
    """A map at its current version (or at `version`), with its validation warnings."""
    with db.read() as s:
        return map_out(maps.load(s, user, map_id, version))


@router.put("/maps/{map_id}", response_model=MapOut)
def save_map(map_id: PathId, body: MapSave, user: CurrentUser, db: Db) -> MapOut:
    """Save a new version. 409 when `base_version` is not the current version (the answer
    holds the other person's change as `diff`); 422 with a message per field for a map with
    errors; 403 for viewers."""
    journey_map = maps.parse(body.document)
    loaded, saved = maps.save_in(db, user, map_id, lambda _: journey_map, body.base_version,
                                 body.message)
    return map_out(loaded, getattr(saved, "issues", None))


@router.put("/maps/{map_id}/text", response_model=MapOut)
def save_map_text(map_id: PathId, body: MapText, user: CurrentUser, db: Db) -> MapOut:
    """Save a map file's text (YAML or JSON) as the next version; needs `base_version`."""
    if body.base_version is None:
        raise Invalid("base_version missing", [(("base_version",), "give the version you "
                                                "edited")])
    journey_map = parse_map_text(body.text, body.format)
    loaded, saved = maps.save_in(db, user, map_id, lambda _: journey_map, body.base_version,
                                 body.message or "edited as " + body.format.upper())
    return map_out(loaded, getattr(saved, "issues", None))


@router.delete("/maps/{map_id}", status_code=204)
def delete_map(map_id: PathId, user: CurrentUser, db: Db) -> Response:
    """Delete a map with its versions and comments (editors)."""
    with db.write() as s:
        maps.delete(s, maps.load(s, user, map_id))
    return Response(status_code=204)


@router.get("/maps/{map_id}/export", response_class=Response,
            responses={200: {"content": {"application/yaml": {}, "application/json": {}}}})
def export_map(map_id: PathId, user: CurrentUser, db: Db, format: Format = "yaml",
               version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """The map as a map file (YAML or JSON) that `journeyscope validate` and the import read."""
    with db.read() as s:
        loaded = maps.load(s, user, map_id, version)
    slug = "".join(c if c.isalnum() else "-" for c in loaded.journey_map.name.lower())[:60]
    name = "-".join(p for p in slug.split("-") if p) or "map"
    return Response(dumps(loaded.journey_map, format), media_type=_MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})


@router.get("/maps/{map_id}/versions", response_model=list[VersionOut])
def list_versions(map_id: PathId, user: CurrentUser, db: Db) -> list[VersionOut]:
    """Every version, newest first: who, when, what changed."""
    with db.read() as s:
        row, _ = maps.map_row(s, user, map_id)
        return [VersionOut(version=v.version, author=v.author.label if v.author else None,
                           created_at=v.created_at, summary=v.summary, message=v.message)
                for v in maps.versions(s, row)]


@router.get("/maps/{map_id}/diff")
def diff_versions(map_id: PathId, user: CurrentUser, db: Db,
                  a: Annotated[int, Query(ge=1, le=2**31 - 1, alias="from")],
                  b: Annotated[int, Query(ge=1, le=2**31 - 1, alias="to")]) -> dict[str, Any]:
    """What changed from version `from` to version `to`."""
    with db.read() as s:
        row, _ = maps.map_row(s, user, map_id)
        result = maps.diff_versions(s, row, a, b)
    return {**json.loads(result.to_json()), "text": result.to_text()}


@router.post("/maps/{map_id}/restore", response_model=MapOut)
def restore(map_id: PathId, body: RestoreIn, user: CurrentUser, db: Db) -> MapOut:
    """Save an old version's content as the newest version (guarded by `base_version`)."""
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        old = maps.effective(s, loaded.row, maps.version_row(s, loaded.row, body.version))
        prepared = maps.prepare(s, loaded, old, body.base_version)
    with db.write() as s:
        saved = maps.commit(s, prepared, user, f"restored version {body.version}")
        restored = maps.saved_map(s, prepared, saved)
    return map_out(restored, getattr(saved, "issues", None))


@router.get("/maps/{map_id}/validation", response_model=list[IssueOut])
def validation(map_id: PathId, user: CurrentUser, db: Db) -> list[IssueOut]:
    """The map's validation warnings (a saved map has no errors)."""
    with db.read() as s:
        return map_out(maps.load(s, user, map_id)).warnings


@router.get("/maps/{map_id}/comments", response_model=list[CommentOut])
def list_comments(map_id: PathId, user: CurrentUser, db: Db,
                  touchpoint: Annotated[str | None, Query(max_length=120)] = None
                  ) -> list[CommentOut]:
    """Comments on the map, or on one touchpoint."""
    with db.read() as s:
        maps.map_row(s, user, map_id)
        return [_comment_out(c) for c in comments.for_map(s, map_id, touchpoint)]


@router.post("/maps/{map_id}/comments", response_model=CommentOut, status_code=201)
def add_comment(map_id: PathId, body: CommentIn, user: CurrentUser, db: Db) -> CommentOut:
    """Comment on the map or on one of its touchpoints (every member, viewers too)."""
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
    with db.write() as s:
        return _comment_out(comments.add(s, loaded, user, body.body, body.touchpoint))


@router.delete("/maps/{map_id}/comments/{comment_id}", status_code=204)
def delete_comment(map_id: PathId, comment_id: PathId, user: CurrentUser, db: Db) -> Response:
    """Delete a comment (its author or an owner)."""
    with db.write() as s:
        comments.delete(s, maps.load(s, user, map_id), user, comment_id)
    return Response(status_code=204)


def _comment_out(c: Any) -> CommentOut:
    return CommentOut(id=c.id, touchpoint=c.touchpoint, author=c.author.label if c.author else None,
                      body=c.body, map_version=c.map_version, created_at=c.created_at)

