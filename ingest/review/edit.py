"""review edit: a proposal changed through a working copy that is accepted only when it validates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.catalog.queue import load_proposal_text
from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, UsageError
from ingest.models import Proposal
from ingest.review.commit import journal_dir, recover
from ingest.yamlio import atomic_write_text, loads_yaml

EDITS = "edits"  # .ingest-journal/edits/: the working copies of `review edit` (pending() does not look there)


def edit_copy_path(root: CatalogRoot, proposal_id: str) -> Path:
    """Where `review edit` puts the working copy: inside the root, in a folder no queue scan reads."""
    return journal_dir(root) / EDITS / f"{proposal_id}.yaml"


def _entry_title(text: str) -> object:
    try:
        data = loads_yaml(text)
    except CatalogError:
        return None
    entry = data.get("entry") if isinstance(data, dict) else None
    return entry.get("title") if isinstance(entry, dict) else None


def edit(
    root: CatalogRoot, proposal_id: str, editor: Callable[[Path], None], *, keep_failed: bool = True
) -> Proposal | None:
    """Let `editor` change a copy of the proposal; accept it only when it validates. None: nothing changed.

    `keep_failed=False` is for an editor that changes one field and can simply be run again (the review
    page): it works on a copy of its own, made fresh from the proposal, and nothing is kept when it fails;
    a copy that `review edit` kept is left alone.
    The copy is .ingest-journal/edits/<id>.yaml; a copy kept from a failed edit is reopened. An invalid edit
    raises the CatalogError of the copy
    (file:line), keeps the copy for the reviewer (the message names it), and leaves the queue unchanged; on
    every other outcome the copy is removed. A broken proposal can be edited: this is how a reviewer repairs
    one. A changed entry.title is also the proposal's title.
    """
    with root.lock("ingest review edit"):
        recover(root)
        path = root.proposal_path(proposal_id)
        if not path.exists():
            raise UsageError(
                f"no proposal {proposal_id!r} in {root.queue_dir.name}/", hint="see `ingest review list`"
            )
        original = path.read_text(encoding="utf-8")
        copy = edit_copy_path(root, proposal_id)
        if not keep_failed:
            copy = copy.parent / "field" / copy.name  # the file name must stay <id>.yaml: it is checked
        if copy.is_symlink() or (copy.exists() and not copy.is_file()):
            raise CatalogError(copy, "is not a regular file", hint="delete it, then edit again")
        if (
            not keep_failed or not copy.exists()
        ):  # a kept copy of a failed edit is reopened, never overwritten
            copy.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(copy, original)
        keep = False
        try:
            editor(copy)
            text = copy.read_text(encoding="utf-8")
            if text == original:
                return None
            try:
                proposal = load_proposal_text(text, copy, root.taxonomy)
            except CatalogError as exc:
                keep = keep_failed
                exc.hint = (
                    "the queue is unchanged"
                    if not keep_failed
                    else (
                        f"the queue is unchanged; your edit is kept at {copy} and reopened by the next "
                        "`review edit` (delete it to start over)"
                    )
                )
                raise
            if proposal.id != proposal_id:
                keep = keep_failed
                raise CatalogError(
                    copy,
                    f"the id changed from {proposal_id!r} to {proposal.id!r}",
                    line=1,
                    hint=f"keep the id; your edit is kept at {copy} and reopened by the next `review edit`",
                )
            update: dict[str, object] = {"edited": True}
            if proposal.entry is not None and proposal.entry.title != _entry_title(original):
                update["title"] = proposal.entry.title  # review list shows the proposal's own title
            proposal = proposal.model_copy(update=update)
            root.write_proposal(proposal)
            return proposal
        finally:
            if not keep:
                copy.unlink(missing_ok=True)
                try:
                    copy.parent.rmdir()  # only when empty: another proposal's kept edit stays
                except OSError:
                    pass
