"""The one known-papers index: what the root already holds, so no paper is discovered or proposed twice.

A catalog snapshot reads the entries, the queue, the decisions and the exclusions once per command (fast
loader); the index is built from it once and answers discover's dedupe, propose and the run alike. Of the
entries it reads only what the index needs (id, title, arXiv ids and versions), kept between commands for
unchanged files (knowncache.py), so a no-op run never parses or validates them. Entry models are read when
asked for: one file for `entry`, `by_arxiv` and `entry_by_title` (propose), all of them for `entries`.

A paper is known by its version-less arXiv id (entries, queue, decisions, exclusions), or, for a paper without
one in the catalog, by its title: one normalisation (`title_key`) and one fuzzy rule (token-sorted ratio at
the root's `arxiv.title_match_threshold`), matched with rapidfuzz over keys built once, so 300 candidates
against 20,000 entries cost one C scan each rather than 20,000 Python comparisons.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.catalog.knowncache import EntryIndex, fuzzy_key, read_entry_index
from ingest.catalog.knowncache import title_key as title_key  # the one normalisation, where callers look
from ingest.catalog.queue import Queue, scan_queue
from ingest.catalog.records import read_records
from ingest.catalog.store import CatalogRoot

if TYPE_CHECKING:  # the models load when a record is validated: a no-op run may validate none
    from ingest.models import Candidate, Decision, Entry, Exclusion, Proposal

DEFAULT_THRESHOLD = 92.0


class TitleIndex:
    """Titles (pre-normalised) with what each names; `match` is the one fuzzy rule."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.refs: list[str] = []
        self._lengths: list[int] = []  # of `keys`, in ascending order once sorted
        self._sorted = True

    def add(self, title: str | None, ref: str) -> None:
        self.add_key(fuzzy_key(title), ref)

    def extend(self, keys: list[str], refs: list[str]) -> None:
        """Titles already normalised by fuzzy_key (as the entry facts keep them), with what each names."""
        kept = [i for i, key in enumerate(keys) if key]
        if kept:
            self.keys += [keys[i] for i in kept]
            self.refs += [refs[i] for i in kept]
            self._sorted = False

    def add_key(self, key: str, ref: str) -> None:
        if key:
            self.keys.append(key)
            self.refs.append(ref)
            self._sorted = False

    def _sort(self) -> None:
        order = sorted(range(len(self.keys)), key=lambda i: len(self.keys[i]))
        self.keys = [self.keys[i] for i in order]
        self.refs = [self.refs[i] for i in order]
        self._lengths = [len(k) for k in self.keys]
        self._sorted = True

    def match(self, title: str | None, threshold: float) -> str | None:
        """What the closest title at or above `threshold` names, or None."""
        key = fuzzy_key(title)
        if not key or not self.keys:
            return None
        if not self._sorted:
            self._sort()
        # ratio = 100 * (1 - distance / (len1 + len2)) and distance >= |len1 - len2|: only titles of a
        # near length can reach the threshold, and the keys are sorted by length, so one slice holds them.
        slack = max(0.0, 1 - threshold / 100)
        low = len(key) * (1 - slack) / (1 + slack)
        high = len(key) * (1 + slack) / (1 - slack) if slack < 1 else float("inf")
        lo = bisect.bisect_left(self._lengths, math.floor(low))
        hi = bisect.bisect_right(self._lengths, math.ceil(high))
        from rapidfuzz import fuzz, process  # here: a run with no candidate never matches a title

        found = process.extractOne(key, self.keys[lo:hi], scorer=fuzz.ratio, score_cutoff=threshold)
        return self.refs[lo + found[2]] if found else None


@dataclass
class Snapshot:
    """The root's records, each folder read once: entries (valid and broken), queue, decisions, exclusions."""

    entries: EntryIndex
    queue: Queue
    decisions: list[Decision]
    exclusions: list[Exclusion]

    @classmethod
    def read(cls, root: CatalogRoot) -> Snapshot:
        decision_records = read_records(root.decisions_dir, root.cache_dir)
        exclusion_records = read_records(root.exclusions_dir, root.cache_dir)
        decisions: list[Decision] = []
        exclusions: list[Exclusion] = []
        if decision_records or exclusion_records:
            from ingest.models import Decision, Exclusion

            decisions = [r.validate(Decision) for r in decision_records]
            exclusions = [r.validate(Exclusion) for r in exclusion_records]
        entries = read_entry_index(root)
        return cls(entries=entries, queue=scan_queue(root), decisions=decisions, exclusions=exclusions)


@dataclass
class Known:
    """Where the catalog already has a paper: 'entry', 'queue', 'exclusion' or 'rejected', and its version."""

    where: str
    version: int | None = None
    entry_id: str | None = None


