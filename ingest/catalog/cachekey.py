"""The cache's own secret key, and digests keyed by it: what a command may take from the cache unchecked.

The cache folder is not trusted: it can be damaged, copied from another machine or written by someone
else. A result that lets a command skip work (e.g. "this catalog renders to that block", so check need not
render 20,000 entries again) is kept with an HMAC under a random key made in the cache on first use (mode
0600). A result whose digest does not verify (no key, another key, edited) is ignored and the work done.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "key"
KEY_BYTES = 32
_KEYS: dict[Path, bytes] = {}


def cache_key(cache_dir: Path, *, create: bool = True) -> bytes | None:
    """The cache's key (made when `create` and missing), or None when it cannot be read or made."""
    path = cache_dir / KEY_FILE
    if path in _KEYS:
        return _KEYS[path]
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            return cache_key(cache_dir, create=False)  # another command made it just now
        except OSError:
            return None  # a read-only cache: nothing is skipped
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
    except OSError:
        return None
    if len(key) != KEY_BYTES:
        return None  # damaged (or being written): trust nothing
    _KEYS[path] = key
    return key


def keyed_digest(key: bytes, *parts: str) -> str:
    """An HMAC-SHA256 of the parts (each length-prefixed, so two splits of one text never collide)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode("utf-8")
        mac.update(len(data).to_bytes(8, "big"))
        mac.update(data)
    return mac.hexdigest()


def verify(key: bytes, digest: object, *parts: str) -> bool:
    return isinstance(digest, str) and hmac.compare_digest(digest, keyed_digest(key, *parts))


def forget_keys() -> None:
    """Drop the keys read by this process (a test that replaces a cache folder)."""
    _KEYS.clear()
