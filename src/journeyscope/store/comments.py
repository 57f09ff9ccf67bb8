"""Comments on a map or on one of its touchpoints (by touchpoint id)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from journeyscope.store.errors import Forbidden, Invalid, NotFound
from journeyscope.store.maps import Loaded
from journeyscope.store.models import Comment, User
from journeyscope.store.workspaces import RANK

MAX_COMMENT = 10_000


def add(db: DbSession, loaded: Loaded, author: User, body: str,
        touchpoint: str | None = None) -> Comment:
    """A comment by `author`; every member may comment, viewers included."""
    body = (body or "").strip()
    if not body or len(body) > MAX_COMMENT:
        raise Invalid("comment body", [(("body",), f"write 1 to {MAX_COMMENT:,} characters")])
    if touchpoint:
        known = {t.id for t in loaded.journey_map.touchpoints}
        if touchpoint not in known:
            raise Invalid(f"unknown touchpoint {touchpoint!r}",
                          [(("touchpoint",), f"the map has no touchpoint {touchpoint!r}")])
    comment = Comment(map_id=loaded.row.id, touchpoint=touchpoint or None, author_id=author.id,
                      body=body, map_version=loaded.row.version)
    db.add(comment)
    db.flush()
    return comment


def for_map(db: DbSession, map_id: int, touchpoint: str | None = None) -> list[Comment]:
    query = select(Comment).where(Comment.map_id == map_id)
    if touchpoint:
        query = query.where(Comment.touchpoint == touchpoint)
    return list(db.scalars(query.order_by(Comment.id)))


def delete(db: DbSession, loaded: Loaded, user: User, comment_id: int) -> None:
    """Delete a comment: its author or a workspace owner."""
    comment = db.get(Comment, comment_id)
    if comment is None or comment.map_id != loaded.row.id:
        raise NotFound("no such comment")
    if comment.author_id != user.id and RANK[loaded.membership.role] < RANK["owner"]:
        raise Forbidden("only the author of a comment or a workspace owner can delete it")
    db.delete(comment)
