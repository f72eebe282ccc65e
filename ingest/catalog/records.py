"""Fast reading of a root's records for check and render: libyaml's C parser with YAML 1.2 scalar rules.

ruamel's round-trip loader (yamlio) keeps line numbers but reads about 2.7 ms per entry file, so 1,000 entries
took 2.7 s; libyaml reads them in about 0.2 s. The two must agree on every value, so the loader below resolves
plain scalars with ruamel's YAML 1.2 rules (`yes` and `on` stay strings; YAML 1.1 would make them booleans)
and refuses duplicate keys as ruamel does. A file that fails is re-read with ruamel, which gives the canonical
message and line; line numbers for a valid file's problems (check's messages) are likewise looked up lazily.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ingest.catalog.store import CatalogRoot, validation_error
from ingest.catalog.yamlio import line_of, load_yaml
from ingest.errors import CatalogError, InvalidFile
from ingest.models import Entry, Exclusion
from ingest.taxonomy import Taxonomy

M = TypeVar("M", bound=BaseModel)

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_Base):  # type: ignore[misc,valid-type]
    """libyaml, with YAML 1.2 core-schema resolution (as ruamel) and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # YAML 1.2 reads '017' as 17 (only '0o17' is octal); PyYAML follows 1.1 and would read 15.
        digits = str(node.value).replace("_", "").lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            return int(str(node.value).replace("_", ""), 10)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _Yaml12Loader.construct_yaml_int)


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


def fast_load(text: str) -> Any:
    """Parse YAML text as ruamel would (YAML 1.2), fast; raises yaml.YAMLError on anything doubtful."""
    return yaml.load(text, Loader=_Yaml12Loader)


@dataclass
class Record:
    """One YAML file of the root: its data, or the syntax error that stopped it; lines on demand."""

    path: Path
    data: Any = None
    error: CatalogError | None = None
    _lined: Any = field(default=None, repr=False)

    @property
    def lined(self) -> Any:
        """The same data as loaded by ruamel, which knows each key's line (read only when a line is asked)."""
        if self._lined is None:
            try:
                self._lined = load_yaml(self.path)
            except CatalogError:
                self._lined = self.data
        return self._lined

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc`, or of its nearest parent that exists (pydantic error locations)."""
        return line_of(self.lined, list(loc))

    def exact_line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc` only when the whole path exists."""
        node = self.lined
        for key in loc:
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return line_of(self.lined, list(loc))

    def validate(self, model: type[M]) -> M:
        """The record as `model`; raises InvalidFile with every pydantic error, each with its line."""
        if self.error is not None:
            raise self.error
        if self.data is None:
            raise CatalogError(self.path, "the file is empty", hint="delete it or fill it in")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidFile(validation_error(self.path, self.lined, exc)) from exc


# Parsed data by (path, inode, mtime, size): `review approve` renders right after writing, and `ingest run`
# checks what it rendered, so one process often reads the same unchanged files twice. Atomic writes replace
# the inode, so a rewritten file never hits a stale key. Values are never mutated by readers.
_PARSED: dict[tuple[str, int, int, int], Any] = {}
_PARSED_MAX = 50_000


def clear_cache() -> None:
    """Forget every parsed file (benchmarks measure a cold start with it)."""
    _PARSED.clear()


def read_record(path: Path) -> Record:
    """Read one file; a syntax or encoding error is kept in the record (with ruamel's message and line)."""
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
        if key in _PARSED:
            return Record(path, data=_PARSED[key])
        data = fast_load(path.read_bytes().decode("utf-8"))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = data
        return Record(path, data=data)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError):
        pass
    try:  # libyaml disagreed or failed: ruamel decides, and its error names the line
        data = load_yaml(path)
    except CatalogError as exc:
        return Record(path, error=exc)
    return Record(path, data=data, _lined=data)


def read_records(folder: Path) -> list[Record]:
    return [read_record(p) for p in CatalogRoot.files(folder)]


def prime(root: CatalogRoot) -> CatalogRoot:
    """Load the root's taxonomy with the fast loader (ruamel takes ~0.1 s on it); on any doubt the root's own
    loader runs instead and reports the problem with its line."""
    if "taxonomy" not in root.__dict__ and root.taxonomy_path.is_file():
        try:
            data = fast_load(root.taxonomy_path.read_bytes().decode("utf-8"))
            root.__dict__["taxonomy"] = Taxonomy.model_validate(data)  # fills the cached_property
        except (yaml.YAMLError, UnicodeDecodeError, ValueError, ValidationError):
            pass
    return root


def read_entry(record: Record) -> Entry:
    """An entry record validated, its id matching its file name."""
    entry = record.validate(Entry)
    if entry.id != record.path.stem:
        raise CatalogError(
            record.path,
            f"id {entry.id!r} does not match the file name",
            line=record.line(["id"]),
            hint="rename the file or fix the id",
        )
    return entry


def load_catalog(root: CatalogRoot) -> tuple[list[Entry], list[Exclusion]]:
    """Every entry and exclusion, validated; raises on the first invalid file (check reports them all)."""
    entries = []
    for record in read_records(root.entries_dir):
        entry = read_entry(record)
        entries.append(entry)
    exclusions = [record.validate(Exclusion) for record in read_records(root.exclusions_dir)]
    return entries, exclusions
