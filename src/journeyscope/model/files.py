"""Reading and writing map files (YAML and JSON), safely and with positions.

A map file is hand-written, so everything that can go wrong with it must come back as a
located, plain-language message, never a traceback: a file too large, binary junk, a wrong
encoding, a syntax error, an alias bomb, a field of the wrong type. Reading keeps the line and
column of every element (`SourceMap`) so that later checks can say where a problem is.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from journeyscope.model.issues import Issue, MapError
from journeyscope.model.types import JourneyMap

MAX_MAP_BYTES = 10 * 1024 * 1024  # a map is a document people write; 10 MB is generous
MAX_NODES = 1_000_000  # elements after alias expansion: stops "billion laughs"
MAX_DEPTH = 200

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class SourceMap:
    """Line and column (1-based) of every element of a parsed document, by path."""

    file: str | None = None
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """Position of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.marks:
                return self.marks[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def issue(self, severity: str, code: str, message: str, path: tuple[Any, ...] = ()) -> Issue:
        line, column = self.locate(path)
        return Issue(severity, code, message, tuple(path), self.file, line, column)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# bytes -> text


def _decode(raw: bytes, name: str) -> str:
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise _fail(name, "encoding", f"the file starts with a {codec} byte-order mark "
                            f"but is not valid {codec}: {exc.reason}") from None
    if b"\x00" in raw[:8192]:
        raise _fail(name, "binary", "this is a binary file, not a YAML or JSON map")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start : exc.start + 1].hex().upper()
        raise MapError([Issue(
            "error", "encoding",
            f"the file is not UTF-8: byte 0x{byte} cannot be decoded; save the file as UTF-8 "
            "(it may be Latin-1 or Windows-1252)",
            (), name, line, column,
        )]) from None


def _fail(name: str, code: str, message: str, line: int | None = None,
          column: int | None = None) -> MapError:
    return MapError([Issue("error", code, message, (), name, line, column)])


# ---------------------------------------------------------------------------------------------
# text -> data, with positions


