"""propose: an extraction becomes a file in review_queue/ (new, update or exclude), never twice for a paper.

Whether a paper is already known is decided by the one index, catalog.known.KnownPapers (queue, entries,
decisions, exclusions). A rejected paper comes back only with a newer arXiv version, marked `resubmission_of`
the rejected proposal.

An `update` only fills what the catalog does not know yet (an `unknown` axis or verdict, a missing detail) and
adds what is new (a code link; a newer arXiv version, as the `version` of the entry's arXiv link): a value a
curator set is never replaced by a proposal; the reviewer changes it with `review edit` if the paper says
otherwise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ingest.catalog.known import KnownPapers, title_key
from ingest.catalog.store import CatalogRoot
from ingest.models import (
    ARXIV_ID_RE,
    Candidate,
    Entry,
    Exclusion,
    Extraction,
    Flag,
    Proposal,
    ProposalProvenance,
    Scope,
    slugify,
)
from ingest.review.changes import apply_changes as apply_changes
from ingest.review.changes import update_changes


def proposal_id(kind: str, name: str, paper: str, version: int | None, taken: set[str]) -> str:
    """A readable, stable slug: the same paper and version always get the same id (suffix on a clash)."""
    ref = slugify(f"{paper}v{version}" if version else paper, max_len=30)
    stem = slugify(name, max_len=40)
    base = f"{stem}-{ref}" if kind == "new" else f"{kind}-{stem}-{ref}"
    base = slugify(base, max_len=76)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _unique_entry_id(wanted: str, taken: set[str], paper: str) -> str:
    if wanted not in taken:
        return wanted
    alt = slugify(f"{wanted}-{paper}", max_len=78)
    n = 2
    while alt in taken:
        alt, n = slugify(f"{wanted}-{paper}-{n}", max_len=78), n + 1
    return alt


def _provenance(extraction: Extraction, run_id: str) -> ProposalProvenance:
    usage = extraction.usage
    return ProposalProvenance(
        run_id=run_id,
        backend=extraction.backend,
        model=extraction.model,
        prompt_hash=extraction.prompt_hash,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        created=datetime.now(UTC),
    )


def _flags(extraction: Extraction, fields: list[str] | None = None) -> list[Flag]:
    """Paper-level flags plus every field's flags (only the changed fields' for an update)."""
    flags: list[Flag] = list(extraction.flags)
    for name, evidence in extraction.entry.evidence.items():
        if fields is None or any(name == f or name.startswith(f + ".") for f in fields):
            flags.extend(evidence.flags)
    if extraction.scope.verdict == "borderline":
        flags.append(Flag.scope_partial)
    return sorted(set(flags), key=lambda f: list(Flag).index(f))


_VERSION_IN_URL = re.compile(r"/(?:abs|pdf)/(?P<id>[^/?#]+?)v(?P<v>\d+)(?:\.pdf)?$")


def _known_version(known: KnownPapers, target: Entry, arxiv_id: str) -> int:
    """The newest version the root has seen: from decisions and from versioned links; 1 when none says."""
    versions = [v for (_, a, v) in known.decided if a == arxiv_id and v]
    for link in target.links:
        m = _VERSION_IN_URL.search(link.url)
        if m and m.group("id") == arxiv_id:
            versions.append(int(m.group("v")))
        if link.arxiv_id == arxiv_id and link.version:
            versions.append(link.version)
    return max(versions, default=1)


def propose(
    root: CatalogRoot,
    extraction: Extraction,
    *,
    run_id: str,
    only: list[str] | None = None,
    known: KnownPapers | None = None,
) -> Proposal | None:
    """Write the extraction's proposal to review_queue/ and return it; None when the paper is known."""
    known = known or KnownPapers.from_root(root)
    paper, version = extraction.paper, extraction.version
    arxiv_id = _arxiv_id(extraction)
    if _held(known, extraction, arxiv_id):
        return None
    target = _target(known, extraction, arxiv_id)
    if target is not None:
        return _propose_update(root, extraction, target, known, run_id=run_id, arxiv_id=arxiv_id, only=only)
    if _rejected(known, extraction, arxiv_id):
        return None
    resubmission_of = known.rejected[arxiv_id].id if arxiv_id and arxiv_id in known.rejected else None
    if extraction.scope.verdict == "out":
        candidate = Candidate(
            arxiv_id=arxiv_id, version=version or 1, title=extraction.entry.title or extraction.entry.name
        )
        return propose_exclusion(
            root,
            candidate,
            extraction.scope,
            run_id=run_id,
            known=known,
            extraction=extraction,
            resubmission_of=resubmission_of,
        )
    entry = extraction.entry.model_copy(
        update={"id": _unique_entry_id(extraction.entry.id, known.taken_entry_ids, slugify(paper))}
    )
    proposal = Proposal(
        id=proposal_id("new", entry.name, paper, version, known.queued_ids),
        kind="new",
        arxiv_id=arxiv_id,
        version=version,
        title=entry.title or entry.name,
        entry=entry,
        scope=extraction.scope,
        confidence=extraction.confidence,
        flags=_flags(extraction),
        resubmission_of=resubmission_of,
        provenance=_provenance(extraction, run_id),
    )
    return _write(root, proposal, known)


