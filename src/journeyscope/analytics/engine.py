"""Where the analyses run: DuckDB over the workspace file (default), or PySpark in local mode.

The analyses are Ibis expressions; this module only hands them their input tables on the
chosen backend. DuckDB opens the workspace read-only, so an analysis can never change it.
PySpark reads the workspace tables exported to Parquet (one export per workspace version, kept
beside the workspace file) in a local session whose time zone is UTC, because timestamps in the
workspace are naive values that mean UTC.

>>> import pyarrow as pa
>>> src = from_arrow({"events": pa.table({"account_id": ["a"]})})
>>> src.table("events").count().execute()
1
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb import Backend as _DuckDBBackend

from journeyscope import settings
from journeyscope.errors import JourneyscopeError, MissingDependencyError
from journeyscope.events.errors import WorkspaceError

ENGINES = ("duckdb", "spark")
# The tables an analysis reads from a workspace; `text_sentiment` is the VADER cache (voc.py).
WORKSPACE_TABLES = ("events", "accounts", "contacts", "text_sentiment")

_spark_lock = threading.Lock()
_spark_session: Any = None


class EngineError(JourneyscopeError):
    """The chosen engine cannot run here (unknown name, PySpark or Java missing)."""

    exit_code = 3


@dataclass
class Source:
    """The input tables of an analysis on one backend."""

    engine: str
    backend: Any
    tables: dict[str, ir.Table] = field(default_factory=dict)
    # The workspace's `meta` table (format version, the map it was matched with, ...).
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table:
        """The named input table (events, accounts, contacts, text_sentiment)."""
        try:
            return self.tables[name]
        except KeyError:
            raise WorkspaceError(
                f"the workspace has no table {name!r}; it has: {', '.join(sorted(self.tables))}"
            ) from None

    def has(self, name: str) -> bool:
        return name in self.tables

    def close(self) -> None:
        """Release the DuckDB connection (a Spark session is shared and stays up)."""
        if self.engine == "duckdb":
            self.backend.disconnect()


def in_memory_arrow(table: ir.Table) -> pa.Table | None:
    """The data of an in-memory table (`ibis.memtable`, as most analyses return their small
    results) as Arrow in its schema's types, without an engine; None for any other table."""
    op = table.op()
    if not isinstance(op, ops.InMemoryTable):
        return None
    data = op.data.to_pyarrow(op.schema)
    schema = op.schema.to_pyarrow()
    if all(_decoded(t) == s.type for t, s in zip(data.schema.types, schema, strict=True)):
        return data  # dictionary-encoded names stay so: the same values, no string copied
    return data.cast(schema)


def _decoded(dtype: pa.DataType) -> pa.DataType:
    """`dtype` with each dictionary type (also inside lists) replaced by its values' type."""
    if pa.types.is_dictionary(dtype):
        return _decoded(dtype.value_type)
    if pa.types.is_list(dtype):
        return pa.list_(_decoded(dtype.value_type))
    return dtype


_duckdb_to_pyarrow = _DuckDBBackend.to_pyarrow


def _to_pyarrow(self: Any, expr: Any, /, *, params: Any = None, limit: Any = None,
                **kwargs: Any) -> Any:
    """Ibis's `to_pyarrow` on DuckDB, but an in-memory table's data comes back as it is:
    through the engine it would be copied in and read out again (a fifth of a second for
    the variants of 200,000 accounts), for the same rows."""
    if isinstance(expr, ir.Table) and params is None and limit is None and not kwargs:
        data = in_memory_arrow(expr)
        if data is not None:
            return data
    return _duckdb_to_pyarrow(self, expr, params=params, limit=limit, **kwargs)


_DuckDBBackend.to_pyarrow = _to_pyarrow  # type: ignore[method-assign]

_materialized = itertools.count()

# The in-memory database attached to an analysis connection on DuckDB (`share_cursors`):
# its tables are seen by every cursor of the connection, temporary tables only by their own.
# Each connection attaches its own (the name and a number): connections to one file in one
# process share DuckDB's database, and with it what is attached.
SCRATCH = "js_scratch"
_scratches = itertools.count(1)


