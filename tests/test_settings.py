"""The settings registry feeds the CLI and the docs; an undocumented setting fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyscope import settings
from journeyscope.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_docs_list_every_setting_exactly() -> None:
    import journeyscope.web.app  # noqa: F401  (registers the web settings)

    assert DOCS.read_text() == settings.markdown(), (
        "docs/settings.md is out of date: run `journeyscope settings --markdown > docs/settings.md`"
    )


def test_environment_overrides_the_default(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_ENGINE", "spark")
    assert settings.get("engine") == "spark"
    monkeypatch.delenv("JOURNEYSCOPE_ENGINE")
    assert settings.get("engine") == "duckdb"


def test_settings_command_lists_variables_and_hides_secrets(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_SECRET_KEY", "hunter2")
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0
    assert "JOURNEYSCOPE_CHROMIUM\n" in result.output and "hunter2" not in result.output
    assert "in effect: (secret) (set in the environment)" in result.output


def test_settings_command_hides_the_password_of_a_database_url(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_DATABASE_URL",
                       "postgresql+pg8000://ana:s3cr3t-pw@db.internal:5432/journeyscope")
    for args in (["settings"], ["settings", "--markdown"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "s3cr3t-pw" not in result.output
    shown = CliRunner().invoke(app, ["settings"]).output
    assert ("in effect: postgresql+pg8000://ana:***@db.internal:5432/journeyscope "
            "(set in the environment)") in shown


def test_settings_command_shows_default_value_and_source_of_every_setting(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_SESSION_DAYS", "3")
    monkeypatch.delenv("JOURNEYSCOPE_ENGINE", raising=False)
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0, result.output
    blocks = {block.split("\n", 1)[0]: block for block in result.output.strip().split("\n\n")}
    assert set(blocks) == {s.env for s in settings.SETTINGS.values()}
    session = blocks["JOURNEYSCOPE_SESSION_DAYS"]
    assert "in effect: 3 (set in the environment)" in session
    assert "default:   14" in session and "Days a web login stays valid." in session
    engine = blocks["JOURNEYSCOPE_ENGINE"]
    assert "in effect: duckdb (not set; the default)" in engine
    assert "default:   duckdb" in engine


@pytest.mark.parametrize("value", ["3GB", "512MB", "1.5GiB", "2 gb", "80%", "0.5%"])
def test_a_memory_limit_takes_a_size_or_a_share_of_memory(monkeypatch, value: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_MEMORY_LIMIT", value)
    assert settings.memory_limit(settings.MEMORY_LIMIT) == value.strip()


@pytest.mark.parametrize("value", ["bogus", "", "2000000000", "2GBs", "1,5GB", "150%", "0%",
                                   "1MB", "none"])
def test_a_bad_memory_limit_names_the_variable_value_and_form(monkeypatch, value: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JOURNEYSCOPE_ANALYSIS_MEMORY_LIMIT", value)
    with pytest.raises(settings.SettingError) as caught:
        settings.memory_limit(settings.ANALYSIS_MEMORY_LIMIT)
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"JOURNEYSCOPE_ANALYSIS_MEMORY_LIMIT: {value!r}")
    assert "2GB" in str(caught.value) and "80%" in str(caught.value)