def _arxiv_id(extraction: Extraction) -> str | None:
    paper = extraction.paper
    arxiv_id = paper if extraction.entry.arxiv_ids and paper in extraction.entry.arxiv_ids else None
    return arxiv_id or (paper if _looks_arxiv(paper) else None)


def _held(known: KnownPapers, extraction: Extraction, arxiv_id: str | None) -> str | None:
    """Why the paper is held back before anything else is asked (queued, excluded, in a broken entry file)."""
    if arxiv_id and (held := held_before_extraction(known, arxiv_id)):
        return held
    if not arxiv_id and title_key(extraction.entry.title or extraction.entry.name) in known.queued_titles:
        return "a proposal of the same title is already in the review queue"
    broken = known.broken_entry(arxiv_id, extraction.entry.title)
    if broken is not None:
        where = f"entries/{broken}.yaml" if broken else "an entry file"
        return f"{where}, which does not load, names it: mend that file first (`ingest check` shows how)"
    return None


def held_before_extraction(known: KnownPapers, arxiv_id: str) -> str | None:
    """Why a paper named by its arXiv id need not be extracted at all: it waits in the queue, or the catalog
    excluded it (a newer version changes neither). Asked before any download or LLM call."""
    if arxiv_id in known.queued:
        queued = known.queued[arxiv_id]
        return f"already in the review queue as {queued.id}" if queued else "already in the review queue"
    if arxiv_id in known.excluded:
        return f"excluded from the catalog ({known.excluded[arxiv_id].id})"
    return None


def _target(known: KnownPapers, extraction: Extraction, arxiv_id: str | None) -> Entry | None:
    """The catalog entry the paper would update: by arXiv id, else by title."""
    target = known.by_arxiv.get(arxiv_id) if arxiv_id else None
    if target is None and extraction.entry.title:
        target = known.entry_by_title(extraction.entry.title, has_arxiv=arxiv_id is not None)
    return target


def _rejected(known: KnownPapers, extraction: Extraction, arxiv_id: str | None) -> str | None:
    """Why a rejected paper is not proposed again: only a newer arXiv version is (a resubmission)."""
    rejected = known.rejected.get(arxiv_id) if arxiv_id else None
    version = extraction.version
    if rejected is not None and (not version or not rejected.version or version <= rejected.version):
        return f"rejected before ({rejected.id}); only a newer arXiv version is proposed again"
    return None


def why_not_proposed(known: KnownPapers, extraction: Extraction) -> str:
    """Why `propose` wrote nothing for `extraction` (asked after it returned None), for the user to read."""
    arxiv_id = _arxiv_id(extraction)
    held = _held(known, extraction, arxiv_id)
    if held:
        return held
    target = _target(known, extraction, arxiv_id)
    if target is not None:
        if arxiv_id and ("update", arxiv_id, extraction.version) in known.decided:
            return f"an update of the entry {target.id} for this version was decided already"
        return f"in the catalog as {target.id}, and the paper adds nothing it lacks"
    return _rejected(known, extraction, arxiv_id) or "nothing to propose"


