"""The web app's settings, read from the settings registry (`journeyscope.settings`) or given
directly by tests and `journeyscope serve`."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from journeyscope import settings as registry
from journeyscope.errors import JourneyscopeError
from journeyscope.store.db import sqlite_url


@dataclass
class WebSettings:
    """What `create_app` needs. `database_url` empty means SQLite in `data_dir`."""

    data_dir: Path = field(default_factory=lambda: Path(registry.get("data_dir")))
    database_url: str = field(default_factory=lambda: registry.get("database_url"))
    secret_key: str = field(default_factory=lambda: registry.get("secret_key"))
    session_days: float = field(default_factory=lambda: _number("session_days"))
    cookie_secure: bool = field(default_factory=lambda: registry.get("cookie_secure") == "1")
    max_upload_mb: float = field(default_factory=lambda: _number("max_upload_mb"))
    demo: bool = field(default_factory=lambda: registry.get("demo") == "1")

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    def key(self) -> str:
        """The secret key: the setting, or one generated once into the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        self.secret_key = path.read_text().strip()
        return self.secret_key


def _number(name: str) -> float:
    raw = registry.get(name)
    try:
        return float(raw)
    except ValueError:
        raise JourneyscopeError(f"setting {registry.SETTINGS[name].env}={raw!r} is not a "
                                "number") from None
