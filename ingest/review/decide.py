"""review: approve and reject proposals; each decision commits through the journal of review/commit.py (a
crash leaves the old state or the new), and `edit` (review/edit.py) changes a proposal before that.

The names of the whole review stage stay importable from here (approve, reject, edit, recover, JOURNAL, ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ingest.catalog.merge import reviewed_fields
from ingest.catalog.queue import load_proposal, raw_arxiv_id
from ingest.catalog.records import load_catalog, read_record
from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, Interrupted, UsageError
from ingest.models import Decision, Entry, Proposal, Provenance
from ingest.review.changes import apply_changes
from ingest.review.commit import JOURNAL as JOURNAL
from ingest.review.commit import check_render_target, check_writable, commit, finish
from ingest.review.commit import journal_dir as journal_dir
from ingest.review.commit import pending as pending
from ingest.review.commit import recover as recover
from ingest.review.commit import render_catalog as render_catalog
from ingest.review.commit import try_recover as try_recover
from ingest.review.edit import EDITS as EDITS
from ingest.review.edit import edit as edit
from ingest.review.edit import edit_copy_path as edit_copy_path


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
        kinds = {p.kind == "exclude" for p in proposals}
        check_writable(root, entries=False in kinds, exclusions=True in kinds)
        decisions: list[Decision] = []
        journals: list[Path] = []
        try:
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
                    journals.append(commit(root, decision, exclusion=exclusion))
                else:
                    entry = _approved_entry(root, proposal, reviewer)
                    decision = _decision(
                        proposal, "approved", reviewer=reviewer, reason=None, entry_id=entry.id
                    )
                    journals.append(commit(root, decision, entry=entry))
                decisions.append(decision)
            finish(root, journals)
        except KeyboardInterrupt:
            # Ctrl-C: what was committed (the decision it cut short too, once its journal is written) is
            # finished and rendered now, and said; a bare "Aborted!" hid that part of the batch was merged.
            raise interrupted("approve", recover(root), [p.id for p in proposals]) from None
        return decisions


def interrupted(verb: str, done: list[str], asked: list[str]) -> Interrupted:
    """What Ctrl-C left of `review approve|reject IDS`: the decisions made and what is still queued."""
    rest = [pid for pid in asked if pid not in done]
    past = f"{verb}d" if verb.endswith("e") else f"{verb}ed"
    made = f"{past} {len(done)} of {len(asked)}" + (f" ({', '.join(done)})" if done else "")
    if not rest:
        return Interrupted(f"interrupted (Ctrl-C), but every decision was made: {made}")
    return Interrupted(
        f"interrupted (Ctrl-C): {made}; still in the queue: {', '.join(rest)}",
        hint=f"run `ingest review {verb} {' '.join(rest)}` to finish",
    )


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
        check_writable(root, entries=False, exclusions=False)
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
        try:
            journals = [commit(root, decision) for decision in decisions]
            finish(root, journals, render=False)  # a rejection changes no entry: nothing to re-render
        except KeyboardInterrupt:
            raise interrupted("reject", recover(root), [d.id for d in decisions]) from None
        return decisions
