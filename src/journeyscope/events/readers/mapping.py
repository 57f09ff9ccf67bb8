"""Column mappings: which source column (or constant) becomes which canonical column.

A mapping comes from CLI flags (``--map-column account_id=case:concept:name``,
``--constant source=olist``) or from a small YAML file (``--mapping olist.yaml``, or the name of
a mapping shipped with journeyscope, e.g. ``--mapping olist``). A file may hold one mapping, or
several under ``sources:``, each for the files whose name matches a glob pattern, so that one
command imports a multi-file export::

    journeyscope-mapping: 1
    sources:
      - files: "*marketing_qualified_leads*"
        events:
          columns: {account_id: mql_id, ts: first_contact_date, channel: origin}
          constants: {activity: lead_first_contact, source: olist}

Canonical columns that the mapping leaves out are looked up in the source under their own name
and a few well-known aliases (the flattened XES names ``case:concept:name``, ``concept:name``,
``time:timestamp``, ``org:resource``). Source columns that map to nothing are kept in the
``attributes`` JSON column.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from journeyscope.events import schema
from journeyscope.events.errors import MappingError

MAX_MAPPING_BYTES = 1024 * 1024
FORMAT_KEY = "journeyscope-mapping"
BUILTIN_PACKAGE = "journeyscope.events.mappings"

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": schema.EVENT_COLUMN_NAMES,
    "accounts": tuple(c.name for c in schema.ACCOUNT_COLUMNS),
    "contacts": tuple(c.name for c in schema.CONTACT_COLUMNS),
}

# Looked up, in this order, for a canonical column the mapping does not name.
ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": ("account_id", "case:concept:name", "case_id"),
    "ts": ("ts", "time:timestamp", "timestamp"),
    "activity": ("activity", "concept:name"),
    "owner": ("owner", "org:resource"),
}

_OPTIONS = ("timezone", "timestamp_format", "encoding", "delimiter")


@dataclass(frozen=True)
class TableMapping:
    """Canonical column -> source column, and canonical column -> constant text."""

    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.columns or self.constants)

    def merged(self, other: TableMapping) -> TableMapping:
        """This mapping with `other` on top (flags over a file)."""
        columns = {k: v for k, v in self.columns.items() if k not in other.constants}
        constants = {k: v for k, v in self.constants.items() if k not in other.columns}
        return TableMapping({**columns, **other.columns}, {**constants, **other.constants})


@dataclass(frozen=True)
class JoinSpec:
    """Columns to look up in another file by a shared key (``join:`` in a mapping file), e.g.
    the sales rep of a lead from the closed-deals file. `file` is relative to the source's
    folder; `columns` default to all of the other file's columns but the key."""

    file: str
    on: str
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnMapping:
    """How one source becomes canonical tables, plus reading options.

    `timezone` is the zone of timestamps written without an offset (default UTC);
    `timestamp_format` a strptime format that overrides detection; `encoding` and `delimiter`
    override detection for delimited text.

    >>> m = ColumnMapping.from_flags(["account_id=mql_id"], ["source=olist"])
    >>> (m.events.columns, m.events.constants)
    ({'account_id': 'mql_id'}, {'source': 'olist'})
    """

    events: TableMapping = field(default_factory=TableMapping)
    accounts: TableMapping | None = None
    contacts: TableMapping | None = None
    timezone: str | None = None
    timestamp_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    join: JoinSpec | None = None

    @classmethod
    def from_flags(
        cls, map_columns: list[str] | None = None, constants: list[str] | None = None,
        **options: Any,
    ) -> ColumnMapping:
        """Build from ``COLUMN=SOURCE_COLUMN`` and ``COLUMN=VALUE`` flag values."""
        cols = dict(_split_flag(f, "--map-column") for f in map_columns or [])
        consts = dict(_split_flag(f, "--constant") for f in constants or [])
        table = TableMapping(cols, consts)
        _check_table("events", table, "command line")
        return cls(events=table, **{k: v for k, v in options.items() if v is not None})

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with `other` on top: its columns, constants and options win."""
        out = replace(self, events=self.events.merged(other.events))
        for table in ("accounts", "contacts"):
            mine, theirs = getattr(self, table), getattr(other, table)
            if theirs is not None:
                out = replace(out, **{table: mine.merged(theirs) if mine else theirs})
        options = {k: getattr(other, k) for k in _OPTIONS if getattr(other, k) is not None}
        if other.join is not None:
            options["join"] = other.join
        return replace(out, **options)

    def source_column(self, canonical: str, available: list[str], *, table: str = "events"
                      ) -> str | None:
        """The source column that feeds `canonical`: mapped, same-named, or a known alias."""
        tm = self.table(table)
        if tm is not None and canonical in tm.columns:
            return tm.columns[canonical]
        if tm is not None and canonical in tm.constants:
            return None
        by_lower = {a.lower(): a for a in available}
        for alias in ALIASES.get(canonical, (canonical,)) if table == "events" else (canonical,):
            if alias.lower() in by_lower:
                return by_lower[alias.lower()]
        return None

    def table(self, name: str) -> TableMapping | None:
        return {"events": self.events, "accounts": self.accounts, "contacts": self.contacts}[name]


@dataclass(frozen=True)
class MappingFile:
    """A parsed mapping file: one default mapping and per-file mappings by glob pattern."""

    path: str
    default: ColumnMapping | None
    sources: tuple[tuple[str, ColumnMapping], ...] = ()

    def for_file(self, file: Path | str) -> ColumnMapping | None:
        """The mapping for `file`: the first source pattern matching its name, else the default."""
        name = Path(file).name
        for pattern, mapping in self.sources:
            if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(str(file), pattern):
                return mapping
        return self.default

    def with_overrides(self, flags: ColumnMapping) -> MappingFile:
        """Every mapping of the file with command-line `flags` on top."""
        default = self.default.merged(flags) if self.default is not None else flags
        sources = tuple((p, m.merged(flags)) for p, m in self.sources)
        return replace(self, default=default, sources=sources)


def builtin_mappings() -> list[str]:
    """Names of the mappings shipped with journeyscope (usable as ``--mapping NAME``)."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mapping(path_or_name: str | Path) -> MappingFile:
    """Read a mapping file, or a shipped mapping by name."""
    path = Path(path_or_name)
    if path.is_file():
        raw = _read_capped(path)
        label = str(path)
    elif str(path_or_name) in builtin_mappings():
        label = f"{path_or_name} (shipped mapping)"
        raw = (resources.files(BUILTIN_PACKAGE) / f"{path_or_name}.yaml").read_bytes()
    else:
        names = ", ".join(builtin_mappings()) or "none"
        raise MappingError(f"{path_or_name}: no such mapping file (shipped mappings: {names})")
    return parse_mapping(raw, label)