def materialize(expr: ir.Table) -> ir.Table:
    """Compute `expr` once and keep the result in the engine (Arrow that every cursor of an
    analysis connection reads, `keep_arrow`, else a temporary table, on DuckDB; a cached
    DataFrame on Spark), so that the analyses reading it do not compute it again.

    Not Ibis's `.cache()` on DuckDB: its clean-up emits a DROP statement DuckDB 2 rejects
    (with sqlglot 30). Kept tables go when the connection closes.
    """
    # Nullable throughout: Ibis infers NOT NULL for some derived columns (lead, filtered
    # aggregates of NOT NULL columns) and the kept table would reject their nulls.
    expr = expr.cast({n: t.copy(nullable=True) for n, t in expr.schema().items()})
    backend = expr._find_backend(use_default=True)
    if backend.name == "duckdb":
        if getattr(backend, "_js_cursors", None) is not None:
            # Kept as Arrow that every cursor reads in place: written into the scratch
            # database instead, the same rows cost a third more CPU (copied in, with
            # statistics, and read back just as fast).
            return keep_arrow(backend, expr.to_pyarrow())
        name = f"_js_tmp_{os.getpid()}_{next(_materialized)}"
        return backend.create_table(name, expr, temp=True)
    # Ibis's PySpark cache runs the SQL without registering the small in-memory tables (the
    # map's stages, standards) the expression reads; register them first.
    backend._run_pre_execute_hooks(expr)
    return expr.cache()


def keep_arrow(backend: Any, data: pa.Table) -> ir.Table:
    """Keep an Arrow table for the analyses to read, as `materialize` keeps a query's result.
    On an analysis connection (`share_cursors`) every cursor reads the Arrow data in place,
    not copied: ten million steps would take a second of CPU to copy into the scratch
    database. Elsewhere it is copied into a temporary table (DuckDB) or cached (Spark).
    `release` lets it go."""
    cursors = getattr(backend, "_js_cursors", None)
    if cursors is None:
        return materialize(ibis.memtable(data))
    name = f"_js_arrow_{os.getpid()}_{next(_materialized)}"
    cursors.keep(name, data)
    schema = ibis.schema({n: t.copy(nullable=True) for n, t in
                          ibis.Schema.from_pyarrow(data.schema).items()})
    return ops.DatabaseTable(name, schema=schema, source=backend,
                             namespace=ops.Namespace()).to_expr()


def kept_union(tables: Sequence[ir.Table], make: Callable[[ir.Table], ir.Table]) -> ir.Table:
    """`make(t)` for each of `tables` (kept tables of one schema, `keep_arrow`), put one
    after the other and kept, as `materialize(ibis.union(...))`. `make` gives the same query
    for each, on its own table.

    On an analysis connection the query is built and compiled once, for the first table, and
    each other's is its SQL with the table's name changed: Ibis took 0.08 s of the interpreter
    lock to build and compile the seventeen aggregates of ten million steps
    (`Journey.per_accounts`), while the other section waited for it. A query that reads an
    in-memory table of its own (which Ibis registers as it runs it) is built each time."""
    first = make(tables[0])
    backend = first._find_backend(use_default=True)
    if getattr(backend, "_js_cursors", None) is not None and len(tables) > 1 \
            and not first.op().find(ops.InMemoryTable):
        sql = backend.compile(first)
        names = ['"' + t.op().name + '"' for t in tables]
        if names[0] in sql:
            union = " UNION ALL ".join(f"SELECT * FROM ({sql.replace(names[0], name)})"
                                       for name in names)
            schema = ibis.schema({n: t.copy(nullable=True) for n, t in first.schema().items()})
            data = backend.con.sql(union).to_arrow_table()
            return keep_arrow(backend, data.cast(schema.to_pyarrow()))
    return materialize(ibis.union(first, *(make(t) for t in tables[1:]), distinct=False))