class _ByArxiv(Mapping[str, "Entry"]):
    """KnownPapers.by_arxiv: arXiv id -> entry, each entry read only when looked up."""

    def __init__(self, known: KnownPapers) -> None:
        self.known = known

    def __getitem__(self, arxiv_id: str) -> Entry:
        entry = self.known.entry(self.known.arxiv_entries[arxiv_id])
        if entry is None:  # changed since the index was read, and no longer valid
            raise KeyError(arxiv_id)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self.known.arxiv_entries)

    def __len__(self) -> int:
        return len(self.known.arxiv_entries)


_RANK = {"entry": 3, "queue": 2, "exclusion": 1, "rejected": 0}


@dataclass
class KnownPapers:
    """Every paper the root knows, by version-less arXiv id and by title."""

    threshold: float = DEFAULT_THRESHOLD
    ids: dict[str, Known] = field(default_factory=dict)  # arXiv id -> where it is (discover)
    queued: dict[str, Proposal | None] = field(default_factory=dict)  # arXiv id -> proposal (None: broken)
    queued_ids: set[str] = field(default_factory=set)
    queued_titles: set[str] = field(default_factory=set)
    arxiv_entries: dict[str, str] = field(default_factory=dict)  # arXiv id -> the entry id naming it
    source: EntryIndex | None = field(default=None, repr=False)  # the entries, read as models on demand
    rejected: dict[str, Decision] = field(default_factory=dict)
    decided: set[tuple[str, str, int | None]] = field(default_factory=set)
    excluded: dict[str, Exclusion] = field(default_factory=dict)
    excluded_titles: set[str] = field(default_factory=set)
    taken_entry_ids: set[str] = field(default_factory=set)
    broken_arxiv: set[str] = field(default_factory=set)  # ids named by hand-broken entry files
    # Titles by entry id: every entry's, and those of entries (or broken files) that name no arXiv id.
    titles: TitleIndex = field(default_factory=TitleIndex, repr=False)
    idless_titles: TitleIndex = field(default_factory=TitleIndex, repr=False)
    broken_titles: TitleIndex = field(default_factory=TitleIndex, repr=False)
    idless_broken_titles: TitleIndex = field(default_factory=TitleIndex, repr=False)
    _entries: dict[str, Entry] | None = field(default=None, init=False, repr=False)
    _one: dict[str, Entry | None] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_root(cls, root: CatalogRoot, snapshot: Snapshot | None = None) -> KnownPapers:
        """The index of `root` (from `snapshot` when the command has read one already). Raises CatalogError
        for a broken entry that names no paper: it could be proposed again."""
        snapshot = snapshot or Snapshot.read(root)
        snapshot.entries.require_identified()
        return cls.from_snapshot(snapshot, root.config.arxiv.title_match_threshold)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, threshold: float = DEFAULT_THRESHOLD) -> KnownPapers:
        known = cls(threshold=threshold)
        approved: dict[str, int] = {}
        for decision in snapshot.decisions:
            if not decision.arxiv_id:
                continue
            known.decided.add((decision.kind, decision.arxiv_id, decision.version))
            if decision.action == "approved" and decision.version:
                approved[decision.arxiv_id] = max(approved.get(decision.arxiv_id, 0), decision.version)
            elif decision.action == "rejected":
                known.add(decision.arxiv_id, Known("rejected", decision.version))
                prior = known.rejected.get(decision.arxiv_id)
                if prior is None or (decision.version or 0) >= (prior.version or 0):
                    known.rejected[decision.arxiv_id] = decision
        for exclusion in snapshot.exclusions:
            if exclusion.arxiv_id:
                known.excluded[exclusion.arxiv_id] = exclusion
                known.add(exclusion.arxiv_id, Known("exclusion", exclusion.version))
            known.excluded_titles.add(title_key(exclusion.title))
        queue = snapshot.queue
        known.queued_ids = {p.stem for p in queue.broken} | {p.id for p in queue.proposals}
        for proposal in queue.proposals:
            known.queue_proposal(proposal)
        for raw in queue.raw_arxiv_ids:  # a broken file still holds its paper
            known.queued.setdefault(raw, None)
            known.add(raw, Known("queue"))
        for broken in snapshot.entries.broken:
            known.taken_entry_ids.add(broken.path.stem)
            known.broken_arxiv |= broken.arxiv_ids
            for arxiv_id in broken.arxiv_ids:  # no version: a broken entry is never offered an update
                known.add(arxiv_id, Known("entry", None, broken.path.stem))
            known.broken_titles.add(broken.title, broken.path.stem)
            if not broken.arxiv_ids:
                known.idless_broken_titles.add(broken.title, broken.path.stem)
        known.source = snapshot.entries
        facts = snapshot.entries.facts
        known.taken_entry_ids.update(f[0] for f in facts)
        known.titles.extend([f[1] for f in facts], [f[0] for f in facts])
        idless = [f for f in facts if not f[2]]
        known.idless_titles.extend([f[1] for f in idless], [f[0] for f in idless])
        ids, arxiv_entries = known.ids, known.arxiv_entries
        for entry_id, _, links in facts:
            for arxiv_id, named in links:
                arxiv_entries[arxiv_id] = entry_id
                version = max(named or 0, approved.get(arxiv_id, 0)) or None
                if arxiv_id in ids:
                    known.add(arxiv_id, Known("entry", version, entry_id))
                else:  # the common case, once per entry at 20,000: nothing to merge with
                    ids[arxiv_id] = Known("entry", version, entry_id)
        return known

    @property
    def entries(self) -> dict[str, Entry]:
        """The valid entries by id, read as models at the first call (a no-op run never asks)."""
        if self._entries is None:
            self._entries = {e.id: e for e in (self.source.entries if self.source else [])}
        return self._entries

    def entry(self, entry_id: str) -> Entry | None:
        """One valid entry by id, its file read on demand (once) when the models are not read already."""
        if self._entries is not None or (self.source is not None and self.source.loaded is not None):
            return self.entries.get(entry_id)
        if entry_id not in self._one:
            self._one[entry_id] = self.source.entry(entry_id) if self.source else None
        return self._one[entry_id]

    @property
    def by_arxiv(self) -> Mapping[str, Entry]:
        """The entry naming each arXiv id (the last in file order, as the index), read when asked for."""
        return _ByArxiv(self)

    # -- keeping it current within a command ----------------------------------------------------------------
    def add(self, arxiv_id: str, known: Known) -> None:
        # An entry outranks a queued proposal, which outranks a decision: the catalog is what counts. The
        # version is the highest any record names, so an update queued or rejected is not proposed again.
        old = self.ids.get(arxiv_id)
        versions = [v for v in (known.version, old.version if old else None) if v is not None]
        if old is None or _RANK[known.where] > _RANK[old.where]:
            self.ids[arxiv_id] = known
        self.ids[arxiv_id].version = max(versions) if versions else None

    def queue_proposal(self, proposal: Proposal) -> None:
        """A proposal now in the queue (read, or just written), so a batch never proposes a paper twice."""
        self.queued_ids.add(proposal.id)
        self.queued_titles.add(title_key(proposal.title))
        if proposal.arxiv_id:
            self.queued[proposal.arxiv_id] = proposal
            self.add(proposal.arxiv_id, Known("queue", proposal.version, proposal.target))
        if proposal.entry is not None:
            self.taken_entry_ids.add(proposal.entry.id)

    # -- questions ------------------------------------------------------------------------------------------
    def entry_by_title(self, title: str | None, *, has_arxiv: bool) -> Entry | None:
        """An entry with (nearly) this title; for a paper with an arXiv id, only entries listed without one
        (an entry with another arXiv id is another paper, however alike the titles)."""
        found = (self.idless_titles if has_arxiv else self.titles).match(title, self.threshold)
        return self.entry(found) if found else None

    def in_broken_entry(self, arxiv_id: str | None, title: str | None) -> bool:
        """Whether a hand-broken entry file holds this paper: by arXiv id, or by title (as entry_by_title)."""
        return self.broken_entry(arxiv_id, title) is not None

    def broken_entry(self, arxiv_id: str | None, title: str | None) -> str | None:
        """The file stem of the hand-broken entry that holds this paper (as in_broken_entry), or None."""
        if arxiv_id and arxiv_id in self.broken_arxiv:
            hit = self.ids.get(arxiv_id)
            return (hit.entry_id if hit is not None else None) or ""
        index = self.idless_broken_titles if arxiv_id else self.broken_titles
        return index.match(title, self.threshold)

    def classify(self, candidate: Candidate) -> tuple[str, Known | None]:
        """'new', 'update' (a newer version of an entry) or 'known', with what matched (discover's dedupe)."""
        hit = self.ids.get(candidate.arxiv_id or "")
        if hit is None:
            title = candidate.title
            found = self.idless_titles.match(title, self.threshold) or self.idless_broken_titles.match(
                title, self.threshold
            )
            if found:
                return "known", Known("entry", None, found)
            return "new", None
        newer = hit.version is not None and candidate.version > hit.version
        if hit.where == "entry" and newer:
            return "update", hit
        if hit.where == "rejected" and newer:
            return "new", hit  # a rejected paper comes back only with a new version
        return "known", hit
