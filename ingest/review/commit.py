"""The commit protocol of a review decision: a journal, so that a crash leaves the old state or the new.

Commit protocol of one decision (every step is an atomic write or an idempotent delete):

    1. write .ingest-journal/<proposal id>.yaml (the intent: decision, entry or exclusion) <- commit point
    2. write decisions/<proposal id>.yaml
    3. write entries/<id>.yaml (approve new/update) or exclusions/<id>.yaml (approve exclude)
    4. delete review_queue/<proposal id>.yaml
    5. re-render the catalog (once for a batch of approvals; a rejection changes nothing rendered)
    6. delete the journal(s)

A crash before step 1 leaves the old state; a crash after it is rolled forward by `recover()`, which every
review command and every run calls first. Approve checks the render target before step 1, so a README without
the catalog markers refuses the approval with nothing changed; recovery finishes the data steps even when the
render fails and reports that as a warning, so a render problem never blocks the queue. tests/test_crash.py
kills a real approve right after each step (an audit hook in the child process watches the files appear).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ingest.catalog.lock import lock_if_free
from ingest.catalog.store import CatalogRoot, model_to_yaml_data
from ingest.errors import CatalogError, IngestError, UsageError
from ingest.models import Decision, Entry, Exclusion
from ingest.yamlio import load_yaml, write_yaml

JOURNAL = ".ingest-journal"


def journal_dir(root: CatalogRoot) -> Path:
    return root.review_journal_dir


def commit(
    root: CatalogRoot, decision: Decision, *, entry: Entry | None = None, exclusion: Exclusion | None = None
) -> Path:
    """Steps 1-4 of one decision; returns its journal, which the caller deletes after rendering (5, 6)."""
    intent: dict[str, object] = {"decision": model_to_yaml_data(decision)}
    if entry is not None:
        intent["entry"] = model_to_yaml_data(entry)
    if exclusion is not None:
        intent["exclusion"] = model_to_yaml_data(exclusion)
    path = journal_dir(root) / f"{decision.id}.yaml"
    write_yaml(path, intent)
    roll_forward(root, path)
    return path


def warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def finish(
    root: CatalogRoot,
    journals: list[Path],
    *,
    render: bool = True,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Steps 5 and 6: render once for the batch, then drop the journals (a crash before this re-renders).

    With `warn`, a render failure is reported through it instead of raised: the data steps are done, and a
    journal kept for a render problem would make every later review command fail on it."""
    if not journals:
        return
    if render:
        try:
            render_catalog(root)
        except IngestError as exc:
            if warn is None:
                raise
            warn(f"the catalog was not re-rendered: {exc}; fix that, then run `ingest render`")
    for journal in journals:
        journal.unlink(missing_ok=True)


def roll_forward(root: CatalogRoot, journal: Path) -> None:
    data = load_yaml(journal)
    decision = Decision.model_validate(data["decision"])
    root.write_decision(decision)
    if "entry" in data:
        root.write_entry(Entry.model_validate(data["entry"]))
    if "exclusion" in data:
        root.write_exclusion(Exclusion.model_validate(data["exclusion"]))
    root.proposal_path(decision.id).unlink(missing_ok=True)


def render_catalog(root: CatalogRoot) -> None:
    from ingest.markdown.render import (
        render_root,  # render is its own stage; imported here so review loads without it
    )

    result = render_root(root)
    for line in [*result.left_out, *([result.replaced_edit] if result.replaced_edit else [])]:
        warn_stderr(line)  # what `ingest render` says, said here too


def check_render_target(root: CatalogRoot) -> None:
    """Refuse (UsageError, exit 2) before anything is written when approving could not render the catalog."""
    from ingest.markdown.render import marker_span, render_output_path

    config = root.config.render
    path = render_output_path(root.path, config)
    if not path.exists():
        return  # render writes a new document
    text = path.read_bytes().decode("utf-8", errors="replace")
    if marker_span(text, config) is None:
        raise UsageError(
            f"{config.output} exists but has no {config.begin_marker} … {config.end_marker} markers, so the "
            "catalog cannot be rendered into it; nothing was approved",
            hint=f"add the two marker lines to {config.output} where the catalog belongs, or set "
            "render.output in ingest.yaml to another file",
        )


def check_writable(root: CatalogRoot, *, entries: bool, exclusions: bool) -> None:
    """Refuse (UsageError, exit 2) before anything is written when a folder a decision writes is read-only
    (a read-only mount, a folder without write permission): otherwise the batch stops half-way, its
    decided proposals waiting in journals until the folder is writable again."""
    folders = [root.review_journal_dir, root.decisions_dir, root.queue_dir]
    folders += [root.entries_dir] if entries else []
    folders += [root.exclusions_dir] if exclusions else []
    for folder in folders:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent  # a folder to be made: its parent must be writable
        if not os.access(existing, os.W_OK):
            shown = existing.relative_to(root.path) if existing.is_relative_to(root.path) else existing
            raise UsageError(
                f"{shown}/ cannot be written (read-only or no write permission); nothing was decided",
                hint=f"make {shown}/ writable, then run the command again",
            )


def try_recover(root: CatalogRoot, warn: Callable[[str], None] = warn_stderr) -> list[str]:
    """recover() when the lock is free at once; a reader must not wait for a running job, nor fail on a root
    it cannot write (a read-only entries/, a full disk): it says so and reads on."""
    if not pending(root):
        return []
    try:
        with lock_if_free(root.lock_path, "ingest (finishing an interrupted review)") as held:
            return recover(root, warn) if held else []
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        warn(
            f"an interrupted decision could not be finished ({where}{exc.strerror or exc}); the next command "
            "that can write the root finishes it"
        )
        return []


def pending(root: CatalogRoot) -> list[Path]:
    return root.review_journals()


def recover(root: CatalogRoot, warn: Callable[[str], None] = warn_stderr) -> list[str]:
    """Finish every decision a crash left half-done; returns their proposal ids. Call it under the lock.

    A render failure does not stop it: the journals are dropped once the data is written and `warn` says
    why the catalog was not re-rendered."""
    journals = pending(root)
    for journal in journals:
        try:
            roll_forward(root, journal)
        except (CatalogError, KeyError, ValueError) as exc:
            raise CatalogError(
                journal,
                f"cannot finish an interrupted decision: {exc}",
                hint="inspect the journal file, then delete it",
            ) from exc
    finish(root, journals, warn=warn)
    return [journal.stem for journal in journals]