def release(table: ir.Table) -> None:
    """Let go of a table `materialize` or `keep_arrow` kept, once nothing reads it any more."""
    backend = table._find_backend()
    if backend.name != "duckdb":
        table.release()
        return
    op = table.op()
    cursors = getattr(backend, "_js_cursors", None)
    if cursors is not None and op.name in cursors.arrow:
        cursors.forget(op.name)
        return
    # Ibis 12 writes DROP statements DuckDB 2 does not parse; DuckDB's own is plain.
    catalog, database = op.namespace.catalog or "temp", op.namespace.database or "main"
    backend.con.execute(f'DROP TABLE IF EXISTS "{catalog}"."{database}"."{op.name}"')


class _Cursors:
    """Stands for an Ibis DuckDB backend's connection: each thread gets its own cursor of the
    one connection (a DuckDB connection runs one query at a time; its cursors run at once and
    share the database, its settings and the scratch database's tables)."""

    def __init__(self, con: Any, search_path: str, scratch: str):
        self._con = con
        self._search_path = search_path
        self.scratch = scratch  # the connection's scratch database (`share_cursors`)
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.RLock()  # `_register_shared` asks for `current` holding it
        self.shared: set[str] = set()  # the in-memory tables already in the scratch database
        # Arrow tables every cursor reads in place (`keep_arrow`), by name.
        self.arrow: dict[str, pa.Table] = {}
        self._version = 0  # of `arrow`: a cursor that saw an older one catches up
        self._setup(con)

    def _setup(self, cur: Any) -> None:
        cur.execute(f"SET search_path = '{self._search_path}'")
        # DuckDB draws a progress bar on the terminal for long queries; the CLI has its own.
        cur.execute("SET enable_progress_bar = false")

    def keep(self, name: str, data: pa.Table) -> None:
        """Let every cursor, open or to come, read `data` as the view `name`, in place. Each
        cursor registers it in its own thread the next time it is used: a cursor that is
        running a query refuses a registration from another thread."""
        with self._lock:
            self.arrow[name] = data
            self._version += 1

    def forget(self, name: str) -> None:
        """Undo `keep`: each cursor unregisters the view the next time it is used."""
        with self._lock:
            if self.arrow.pop(name, None) is not None:
                self._version += 1

    def current(self) -> Any:
        local = self._local
        cur = getattr(local, "cur", None)
        if cur is None:
            if threading.current_thread() is threading.main_thread():
                cur = self._con
            else:
                cur = self._con.cursor()
                self._setup(cur)
                with self._lock:
                    self._opened.append(cur)
            local.cur, local.seen, local.version = cur, set(), 0
        if local.version != self._version:
            with self._lock:
                new = [(n, d) for n, d in self.arrow.items() if n not in local.seen]
                gone = [n for n in local.seen if n not in self.arrow]
                local.version = self._version
            for name, data in new:
                cur.register(name, data)
                local.seen.add(name)
            for name in gone:
                cur.unregister(name)
                local.seen.discard(name)
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)

    def close(self) -> None:
        with self._lock:
            for cur in self._opened:
                cur.close()
            self._opened.clear()
            self.arrow.clear()
        # Attached databases are the database's, not the connection's: another connection to
        # the same file would keep this one's scratch tables. (A connection closed already
        # has nothing left to let go.)
        with contextlib.suppress(duckdb.ConnectionException):
            self._con.execute(f"DETACH DATABASE IF EXISTS {self.scratch}")
        self._con.close()


def share_cursors(backend: Any) -> None:
    """Let threads query an Ibis DuckDB backend at once (`parallel`): each thread its own
    cursor; kept tables and Ibis's in-memory tables go to a scratch in-memory database that
    every cursor sees (attached read-write even to a workspace opened read-only)."""
    con = backend.con
    scratch = f"{SCRATCH}_{next(_scratches)}"
    con.execute(f"ATTACH ':memory:' AS {scratch} (READ_WRITE)")
    database = con.execute("SELECT current_database()").fetchone()[0]
    backend.con = _Cursors(con, f"{database}.main,{scratch}.main", scratch)
    backend._js_cursors = backend.con
    backend._register_in_memory_table = types.MethodType(_register_shared, backend)


