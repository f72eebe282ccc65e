"""Parsed records kept between commands: one JSON file a folder in the root's cache, under a keyed digest.

Parsing is most of what `check`, `run` and the index cost at 20,000 entries (about 1 ms a file); a file
whose identity (name, inode, mtime, size) is unchanged since it was parsed is taken from here instead, with
the line numbers a problem of it needed (lines.py) and the models it validated as. JSON, never pickle.

The file starts with a line holding an HMAC of the rest under the cache's key (cachekey.py): a cache that
was damaged, edited, or written without this key (copied from elsewhere) is ignored whole and rebuilt. Only
then does a command take "this data is a valid Entry" from it, and skip validating (check does; a model
marked valid under other model code is not: the marks carry a digest of the models' source).
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from ingest.catalog.cachekey import cache_key
from ingest.yamlio import MAX_DEPTH, atomic_write_bytes

VERSION = 3
HEADER = b"ingest-records-v3 "


@cache
def models_stamp() -> str:
    """A digest of the models' source: a validity mark holds for the code that made it."""
    from importlib.util import find_spec

    # Located, not imported: a command whose records all come from the cache need not load the models.
    spec = find_spec("ingest.models")
    origin = spec.origin if spec is not None else None
    digest = hashlib.sha256()
    for path in sorted(Path(origin).parent.glob("*.py")) if origin else []:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while a whole folder is parsed or validated: those build millions of
    small acyclic objects, and each collection walks all of them again (about 40% of a 20,000-entry read).
    After, what exists is frozen (gc.freeze: left out of later collections, still freed by reference
    counting when dropped) and collection resumes as it was. The cost: a reference cycle made inside
    (an exception's traceback) is never collected; a command makes few, the review server a few a request."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()  # what was built stays for the command: later collections need not walk it again
            gc.enable()


# The disk caches this command has loaded, by file: a folder read twice loads its JSON once.
_DISKS: dict[Path, DiskCache] = {}


def forget_disk_caches() -> None:
    _DISKS.clear()


def save_caches() -> None:
    """Write the disk caches that changed since their folder was read (line trees, validity marks)."""
    for disk in _DISKS.values():
        disk.save()


class DiskCache:
    """One folder's parsed records (see the module docstring); every read still checks the file itself
    (regular, inside the root, size). A value JSON cannot hold exactly (a date) is simply not cached."""

    VERSION = VERSION

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, Any] = {}
        self.trees: dict[str, Any] = {}
        self.valid: dict[str, Any] = {}
        self.seen: set[str] = set()
        self.dirty = False
        loaded = self._load()
        if isinstance(loaded, dict) and loaded.get("version") == VERSION:
            self.items, self.trees = _mapping(loaded.get("records")), _mapping(loaded.get("lines"))
            if loaded.get("models") == models_stamp():
                self.valid = _mapping(loaded.get("valid"))

    def _load(self) -> Any:
        """The cache's JSON when its digest verifies under this cache's key; else None (rebuilt)."""
        return load_signed(self.path, HEADER)

    @classmethod
    def of(cls, path: Path) -> DiskCache:
        """The folder's cache, loaded once a command; each read of the folder starts a new `seen` set."""
        disk = _DISKS.get(path)
        if disk is None:
            disk = _DISKS[path] = cls(path)
        disk.seen = set()
        return disk

    @staticmethod
    def key(path: Path, info: Any) -> str:
        return f"{path.name}|{info.st_ino}|{info.st_mtime_ns}|{info.st_size}"

    def get(self, key: str) -> tuple[bool, Any]:
        self.seen.add(key)
        if key in self.items:
            return True, self.items[key]
        return False, None

    def put(self, key: str, data: Any) -> None:
        self.seen.add(key)
        if key not in self.items and _jsonable(data):
            self.items[key] = data
            self.dirty = True

    def lines(self, key: str) -> dict[str, Any] | None:
        tree = self.trees.get(key)
        return tree if isinstance(tree, dict) else None

    def put_lines(self, key: str, tree: dict[str, Any]) -> None:
        if key in self.items and self.trees.get(key) != tree:
            self.trees[key] = tree
            self.dirty = True

    def is_valid(self, key: str, model: str) -> bool:
        """Whether the cached data of `key` validated as `model` (by its class name)."""
        marks = self.valid.get(key)
        return isinstance(marks, list) and model in marks

    def mark_valid(self, key: str, model: str) -> None:
        if key in self.items and not self.is_valid(key, model):
            marks = self.valid.get(key)
            self.valid[key] = [*(marks if isinstance(marks, list) else []), model]
            self.dirty = True

    def save(self) -> None:
        """Write the cache when it changed, keeping only the last read's files (deleted ones drop out)."""
        stale = set(self.items) - self.seen
        if not (self.dirty or stale):
            return
        self.items = {k: v for k, v in self.items.items() if k in self.seen}
        self.trees = {k: v for k, v in self.trees.items() if k in self.items}
        self.valid = {k: v for k, v in self.valid.items() if k in self.items}
        document = {
            "version": VERSION,
            "models": models_stamp(),
            "records": self.items,
            "lines": self.trees,
            "valid": self.valid,
        }
        save_signed(self.path, HEADER, document)
        self.dirty = False


def load_signed(path: Path, header: bytes) -> Any:
    """The JSON of a cache file (in <cache>/<folder>/) whose first line is `header` and an HMAC of the rest
    under the cache's key; None when it is missing, damaged, edited or signed with another key."""
    key = cache_key(path.parent.parent, create=False)
    try:
        raw = path.read_bytes() if key is not None else b""
    except OSError:
        return None
    head, _, body = raw.partition(b"\n")
    if key is None or not head.startswith(header):
        return None
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(head[len(header) :], mac):
        return None
    try:
        with bulk():
            return json.loads(body)
    except (ValueError, RecursionError):
        return None


def save_signed(path: Path, header: bytes, document: Any) -> None:
    """Write `document` as load_signed reads it, atomically; a cache that cannot be written (read-only, no
    key) only costs speed."""
    key = cache_key(path.parent.parent)
    if key is None:
        return
    body = json.dumps(document).encode()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    try:
        atomic_write_bytes(path, header + mac + b"\n" + body)
    except OSError:
        pass


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _jsonable(value: Any, depth: int = 0) -> bool:
    """Whether JSON gives `value` back exactly (str keys only; no dates, tuples or non-finite floats)."""
    if depth > MAX_DEPTH + 1:
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_jsonable(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v, depth + 1) for k, v in value.items())
    return False
