"""The one reader of a root's records (entries, queue, decisions, exclusions, state): libyaml, YAML 1.2.

ruamel's round-trip loader (yamlio) reads about 2.7 ms per entry file, libyaml about 0.2 ms; ruamel is kept
for writing only. The loader below resolves plain scalars with ruamel's YAML 1.2 rules (`yes` and `on` stay
strings; YAML 1.1 would make them booleans) and refuses duplicate keys as ruamel does.
Line numbers come from one place, `Record.line`: the record keeps its text and composes it again (libyaml, no
new read of the file) only when a problem needs a line.

Hostile files are refused before anything is expanded: only regular files inside the root (symlinks resolved),
at most MAX_FILE_BYTES, nested at most MAX_DEPTH deep, with no anchors or aliases (a 350-byte alias bomb
expands to gigabytes once built; these files never need them).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ingest.catalog.yamlio import MAX_DEPTH, MAX_FILE_BYTES, limit_error, scan_limits
from ingest.errors import CatalogError
from ingest.models import Entry, Exclusion
from ingest.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.catalog.store import CatalogRoot

M = TypeVar("M", bound=BaseModel)

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_Base):  # type: ignore[misc,valid-type]
    """libyaml, with YAML 1.2 core-schema resolution (as ruamel); _Builder refuses duplicate keys."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # YAML 1.2 reads '017' as 17 (only '0o17' is octal); PyYAML follows 1.1 and would read 15.
        digits = str(node.value).replace("_", "").lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            return int(str(node.value).replace("_", ""), 10)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _Yaml12Loader.construct_yaml_int)

# Tags of plain scalars already resolved: libyaml's composer asks the (Python, regex) resolver for every plain
# scalar, and the keys and words of record files repeat thousands of times.
_PLAIN_TAGS: dict[str, str] = {}


def _resolve(self: _Yaml12Loader, kind: Any, value: Any, implicit: Any) -> str:
    if kind is yaml.ScalarNode:
        if not implicit[0]:
            return "tag:yaml.org,2002:str"  # quoted: a string, whatever it looks like
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_PLAIN_TAGS) < 100_000 and len(value) < 80:
                _PLAIN_TAGS[value] = tag
        return tag
    return yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call,no-any-return]


_Yaml12Loader.resolve = _resolve


# ruamel.yaml's resolver table for YAML 1.2 (ruamel/yaml/resolver.py), restated for libyaml.
_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (
        "tag:yaml.org,2002:float",
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        list("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        list("-+0123456789"),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (
        "tag:yaml.org,2002:timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        list("0123456789"),
    ),
):
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_regexp, re.X), _first)