def _register_shared(backend: Any, op: Any) -> None:
    """Put an Ibis in-memory table into the scratch database, once, for every cursor."""
    cursors = backend._js_cursors
    with cursors._lock:
        if op.name in cursors.shared:
            return
        data = op.data.to_pyarrow(op.schema)
        cursors.current().from_arrow(data).create(f'{cursors.scratch}.main."{op.name}"')
        cursors.shared.add(op.name)


def parallel(source: Source) -> bool:
    """Whether threads may query `source` at once (a DuckDB source made by `open_workspace`
    or `from_arrow`)."""
    return source.engine == "duckdb" and getattr(source.backend, "_js_cursors", None) is not None


@contextlib.contextmanager
def cores_shared(source: Source, queries: int) -> Iterator[None]:
    """While `queries` queries run at once on a DuckDB `source`, each runs on its share of
    the engine's threads (at least one) instead of all of them; the setting is put back
    after. DuckDB's parallel operators cost CPU to split their work and to merge the threads'
    partial results: the analysis's queries over ten million events took 11.3 to 11.5 s of
    CPU on one thread each against 12.3 s on two, and with the queries side by side the
    cores are busy without it. Other engines are left as they are.

    The setting is the database's, which connections to one workspace file in one process
    share: on a machine of four cores or more, analyses of one file that overlap can leave
    it at a share until the file's last connection closes (slower, never wrong)."""
    if source.engine != "duckdb":
        yield
        return
    con = source.backend.con
    before = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    share = max(1, before // max(1, queries))
    if share == before:
        yield
        return
    con.execute(f"SET threads = {share}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {before}")


def analysis_threads() -> int:
    """DuckDB threads for an analysis: the cores this process may run on (two on the machine
    the benchmark figures come from)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    return engine


def spark_session() -> Any:
    """The process's local Spark session (started once: it takes several seconds), with the
    session time zone set to UTC."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise EngineError(
                    "the spark engine needs PySpark: pip install 'journeyscope[spark]'"
                ) from None
            cores = settings.SPARK_CORES.get()
            try:
                session = (
                    SparkSession.builder.master(f"local[{cores}]")
                    .appName("journeyscope")
                    .config("spark.sql.session.timeZone", "UTC")
                    .config("spark.ui.enabled", "false")
                    .config("spark.ui.showConsoleProgress", "false")
                    .config("spark.sql.shuffle.partitions", str(max(2, int(cores) * 2)))
                    .config("spark.driver.memory", settings.SPARK_MEMORY.get())
                    .getOrCreate()
                )
            except Exception as exc:  # Java missing or broken: say so instead of a traceback
                raise MissingDependencyError(
                    f"could not start a local Spark session (is Java 17+ installed?): {exc}"
                ) from None
            session.sparkContext.setLogLevel("ERROR")
            _spark_session = session
        return _spark_session


def _connect(engine: str) -> Any:
    if engine == "duckdb":
        backend = ibis.duckdb.connect()
        share_cursors(backend)
        return backend
    backend = ibis.pyspark.connect(spark_session())
    backend._register_in_memory_table = types.MethodType(_register_arrow, backend)
    return backend


def _register_arrow(backend: Any, op: Any) -> None:
    """Register an Ibis in-memory table (the map's stages, standards, targets) with Spark
    straight from Arrow. Ibis 12 goes through pandas, where a missing string arrives in
    Spark as the text 'NaN'."""
    from ibis.backends.pyspark.datatypes import PySparkSchema

    data = op.data.to_pyarrow(op.schema)
    frame = backend._session.createDataFrame(data, schema=PySparkSchema.from_ibis(op.schema))
    frame.createOrReplaceTempView(op.name)


