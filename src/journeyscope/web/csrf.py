"""CSRF protection by double submit: a random token in a cookie, which every state-changing
request must repeat in the `X-CSRF-Token` header (htmx and the editor's script send it) or in a
`csrf_token` form field (plain forms). A page of another site can make the browser send the
cookie but cannot read it to repeat it.

Requests authenticated by an API token (`Authorization: Bearer`) carry no ambient credential
and need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from journeyscope.store.errors import StoreError

COOKIE = "js_csrf"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfError(StoreError):
    status = 403


def token_for(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one (set on the response by
    `set_cookie`)."""
    existing = request.cookies.get(COOKIE, "")
    if 20 <= len(existing) <= 100:
        return existing
    token = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_cookie(request: Request, response: Response, secure: bool) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure,
                            path="/")


async def verify(request: Request) -> None:
    """Raise `CsrfError` when a state-changing request lacks the matching token."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = request.cookies.get(COOKIE, "")
    given = request.headers.get(HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        given = value if isinstance(value, str) else ""
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfError("the form's security token is missing or stale (CSRF check): reload "
                        "the page and try again")
