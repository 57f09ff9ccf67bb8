"""Server-rendered pages: Jinja2 templates with autoescape on, so user text is always shown as
text, plus the small helpers every page uses (the CSRF token, the signed-in user, flashes)."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from journeyscope import __version__
from journeyscope.web import csrf

_folder = str(resources.files("journeyscope.web").joinpath("templates"))
env = Environment(
    loader=FileSystemLoader(_folder),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


env.filters["when"] = _when
env.globals["version"] = __version__


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page(request: Request, template: str, status_code: int = 200,
         headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render a template with the request's user and CSRF token."""
    user = getattr(request.state, "user", None)
    html = env.get_template(template).render(
        request=request, user=user, csrf_token=csrf.token_for(request), **context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    csrf.set_cookie(request, response, request.app.state.settings.cookie_secure)
    return response


def flash(request: Request, message: str, status_code: int, kind: str = "error",
          detail: list[str] | None = None, reload: bool = False) -> HTMLResponse:
    """A message for the page's flash area (htmx retargets the swap there)."""
    return page(request, "_flash.html", status_code=status_code,
                headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
                message=message, kind=kind, detail=detail or [], reload=reload)
