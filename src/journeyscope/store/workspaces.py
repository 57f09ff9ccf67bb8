"""Workspaces, memberships with roles (owner, editor, viewer) and invitations by link.

Access is checked here, once: `access` answers `NotFound` for a workspace the user does not
belong to (its existence is not leaked) and `require` answers `Forbidden`, with a message, for a
member whose role is too low. Owners manage members and invitations, editors change maps and
data, viewers read.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from journeyscope.store.errors import Forbidden, Invalid, NotFound
from journeyscope.store.models import ROLES, Invitation, Membership, User, Workspace, utcnow
from journeyscope.store.users import digest, normalise_email

RANK = {"viewer": 0, "editor": 1, "owner": 2}
INVITATION_DAYS = 14
_WHAT = {"editor": "change maps and data", "owner": "manage members and invitations"}


def check_name(name: str, field: str = "name", limit: int = 200) -> str:
    name = (name or "").strip()
    if not name or len(name) > limit:
        raise Invalid(f"{field}: 1 to {limit} characters",
                      [((field,), f"give a name of 1 to {limit} characters")])
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}", [(("role",), "the role is owner, editor or "
                                                  "viewer")])
    return role


def create_workspace(db: DbSession, owner: User, name: str) -> Workspace:
    """A new workspace with `owner` as its first owner."""
    workspace = Workspace(name=check_name(name))
    db.add(workspace)
    db.flush()
    workspace.data_path = f"workspaces/{workspace.id}/events.duckdb"
    db.add(Membership(workspace_id=workspace.id, user_id=owner.id, role="owner"))
    db.flush()
    return workspace


def memberships_of(db: DbSession, user: User) -> list[Membership]:
    return list(db.scalars(select(Membership).where(Membership.user_id == user.id)
                           .order_by(Membership.workspace_id)))


def access(db: DbSession, user: User, workspace_id: int) -> Membership:
    """The user's membership of the workspace; `NotFound` if there is none."""
    membership = db.scalar(select(Membership).where(
        Membership.workspace_id == workspace_id, Membership.user_id == user.id))
    if membership is None:
        raise NotFound("no such workspace")
    return membership


def require(membership: Membership, role: str, what: str | None = None) -> Membership:
    """`Forbidden` unless the member's role is at least `role`; the message says what only
    that role may do (`what`, else what the role is for)."""
    if RANK[membership.role] < RANK[role]:
        raise Forbidden(f"you are {_article(membership.role)} {membership.role} of this "
                        f"workspace: only {role}s can {what or _WHAT.get(role, 'do this')}")
    return membership


def _article(role: str) -> str:
    return "an" if role[0] in "aeiou" else "a"


def rename_workspace(db: DbSession, membership: Membership, name: str) -> Workspace:
    require(membership, "owner", "rename the workspace")
    membership.workspace.name = check_name(name)
    return membership.workspace


def delete_workspace(db: DbSession, membership: Membership) -> None:
    require(membership, "owner", "delete the workspace")
    db.delete(membership.workspace)


def members(db: DbSession, workspace_id: int) -> list[Membership]:
    return list(db.scalars(select(Membership).where(Membership.workspace_id == workspace_id)
                           .order_by(Membership.id)))


def _member(db: DbSession, workspace_id: int, user_id: int) -> Membership:
    row = db.scalar(select(Membership).where(Membership.workspace_id == workspace_id,
                                             Membership.user_id == user_id))
    if row is None:
        raise NotFound("no such member")
    return row


def _owners(db: DbSession, workspace_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Membership).where(
        Membership.workspace_id == workspace_id, Membership.role == "owner")) or 0


def set_role(db: DbSession, actor: Membership, user_id: int, role: str) -> Membership:
    """Change a member's role (owners only); a workspace always keeps one owner."""
    require(actor, "owner")
    check_role(role)
    target = _member(db, actor.workspace_id, user_id)
    if target.role == "owner" and role != "owner" and _owners(db, actor.workspace_id) == 1:
        raise Invalid("last owner", [(("role",), "a workspace needs an owner: make someone "
                                      "else owner first")])
    target.role = role
    return target


def remove_member(db: DbSession, actor: Membership, user_id: int) -> None:
    """Remove a member (owners; anyone may leave), keeping at least one owner."""
    if user_id != actor.user_id:
        require(actor, "owner")
    target = _member(db, actor.workspace_id, user_id)
    if target.role == "owner" and _owners(db, actor.workspace_id) == 1:
        raise Invalid("last owner", [(("user_id",), "a workspace needs an owner: make someone "
                                      "else owner first")])
    db.delete(target)


# -- invitations ---------------------------------------------------------------------------


def invite(db: DbSession, actor: Membership, role: str, email: str | None = None,
           days: int = INVITATION_DAYS) -> tuple[Invitation, str]:
    """An invitation link's row and secret token (shown only here); owners only."""
    require(actor, "owner")
    check_role(role)
    token = secrets.token_urlsafe(24)
    row = Invitation(token_hash=digest(token), workspace_id=actor.workspace_id,
                     email=normalise_email(email) if email else None, role=role,
                     created_by=actor.user_id,
                     expires_at=utcnow() + dt.timedelta(days=days))
    db.add(row)
    db.flush()
    return row, token


def invitation(db: DbSession, token: str) -> Invitation:
    """An open invitation by its token; `NotFound` when unknown, used or expired."""
    row = db.scalar(select(Invitation).where(Invitation.token_hash == digest(token or "")))
    if row is None or row.accepted_at is not None or row.expires_at < utcnow():
        raise NotFound("this invitation link is unknown, used or expired")
    return row


def accept(db: DbSession, token: str, user: User) -> Membership:
    """Make `user` a member as the invitation says; a member already keeps the higher role."""
    row = invitation(db, token)
    if row.email and row.email != user.email:
        raise Forbidden(f"this invitation is for {row.email}; sign in with that address")
    row.accepted_by, row.accepted_at = user.id, utcnow()
    existing = db.scalar(select(Membership).where(Membership.workspace_id == row.workspace_id,
                                                  Membership.user_id == user.id))
    if existing is not None:
        if RANK[row.role] > RANK[existing.role]:
            existing.role = row.role
        return existing
    membership = Membership(workspace_id=row.workspace_id, user_id=user.id, role=row.role)
    db.add(membership)
    db.flush()
    return membership


def open_invitations(db: DbSession, actor: Membership) -> list[Invitation]:
    require(actor, "owner")
    return list(db.scalars(select(Invitation).where(
        Invitation.workspace_id == actor.workspace_id, Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow()).order_by(Invitation.id)))


def revoke_invitation(db: DbSession, actor: Membership, invitation_id: int) -> None:
    require(actor, "owner")
    row = db.get(Invitation, invitation_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound("no such invitation")
    db.delete(row)
