"""review: approve, reject and edit proposals; each commits via a journal: a crash leaves old or new.

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

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ingest.catalog.lock import lock_if_free
from ingest.catalog.merge import reviewed_fields
from ingest.catalog.queue import load_proposal, load_proposal_text, raw_arxiv_id
from ingest.catalog.records import load_catalog, read_record
from ingest.catalog.store import CatalogRoot, model_to_yaml_data
from ingest.errors import CatalogError, IngestError, UsageError
from ingest.models import Decision, Entry, Exclusion, Proposal, Provenance
from ingest.review.propose import apply_changes
from ingest.yamlio import atomic_write_text, load_yaml, loads_yaml, write_yaml

JOURNAL = ".ingest-journal"
EDITS = "edits"  # .ingest-journal/edits/: the working copies of `review edit` (pending() does not look there)


def journal_dir(root: CatalogRoot) -> Path:
    return root.review_journal_dir


# -- the journal ---------------------------------------------------------------------------------------------


def _commit(
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
    _roll_forward(root, path)
    return path


def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _finish(
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


def _roll_forward(root: CatalogRoot, journal: Path) -> None:
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

    render_root(root)


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


def try_recover(root: CatalogRoot, warn: Callable[[str], None] = _warn_stderr) -> list[str]:
    """recover() when the lock is free at once; a reader must not wait for a running job."""
    if not pending(root):
        return []
    with lock_if_free(root.lock_path, "ingest (finishing an interrupted review)") as held:
        return recover(root, warn) if held else []


def pending(root: CatalogRoot) -> list[Path]:
    return root.review_journals()


def recover(root: CatalogRoot, warn: Callable[[str], None] = _warn_stderr) -> list[str]:
    """Finish every decision a crash left half-done; returns their proposal ids. Call it under the lock.

    A render failure does not stop it: the journals are dropped once the data is written and `warn` says
    why the catalog was not re-rendered."""
    journals = pending(root)
    for journal in journals:
        try:
            _roll_forward(root, journal)
        except (CatalogError, KeyError, ValueError) as exc:
            raise CatalogError(
                journal,
                f"cannot finish an interrupted decision: {exc}",
                hint="inspect the journal file, then delete it",
            ) from exc
    _finish(root, journals, warn=warn)
    return [journal.stem for journal in journals]


# -- decisions -----------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _decision(
    proposal: Proposal,
    action: Literal["approved", "rejected"],
    *,
    reviewer: str | None,
    reason: str | None,
    entry_id: str | None,
) -> Decision:
    return Decision(
        id=proposal.id,
        action=action,
        kind=proposal.kind,
        entry_id=entry_id,
        arxiv_id=proposal.arxiv_id,
        version=proposal.version,
        title=proposal.title,
        reason=reason,
        reviewer=reviewer,
        at=_now(),
        edited=proposal.edited,
    )


def _approved_entry(root: CatalogRoot, proposal: Proposal, reviewer: str | None) -> Entry:
    path = root.proposal_path(proposal.id)
    if proposal.kind == "update":
        assert proposal.target is not None
        if not root.entry_path(proposal.target).exists():
            raise CatalogError(
                path, f"the entry {proposal.target!r} it updates no longer exists", hint="reject the proposal"
            )
        current = root.read_entry(proposal.target)
        updated = apply_changes(current, proposal.changes)
        fields = [c.field for c in proposal.changes]
        evidence = {
            k: v
            for k, v in (proposal.entry.evidence if proposal.entry else {}).items()
            if any(k == f or k.startswith(f + ".") for f in fields)
        }
        # the fields this approval looked at are reviewed now, with a fingerprint of the value approved
        reviewed = {**current.reviewed, **reviewed_fields(updated, fields)}
        return updated.model_copy(update={"evidence": {**current.evidence, **evidence}, "reviewed": reviewed})
    assert proposal.entry is not None
    entry = proposal.entry
    if root.entry_path(entry.id).exists():
        raise CatalogError(
            path, f"an entry {entry.id!r} already exists", hint="change entry.id with `ingest review edit`"
        )
    if proposal.arxiv_id:
        entries, _ = load_catalog(root)
        holder = next((e.id for e in entries if proposal.arxiv_id in e.arxiv_ids), None)
        if holder is not None:
            raise CatalogError(
                path,
                f"arXiv {proposal.arxiv_id} is already the entry {holder!r}",
                hint="reject this proposal",
            )
    prov = proposal.provenance
    return entry.model_copy(
        update={
            "reviewed": reviewed_fields(entry),  # a new entry is approved as a whole
            "provenance": Provenance(
                source="edited" if proposal.edited else "extracted",
                by=reviewer,
                at=_now(),
                backend=prov.backend,
                model=prov.model,
                prompt_hash=prov.prompt_hash,
                run_id=prov.run_id,
            ),
        }
    )


def _load_all(root: CatalogRoot, ids: list[str]) -> list[Proposal]:
    """Every proposal named, fully validated, before anything is written: a bad one stops the whole batch."""
    proposals = []
    for proposal_id in ids:
        path = root.proposal_path(proposal_id)
        if not path.exists():
            raise UsageError(
                f"no proposal {proposal_id!r} in {root.queue_dir.name}/", hint="see `ingest review list`"
            )
        proposals.append(load_proposal(path, root.taxonomy))
    return proposals


def approve(root: CatalogRoot, ids: list[str], *, reviewer: str | None = None) -> list[Decision]:
    """Merge proposals: entry or exclusion written, proposal removed, decision recorded, render."""
    with root.lock("ingest review approve"):
        recover(root)
        proposals = _load_all(root, ids)
        for proposal in proposals:  # refuse the whole batch before writing anything
            if proposal.kind != "exclude":
                _approved_entry(root, proposal, reviewer)
        check_render_target(root)
        decisions, journals = [], []
        for proposal in proposals:
            if proposal.kind == "exclude":
                assert proposal.exclusion is not None
                exclusion = proposal.exclusion.model_copy(
                    update={
                        "provenance": Provenance(
                            source="extracted", by=reviewer, at=_now(), run_id=proposal.provenance.run_id
                        )
                    }
                )
                decision = _decision(
                    proposal, "approved", reviewer=reviewer, reason=exclusion.reason, entry_id=None
                )
                journals.append(_commit(root, decision, exclusion=exclusion))
            else:
                entry = _approved_entry(root, proposal, reviewer)
                decision = _decision(proposal, "approved", reviewer=reviewer, reason=None, entry_id=entry.id)
                journals.append(_commit(root, decision, entry=entry))
            decisions.append(decision)
        _finish(root, journals)
        return decisions


_VERSION_RE = re.compile(r"v(\d+)$")


def _broken_decision(root: CatalogRoot, path: Path, *, reviewer: str | None, reason: str) -> Decision:
    """The rejection of a proposal that does not load: what can still be read of it (id, arXiv id, title)."""
    record = read_record(path)
    data = record.data if isinstance(record.data, dict) else {}
    raw_kind = data.get("kind")
    kind: Literal["new", "update", "exclude"] = "update" if path.stem.startswith("update-") else "new"
    if raw_kind in ("new", "update", "exclude"):
        kind = raw_kind
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        found = _VERSION_RE.search(path.stem)
        version = int(found.group(1)) if found else None
    title = data.get("title")
    target = data.get("target")
    return Decision(
        id=path.stem,
        action="rejected",
        kind=kind,
        entry_id=target if isinstance(target, str) and root.entry_path(target).exists() else None,
        arxiv_id=raw_arxiv_id(record),
        version=version,
        title=str(title) if isinstance(title, str | int | float) and title else None,
        reason=reason,
        reviewer=reviewer,
        at=_now(),
    )


def reject(root: CatalogRoot, ids: list[str], *, reason: str, reviewer: str | None = None) -> list[Decision]:
    """Record the rejections; the papers are not proposed again unless a newer arXiv version appears.

    A broken proposal (bad YAML, a value outside the taxonomy) can be rejected too: its decision records
    what can still be read of it, and the file is removed."""
    if not reason.strip():
        raise UsageError("a rejection needs a reason", hint="pass --reason TEXT")
    with root.lock("ingest review reject"):
        recover(root)
        decisions = []
        for proposal_id in ids:
            path = root.proposal_path(proposal_id)
            if not path.exists():
                raise UsageError(
                    f"no proposal {proposal_id!r} in {root.queue_dir.name}/", hint="see `ingest review list`"
                )
            try:
                proposal = load_proposal(path, root.taxonomy)
            except CatalogError:
                decisions.append(_broken_decision(root, path, reviewer=reviewer, reason=reason))
            else:
                decision = _decision(
                    proposal, "rejected", reviewer=reviewer, reason=reason, entry_id=proposal.target
                )
                decisions.append(decision)
        journals = [_commit(root, decision) for decision in decisions]
        _finish(root, journals, render=False)  # a rejection changes no entry: nothing to re-render
        return decisions


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
