"""The database of the web app: an SQLite file in the data directory by default, PostgreSQL
with a URL (`JOURNEYSCOPE_DATABASE_URL=postgresql+pg8000://user:pass@host/db`).

SQLite runs in WAL mode with foreign keys on and full syncs, so a committed save survives a
killed server. Writes begin with `BEGIN IMMEDIATE`: a write transaction takes the write lock
first and waits its turn instead of failing half-way when another writer got there first.
`upgrade` brings the schema to the newest migration (run by `journeyscope serve` on start).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from journeyscope.errors import JourneyscopeError

DB_FILE = "journeyscope.sqlite"


class DatabaseError(JourneyscopeError):
    """The database URL is wrong or the database cannot be reached."""


def sqlite_url(data_dir: str | Path) -> str:
    return f"sqlite:///{Path(data_dir) / DB_FILE}"


def _check_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not shown: unparsed, its password cannot be told apart to be hidden.
        raise DatabaseError("the database URL is not a URL (it does not begin with a scheme "
                            "and '://'; not shown, as it may hold a password); write e.g. "
                            "postgresql+pg8000://user:password@host/db") from None
    except ValueError:  # SQLAlchemy reads the port as an integer
        raise DatabaseError("the database URL's port is not a number (the URL is not shown, as "
                            "it may hold a password); write e.g. "
                            "postgresql+pg8000://user:password@host:5432/db") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"database {parsed.get_backend_name()!r} is not supported: "
                            "use SQLite (the default) or PostgreSQL")
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "pg8000":
        raise DatabaseError(f"PostgreSQL driver {parsed.get_driver_name()!r} is not supported: "
                            "write the URL as postgresql+pg8000://...")


def make_engine(url: str) -> Engine:
    """An engine for `url`, set up for SQLite (WAL, foreign keys) or PostgreSQL (pg8000)."""
    _check_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=10, max_overflow=40)
        _sqlite_pragmas(engine)
        return engine
    try:
        return create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)
    except NoSuchModuleError as exc:  # pragma: no cover - pg8000 is a dependency
        raise DatabaseError(str(exc)) from None


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred
        # and emitted late, which breaks BEGIN IMMEDIATE and transactional DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def migrations_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    folder = resources.files("journeyscope.store").joinpath("migrations")
    config.set_main_option("script_location", str(folder))
    config.attributes["connection"] = connection
    return config


class Database:
    """The engine and its sessions. Use `read()` for pages and `write()` for changes:

    >>> import tempfile
    >>> db = Database(sqlite_url(tempfile.mkdtemp()))
    >>> db.upgrade()
    >>> with db.read() as s:
    ...     s.execute(__import__("sqlalchemy").text("select 1")).scalar()
    1
    >>> db.dispose()
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Bring the schema up to the newest migration."""
        from alembic import command

        try:
            with self.engine.begin() as connection:
                command.upgrade(migrations_config(connection), "head")
        except JourneyscopeError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "pg8000")):
                raise DatabaseError(f"cannot set up the database at {self.safe_url()}: "
                                    f"{exc.__class__.__name__}: {exc}") from None
            raise

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (rolled back at the end)."""
        with self._sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed together at the end, or not at all."""
        with self._sessions() as session:
            session.connection(execution_options={"write": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
