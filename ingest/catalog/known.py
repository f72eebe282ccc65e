"""known: what the root already holds (queue, entries, decisions, exclusions), so no paper is proposed twice.

Whether a paper is already known is decided by its version-less arXiv id against the queue, the entries, the
decisions and the exclusions (and, for a paper without an id, by its title).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ingest.catalog.records import read_records
from ingest.catalog.store import CatalogRoot
from ingest.models import Decision, Entry, Exclusion, Proposal, slugify
from ingest.review.queue import scan_entries, scan_queue


def norm_title(title: str | None) -> str:
    """A title as compared across the root: slugified, so case and punctuation do not matter."""
    return slugify(title or "", max_len=200)


@dataclass
class Known:
    """What the root already holds, by version-less arXiv id and by title."""

    queued: dict[str, Proposal | None] = field(default_factory=dict)  # arXiv id -> proposal (None: broken)
    queued_ids: set[str] = field(default_factory=set)
    queued_titles: set[str] = field(default_factory=set)
    entries: dict[str, Entry] = field(default_factory=dict)
    by_arxiv: dict[str, Entry] = field(default_factory=dict)
    rejected: dict[str, Decision] = field(default_factory=dict)
    decided: set[tuple[str, str, int | None]] = field(default_factory=set)
    excluded: dict[str, Exclusion] = field(default_factory=dict)
    excluded_titles: set[str] = field(default_factory=set)
    taken_entry_ids: set[str] = field(default_factory=set)
    # Hand-broken entry files: their papers (by the arXiv ids and titles still readable) are never proposed.
    broken_arxiv: set[str] = field(default_factory=set)
    broken_titles: dict[str, bool] = field(default_factory=dict)  # title -> the file names an arXiv id

    @classmethod
    def from_root(cls, root: CatalogRoot) -> Known:
        known = cls()
        queue = scan_queue(root)
        known.queued_ids = {p.stem for p in CatalogRoot.files(root.queue_dir)}
        for proposal in queue.proposals:
            if proposal.arxiv_id:
                known.queued[proposal.arxiv_id] = proposal
            known.queued_titles.add(norm_title(proposal.title))
            if proposal.entry is not None:
                known.taken_entry_ids.add(proposal.entry.id)
        for raw in queue.raw_arxiv_ids:
            known.queued.setdefault(raw, None)  # a broken file still holds its paper
        scan = scan_entries(root)
        scan.require_identified()  # an entry naming no paper could be proposed twice: stop
        known.entries = {e.id: e for e in scan.entries}
        known.taken_entry_ids |= set(known.entries) | {b.path.stem for b in scan.broken}
        for broken in scan.broken:
            known.broken_arxiv |= broken.arxiv_ids
            if broken.title:
                known.broken_titles[norm_title(broken.title)] = bool(broken.arxiv_ids)
        exclusions = [r.validate(Exclusion) for r in read_records(root.exclusions_dir)]
        for entry in known.entries.values():
            for arxiv_id in entry.arxiv_ids:
                known.by_arxiv[arxiv_id] = entry
        for decision in (r.validate(Decision) for r in read_records(root.decisions_dir)):
            if not decision.arxiv_id:
                continue
            known.decided.add((decision.kind, decision.arxiv_id, decision.version))
            if decision.action == "rejected":
                prior = known.rejected.get(decision.arxiv_id)
                if prior is None or (decision.version or 0) >= (prior.version or 0):
                    known.rejected[decision.arxiv_id] = decision
        for exclusion in exclusions:
            if exclusion.arxiv_id:
                known.excluded[exclusion.arxiv_id] = exclusion
            known.excluded_titles.add(norm_title(exclusion.title))
        return known

    def in_broken_entry(self, arxiv_id: str | None, title: str | None, threshold: float) -> bool:
        """Whether a broken entry file holds this paper: by arXiv id, or by title as entry_by_title does."""
        if arxiv_id and arxiv_id in self.broken_arxiv:
            return True
        wanted = norm_title(title)
        return bool(wanted) and any(
            fuzz.ratio(wanted, t) >= threshold
            for t, has_id in self.broken_titles.items()
            if not (arxiv_id and has_id)  # another arXiv id is another paper, however alike the titles
        )

    def entry_by_title(self, title: str, threshold: float, *, has_arxiv: bool) -> Entry | None:
        """An entry with (nearly) this title; for a paper with an arXiv id, only entries listed without one
        (an entry with another arXiv id is another paper, however alike the titles)."""
        wanted = norm_title(title)
        for entry in self.entries.values():
            if has_arxiv and entry.arxiv_ids:
                continue
            if entry.title and fuzz.ratio(wanted, norm_title(entry.title)) >= threshold:
                return entry
        return None
