"""The errors of the store, each mapped to one HTTP status by the web app.

A workspace the user does not belong to is `NotFound`, never `Forbidden`: its existence is not
leaked. `Forbidden` is for members whose role does not allow the change (a viewer editing).
"""

from __future__ import annotations

from typing import Any

from journeyscope.errors import JourneyscopeError


class StoreError(JourneyscopeError):
    status = 400


class NotFound(StoreError):
    status = 404


class Forbidden(StoreError):
    status = 403


class Unauthorized(StoreError):
    status = 401


class Invalid(StoreError):
    """Bad input, with a message per field: ``[(("email",), "not an e-mail"), ...]``; the fields
    are in the request's `where` (``body``, or ``query`` for query parameters)."""

    status = 422

    def __init__(self, message: str, fields: list[tuple[tuple[Any, ...], str]] | None = None,
                 where: str = "body"):
        super().__init__(message)
        self.fields = fields or [((), message)]
        self.where = where


class Conflict(StoreError):
    status = 409