# Below this many possible nesting openers libyaml's composer (C, recursive) is safe: no event pre-scan.
_SAFE_OPENERS = 2000


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Builder:
    """Python data from a composed document in one pass that also enforces the limits: a node reached twice
    is an alias (the composer shares the anchored node), refused before it is built a second time; a
    collection deeper than MAX_DEPTH is refused before its children are built. Plain strings, lists and
    mappings are built here (PyYAML's generic constructor is the slowest part of a read); other scalars
    (numbers, booleans, null, dates) go to the YAML 1.2 constructors above."""

    def __init__(self, source: Path | str, aliases: bool) -> None:
        self.source = source
        self.seen: set[int] | None = set() if aliases else None  # no `*` in the text: no alias possible
        self.loader = _Yaml12Loader("")

    def build(self, node: yaml.Node, depth: int = 1) -> Any:
        if self.seen is not None:
            if id(node) in self.seen:
                line = node.start_mark.line + 1
                raise limit_error(self.source, "anchors and aliases (&, *) are not allowed", line)
            self.seen.add(id(node))
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            return node.value if tag == _STR else self.loader.construct_object(node)
        if depth > MAX_DEPTH:
            raise limit_error(self.source, f"nested deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        if tag == _SEQ:
            return [self.build(child, depth + 1) for child in node.value]
        if tag != _MAP:
            raise limit_error(self.source, f"the tag {tag!r} is not allowed", node.start_mark.line + 1)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise limit_error(self.source, "a key must be a plain value", key_node.start_mark.line + 1)
            if key in out:
                raise CatalogError(
                    self.source, f"duplicate key {key!r}", line=key_node.start_mark.line + 1, hint="keep one"
                )
            out[key] = self.build(value_node, depth + 1)
        return out


def _compose(text: str, source: Path | str) -> yaml.Node | None:
    if sum(text.count(c) for c in "[{-?\n") > _SAFE_OPENERS:
        scan_limits(text, source)
    loader = _Yaml12Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def parse(text: str, source: Path | str = "<string>") -> Any:
    """YAML text as ruamel would read it (YAML 1.2), within the limits; else CatalogError with the line."""
    if len(text) > MAX_FILE_BYTES:
        raise limit_error(source, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        node = _compose(text, source)
        return None if node is None else _Builder(source, "*" in text).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        if problem.startswith("duplicate key"):
            raise CatalogError(source, problem, line=line, hint="keep one of the two") from exc
        raise CatalogError(
            source, f"YAML syntax error: {problem}", line=line, hint="fix the YAML syntax"
        ) from exc
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise CatalogError(source, f"YAML error: {exc}".splitlines()[0], hint="fix the YAML syntax") from exc


def fast_load(text: str) -> Any:
    """Parse YAML text as ruamel would (YAML 1.2), within the limits; raises CatalogError otherwise."""
    return parse(text)


def _locate(path: Path, within: Path | None, folder_checked: bool) -> tuple[Path, os.stat_result]:
    """The file to open and its status; CatalogError for a path that resolves outside the root (default: the
    root holding the record's folder), a non-regular file (never opened: a pipe would block) or a large one.
    Only a symlink, or a folder not checked already, costs a full path resolution."""
    info = os.lstat(path)
    real = path
    if stat.S_ISLNK(info.st_mode) or not folder_checked:
        root = (within or Path(os.path.abspath(path)).parent.parent).resolve()
        real = path.resolve()
        if not real.is_relative_to(root):
            raise CatalogError(
                path, f"resolves outside the catalog root (to {real})", hint="replace the link by the file"
            )
        info = os.stat(real)
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(path, "is not a regular file", hint="replace it by a YAML file or delete it")
    if info.st_size > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes ({info.st_size})")
    return real, info


def read_bytes(path: Path, within: Path | None = None, *, folder_checked: bool = False) -> bytes:
    """A record file's bytes, refused with one line when it is not a regular file inside the root or too
    large. Never blocks on a pipe or a device."""
    real, _ = _locate(path, within, folder_checked)
    return _read_located(path, real)


def _read_located(path: Path, real: Path) -> bytes:
    try:
        # O_NONBLOCK and the fstat below: a file swapped for a pipe after _locate still cannot block.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise CatalogError(path, f"cannot be read ({exc.strerror})", hint="check the file") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise CatalogError(path, "is not a regular file", hint="replace it by a YAML file or delete it")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes")
    return data


def read_text(path: Path, within: Path | None = None) -> str:
    """A record file's text (read_bytes' refusals, and not UTF-8, are CatalogErrors)."""
    data = read_bytes(path, within)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(path, f"not UTF-8 text ({exc.reason})", hint="save the file as UTF-8") from exc


def _node_at(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                child: yaml.Node = v
                return child
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        item: yaml.Node = node.value[key]
        return item
    return None


def _key_line(node: yaml.Node, key: str | int) -> int | None:
    """The line where `key` (a mapping key, or a sequence item) starts."""
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return int(k.start_mark.line) + 1
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return int(node.value[key].start_mark.line) + 1
    return None


@dataclass
class Record:
    """One YAML file of the root: its data, or the error that stopped it; line numbers on demand."""

    path: Path
    data: Any = None
    error: CatalogError | None = None
    text: str | None = field(default=None, repr=False)
    _node: yaml.Node | None = field(default=None, repr=False)

    def _root_node(self) -> yaml.Node | None:
        if self._node is None and self.text is not None:
            try:
                self._node = _compose(self.text, self.path)
            except (yaml.YAMLError, CatalogError):
                self._node = None  # no lines for a file that does not compose
        return self._node

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc`, or of its nearest parent that exists (pydantic error locations)."""
        node = self._root_node()
        if node is None:
            return None
        best: int | None = int(node.start_mark.line) + 1
        for key in loc:
            found = _key_line(node, key)
            child = _node_at(node, key)
            if found is None or child is None:
                break
            best, node = found, child
        return best

    def exact_line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc` only when the whole path exists."""
        node = self._root_node()
        line = None
        for key in loc:
            if node is None:
                return None
            line, node = _key_line(node, key), _node_at(node, key)
            if line is None:
                return None
        return line

    def validate(self, model: type[M]) -> M:
        """The record as `model`; raises InvalidFile with every pydantic error, each with its line."""
        if self.error is not None:
            raise self.error
        if self.data is None:
            raise CatalogError(self.path, "the file is empty", hint="delete it or fill it in")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidFile(validation_errors(self, exc)) from exc


class InvalidFile(CatalogError):
    """A file that failed validation; carries every problem found in it."""

    def __init__(self, problems: list[CatalogError]) -> None:
        first = problems[0]
        super().__init__(first.file, first.detail, line=first.line, hint=first.hint)
        self.problems = problems


def validation_errors(record: Record, exc: ValidationError) -> list[CatalogError]:
    """One CatalogError per pydantic error, each with the line of the offending key."""
    errors = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.append(CatalogError(record.path, f"{where}: {message}", line=record.line(loc)))
    return errors


def id_mismatch(record: Record, record_id: str, kind: str) -> CatalogError:
    """The one "id does not match the file name" error (review, check, the store and the index all use it)."""
    return CatalogError(
        record.path,
        f"{kind} id {record_id!r} does not match the file name {record.path.name!r}",
        line=record.line(["id"]),
        hint="rename the file or fix the id",
    )


# Parsed data by (path, inode, mtime, size): `review approve` renders right after writing, and `ingest run`
# checks what it rendered, so one process often reads the same unchanged files twice. Atomic writes replace
# the inode, so a rewritten file never hits a stale key. Values are never mutated by readers.
_PARSED: dict[tuple[str, int, int, int], tuple[Any, str]] = {}
_PARSED_MAX = 50_000


def clear_cache() -> None:
    """Forget every parsed file (benchmarks measure a cold start with it)."""
    _PARSED.clear()


def record_from_text(text: str, path: Path) -> Record:
    """A record of text not (yet) on disk, e.g. a reviewer's edited copy."""
    try:
        return Record(path, data=parse(text, path), text=text)
    except CatalogError as exc:
        return Record(path, error=exc)


def read_record(path: Path, within: Path | None = None, *, folder_checked: bool = False) -> Record:
    """Read one file; any refusal, syntax or encoding error is kept in the record with its line.
    `folder_checked`: the caller made sure the file's folder lies inside the root (read_records does)."""
    try:
        real, info = _locate(path, within, folder_checked)
        key = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
        if key in _PARSED:
            data, text = _PARSED[key]
            return Record(path, data=data, text=text)
        raw = _read_located(path, real)
    except CatalogError as exc:
        return Record(path, error=exc)
    except OSError as exc:
        error = CatalogError(path, f"cannot be read ({exc.strerror})", hint="check the file")
        return Record(path, error=error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = CatalogError(path, f"not UTF-8 text ({exc.reason})", hint="save the file as UTF-8")
        return Record(path, error=error, text=raw.decode("utf-8", errors="replace"))
    try:
        data = parse(text, path)
    except CatalogError as exc:
        return Record(path, error=exc, text=text)  # the text still names the paper (queue.raw_paper)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = (data, text)
    return Record(path, data=data, text=text)


def record_files(folder: Path) -> list[Path]:
    """The YAML records of a folder in a stable order (temporary files of atomic writes are skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("."))


def read_records(folder: Path) -> list[Record]:
    """Every record of a folder; the folder is checked to lie inside the root once, not per file."""
    files = record_files(folder)
    if not files:
        return []
    root = Path(os.path.abspath(folder)).parent.resolve()
    inside = folder.resolve().is_relative_to(root)
    return [read_record(p, root, folder_checked=inside) for p in files]


def read_model(path: Path, model: type[M], within: Path | None = None) -> M:
    """One file validated as `model`; raises CatalogError (InvalidFile for schema errors) naming the file."""
    return read_record(path, within).validate(model)


def prime(root: CatalogRoot) -> CatalogRoot:
    """Load the root's taxonomy with the fast loader (ruamel takes ~0.1 s on it); on any doubt the root's own
    loader runs instead and reports the problem with its line."""
    if "taxonomy" not in root.__dict__ and root.taxonomy_path.is_file():
        try:
            data = parse(root.taxonomy_path.read_bytes().decode("utf-8"))
            root.__dict__["taxonomy"] = Taxonomy.model_validate(data)  # fills the cached_property
        except (CatalogError, UnicodeDecodeError, ValueError, ValidationError):
            pass
    return root


def read_entry(record: Record) -> Entry:
    """An entry record validated, its id matching its file name."""
    entry = record.validate(Entry)
    if entry.id != record.path.stem:
        raise id_mismatch(record, entry.id, "entry")
    return entry


def load_catalog(root: CatalogRoot) -> tuple[list[Entry], list[Exclusion]]:
    """Every entry and exclusion, validated; raises on the first invalid file (check reports them all)."""
    entries = [read_entry(record) for record in read_records(root.entries_dir)]
    exclusions = [record.validate(Exclusion) for record in read_records(root.exclusions_dir)]
    return entries, exclusions
