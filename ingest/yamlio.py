"""YAML in and out: safe loading that keeps line numbers, a fixed layout on dump, atomic writes."""

from __future__ import annotations

import functools
import io
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml as libyaml

from ingest.errors import CatalogError

if TYPE_CHECKING:  # ruamel loads when a file is written or ruamel-read: reading records needs libyaml only
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError

# Limits of every YAML file ingest reads, checked before anything is built (records.py and the loaders here).
# The largest real record is a proposal quoting a paper's evidence (tens of KB); a megabyte bounds the memory
# one file can take without refusing anything a person or the pipeline writes.
MAX_FILE_BYTES = 1_048_576
# The deepest real value is a proposal's entry.evidence.<field>.quotes[i].text (6 levels); a YAML composer
# recurses (libyaml's in C crashes the process at some ten thousand levels), so depth is checked first.
MAX_DEPTH = 16


def limit_error(source: Path | str, message: str, line: int | None = None) -> CatalogError:
    return CatalogError(source, message, line=line, hint="these files hold plain YAML; rewrite this file")


def scan_limits(text: str, source: Path | str) -> None:
    """Depth, anchors and aliases from libyaml's event stream: iterative, nothing built, so neither a deep
    nesting nor an alias bomb costs more than reading its text. Syntax errors are left to the real parser."""
    loader = getattr(libyaml, "CSafeLoader", libyaml.SafeLoader)(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, libyaml.AliasEvent) or getattr(event, "anchor", None):
                raise limit_error(source, "anchors and aliases (&, *) are not allowed", line)
            if isinstance(event, libyaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise limit_error(source, f"nested deeper than {MAX_DEPTH} levels", line)
            elif isinstance(event, libyaml.CollectionEndEvent):
                depth -= 1
    except libyaml.YAMLError:
        return
    finally:
        loader.dispose()


def _loader() -> YAML:
    # The round-trip loader keeps each key's line for error messages; it never builds Python objects
    # from tags (unknown tags stay tagged scalars), so it is as safe as typ="safe".
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _dumper() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # one value per line: a long title must not wrap, or every diff would touch two lines
    yaml.allow_unicode = True
    return yaml


def load_yaml(path: Path) -> Any:
    """Load one YAML file; a syntax error becomes a CatalogError with the file and line. A pipe or device is
    refused unread (it would block)."""
    if path.exists() and not path.is_file():
        raise CatalogError(path, "is not a regular file", hint="replace it by a YAML file")
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes")
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


_CONFLICT = re.compile(r"^(?:<{7}|>{7})(?: |$)", re.MULTILINE)


def syntax_error(path: Path | str, text: str, problem: str, line: int | None) -> CatalogError:
    """A YAML syntax error as one line, naming the two slips a parser words obscurely: a merge conflict
    left in the file (the parser says "could not find expected ':'") and a tab in the indentation ("found
    character that cannot start any token")."""
    conflict = _CONFLICT.search(text)
    if conflict is not None:
        at = text.count("\n", 0, conflict.start()) + 1
        return CatalogError(
            path,
            "a merge conflict is left in the file (a <<<<<<< or >>>>>>> line)",
            line=at,
            hint="keep the side you want and delete the <<<<<<<, ======= and >>>>>>> lines",
        )
    lines = text.split("\n")
    tabbed = [i + 1 for i, ln in enumerate(lines) if "\t" in ln[: len(ln) - len(ln.lstrip(" \t"))]]
    if tabbed and (line in tabbed or "tab" in problem or "cannot start any token" in problem):
        return CatalogError(
            path,
            "a tab indents this line; YAML indents with spaces only",
            line=line if line in tabbed else tabbed[0],
            hint="replace the tab with spaces",
        )
    return CatalogError(path, f"YAML syntax error: {problem}", line=line, hint="fix the YAML syntax")


def loads_yaml(text: str, path: Path | str = "<string>") -> Any:
    """YAML text through ruamel's round-trip loader (lines kept), within the limits above."""
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if len(text) > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes")
    scan_limits(text, path)
    try:
        return _loader().load(text)
    except DuplicateKeyError as exc:
        raise _duplicate_key(text, path, exc) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise syntax_error(path, text, problem, line) from exc
    except ReaderError as exc:  # a control character: its line from its position
        line = text.count("\n", 0, max(0, exc.position)) + 1
        problem = f"character {exc.character!r} is not allowed in YAML"
        raise CatalogError(path, problem, line=line, hint="remove it or quote it as an escape") from exc
    except Exception as exc:  # ruamel raises several non-marked errors (duplicate keys, bad tags)
        line = _constructing_line(exc)
        raise CatalogError(
            path, f"YAML error: {exc}".splitlines()[0], line=line, hint="fix the YAML syntax"
        ) from exc


def _constructing_line(exc: BaseException) -> int | None:
    """The line of the node ruamel was building when it failed (a date such as 2024-13-45): its
    constructors raise plain errors without a mark, but the node being built is a local of their frames."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        mark = getattr(tb.tb_frame.f_locals.get("node"), "start_mark", None)
        if mark is not None:
            line = mark.line + 1  # the innermost frame's node wins
        tb = tb.tb_next
    return line


def line_of(data: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the value at `loc` (a pydantic error location), or of its nearest parent."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

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
    return 1 if best is None else best  # a document that is not a collection: the error is the whole file


def plain(value: Any) -> Any:
    """Turn ruamel's commented containers and tuples into plain dicts and lists for dumping."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps_yaml(data: Any) -> str:
    buf = io.StringIO()
    _dumper().dump(plain(data), buf)
    return buf.getvalue()


def with_comments(old_text: str, data: Mapping[str, Any]) -> str | None:
    """`data` written over the document `old_text` with ruamel's round trip, so that the comments a person
    wrote in the file (on a line of its own or after a value) stay with the keys that remain; None when the
    old text has no comment or does not load as a mapping. Keys come in `data`'s order."""
    if "#" not in old_text:
        return None
    from ruamel.yaml.comments import CommentedMap

    try:
        doc = _loader().load(old_text)
    except Exception:  # ruamel raises several unrelated types; the caller then writes `data` plainly
        return None
    if not isinstance(doc, CommentedMap):
        return None
    _merge_into(doc, data)
    buf = io.StringIO()
    _dumper().dump(doc, buf)
    return buf.getvalue()


def _merge_into(target: Any, new: Mapping[str, Any]) -> None:
    from ruamel.yaml.comments import CommentedMap

    for key in [k for k in target if k not in new]:
        del target[key]
    for key, value in new.items():
        old = target.get(key)
        if isinstance(value, Mapping) and isinstance(old, CommentedMap):
            _merge_into(old, value)
        elif key not in target or plain(old) != plain(value):
            target[key] = plain(value)
        target.move_to_end(key)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (UTF-8, '\n' line ends)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@functools.cache
def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (os.umask can only set it, and
    setting it for a moment would race with another thread creating a file)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _mode_for(path: Path) -> int:
    """The mode a written file gets: that of the file it replaces, else what the umask gives a new file
    (mkstemp alone would leave every file 0600, the rendered README included)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that a reader (or a crash) sees either the old content or the new, never half."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # named by the file being written, not mkstemp's random temporary name
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # A full disk fails a write or fsync with no file named: name the file being written.
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, dumps_yaml(data))
