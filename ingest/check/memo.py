"""`ingest check` of a root it checked before, unchanged: the same report again, nothing read or validated.

The report is kept in the cache (`check.json`) with the identity of everything the check reads: each name in
the record folders, ingest.yaml, taxonomy.yaml, the rendered catalog and the review journals, by inode,
modification time and size (the record cache's identity, catalog/diskcache.py), plus the folders
themselves, the settings from the environment, the threshold, and the identity of every file of the ingest
package (a changed ingest never trusts an older report). It is kept under the cache's HMAC (cachekey.py):
a copied or edited memo is ignored and the check done. A report is kept only when every one of those files
is older than the check by a second, so an edit made during or just before the check is never hidden.
A hit imports no model and no pydantic: the command costs little more than the interpreter's start.
"""

from __future__ import annotations

import json
import os
import time
from functools import cache
from pathlib import Path

from ingest.catalog.cachekey import cache_key, keyed_digest, verify
from ingest.catalog.store import CatalogRoot
from ingest.check.report import CheckReport, Problem
from ingest.errors import IngestError

FILE = "check.json"
VERSION = 1
SETTLED_NS = 1_000_000_000  # file times lag the clock by up to a tick: keep a margin of a second
PACKAGE = Path(__file__).resolve().parents[1]


def _ident(path: Path | str) -> tuple[str, int]:
    """The file's identity and its modification time (0 for a missing file)."""
    try:
        info = os.stat(path)
    except OSError:
        return f"{path}|missing", 0
    return f"{path}|{info.st_ino}|{info.st_mtime_ns}|{info.st_size}", info.st_mtime_ns


def _folder(path: Path) -> list[tuple[str, int]]:
    """The folder's own identity (a file added, removed or renamed changes its time) and each name's."""
    found = [_ident(path)]
    try:
        with os.scandir(path) as listing:
            children = sorted((child.name, child.path) for child in listing)
    except OSError:
        return found
    return found + [_ident(child) for _, child in children]


@cache
def _package() -> str:
    """Every file of the ingest package by identity (its .py files, its bundled data), once a process."""
    idents = []
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        idents += [_ident(os.path.join(folder, name))[0] for name in sorted(files)]
    return "\n".join(idents)


def _inputs(root: CatalogRoot, output: str) -> list[tuple[str, int]]:
    found = [_ident(root.config_path), _ident(root.taxonomy_path), _ident(output)]
    for folder in (
        root.entries_dir,
        root.queue_dir,
        root.exclusions_dir,
        root.decisions_dir,
        root.review_journal_dir,
    ):
        found += _folder(folder)
    return found


def _digest(key: bytes, root: CatalogRoot, min_confidence: float | None, found: list[tuple[str, int]]) -> str:
    settings = f"{VERSION}|{min_confidence!r}|{root.path}|{root.env!r}"
    return keyed_digest(key, settings, _package(), *(ident for ident, _ in found))


def recall(root: CatalogRoot, min_confidence: float | None) -> CheckReport | None:
    """The kept report, when it verifies and nothing it was made from has changed since."""
    key = cache_key(root.cache_dir, create=False)
    if key is None:
        return None
    try:
        memo = json.loads((root.cache_dir / FILE).read_bytes())
        body = memo["body"]
        if not verify(key, memo["mac"], body):
            return None
        kept = json.loads(body)
        found = _inputs(root, kept["output"])
        if kept["inputs"] != _digest(key, root, min_confidence, found):
            return None
        problems = [Problem(**{**p, "flags": tuple(p["flags"])}) for p in kept["problems"]]
        return CheckReport(root.path, kept["min_confidence"], problems, dict(kept["counts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no memo, or not one this code wrote: check


def remember(root: CatalogRoot, min_confidence: float | None, report: CheckReport, started_ns: int) -> None:
    """Keep the report of a check that started at `started_ns` (time.time_ns()), if its inputs had settled."""
    key = cache_key(root.cache_dir)
    if key is None:
        return  # a read-only cache: every check is done in full
    try:
        from ingest.markdown.rendered import render_output_path

        output = str(render_output_path(root.path, root.config.render))
    except (IngestError, OSError):  # an unreadable config: the check reported it; no output to watch
        output = str(root.path / "-")
    found = _inputs(root, output)
    if any(mtime > started_ns - SETTLED_NS for _, mtime in found):
        return  # changed just before or during the check: the next check keeps its report
    body = json.dumps(
        {
            "output": output,
            "inputs": _digest(key, root, min_confidence, found),
            "min_confidence": report.min_confidence,
            "counts": report.counts,
            "problems": [p.as_dict() for p in report.problems],
        },
        ensure_ascii=False,
    )
    from ingest.yamlio import atomic_write_bytes

    try:
        document = {"body": body, "mac": keyed_digest(key, body)}
        atomic_write_bytes(root.cache_dir / FILE, json.dumps(document).encode("utf-8"))
    except OSError:
        pass  # the cache is a help, never a failure


def checked(root: CatalogRoot, min_confidence: float | None = None) -> CheckReport:
    """check_root's report, from the memo when nothing changed since a check kept it."""
    root.require()
    report = recall(root, min_confidence)
    if report is not None:
        return report
    from ingest.check.run import check_root  # here: the models, pydantic and the rules load on a miss only

    started = time.time_ns()
    report = check_root(root, min_confidence=min_confidence)
    remember(root, min_confidence, report, started)
    return report