def _propose_update(
    root: CatalogRoot,
    extraction: Extraction,
    target: Entry,
    known: KnownPapers,
    *,
    run_id: str,
    arxiv_id: str | None,
    only: list[str] | None,
) -> Proposal | None:
    version = extraction.version
    if arxiv_id and ("update", arxiv_id, version) in known.decided:
        return None
    changes = update_changes(
        target,
        extraction.entry,
        root.taxonomy,
        version=version,
        known_version=_known_version(known, target, arxiv_id) if arxiv_id else None,
        arxiv_id=arxiv_id,
        only=only,
    )
    if not changes:
        return None
    fields = [c.field for c in changes]
    updated = apply_changes(target, changes)
    evidence = {
        k: v
        for k, v in extraction.entry.evidence.items()
        if any(k == f or k.startswith(f + ".") for f in fields)
    }
    updated = updated.model_copy(update={"evidence": {**target.evidence, **evidence}})
    confidences = [v.confidence for v in evidence.values()]
    proposal = Proposal(
        id=proposal_id("update", target.id, arxiv_id or extraction.paper, version, known.queued_ids),
        kind="update",
        arxiv_id=arxiv_id,
        version=version,
        title=target.title or target.name,
        entry=updated,
        target=target.id,
        changes=changes,
        scope=extraction.scope,
        confidence=min(confidences) if confidences else extraction.confidence,
        flags=_flags(extraction, fields),
        provenance=_provenance(extraction, run_id),
    )
    return _write(root, proposal, known)


def propose_exclusion(
    root: CatalogRoot,
    candidate: Candidate,
    scope: Scope,
    *,
    run_id: str,
    known: KnownPapers | None = None,
    extraction: Extraction | None = None,
    resubmission_of: str | None = None,
    backend: str | None = None,
    model: str | None = None,
) -> Proposal | None:
    """An `exclude` proposal for a paper judged out of scope, with the reason; None when it is known."""
    known = known or KnownPapers.from_root(root)
    arxiv_id = candidate.arxiv_id
    if arxiv_id and (arxiv_id in known.queued or arxiv_id in known.excluded or arxiv_id in known.by_arxiv):
        return None
    if resubmission_of is None and arxiv_id and arxiv_id in known.rejected:
        rejected = known.rejected[arxiv_id]
        if not rejected.version or candidate.version <= rejected.version:
            return None
        resubmission_of = rejected.id
    if not arxiv_id and title_key(candidate.title) in known.queued_titles | known.excluded_titles:
        return None
    if known.in_broken_entry(arxiv_id, candidate.title):
        return None
    paper = candidate.key
    exclusion = Exclusion(
        id=slugify(f"{candidate.title[:50]}-{paper}", max_len=78),
        title=candidate.title,
        arxiv_id=arxiv_id,
        version=candidate.version if arxiv_id else None,
        reason=scope.reason,
        url=candidate.abs_url or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
        date=candidate.published.strftime("%Y.%m") if candidate.published else None,
    )
    provenance = (
        _provenance(extraction, run_id)
        if extraction is not None
        else ProposalProvenance(run_id=run_id, backend=backend, model=model, created=datetime.now(UTC))
    )
    proposal = Proposal(
        id=proposal_id(
            "exclude", candidate.title[:40], paper, candidate.version if arxiv_id else None, known.queued_ids
        ),
        kind="exclude",
        arxiv_id=arxiv_id,
        version=candidate.version if arxiv_id else None,
        title=candidate.title,
        exclusion=exclusion,
        scope=scope,
        confidence=scope.confidence,
        resubmission_of=resubmission_of,
        provenance=provenance,
    )
    return _write(root, proposal, known)


def _write(root: CatalogRoot, proposal: Proposal, known: KnownPapers) -> Proposal:
    root.write_proposal(proposal)
    known.queue_proposal(proposal)  # keep the index current: a batch never proposes a paper or id twice
    return proposal


def _looks_arxiv(ref: str) -> bool:
    return bool(ARXIV_ID_RE.match(ref))


def propose_many(
    root: CatalogRoot, extractions: list[Extraction], *, run_id: str, known: KnownPapers | None = None
) -> tuple[list[Proposal], list[tuple[str, str]]]:
    """Propose each extraction (as `ingest add` does): the proposals, and (paper, why) for each paper already
    known and so left out."""
    known = known or KnownPapers.from_root(root)
    proposals: list[Proposal] = []
    skipped: list[tuple[str, str]] = []
    for extraction in extractions:
        proposal = propose(root, extraction, run_id=run_id, known=known)
        if proposal is None:
            skipped.append((extraction.paper, why_not_proposed(known, extraction)))
        else:
            proposals.append(proposal)
    return proposals, skipped


def adhoc_run_id(prefix: str) -> str:
    """A run id for proposals made outside the weekly run, e.g. add-20261125T133000Z."""
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