def from_arrow(tables: Mapping[str, pa.Table], *, engine: str = "duckdb",
               prefix: str = "js") -> Source:
    """A source over in-memory Arrow tables (tests, the in-memory demo data)."""
    check_engine(engine)
    backend = _connect(engine)
    out: dict[str, ir.Table] = {}
    for name, data in tables.items():
        table_name = f"{prefix}_{name}"
        if engine == "duckdb":
            # Through DuckDB's own Arrow import: Ibis 12's create_table from Arrow emits an
            # invalid DROP VIEW on DuckDB 2.
            backend.con.execute(f'DROP TABLE IF EXISTS "{table_name}"')
            backend.con.from_arrow(data).create(table_name)
            out[name] = backend.table(table_name)
        else:
            # Straight from Arrow: through pandas, a null string would arrive as 'NaN'.
            frame = backend._session.createDataFrame(data)
            frame.createOrReplaceTempView(table_name)
            out[name] = backend.table(table_name)
    return Source(engine, backend, out)


def open_workspace(path: str | os.PathLike[str], *, engine: str = "duckdb",
                   parquet_dir: str | os.PathLike[str] | None = None) -> Source:
    """The workspace's tables on the chosen engine: DuckDB reads the file read-only; Spark
    reads a Parquet export of it (made when missing or older than the workspace)."""
    check_engine(engine)
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"{path}: no such workspace file; create it by importing events: "
                             f"`journeyscope import SOURCE... --workspace {path}` (for a try, "
                             "the files `journeyscope demo-data` writes)")
    # Checked outside the try below: a bad value is the setting's fault, not the workspace's.
    memory_limit = settings.memory_limit(settings.ANALYSIS_MEMORY_LIMIT)
    try:
        # The analysis memory limit, spilling beside the workspace as its own connections do,
        # and as many threads as the cores this process may use (a container's share).
        con = ibis.duckdb.connect(str(path), read_only=True, memory_limit=memory_limit,
                                  threads=analysis_threads(),
                                  temp_directory=str(path.with_name(path.name + ".tmp")))
        share_cursors(con)
    except Exception as exc:
        raise WorkspaceError(f"{path}: cannot be opened as a DuckDB workspace: {exc}") from None
    # Not `con.list_tables()`: Ibis 12 calls a method DuckDB 2 no longer has there.
    present = {r[0] for r in con.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = "
        "current_database()").fetchall()}
    if "events" not in present:
        con.disconnect()
        raise WorkspaceError(f"{path}: not a journeyscope workspace (it has no events table)")
    names = [n for n in WORKSPACE_TABLES if n in present]
    meta = dict(con.con.execute("SELECT key, value FROM meta").fetchall()) \
        if "meta" in present else {}
    # Ibis converts DuckDB's results with a module that imports pandas, the first time it is
    # asked (a quarter of a second): loaded with the workspace, not in the first analysis.
    # Last, so that an analysis that imports it on a thread of its own meanwhile
    # (`analyze._import_converter`) waits for it only once the file is open.
    import ibis.backends.duckdb.converter as _converter  # noqa: F401

    if engine == "duckdb":
        return Source("duckdb", con, {n: con.table(n) for n in names}, meta)
    export = Path(parquet_dir) if parquet_dir else path.with_name(path.name + ".parquet")
    try:
        files = _export_parquet(con, path, names, export)
    finally:
        con.disconnect()
    backend = _connect("spark")
    tables = {}
    for name, file in files.items():
        tables[name] = backend.read_parquet(str(file), table_name=f"js_{name}")
    return Source("spark", backend, tables, meta)


def _export_parquet(con: Any, workspace: Path, names: list[str], out: Path) -> dict[str, Path]:
    """Export each table to `out/<name>.parquet` unless an export newer than the workspace is
    there already."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = workspace.stat().st_mtime
    files = {}
    for name in names:
        file = out / f"{name}.parquet"
        if not file.exists() or file.stat().st_mtime < stamp:
            tmp = out / f".{name}.parquet.tmp"
            quoted = str(tmp).replace("'", "''")
            con.raw_sql(f"COPY {name} TO '{quoted}' (FORMAT parquet)")
            tmp.replace(file)
        files[name] = file
    return files
