"""Persistence of the web app: users, sessions and tokens, workspaces and roles, maps and their
versions, comments, data imports and cached analyses (SQLAlchemy 2, Alembic migrations).

This layer uses only `journeyscope.model`; the web app (`journeyscope.web`) calls it.
"""

from journeyscope.store.db import Database, DatabaseError, sqlite_url
from journeyscope.store.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from journeyscope.store.maps import VersionConflict

__all__ = [
    "Conflict", "Database", "DatabaseError", "Forbidden", "Invalid", "NotFound",
    "Unauthorized", "VersionConflict", "sqlite_url",
]
