"""REST API: the signed-in user and their tokens, users (admins), workspaces, members and
invitations."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Request, Response

from journeyscope.store import users, workspaces
from journeyscope.store.errors import Forbidden
from journeyscope.store.models import Invitation, Membership
from journeyscope.web.auth import CurrentUser, Db
from journeyscope.web.schemas import (
    InvitationIn,
    InvitationOut,
    Me,
    MemberOut,
    PathId,
    RoleIn,
    TokenIn,
    TokenOut,
    UserIn,
    WorkspaceIn,
    WorkspaceOut,
)

router = APIRouter(prefix="/api", tags=["people and workspaces"])


def _workspace_out(m: Membership) -> WorkspaceOut:
    w = m.workspace
    return WorkspaceOut(id=w.id, name=w.name, role=m.role, data_version=w.data_version,  # type: ignore[arg-type]
                        created_at=w.created_at)


def _invitation_out(row: Invitation, url: str | None = None) -> InvitationOut:
    return InvitationOut(id=row.id, role=row.role, email=row.email,  # type: ignore[arg-type]
                         expires_at=row.expires_at, url=url)


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    """The signed-in user."""
    return Me(id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


@router.post("/users", response_model=Me, status_code=201)
def create_user(body: UserIn, user: CurrentUser, db: Db) -> Me:
    """Create a user (admins only)."""
    if not user.is_admin:
        raise Forbidden("only admins can create users; invite people to a workspace instead")
    with db.write() as s:
        new = users.create_user(s, body.email, body.password, name=body.name, admin=body.admin)
        return Me(id=new.id, email=new.email, name=new.name, is_admin=new.is_admin)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(user: CurrentUser, db: Db) -> list[TokenOut]:
    """Your API tokens (without their secrets)."""
    with db.read() as s:
        return [TokenOut(id=t.id, name=t.name, prefix=t.prefix, created_at=t.created_at)
                for t in users.list_tokens(s, user)]


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, user: CurrentUser, db: Db) -> TokenOut:
    """A new API token; its secret is in this answer only."""
    with db.write() as s:
        row, secret = users.create_token(s, user, body.name)
        return TokenOut(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                        token=secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: PathId, user: CurrentUser, db: Db) -> Response:
    """Revoke one of your API tokens."""
    with db.write() as s:
        users.revoke_token(s, user, token_id)
    return Response(status_code=204)


@router.get("/workspaces", response_model=list[WorkspaceOut])
def list_workspaces(user: CurrentUser, db: Db) -> list[WorkspaceOut]:
    """The workspaces you are a member of, with your role."""
    with db.read() as s:
        return [_workspace_out(m) for m in workspaces.memberships_of(s, user)]


@router.post("/workspaces", response_model=WorkspaceOut, status_code=201)
def create_workspace(body: WorkspaceIn, user: CurrentUser, db: Db) -> WorkspaceOut:
    """Create a workspace; you are its owner."""
    with db.write() as s:
        w = workspaces.create_workspace(s, user, body.name)
        return _workspace_out(workspaces.access(s, user, w.id))


@router.get("/workspaces/{workspace_id}", response_model=WorkspaceOut)
def get_workspace(workspace_id: PathId, user: CurrentUser, db: Db) -> WorkspaceOut:
    """One workspace (404 when you are not a member)."""
    with db.read() as s:
        return _workspace_out(workspaces.access(s, user, workspace_id))


@router.patch("/workspaces/{workspace_id}", response_model=WorkspaceOut)
def rename_workspace(workspace_id: PathId, body: WorkspaceIn, user: CurrentUser,
                     db: Db) -> WorkspaceOut:
    """Rename a workspace (owners)."""
    with db.write() as s:
        m = workspaces.access(s, user, workspace_id)
        workspaces.rename_workspace(s, m, body.name)
        return _workspace_out(m)


@router.delete("/workspaces/{workspace_id}", status_code=204)
def delete_workspace(workspace_id: PathId, request: Request, user: CurrentUser,
                     db: Db) -> Response:
    """Delete a workspace with its maps, comments, imports and event data (owners)."""
    with db.write() as s:
        workspaces.delete_workspace(s, workspaces.access(s, user, workspace_id))
    folder = request.app.state.settings.data_dir / "workspaces" / str(workspace_id)
    with request.app.state.uploads.lock(workspace_id):
        shutil.rmtree(folder, ignore_errors=True)
    return Response(status_code=204)


@router.get("/workspaces/{workspace_id}/members", response_model=list[MemberOut])
def list_members(workspace_id: PathId, user: CurrentUser, db: Db) -> list[MemberOut]:
    """The members of a workspace and their roles."""
    with db.read() as s:
        workspaces.access(s, user, workspace_id)
        return [MemberOut(user_id=m.user_id, email=m.user.email, name=m.user.name,
                          role=m.role)  # type: ignore[arg-type]
                for m in workspaces.members(s, workspace_id)]


@router.put("/workspaces/{workspace_id}/members/{user_id}", response_model=MemberOut)
def set_role(workspace_id: PathId, user_id: PathId, body: RoleIn, user: CurrentUser,
             db: Db) -> MemberOut:
    """Change a member's role (owners); a workspace always keeps an owner."""
    with db.write() as s:
        m = workspaces.set_role(s, workspaces.access(s, user, workspace_id), user_id, body.role)
        return MemberOut(user_id=m.user_id, email=m.user.email, name=m.user.name,
                         role=m.role)  # type: ignore[arg-type]


@router.delete("/workspaces/{workspace_id}/members/{user_id}", status_code=204)
def remove_member(workspace_id: PathId, user_id: PathId, user: CurrentUser, db: Db) -> Response:
    """Remove a member (owners), or leave a workspace yourself."""
    with db.write() as s:
        workspaces.remove_member(s, workspaces.access(s, user, workspace_id), user_id)
    return Response(status_code=204)


@router.get("/workspaces/{workspace_id}/invitations", response_model=list[InvitationOut])
def list_invitations(workspace_id: PathId, user: CurrentUser, db: Db) -> list[InvitationOut]:
    """Open invitations (owners)."""
    with db.read() as s:
        actor = workspaces.access(s, user, workspace_id)
        return [_invitation_out(i) for i in workspaces.open_invitations(s, actor)]


@router.post("/workspaces/{workspace_id}/invitations", response_model=InvitationOut,
             status_code=201)
def invite(workspace_id: PathId, body: InvitationIn, request: Request, user: CurrentUser,
           db: Db) -> InvitationOut:
    """An invitation link (owners): whoever opens it signed in, or signs up with it, becomes a
    member with `role`. With `email`, only that address may use it."""
    with db.write() as s:
        actor = workspaces.access(s, user, workspace_id)
        row, token = workspaces.invite(s, actor, body.role, body.email)
        return _invitation_out(row, str(request.url_for("invitation_page", token=token)))


@router.delete("/workspaces/{workspace_id}/invitations/{invitation_id}", status_code=204)
def revoke_invitation(workspace_id: PathId, invitation_id: PathId, user: CurrentUser,
                      db: Db) -> Response:
    """Withdraw an open invitation (owners)."""
    with db.write() as s:
        workspaces.revoke_invitation(s, workspaces.access(s, user, workspace_id), invitation_id)
    return Response(status_code=204)


@router.post("/invitations/{token}/accept", response_model=WorkspaceOut)
def accept_invitation(token: str, user: CurrentUser, db: Db) -> WorkspaceOut:
    """Accept an invitation as the signed-in user."""
    with db.write() as s:
        return _workspace_out(workspaces.accept(s, token[:200], user))
