"""What the last render of a catalog gave, kept in the cache, so `check` compares without rendering again.

Rendering 20,000 entries is most of what `check` costs; when nothing that render reads has changed since
the last render or check, the block it would give is known. The inputs are named by identity, not content:
the render code (the markdown modules' source), the taxonomy and the render settings (as JSON), and the
identity (name, inode, mtime, size) of every entry and exclusion file, in name order, as the record cache
keys them. The cache stores the sha256 of the block under a keyed digest (cachekey.py); anything that does
not verify is ignored and check renders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from ingest.catalog.cachekey import cache_key, keyed_digest, verify
from ingest.config import RenderConfig
from ingest.errors import UsageError
from ingest.taxonomy import Taxonomy
from ingest.yamlio import atomic_write_bytes

FILE = "rendered.json"
_CODE = ("render.py", "layout.py", "escape.py", "rendered.py")


@cache
def _code_stamp() -> str:
    """The render code's own digest: a changed renderer never trusts an older render."""
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def render_inputs(
    taxonomy: Taxonomy, config: RenderConfig, files: Sequence[str | None] | None
) -> str | None:
    """One digest of everything a render reads, or None when a file has no identity (read from text)."""
    if files is None or any(f is None for f in files):
        return None
    digest = hashlib.sha256()
    for part in (_code_stamp(), taxonomy.model_dump_json(), config.model_dump_json(), *files):
        data = str(part).encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def block_digest(block: str) -> str:
    return hashlib.sha256(block.strip("\n").encode("utf-8")).hexdigest()


def remember_render(cache_dir: Path, inputs: str | None, block: str) -> None:
    """Keep `block` as the render of `inputs` (the last one only; a read-only cache keeps nothing)."""
    key = cache_key(cache_dir) if inputs is not None else None
    if key is None or inputs is None:
        return
    rendered = block_digest(block)
    document = {"inputs": inputs, "block": rendered, "mac": keyed_digest(key, FILE, inputs, rendered)}
    try:
        atomic_write_bytes(cache_dir / "records" / FILE, json.dumps(document).encode())
    except OSError:
        pass


def known_render(cache_dir: Path, inputs: str | None) -> str | None:
    """The sha256 of the block these inputs rendered to last time, when the cache holds it verifiably."""
    if inputs is None:
        return None
    key = cache_key(cache_dir, create=False)
    if key is None:
        return None
    try:
        document = json.loads((cache_dir / "records" / FILE).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("inputs") != inputs:
        return None
    rendered = document.get("block")
    if not isinstance(rendered, str) or not verify(key, document.get("mac"), FILE, inputs, rendered):
        return None
    return rendered


def render_output_path(root_path: Path, config: RenderConfig) -> Path:
    """The rendered catalog's file (here, not in render.py: `check` needs it, not the renderer)."""
    path = (root_path / config.output).resolve()
    if not path.is_relative_to(root_path.resolve()):
        raise UsageError(
            f"render.output {config.output!r} is outside the root", hint="use a path inside the root"
        )
    return path


# What render last wrote into a file, by the file's path: a block that differs from it and from the new
# render was changed by a hand (a maintainer's edit between the markers), which render must not replace
# silently. A plain file: it decides only whether to warn, so a damaged one warns less, never wrongly writes.
WRITTEN = "written.json"


def _written_file(cache_dir: Path) -> Path:
    return cache_dir / "records" / WRITTEN


def last_written(cache_dir: Path, path: Path) -> str | None:
    """block_digest of the block render last wrote into `path`, when the cache remembers it."""
    try:
        document = json.loads(_written_file(cache_dir).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    found = document.get(str(path)) if isinstance(document, dict) else None
    return found if isinstance(found, str) else None


def remember_written(cache_dir: Path, path: Path, block: str) -> None:
    """Keep block_digest(block) as what `path` holds between its markers (a read-only cache keeps none)."""
    try:
        document = json.loads(_written_file(cache_dir).read_bytes())
    except (OSError, ValueError, RecursionError):
        document = {}
    if not isinstance(document, dict):
        document = {}
    document[str(path)] = block_digest(block)
    try:
        atomic_write_bytes(_written_file(cache_dir), json.dumps(document).encode())
    except OSError:
        pass
