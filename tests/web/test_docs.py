"""The web app's documentation names every setting it reads."""

from __future__ import annotations

from pathlib import Path

from journeyscope import settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
WEB_SETTINGS = ("data_dir", "database_url", "secret_key", "session_days", "cookie_secure",
                "max_upload_mb", "demo")


def test_every_web_setting_is_documented() -> None:
    text = DOC.read_text()
    for name in WEB_SETTINGS:
        setting = settings.SETTINGS[name]
        assert f"`{setting.env}`" in text, setting.env
        assert f"`{setting.default}`" in text or not setting.default, setting.env