class _Builder:
    """Turns a composed YAML node graph into plain Python data, recording positions and
    counting every element reached, so aliases cannot expand without bound."""

    def __init__(self, name: str):
        self.name = name
        self.marks: dict[tuple[Any, ...], tuple[int, int]] = {}
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self._active: set[int] = set()
        self._own: dict[int, int] = {}  # mapping node -> its own pairs, merged ones left out

    def build(self, node: yaml.Node, path: tuple[Any, ...], depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(self.name, "too-large",
                        f"the document expands to more than {MAX_NODES:,} elements "
                        "(a YAML alias bomb?); maps do not need aliases that deep",
                        node.start_mark.line + 1, node.start_mark.column + 1)
        if depth > MAX_DEPTH:
            raise _fail(self.name, "too-deep", f"elements are nested more than {MAX_DEPTH} deep",
                        node.start_mark.line + 1, node.start_mark.column + 1)
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise _fail(self.name, "syntax", f"cannot read value {node.value!r}: {exc}",
                            node.start_mark.line + 1, node.start_mark.column + 1) from None
        if id(node) in self._active:
            raise _fail(self.name, "syntax", "an alias refers to the element that contains it",
                        node.start_mark.line + 1, node.start_mark.column + 1)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i), depth + 1)
                        for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            # YAML merge keys (<<): flattening puts the merged pairs first, where the mapping's
            # own keys override them; it changes the node, so a node reached again through an
            # alias keeps the count of its own pairs from its first visit.
            own = self._own.setdefault(id(node), sum(
                1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"))
            self.constructor.flatten_mapping(node)
            out: dict[str, Any] = {}
            first_own = len(node.value) - own
            seen: dict[str, yaml.Node] = {}
            for index, (key_node, value_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _fail(self.name, "syntax", "a key must be a plain name, not a list or "
                                "mapping", key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1)
                # Keys are names: `no:` or `2024:` stay the strings the author wrote.
                key = key_node.value
                if index >= first_own:
                    if key in seen:
                        # YAML and JSON readers differ on which one wins: refuse, never guess.
                        raise MapError([Issue(
                            "error", "syntax", f"the key {key!r} appears twice; the first at "
                            f"line {seen[key].start_mark.line + 1}", (*path, key), self.name,
                            key_node.start_mark.line + 1, key_node.start_mark.column + 1)])
                    seen[key] = key_node
                self.marks[(*path, key)] = (key_node.start_mark.line + 1,
                                            key_node.start_mark.column + 1)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        finally:
            self._active.discard(id(node))


def parse_text(text: str, name: str = "<map>", fmt: str | None = None) -> tuple[Any, SourceMap]:
    """Parse YAML or JSON text into plain data and its `SourceMap`. Raises `MapError`."""
    if fmt == "json" or (fmt is None and name.lower().endswith(".json")):
        try:
            json.loads(text)  # JSON's own syntax rules and error positions first
        except json.JSONDecodeError as exc:
            raise _fail(name, "syntax", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise _fail(name, "too-deep", "elements are nested too deeply") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise _fail(name, "syntax", f"invalid YAML: {problem}{context}",
                    mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise _fail(name, "syntax", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _fail(name, "too-deep", "elements are nested too deeply") from None
    if node is None:
        raise _fail(name, "empty", "the file is empty; a map needs at least a name and stages")
    builder = _Builder(name)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise _fail(name, "too-deep", "elements are nested too deeply") from None
    return data, SourceMap(name, builder.marks)


def read_document(path: str | os.PathLike[str]) -> tuple[Any, SourceMap]:
    """Read a map file from disk into plain data and positions. Raises `MapError`."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(name, "not-found", "no such file") from None
    except OSError as exc:
        raise _fail(name, "unreadable", f"cannot read the file: {exc.strerror}") from None
    if path.is_dir():
        raise _fail(name, "unreadable", "this is a folder, not a map file")
    if size > MAX_MAP_BYTES:
        raise _fail(name, "too-large", f"the file is {size / 1e6:.1f} MB; a map file may be at "
                    f"most {MAX_MAP_BYTES // (1024 * 1024)} MB")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(name, "unreadable", f"cannot read the file: {exc.strerror}") from None
    return parse_text(_decode(raw, name), name)


# ---------------------------------------------------------------------------------------------
# data -> JourneyMap


def _plain_message(err: dict[str, Any], fields: list[str]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    last = loc[-1] if loc else ""
    if kind == "missing":
        return f"'{last}' is required here"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(last), fields, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown field '{last}'{hint}"
    message = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    given = err.get("input")
    if kind not in ("value_error",) and not isinstance(given, (dict, list)):
        message += f" (got {given!r})"
    return message


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Names of the fields allowed where an unknown field was found (for 'did you mean')."""
    from journeyscope.model import types as t

    owner: Any = JourneyMap
    for part in loc[:-1]:
        if isinstance(part, int) or owner is None:
            continue
        info = getattr(owner, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        owner = None
        for candidate in (t.Stage, t.Persona, t.Touchpoint, t.EmpathyEntry, t.BackstageLane,
                          t.BackstageItem, t.Review, t.Outcomes, t.Removals, t.Needs, t.KPI,
                          t.Link, t.MatchRule, t.PainPoint, t.Opportunity, t.InformationAsset):
            if candidate.__name__ in repr(annotation):
                owner = candidate
                break
    return list(getattr(owner, "model_fields", {})) if owner is not None else []


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # Pydantic puts validator names (e.g. 'function-after[...]') and union branches in loc.
    return tuple(p for p in loc if isinstance(p, int) or not (
        "[" in str(p) or str(p) in ("str", "dict[str,any]", "list[...]")))


def build_map(data: Any, source: SourceMap | None = None) -> JourneyMap:
    """Validate plain data into a `JourneyMap`; raises `MapError` with every located problem."""
    source = source or SourceMap()
    if not isinstance(data, dict):
        raise MapError([source.issue("error", "type", "a map file must hold a mapping of fields "
                                     f"(name, stages, ...), not a {type(data).__name__}")])
    try:
        return JourneyMap.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = _clean_loc(tuple(err.get("loc", ())))
            message = _plain_message({**err, "loc": loc}, _fields_at(loc))
            issues.append(source.issue("error", "schema", message, loc))
        raise MapError(issues) from None


def load_map(path: str | os.PathLike[str]) -> JourneyMap:
    """Load a map file (YAML or JSON). A variant (a file with `extends:`) loads as its
    effective map (see `journeyscope.model.variants.resolve`).

    Raises `MapError` with located issues when the file cannot be read or is not a valid map.
    Cross-references are checked by `journeyscope.validate`.

    >>> from journeyscope.model.templates import template_path
    >>> load_map(template_path("b2b")).stage_ids()[:2]
    ['awareness', 'consideration']
    """
    data, source = read_document(path)
    if isinstance(data, dict) and data.get("extends"):
        from journeyscope.model.variants import resolve

        return resolve(path)
    return build_map(data, source)


def map_to_data(journey_map: JourneyMap) -> dict[str, Any]:
    """The map as plain data in its canonical file form (defaults left out)."""
    data = journey_map.model_dump(mode="json", exclude_defaults=True)
    return {"journeyscope": journey_map.journeyscope, **data}


def dumps(journey_map: JourneyMap, fmt: str = "yaml") -> str:
    """The map as YAML or JSON text."""
    data = map_to_data(journey_map)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                         default_flow_style=False)
    raise ValueError(f"unknown format {fmt!r}: use yaml or json")


def format_for(path: str | os.PathLike[str]) -> str:
    return "json" if str(path).lower().endswith(".json") else "yaml"


def save_map(journey_map: JourneyMap, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write the map to `path` (YAML unless the name ends in .json), atomically: a reader never
    sees half a file."""
    path = Path(path)
    write_text_atomically(path, dumps(journey_map, fmt or format_for(path)))
    return path


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8, newlines as written) to a temporary file beside `path`, then rename
    it into place, so that a reader never sees half a file.

    The file gets the mode a plain ``open(path, "w")`` gives: the one the file had, or 0666
    less the umask for a new one (``tempfile.mkstemp`` would give 0600).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "m.yaml"
    >>> write_text_atomically(target, "name: x\\n")
    >>> target.read_text()
    'name: x\\n'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_NOFOLLOW", 0))
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            # 0o666 and not a chmod afterwards: the kernel applies the umask, which Python can
            # only read by changing it for every thread of the process.
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

