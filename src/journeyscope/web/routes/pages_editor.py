"""The map editor: the map's grid as the report draws it, with a side panel of forms. Every
change posts the version it was made on and answers the re-rendered editor (htmx swaps it in);
a change on an old version answers 409 with the other person's change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from journeyscope.model.files import dumps
from journeyscope.model.types import JourneyMap, State
from journeyscope.store import comments, edits, maps
from journeyscope.store.errors import Forbidden, Invalid
from journeyscope.store.maps import Loaded
from journeyscope.store.models import Map
from journeyscope.web import forms
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.grid import grid_html
from journeyscope.web.render import is_htmx, page
from journeyscope.web.routes.api_maps import parse_map_text
from journeyscope.web.schemas import PathId

router = APIRouter(include_in_schema=False)


def _base_version(form: Any) -> int:
    raw = str(form.get("base_version") or "")
    if not raw.isdigit() or not 1 <= int(raw) < 2**31:
        raise Invalid("base_version missing", [(("base_version",), "the form lacks the "
                                                "version it was made on; reload the page")])
    return int(raw)


def editor_context(request: Request, s: Any, loaded: Loaded, persona: str | None,
                   panel: str) -> dict[str, Any]:
    """Everything `_editor.html` shows."""
    jm = loaded.journey_map
    row = loaded.row
    persona_notice = ""
    if persona and jm.persona(persona) is None:
        known = ", ".join(p.id for p in jm.personas) or "none"
        persona_notice = (f"The map has no persona {persona!r} (its personas: {known}); it is "
                          "shown for the whole buying committee.")
        persona = None
    measured = request.app.state.measurements.for_editor(s, row, loaded.version.version, jm)
    key = loaded.version.version if not row.base_map_id else (
        f"{loaded.version.version}:{hash(jm.model_dump_json())}")
    html = grid_html(request.app.state, row.id, key, jm, persona, measured)
    kind, _, ident = panel.partition(":")
    all_comments = comments.for_map(s, row.id)
    editable = loaded.can_edit and not jm.persona_view
    base_name = ""
    if row.base_map_id:
        base = s.get(Map, row.base_map_id)
        base_name = base.name if base else "a deleted map"
    return {
        "row": row, "jm": jm, "version": loaded.version.version, "persona": persona or "",
        "persona_notice": persona_notice,
        "persona_q": f"&persona={quote(persona)}" if persona else "",
        "panel": panel, "editable": editable, "can_edit": loaded.can_edit,
        "grid": Markup(html), "overdue": jm.review.overdue(), "base_name": base_name,
        "tp": jm.touchpoint(ident) if kind == "touchpoint" else None,
        "stage": jm.stage(ident) if kind == "stage" else None,
        "person": jm.persona(ident) if kind == "persona" else None,
        "comments": all_comments,
        "tp_comments": [c for c in all_comments if c.touchpoint == ident],
        "variants": [m for m in maps.list_maps(s, row.workspace_id) if m.base_map_id == row.id],
        "yaml_text": dumps(jm, "yaml") if panel == "yaml" else "",
        "measured": measured is not None, "measured_ids": measured.measured if measured else set(),
        "measured_note": measured.note if measured else "",
        "data_version": measured.data_version if measured else 0,
        "kpi_line": forms.kpi_line, "info_line": forms.info_line,
    }


def _editor(request: Request, db: Any, user: Any, map_id: int, persona: str | None,
            panel: str, template: str, status_code: int = 200) -> HTMLResponse:
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        context = editor_context(request, s, loaded, persona, panel)
        return page(request, template, status_code=status_code, **context)


@router.get("/maps/{map_id}", response_class=HTMLResponse)
def editor_page(request: Request, map_id: PathId, user: CurrentUser, db: Db,
                persona: str | None = None, panel: str = "overview") -> HTMLResponse:
    return _editor(request, db, user, map_id, persona, panel[:200], "editor.html")


@router.get("/maps/{map_id}/panel", response_class=HTMLResponse)
def panel_part(request: Request, map_id: PathId, user: CurrentUser, db: Db,
               panel: str = "overview", persona: str | None = None) -> HTMLResponse:
    return _editor(request, db, user, map_id, persona, panel[:200], "_panel.html")


async def _edit(request: Request, db: Any, user: Any, map_id: int,
                change: Callable[[JourneyMap, Any], JourneyMap | tuple[JourneyMap, str]],
                panel: str | Callable[[str], str] = "overview", message: str = "") -> Response:
    """Apply `change` to the current map and save it on the form's base version."""
    form = await request.form()
    base_version = _base_version(form)
    return await run_in_threadpool(_edit_sync, request, db, user, map_id, change, form,
                                   base_version, panel, message)


