"""add: the `ingest add REF...` use case: resolve each REF, run the chain on it, and propose what it found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.catalog.store import CatalogRoot
from ingest.errors import IngestError
from ingest.jobs.pipeline import PaperOutcome, Pipeline, PipelineOptions, run_usage
from ingest.models import Candidate, Proposal, Usage


@dataclass
class AddResult:
    """The papers that went through the chain, the REFs that could not even be resolved, and the proposals;
    (REF, paper, why) for each paper not extracted because the root holds it already (`held`: queued or
    excluded), and (paper, why) for each extracted paper that added nothing to propose (`known`)."""

    outcomes: list[PaperOutcome]
    bad_refs: list[tuple[str, IngestError]]
    proposals: list[Proposal] = field(default_factory=list)
    held: list[tuple[str, str, str]] = field(default_factory=list)
    known: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> list[PaperOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failures(self) -> list[tuple[str, IngestError]]:
        """(REF or paper, error) of everything that failed, in one list."""
        return self.bad_refs + [(o.candidate.key, o.error) for o in self.outcomes if o.error is not None]

    @property
    def usage(self) -> Usage:
        return run_usage(self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when a REF went through (or the root holds it); else the first failure's code (3 service,
        2 usage, 1 paper)."""
        if self.ok or self.held or not self.failures:
            return 0
        return self.failures[0][1].exit_code


def add(
    root: CatalogRoot,
    refs: list[str],
    options: PipelineOptions | None = None,
    *,
    on_done: Callable[[PaperOutcome], None] | None = None,
) -> AddResult:
    """Resolve each REF (arXiv id, arXiv URL, local PDF), run the chain on those that resolve, and propose
    each extraction to the review queue (papers already known are left out). Creates the root if missing."""
    from ingest.catalog.known import KnownPapers
    from ingest.paper.discover import parse_ref, resolve_ref
    from ingest.paper.download import keep_local_copy
    from ingest.review.propose import adhoc_run_id, held_before_extraction, propose_many

    # The lock for the whole command, as `ingest run` takes it: a run and an add working at once would both
    # decide a paper is unknown and propose it twice (or one overwrite the other's proposal).
    with root.created_for_command() as made, root.lock("ingest add"):
        pipeline = Pipeline(root, options)
        pipeline.check_backend()  # a bad backend or a missing key is a usage error before any lookup
        known = KnownPapers.from_root(root)
        candidates: list[Candidate] = []
        bad: list[tuple[str, IngestError]] = []
        # A paper waiting in the queue, or excluded, is not extracted again: that would cost a lookup, a
        # download and an LLM call, and propose nothing. (One in the catalog is: it may fill what its entry
        # lacks.) An arXiv REF names its paper before any lookup; a PDF once its first page is read.
        held: dict[str, tuple[str, str]] = {}  # paper -> (the first REF naming it, why)
        for ref in refs:
            try:
                parsed = parse_ref(ref)
                if not isinstance(parsed, Path) and (why := held_before_extraction(known, parsed[0])):
                    held.setdefault(parsed[0], (ref, why))
                    continue
                candidate = resolve_ref(ref, root.config.arxiv)
            except IngestError as exc:
                bad.append((ref, exc))
                continue
            if candidate.arxiv_id and (why := held_before_extraction(known, candidate.arxiv_id)):
                held.setdefault(candidate.key, (ref, why))
            else:
                candidates.append(candidate)
        for candidate in candidates:
            # `review serve` shows each quote on its PDF page, found in the cache by arXiv id: without a
            # copy there, a paper added from a file would show no page at all.
            keep_local_copy(candidate, root.cache_dir)
        result = AddResult(pipeline.process(candidates, on_done=on_done), bad)
        result.held = [(ref, paper, why) for paper, (ref, why) in held.items()]
        extractions = [o.extraction for o in result.ok if o.extraction is not None]
        result.proposals, result.known = propose_many(
            root, extractions, run_id=adhoc_run_id("add"), known=known
        )
        made.failed = not (result.ok or result.held)
        return result
