"""The web app: `create_app(settings)` (FastAPI, server-rendered pages with htmx, and the REST
API under /api/). `journeyscope serve` runs it."""

from journeyscope.web.app import create_app
from journeyscope.web.config import WebSettings

__all__ = ["WebSettings", "create_app"]
