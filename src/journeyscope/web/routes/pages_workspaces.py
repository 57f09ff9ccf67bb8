"""Pages: the workspace list, a workspace (maps, data, members), creating and importing maps,
managing members and invitations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from journeyscope.model.templates import new_map, template_names, template_summaries
from journeyscope.store import data as store_data
from journeyscope.store import maps, users, workspaces
from journeyscope.store.errors import Invalid
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.render import page
from journeyscope.web.routes.api_maps import parse_map_text
from journeyscope.web.schemas import PathId

router = APIRouter(include_in_schema=False)
MAX_MAP_FILE = 10 * 1024 * 1024


@router.get("/", response_class=HTMLResponse)
def workspaces_page(request: Request, user: CurrentUser, db: Db,
                    new_token: str | None = None) -> HTMLResponse:
    with db.read() as s:
        memberships = workspaces.memberships_of(s, user)
        tokens = users.list_tokens(s, user)
        return page(request, "workspaces.html", memberships=memberships, tokens=tokens,
                    new_token=new_token if isinstance(new_token, str) and
                    new_token.startswith(users.TOKEN_PREFIX) and request.method == "POST"
                    else None)


@router.post("/workspaces")
def create_workspace(name: Annotated[str, Form(max_length=200)], user: CurrentUser,
                     db: Db) -> Response:
    with db.write() as s:
        workspace = workspaces.create_workspace(s, user, name)
    return RedirectResponse(f"/workspaces/{workspace.id}", status_code=303)


@router.get("/workspaces/{workspace_id}", response_class=HTMLResponse)
def workspace_page(request: Request, workspace_id: PathId, user: CurrentUser, db: Db,
                   invite_url: str | None = None) -> HTMLResponse:
    with db.read() as s:
        membership = workspaces.access(s, user, workspace_id)
        all_maps = maps.list_maps(s, workspace_id)
        return page(
            request, "workspace.html", workspace=membership.workspace, membership=membership,
            maps=_base_first(all_maps), names={m.id: m.name for m in all_maps},
            members=workspaces.members(s, workspace_id),
            invitations=workspaces.open_invitations(s, membership)
            if membership.role == "owner" else [],
            imports=store_data.imports(s, workspace_id), templates=template_summaries(),
            can_edit=membership.role in ("owner", "editor"),
            invite_url=invite_url if request.method == "POST" else None)


@router.get("/workspaces/{workspace_id}/imports", response_class=HTMLResponse)
def imports_part(request: Request, workspace_id: PathId, user: CurrentUser,
                 db: Db) -> HTMLResponse:
    with db.read() as s:
        membership = workspaces.access(s, user, workspace_id)
        return page(request, "_imports.html", workspace=membership.workspace,
                    imports=store_data.imports(s, workspace_id))


@router.post("/workspaces/{workspace_id}/maps")
def create_map(workspace_id: PathId, name: Annotated[str, Form(max_length=300)],
               user: CurrentUser, db: Db,
               template: Annotated[str, Form(max_length=60)] = "b2b") -> Response:
    if template not in template_names():
        raise Invalid("unknown template", [(("template",), "choose one of the templates")])
    if not name.strip():
        raise Invalid("name missing", [(("name",), "give the map a name")])
    with db.write() as s:
        row = maps.create(s, workspaces.access(s, user, workspace_id),
                          new_map(name.strip(), template), user, message=f"from template "
                          f"{template}")
    return RedirectResponse(f"/maps/{row.id}", status_code=303)


@router.post("/workspaces/{workspace_id}/maps/import")
async def import_map(workspace_id: PathId, file: Annotated[UploadFile, File()],
                     user: CurrentUser, db: Db) -> Response:
    raw = await file.read(MAX_MAP_FILE + 1)
    if len(raw) > MAX_MAP_FILE:
        raise Invalid("map file too large", [(("file",), "a map file may be at most 10 MB")])
    name = (file.filename or "map.yaml").lower()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("not UTF-8", [(("file",), "save the map file as UTF-8")]) from None
    journey_map = parse_map_text(text, "json" if name.endswith(".json") else "yaml")
    with db.write() as s:
        row = maps.create(s, workspaces.access(s, user, workspace_id), journey_map, user,
                          message=f"imported from {file.filename}"[:200])
    return RedirectResponse(f"/maps/{row.id}", status_code=303)


@router.post("/workspaces/{workspace_id}/members/{user_id}")
def set_role(workspace_id: PathId, user_id: PathId, role: Annotated[str, Form(max_length=10)],
             user: CurrentUser, db: Db) -> Response:
    with db.write() as s:
        workspaces.set_role(s, workspaces.access(s, user, workspace_id), user_id, role)
    return RedirectResponse(f"/workspaces/{workspace_id}#members", status_code=303)


@router.post("/workspaces/{workspace_id}/members/{user_id}/remove")
def remove_member(workspace_id: PathId, user_id: PathId, user: CurrentUser, db: Db) -> Response:
    with db.write() as s:
        workspaces.remove_member(s, workspaces.access(s, user, workspace_id), user_id)
    return RedirectResponse("/" if user_id == user.id else f"/workspaces/{workspace_id}",
                            status_code=303)


@router.post("/workspaces/{workspace_id}/invitations", response_class=HTMLResponse)
def invite(request: Request, workspace_id: PathId, user: CurrentUser, db: Db,
           role: Annotated[str, Form(max_length=10)] = "editor",
           email: Annotated[str, Form(max_length=320)] = "") -> HTMLResponse:
    with db.write() as s:
        _, token = workspaces.invite(s, workspaces.access(s, user, workspace_id), role,
                                     email.strip() or None)
    url = str(request.url_for("invitation_page", token=token))
    return workspace_page(request, workspace_id, user, db, invite_url=url)


@router.post("/workspaces/{workspace_id}/invitations/{invitation_id}/revoke")
def revoke_invitation(workspace_id: PathId, invitation_id: PathId, user: CurrentUser,
                      db: Db) -> Response:
    """Withdraw an open invitation (owners): its link stops working."""
    with db.write() as s:
        workspaces.revoke_invitation(s, workspaces.access(s, user, workspace_id), invitation_id)
    return RedirectResponse(f"/workspaces/{workspace_id}#members", status_code=303)


def _base_first(rows: list[Any]) -> list[Any]:
    """The maps in their order, each variant moved to just after its base (and its base's
    earlier variants), where the page indents it; a variant whose base is gone stays put.

    >>> from types import SimpleNamespace as M
    >>> rows = [M(id=1, base_map_id=None), M(id=2, base_map_id=None), M(id=3, base_map_id=1),
    ...         M(id=4, base_map_id=3), M(id=5, base_map_id=9)]
    >>> [m.id for m in _base_first(rows)]
    [1, 3, 4, 2, 5]
    """
    present = {m.id for m in rows}
    children: dict[int, list[Any]] = {}
    for m in rows:
        if m.base_map_id in present and m.base_map_id != m.id:
            children.setdefault(m.base_map_id, []).append(m)
    out: list[Any] = []
    seen: set[int] = set()

    def add(m: Any) -> None:
        if m.id in seen:
            return
        seen.add(m.id)
        out.append(m)
        for child in children.get(m.id, []):
            add(child)

    for m in rows:
        if m.base_map_id not in present or m.base_map_id == m.id:
            add(m)
    for m in rows:  # a cycle of variants (no base among them): in their order
        add(m)
    return out

