"""Who is asking: a browser session cookie or an API token (`Authorization: Bearer jst_...`).

Every page and API call but login and health depends on `current_user`; without a valid
credential an API call answers 401 and a page redirects to the login form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from journeyscope.store import Database
from journeyscope.store import users as store_users
from journeyscope.store.errors import Unauthorized
from journeyscope.store.models import User
from journeyscope.web.config import WebSettings

SESSION_COOKIE = "js_session"


def database(request: Request) -> Database:
    return request.app.state.db


def web_settings(request: Request) -> WebSettings:
    return request.app.state.settings


def optional_user(request: Request) -> User | None:
    """The signed-in user, or None."""
    if hasattr(request.state, "user"):
        return request.state.user
    db: Database = request.app.state.db
    user = None
    header = request.headers.get("authorization", "")
    with db.read() as s:
        if header.lower().startswith("bearer "):
            user = store_users.token_user(s, header[7:].strip())
            if user is None:
                raise Unauthorized("the API token is unknown or revoked")
        else:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            user = store_users.session_user(s, cookie) if cookie else None
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    """The signed-in user; 401 (API) or a redirect to the login page (pages) otherwise."""
    user = optional_user(request)
    if user is None:
        raise Unauthorized("sign in first: a session cookie or an API token "
                           "(Authorization: Bearer ...) is required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
Db = Annotated[Database, Depends(database)]
Settings = Annotated[WebSettings, Depends(web_settings)]


def log_in(request: Request, response: Response, email: str, password: str) -> User:
    """Check the password and set a new session cookie on `response`."""
    db: Database = request.app.state.db
    settings: WebSettings = request.app.state.settings
    with db.read() as s:
        user = store_users.authenticate(s, email, password)
    with db.write() as s:
        if store_users.needs_rehash(user):
            store_users.set_password(s, s.merge(user), password)
        token = store_users.start_session(s, user, days=settings.session_days)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, max_age=int(settings.session_days * 86400),
                        path="/")
    return user


def log_out(request: Request, response: Response) -> None:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        with request.app.state.db.write() as s:
            store_users.end_session(s, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