def parse_mapping(raw: bytes | str, label: str = "<mapping>") -> MappingFile:
    """Parse the YAML text of a mapping file."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        doc = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{label}: not a readable YAML mapping: {exc}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{label}: a mapping file is a YAML object with 'events:' or 'sources:'")
    version = doc.pop(FORMAT_KEY, 1)
    if version != 1:
        raise MappingError(f"{label}: {FORMAT_KEY}: {version!r} is not a known version (1)")
    sources: list[tuple[str, ColumnMapping]] = []
    for i, entry in enumerate(doc.pop("sources", None) or []):
        where = f"{label}: sources[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), str):
            raise MappingError(f"{where}: needs 'files: <glob pattern>' and a mapping")
        entry = dict(entry)
        pattern = entry.pop("files")
        sources.append((pattern, _mapping_from_dict(entry, where)))
    default = _mapping_from_dict(doc, label) if doc else None
    if default is None and not sources:
        raise MappingError(f"{label}: the mapping is empty")
    return MappingFile(label, default, tuple(sources))


def _mapping_from_dict(doc: dict[str, Any], where: str) -> ColumnMapping:
    doc = dict(doc)
    # A mapping of events alone may leave out the 'events:' level.
    if "columns" in doc or "constants" in doc:
        doc["events"] = {"columns": doc.pop("columns", {}), "constants": doc.pop("constants", {})}
    tables: dict[str, TableMapping | None] = {}
    for name in TABLE_COLUMNS:
        body = doc.pop(name, None)
        if body is None:
            continue
        tables[name] = _table_from_dict(body, f"{where}: {name}")
        _check_table(name, tables[name], where)  # type: ignore[arg-type]
    options = {}
    for key in _OPTIONS:
        if key in doc:
            value = doc.pop(key)
            if not isinstance(value, str) or not value:
                raise MappingError(f"{where}: {key}: must be a text, not {value!r}")
            options[key] = value
    join = _join_from_dict(doc.pop("join"), f"{where}: join") if "join" in doc else None
    if doc:
        known = ", ".join([*TABLE_COLUMNS, *_OPTIONS, "columns", "constants", "join", "sources"])
        raise MappingError(f"{where}: unknown key(s) {', '.join(map(repr, doc))}; known: {known}")
    return ColumnMapping(
        events=tables.get("events") or TableMapping(),
        accounts=tables.get("accounts"),
        contacts=tables.get("contacts"),
        join=join,
        **options,
    )


def _join_from_dict(body: Any, where: str) -> JoinSpec:
    if isinstance(body, dict) and True in body and "on" not in body:
        # YAML 1.1 reads a bare `on:` key as the boolean true.
        body = {("on" if k is True else k): v for k, v in body.items()}
    if not isinstance(body, dict) or not isinstance(body.get("file"), str) \
            or not isinstance(body.get("on"), str):
        raise MappingError(f"{where}: write {{file: other.csv, on: key_column, "
                           "columns: [a, b]} (columns optional)")
    extra = set(body) - {"file", "on", "columns"}
    if extra:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    columns = body.get("columns")
    if columns is not None and (not isinstance(columns, list)
                                or not all(isinstance(c, str) for c in columns)):
        raise MappingError(f"{where}.columns: a list of column names")
    return JoinSpec(body["file"], body["on"], tuple(columns) if columns is not None else None)


def _table_from_dict(body: Any, where: str) -> TableMapping:
    if not isinstance(body, dict):
        raise MappingError(f"{where}: must be an object with 'columns:' and/or 'constants:'")
    extra = set(body) - {"columns", "constants"}
    if extra:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; "
                           "use 'columns:' and 'constants:'")
    out = {}
    for part in ("columns", "constants"):
        value = body.get(part) or {}
        if not isinstance(value, dict):
            raise MappingError(f"{where}.{part}: must map canonical column names to texts")
        for k, v in value.items():
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise MappingError(f"{where}.{part}.{k}: {v!r} must be a text")
        out[part] = {str(k): str(v) for k, v in value.items()}
    return TableMapping(out["columns"], out["constants"])


def _check_table(name: str, table: TableMapping, where: str) -> None:
    allowed = TABLE_COLUMNS[name]
    for canonical in [*table.columns, *table.constants]:
        if canonical not in allowed:
            close = difflib.get_close_matches(canonical, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(allowed)}"
            raise MappingError(f"{where}: {canonical!r} is not a column of {name}{hint}")
        if canonical in table.columns and canonical in table.constants:
            raise MappingError(f"{where}: {canonical!r} is given both a column and a constant")


def _split_flag(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value:
        raise MappingError(f"{flag} {text!r}: write CANONICAL=VALUE, e.g. account_id=customer")
    return name.strip(), value


def _read_capped(path: Path) -> bytes:
    with path.open("rb") as fh:
        raw = fh.read(MAX_MAPPING_BYTES + 1)
    if len(raw) > MAX_MAPPING_BYTES:
        raise MappingError(f"{path}: over {MAX_MAPPING_BYTES} bytes; that is not a mapping")
    return raw