def _edit_sync(request: Request, db: Any, user: Any, map_id: int, change: Any, form: Any,
               base_version: int, panel: Any, message: str) -> Response:
    # The map is changed and checked on a read session; only the write itself holds the
    # database's write lock (see `maps.prepare` and `maps.commit`).
    with db.read() as s:
        loaded = maps.load(s, user, map_id)
        if loaded.journey_map.persona_view:
            raise Forbidden("a persona view is read only: edit its base map")
        result = change(loaded.journey_map, form)
        new_map, new_id = result if isinstance(result, tuple) else (result, "")
        prepared = maps.prepare(s, loaded, new_map, base_version)
    with db.write() as s:
        maps.commit(s, prepared, user, message)
    chosen = panel(new_id) if callable(panel) else panel
    persona = request.query_params.get("persona")
    return _editor(request, db, user, map_id, persona, chosen, "_editor.html")


@router.post("/maps/{map_id}/touchpoints")
async def add_touchpoint(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.add_touchpoint(
        m, forms.text(f, "stage", 120) or "", forms.text(f, "name", 300) or ""),
        panel=lambda new: f"touchpoint:{new}", message="added a touchpoint")


@router.post("/maps/{map_id}/touchpoints/{tid}")
async def update_touchpoint(request: Request, map_id: PathId, tid: str, user: CurrentUser,
                            db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.update_touchpoint(
        m, tid, forms.touchpoint_fields(f, m, tid) if m.touchpoint(tid) else {}),
        panel=f"touchpoint:{tid}")


@router.post("/maps/{map_id}/touchpoints/{tid}/emotion")
async def set_emotion(request: Request, map_id: PathId, tid: str, user: CurrentUser,
                      db: Db) -> Response:
    def change(m: JourneyMap, f: Any) -> JourneyMap:
        value = forms.number(f, "value", integer=True)
        return edits.set_emotion(m, tid, forms.text(f, "persona", 120) or "",
                                 None if value is None else int(value))
    return await _edit(request, db, user, map_id, change, panel=f"touchpoint:{tid}")


@router.post("/maps/{map_id}/touchpoints/{tid}/delete")
async def delete_touchpoint(request: Request, map_id: PathId, tid: str, user: CurrentUser,
                            db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.delete_touchpoint(m, tid),
                       message=f"deleted touchpoint {tid}")


@router.post("/maps/{map_id}/move")
async def move_touchpoint(request: Request, map_id: PathId, user: CurrentUser,
                          db: Db) -> Response:
    def change(m: JourneyMap, f: Any) -> JourneyMap:
        index = forms.number(f, "index", integer=True) or 0
        return edits.move_touchpoint(m, forms.text(f, "touchpoint", 120) or "",
                                     forms.text(f, "stage", 120) or "", int(index))
    return await _edit(request, db, user, map_id, change)


@router.post("/maps/{map_id}/stages")
async def add_stage(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.add_item(
        m, "stage", forms.text(f, "name", 200) or ""), panel=lambda new: f"stage:{new}")


@router.post("/maps/{map_id}/stages/{sid}")
async def update_stage(request: Request, map_id: PathId, sid: str, user: CurrentUser,
                       db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.update_item(
        m, "stage", sid, forms.stage_fields(f, m, sid) if m.stage(sid) else {}),
        panel=f"stage:{sid}")


@router.post("/maps/{map_id}/stages/{sid}/move")
async def move_stage(request: Request, map_id: PathId, sid: str, user: CurrentUser,
                     db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.move_stage(
        m, sid, int(forms.number(f, "offset", integer=True) or 0)), panel=f"stage:{sid}")


