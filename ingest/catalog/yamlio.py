"""YAML in and out: safe loading that keeps line numbers, a fixed layout on dump, atomic writes."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from ingest.errors import CatalogError


def _loader() -> YAML:
    # The round-trip loader keeps each key's line for error messages; it never builds Python objects
    # from tags (unknown tags stay tagged scalars), so it is as safe as typ="safe".
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _dumper() -> YAML:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # one value per line: a long title must not wrap, or every diff would touch two lines
    yaml.allow_unicode = True
    return yaml


def load_yaml(path: Path) -> Any:
    """Load one YAML file; a syntax error becomes a CatalogError with the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(path, f"not UTF-8 text ({exc.reason})", hint="save the file as UTF-8") from exc
    return loads_yaml(text, path)


_DUPLICATE = re.compile(r'found duplicate key "(.*?)" with value')


def _duplicate_key(text: str, path: Path | str, exc: DuplicateKeyError) -> CatalogError:
    """One short line: the key and both lines (ruamel's own message repeats both values, however long)."""
    found = _DUPLICATE.search(exc.problem or "")
    key = found.group(1) if found else "?"
    mark, start = exc.problem_mark, exc.context_mark
    line = mark.line + 1 if mark is not None else None
    first = None
    if mark is not None and start is not None:
        # the first occurrence: the same key at the same column, between the mapping's start and the repeat
        pattern = re.compile(rf"""['"]?{re.escape(key)}['"]?\s*:""")
        lines = text.splitlines()
        for number in range(start.line, mark.line):
            if pattern.match(lines[number], mark.column) and not lines[number][: mark.column].strip(" -"):
                first = number + 1
                break
    where = f" (first at line {first})" if first else ""
    return CatalogError(path, f"duplicate key {key!r}{where}", line=line, hint="keep one of the two")


def loads_yaml(text: str, path: Path | str = "<string>") -> Any:
    try:
        return _loader().load(text)
    except DuplicateKeyError as exc:
        raise _duplicate_key(text, path, exc) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise CatalogError(
            path, f"YAML syntax error: {problem}", line=line, hint="fix the YAML syntax"
        ) from exc
    except Exception as exc:  # ruamel raises several non-marked errors (duplicate keys, bad tags)
        raise CatalogError(path, f"YAML error: {exc}".splitlines()[0], hint="fix the YAML syntax") from exc


def line_of(data: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the value at `loc` (a pydantic error location), or of its nearest parent."""
    node = data
    best: int | None = None
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            try:
                best = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                pass
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            try:
                best = node.lc.item(key)[0] + 1
            except (KeyError, TypeError):
                pass
            node = node[key]
        else:
            break
    if best is None and isinstance(data, CommentedMap | CommentedSeq):
        best = data.lc.line + 1
    return best


def _plain(value: Any) -> Any:
    """Turn ruamel's commented containers and tuples into plain dicts and lists for dumping."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dumps_yaml(data: Any) -> str:
    buf = io.StringIO()
    _dumper().dump(_plain(data), buf)
    return buf.getvalue()


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (UTF-8, '\n' line ends)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that a reader (or a crash) sees either the old content or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, dumps_yaml(data))
