"""YAML 1.2 for the records, fast: libyaml's C parser, ruamel's YAML 1.2 scalar rules, limits enforced.

The loader resolves plain scalars with ruamel's YAML 1.2 rules (`yes` and `on` stay strings; YAML 1.1 would
make them booleans), so a file reads as ruamel writes it. Data is built from the composed nodes in one
pass that refuses aliases, duplicate keys, unknown tags and a depth over MAX_DEPTH before anything expands.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import CatalogError
from ingest.yamlio import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    atomic_write_text,
    dumps_yaml,
    limit_error,
    scan_limits,
    syntax_error,
    with_comments,
)

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
            if tag == _STR:
                return node.value
            try:
                return self.loader.construct_object(node)
            except (ValueError, OverflowError, yaml.YAMLError) as exc:  # e.g. a date such as 2024-13-45
                kind = tag.rsplit(":", 1)[-1]
                problem = f"{node.value[:40]!r} is not a valid {kind}: {exc}".splitlines()[0]
                raise CatalogError(
                    self.source, problem, line=node.start_mark.line + 1, hint="quote it to keep it as text"
                ) from exc
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


def compose(text: str, source: Path | str) -> yaml.Node | None:
    """The document's node tree (libyaml), after the event pre-scan when the text could nest deep enough to
    crash the C composer; no data is built. Record.line uses it for line numbers."""
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
        node = compose(text, source)
        return None if node is None else _Builder(source, "*" in text).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        if problem.startswith("duplicate key"):
            raise CatalogError(source, problem, line=line, hint="keep one of the two") from exc
        raise syntax_error(source, text, problem, line) from exc
    except yaml.reader.ReaderError as exc:  # a control character: its line from its position
        line = text.count("\n", 0, max(0, exc.position)) + 1
        problem = f"character {exc.character!r} is not allowed in YAML"
        raise CatalogError(source, problem, line=line, hint="remove it or quote it as an escape") from exc
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise CatalogError(source, f"YAML error: {exc}".splitlines()[0], hint="fix the YAML syntax") from exc


def fast_load(text: str) -> Any:
    """Parse YAML text as ruamel would (YAML 1.2), within the limits; raises CatalogError otherwise."""
    return parse(text)


def dumps_record(data: Any) -> str:
    """A record's YAML as yamlio's ruamel writes it: by the fast writer (yamlemit) when it is sure and the
    text reads back as `data` here; else by ruamel."""
    from ingest.yamlemit import dump_record  # writers only: its patterns cost a read-only command 13 ms

    text = dump_record(data)
    if text is not None:
        try:
            if parse(text) == data:
                return text
        except CatalogError:
            pass
    return dumps_yaml(data)


def write_record(path: Path, data: Any) -> None:
    """Write a record file atomically (dumps_record)."""
    atomic_write_text(path, dumps_record(data))


def rewrite_record(path: Path, data: Any) -> None:
    """Write a record over the file at `path` keeping the comments a person wrote in it (an approve rewrites
    a hand-edited entry); the text must read back as `data`, else it is written as write_record writes it."""
    try:
        old = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        old = ""
    text = with_comments(old, data) if isinstance(data, dict) else None
    try:
        if text is not None and parse(text, path) == data:
            atomic_write_text(path, text)
            return
    except CatalogError:
        pass
    write_record(path, data)