@router.post("/maps/{map_id}/stages/{sid}/delete")
async def delete_stage(request: Request, map_id: PathId, sid: str, user: CurrentUser,
                       db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.delete_stage(m, sid),
                       panel="stages")


@router.post("/maps/{map_id}/personas")
async def add_persona(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.add_item(
        m, "persona", forms.text(f, "name", 200) or "",
        **({"role": r} if (r := forms.text(f, "role", 100)) else {})),
        panel=lambda new: f"persona:{new}")


@router.post("/maps/{map_id}/personas/{pid}")
async def update_persona(request: Request, map_id: PathId, pid: str, user: CurrentUser,
                         db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.update_item(
        m, "persona", pid, forms.persona_fields(f, m, pid) if m.persona(pid) else {}),
        panel=f"persona:{pid}")


@router.post("/maps/{map_id}/personas/{pid}/delete")
async def delete_persona(request: Request, map_id: PathId, pid: str, user: CurrentUser,
                         db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.delete_persona(m, pid),
                       panel="personas")


@router.post("/maps/{map_id}/details")
async def update_details(request: Request, map_id: PathId, user: CurrentUser,
                         db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.update_map(
        m, forms.map_fields(f, m)))


@router.post("/maps/{map_id}/reviewed")
async def mark_reviewed(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: edits.mark_reviewed(m),
                       message="reviewed")


@router.post("/maps/{map_id}/yaml")
async def save_yaml(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    return await _edit(request, db, user, map_id, lambda m, f: parse_map_text(
        str(f.get("text") or ""), "yaml"), panel="yaml", message="edited as YAML")


@router.post("/maps/{map_id}/comments")
async def add_comment(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    form = await request.form()

    def work() -> Response:
        with db.read() as s:
            loaded = maps.load(s, user, map_id)
        with db.write() as s:
            comments.add(s, loaded, user, str(form.get("body") or ""),
                         forms.text(form, "touchpoint", 120))
        panel = forms.text(form, "panel", 200) or "comments"
        return _editor(request, db, user, map_id, None, panel, "_editor.html")

    return await run_in_threadpool(work)


@router.post("/maps/{map_id}/variants")
async def create_variant(request: Request, map_id: PathId, user: CurrentUser,
                         db: Db) -> Response:
    """A variant for a segment or an account, or a persona view, of this map."""
    form = await request.form()
    return await run_in_threadpool(_create_variant, request, db, user, map_id, form)


def _create_variant(request: Request, db: Any, user: Any, map_id: int, form: Any) -> Response:
    with db.write() as s:
        base = maps.load(s, user, map_id)
        name = forms.text(form, "name", 200)
        if not name:
            raise Invalid("name missing", [(("name",), "give the variant a name")])
        update: dict[str, Any] = {"name": name}
        for key in ("segment", "account", "persona_view"):
            value = forms.text(form, key, 200)
            if value:
                update[key] = value
        if update.get("persona_view") and base.journey_map.persona(update["persona_view"]) is None:
            raise Invalid("unknown persona", [(("persona_view",), "no such persona")])
        variant = base.journey_map.model_copy(update=update)
        row = maps.create(s, base.membership, variant, user, base_map=base.row,
                          message=f"variant of {base.row.name}")
    return _go(request, f"/maps/{row.id}")


@router.post("/maps/{map_id}/future")
def create_future(request: Request, map_id: PathId, user: CurrentUser, db: Db) -> Response:
    """The future state: a copy of this current-state map to redesign, compared side by side."""
    with db.write() as s:
        current = maps.load(s, user, map_id)
        jm = current.journey_map
        future = jm.model_copy(update={"name": f"{jm.name} (future state)",
                                       "state": State.future,
                                       "meta": {**jm.meta, "current_state_map": current.row.id}})
        row = maps.create(s, current.membership, future, user, message="future state of "
                          f"{current.row.name}")
    return _go(request, f"/maps/{row.id}/compare?with={map_id}")


def _go(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return Response(status_code=303, headers={"Location": url})
