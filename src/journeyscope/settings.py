"""One registry of settings (name, default, help) that feeds the CLI, the web app and the docs.

A setting is read from its environment variable (``JOURNEYSCOPE_<NAME>``) or takes its default.
`docs/settings.md` lists every setting; a test fails when one is missing there.
"""

from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass

from journeyscope.errors import JourneyscopeError


class SettingError(JourneyscopeError):
    """An environment variable holds a value its setting cannot take (bad input, exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "JOURNEYSCOPE_" + self.name.upper()

    def get(self) -> str:
        return os.environ.get(self.env, self.default)

    @property
    def is_set(self) -> bool:
        """Whether the environment sets it (to any value, empty too)."""
        return self.env in os.environ


SETTINGS: dict[str, Setting] = {}


def register(name: str, default: str, help: str) -> Setting:
    setting = Setting(name, default, help)
    SETTINGS[name] = setting
    return setting


def get(name: str) -> str:
    return SETTINGS[name].get()


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt])(?:(i)b|b)?", re.IGNORECASE)
_SHARE = re.compile(r"(\d+(?:\.\d+)?)\s*%")
# Below a few MB DuckDB fails on the first table with an out-of-memory error that reads like a
# broken workspace; no import or analysis runs in less than this.
_MIN_MEMORY_BYTES = 16 * 1000**2
_MEMORY_FORMS = ("give a size such as 2GB, 512MB or 1.5GiB (KB, MB, GB, TB in powers of 1000; "
                 "KiB, MiB, GiB, TiB in powers of 1024) or a share of the machine's memory "
                 "such as 80%")


def memory_limit(setting: Setting) -> str:
    """The value in effect of a DuckDB memory-limit setting, checked before DuckDB reads it:
    a size (`2GB`, `512MB`, `1.5GiB`) or a share of the machine's memory (`80%`).

    >>> memory_limit(Setting("limit", "2GB", ""))
    '2GB'
    >>> memory_limit(Setting("limit", "lots", ""))
    Traceback (most recent call last):
    ...
    journeyscope.settings.SettingError: JOURNEYSCOPE_LIMIT: 'lots' is not a memory limit; ...
    """
    raw = setting.get()
    value = raw.strip()
    size = _SIZE.fullmatch(value)
    share = _SHARE.fullmatch(value)
    if size is not None:
        base = 1024 if size.group(3) else 1000
        exponent = "kmgt".index(size.group(2).lower()) + 1
        if float(size.group(1)) * base**exponent < _MIN_MEMORY_BYTES:
            raise SettingError(f"{setting.env}: {raw!r} is too small a memory limit: DuckDB "
                               f"needs at least 16MB; {_MEMORY_FORMS}")
    elif share is None or not 0 < float(share.group(1)) <= 100:
        raise SettingError(f"{setting.env}: {raw!r} is not a memory limit; {_MEMORY_FORMS}")
    return value


def markdown() -> str:
    """The settings reference (`docs/settings.md` is exactly this text; a test checks it)."""
    lines = [
        "# Settings",
        "",
        "Every setting is an environment variable; unset, it takes its default. "
        "`journeyscope settings` lists each with its value in effect (a secret's hidden, a "
        "URL's password as `***`), whether the environment sets it, its default and its "
        "meaning; `journeyscope settings --markdown` prints this table.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for setting in sorted(SETTINGS.values(), key=lambda s: s.name):
        default = f"`{setting.default}`" if setting.default else "(empty)"
        lines.append(f"| `{setting.env}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"


# A URL's user and password as SQLAlchemy parses them (`sqlalchemy.engine.url`): the user up to
# the first ':' or '/', the password up to the first '@'.
_URL_PASSWORD = re.compile(r"^([\w+]+://[^:/]*:)[^@]*@")


def hide_password(value: str) -> str:
    """`value` with the password of a URL replaced by ``***``, to print or log it.

    >>> hide_password("postgresql+pg8000://ana:s3cr3t@db.internal/journeyscope")
    'postgresql+pg8000://ana:***@db.internal/journeyscope'
    >>> hide_password("sqlite:////srv/journeyscope-data/journeyscope.sqlite")
    'sqlite:////srv/journeyscope-data/journeyscope.sqlite'
    """
    return _URL_PASSWORD.sub(r"\1***@", value, count=1)


def text(width: int = 100) -> str:
    r"""Every setting as a terminal shows it (`journeyscope settings`): a block each, with the
    value in effect and where it comes from, the default and the meaning; a secret's value is
    not shown, nor the password of a URL.

    >>> print(text().split("\n\n")[0])
    JOURNEYSCOPE_ANALYSIS_MEMORY_LIMIT
      in effect: ...
      default:   2GB
      meaning:   DuckDB memory limit of an analysis ...
    """
    blocks = []
    for setting in sorted(SETTINGS.values(), key=lambda s: s.name):
        value = setting.get()
        if "secret" in setting.name and value:
            value = "(secret)"
        value = hide_password(value)
        source = "set in the environment" if setting.is_set else "not set; the default"
        # Paths and URLs stay whole, on a line of their own when need be.
        meaning = textwrap.fill(setting.help, max(width, 40), initial_indent="  meaning:   ",
                                subsequent_indent=" " * 13, break_long_words=False,
                                break_on_hyphens=False)
        blocks.append("\n".join([
            setting.env,
            f"  in effect: {_shown(value)} ({source})",
            f"  default:   {_shown(setting.default)}",
            meaning,
        ]))
    return "\n\n".join(blocks) + "\n"


def _shown(value: str) -> str:
    return value if value else "(empty)"


CHROMIUM = register(
    "chromium", "/usr/bin/chromium",
    "Path of the Chromium executable used for PNG and PDF output and the browser tests.",
)
WORKSPACE = register(
    "workspace", "journeyscope.duckdb",
    "The workspace database file (DuckDB) that imports write to and analyses read from.",
)
ENGINE = register(
    "engine", "duckdb", "The analytics engine: duckdb (embedded, default) or spark.",
)
IMPORT_MAX_LINE_BYTES = register(
    "import_max_line_bytes", str(16 * 1024 * 1024),
    "Longest line (CSV, JSON Lines) or XML element (XES) an import accepts, in bytes; a longer "
    "one stops the import with its line number instead of filling memory.",
)
MEMORY_LIMIT = register(
    "memory_limit", "3GB",
    "DuckDB memory limit of a workspace connection: a size of at least 16MB (3GB, 512MB, "
    "1.5GiB) or a share of the machine's memory (80%); beyond it, imports and analyses spill "
    "to a temporary folder next to the workspace file.",
)
ANALYSIS_MEMORY_LIMIT = register(
    "analysis_memory_limit", "2GB",
    "DuckDB memory limit of an analysis (`journeyscope analyze`, reports, dashboards), in the "
    "form of memory_limit, below the workspace's so that the process with its results stays "
    "under memory_limit; beyond it, the analysis spills to a temporary folder next to the "
    "workspace file.",
)

SPARK_CORES = register(
    "spark_cores", "2", "Cores of the local Spark session of `--engine spark`.",
)
SPARK_MEMORY = register(
    "spark_memory", "2g", "Driver memory of the local Spark session of `--engine spark` (e.g. 4g).",
)

# --- web app (journeyscope serve) -----------------------------------------------------------
DATA_DIR = register(
    "data_dir", "journeyscope-data",
    "Folder of the web app's state: its SQLite database, secret key and workspace event files.",
)
DATABASE_URL = register(
    "database_url", "",
    "The web app's database; empty means an SQLite file in the data directory. For PostgreSQL: "
    "postgresql+pg8000://user:password@host/db.",
)
SECRET_KEY = register(
    "secret_key", "",
    "Key that signs the web app's CSRF tokens; empty means one generated once into the data "
    "directory.",
)
SESSION_DAYS = register("session_days", "14", "Days a web login stays valid.")
COOKIE_SECURE = register(
    "cookie_secure", "0", "1 to send the web app's cookies over HTTPS only (behind TLS).",
)
MAX_UPLOAD_MB = register("max_upload_mb", "2048", "Largest data upload the web app accepts, in MB.")
DEMO = register(
    "demo", "1", "1 to seed a demo workspace (a b2b map with demo data) on the first start.",
)
