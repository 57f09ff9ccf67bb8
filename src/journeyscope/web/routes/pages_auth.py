"""Pages: sign in and out, invitation links (join, or sign up and join), API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from journeyscope.store import users, workspaces
from journeyscope.store.errors import Invalid, NotFound, Unauthorized
from journeyscope.store.models import Workspace
from journeyscope.web.auth import CurrentUser, Db, log_in, log_out, optional_user
from journeyscope.web.render import page

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths of this site: "//evil.example" and "https://..." would leave it.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:2000]
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next), email="", error=None)


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=320)],
          password: Annotated[str, Form(max_length=1000)],
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    try:
        log_in(request, response, email, password)
    except Unauthorized as exc:
        return page(request, "login.html", status_code=401, next=_safe_next(next), email=email,
                    error=str(exc))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    log_out(request, response)
    return response


def _invitation(db: Db, token: str) -> tuple[object, Workspace]:
    with db.read() as s:
        row = workspaces.invitation(s, token[:200])
        workspace = s.get(Workspace, row.workspace_id)
        if workspace is None:
            raise NotFound("this invitation's workspace is gone")
        return row, workspace


@router.get("/invite/{token}", response_class=HTMLResponse, name="invitation_page")
def invitation_page(request: Request, token: str, db: Db) -> HTMLResponse:
    row, workspace = _invitation(db, token)
    optional_user(request)
    return page(request, "invitation.html", invitation=row, workspace=workspace, error=None)


@router.post("/invite/{token}")
async def accept_invitation(request: Request, token: str, db: Db) -> Response:
    """Join as the signed-in user, or create an account with the invitation and join."""
    row, workspace = _invitation(db, token)
    user = optional_user(request)
    response = RedirectResponse(f"/workspaces/{workspace.id}", status_code=303)
    if user is None:
        form = await request.form()
        email, password = str(form.get("email") or ""), str(form.get("password") or "")
        try:
            with db.write() as s:
                users.create_user(s, email, password, name=str(form.get("name") or "")[:200])
        except Invalid as exc:
            return page(request, "invitation.html", status_code=422, invitation=row,
                        workspace=workspace, error=str(exc),
                        detail=[f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in exc.fields])
        user = log_in(request, response, email, password)
    with db.write() as s:
        workspaces.accept(s, token[:200], user)
    return response


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, name: Annotated[str, Form(max_length=200)],
                 user: CurrentUser, db: Db) -> HTMLResponse:
    from journeyscope.web.routes.pages_workspaces import workspaces_page

    with db.write() as s:
        _, secret = users.create_token(s, user, name)
    return workspaces_page(request, user, db, new_token=secret)
