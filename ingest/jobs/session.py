"""A run's session: journal, report and queue around the per-paper Pipeline; run and backfill share it.

Also the pieces every job needs once: a run id, and the date window of a run or a fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ingest.catalog.known import KnownPapers
from ingest.catalog.store import CatalogRoot
from ingest.errors import (
    EndpointAuthError,
    EndpointError,
    EndpointUnreachable,
    IngestError,
    PaperError,
    ServiceError,
    UsageError,
)
from ingest.jobs import health
from ingest.jobs.journal import JOURNAL_SUFFIX, PaperDone, RunJournal, save_journal
from ingest.jobs.pipeline import EntriesRead, PaperOutcome, Pipeline
from ingest.jobs.report import FailedItem, ProposedItem, RunReport, ScreenedOut, write_report
from ingest.models import ARXIV_ID_RE, Candidate, Failure, Proposal
from ingest.paper.window import window_start

Progress = Callable[[str, str], None]


def new_run_id(now: datetime, runs_dir: Path | None = None, prefix: str = "") -> str:
    """The run's id: its start to the second, with -2, -3, ... when runs/ already has a run of that second
    (two quick runs must not share one report)."""
    base = f"{prefix}{now:%Y%m%dT%H%M%SZ}"
    run_id, n = base, 1
    while runs_dir is not None and any(runs_dir.glob(f"{run_id}.*")):
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def window(root: CatalogRoot, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The date window of a run or a fetch, computed here only: --since/--until, else the last watermark less
    the overlap (paper/window.py; else the config's lookback) to now. An empty window is a UsageError."""
    until = (until or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    if since is None:
        arxiv = root.config.arxiv
        watermark = root.read_state().watermark
        since = window_start(
            watermark, until, overlap_days=arxiv.overlap_days, lookback_days=arxiv.lookback_days
        )
    since = since.astimezone(UTC)
    if since > until:
        raise UsageError(
            f"the window is empty: {since:%Y-%m-%d} is after {until:%Y-%m-%d}",
            hint="give an earlier --since or a later --until",
        )
    return since, until


def new_report(
    pipeline: Pipeline,
    run_id: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RunReport:
    """A run's report, naming the backend and model the pipeline will use (without building it)."""
    return RunReport(
        run_id=run_id,
        started=now,
        since=since,
        until=until,
        backend=pipeline.backend_name,
        model=pipeline.model,
        min_confidence=pipeline.root.config.check.min_confidence,
    )


class Session:
    """One run's (or backfill's) state while it works; every change to the journal is saved at once.

    It composes a Pipeline (the per-paper chain) with the journal, the report and the review queue."""

    def __init__(
        self,
        pipeline: Pipeline,
        journal: RunJournal,
        path: Path,
        progress: Progress | None = None,
        *,
        only: list[str] | None = None,
        known: KnownPapers | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.root = root = pipeline.root
        self.journal = journal
        self.path = path
        self.progress = progress or (lambda stage, item: None)
        read_at = time.time_ns()
        self.known = known or KnownPapers.from_root(root)  # `known`: the index of a snapshot read already
        # The few-shot pool, when its cache is stale, is built from these entries: the catalog is read once.
        pipeline.entries_read = EntriesRead(lambda: self.known.entries.values(), read_at)
        self.only = only  # backfill: propose changes to these fields only
        self._lock = threading.RLock()  # on_done proposes and marks under it; mark takes it again

    @property
    def report(self) -> RunReport:
        return self.journal.report

    def save(self) -> None:
        save_journal(self.path, self.journal)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            seconds = self.report.stage_seconds.get(name, 0.0) + time.monotonic() - start
            self.report.stage_seconds[name] = round(seconds, 3)

    def mark(self, paper: str, done: PaperDone) -> None:
        with self._lock:
            self.journal.done[paper] = done
            self.save()

    # -- stages ---------------------------------------------------------------------------------------------
    def discover(self, max_results: int | None) -> None:
        from ingest.paper.discover import discover, lookup

        config = self.root.config.arxiv
        result = discover(
            config,
            known=self.known,
            since=self.report.since,
            until=self.report.until,
            max_results=max_results,
        )
        candidates = result.candidates + result.updates
        seen = {c.key for c in candidates}
        retry = [p for p in self.root.read_state().failures if p not in seen and p not in self.known.queued]
        retry_ids = [p for p in retry if is_arxiv(p)]
        retried = lookup(config, retry_ids) if retry_ids else []
        self.report.found = result.total_seen
        self.report.queries = result.per_query
        self.report.version_checked = result.version_asked
        self.report.watermark, self.report.capped = result.watermark, result.capped
        self.report.skipped_known = result.skipped_known
        self.report.updates = len(result.updates)
        self.report.retried = len(retried)
        self.journal.candidates = candidates + retried
        self.report.candidates = len(self.journal.candidates)
        self.save()
        self.progress("discover", f"{self.report.found} found, {len(self.journal.candidates)} to look at")

    def screen(self) -> list[Candidate]:
        """Judge each new candidate's scope from its abstract; the backend is built only if one needs it."""
        if not self.journal.candidates:
            return []  # nothing found: the screening rules and the extractor's modules are not even imported
        from ingest.extract.screen import goes_on, screen
        from ingest.review.propose import propose_exclusion

        keep = []
        for candidate in self.journal.candidates or []:
            key = candidate.key
            if key in self.journal.done:
                continue
            if candidate.status == "update":
                keep.append(candidate)  # already in the catalog: its scope was judged when it was added
                continue
            scope = self.journal.scopes.get(key)
            if scope is None:
                scope = screen(candidate, self.pipeline.backend, self.root.taxonomy)
                self.report.usage = self.report.usage + scope.usage  # screening is paid for too
                self.journal.scopes[key] = scope
                self.save()
            if goes_on(scope):
                keep.append(candidate)
                continue
            self.report.screened_out.append(
                ScreenedOut(paper=key, title=candidate.title, reason=scope.reason)
            )
            proposal = propose_exclusion(
                self.root,
                candidate,
                scope,
                run_id=self.report.run_id,
                known=self.known,
                backend=self.report.backend,
                model=self.report.model,
            )
            self._proposed(candidate, proposal, outcome="screened-out")
            self.progress("screen", f"{key} out: {scope.reason}")
        return keep

    def _proposed(
        self, candidate: Candidate, proposal: Proposal | None, *, outcome: str = "proposed"
    ) -> None:
        if proposal is not None:
            self.report.proposed.append(
                ProposedItem(
                    id=proposal.id,
                    kind=proposal.kind,
                    paper=candidate.key,
                    title=proposal.title,
                    confidence=proposal.confidence,
                    flags=[str(f) for f in proposal.flags],
                )
            )
        elif outcome == "proposed":
            self.report.already_known.append(candidate.key)
        self.mark(
            candidate.key,
            PaperDone(outcome=outcome if proposal else "known", proposal=proposal.id if proposal else None),
        )

    def download(self, candidates: list[Candidate]) -> list[Candidate]:
        """Every candidate's PDF into the cache, in parallel; a failed download is recorded, not extracted."""

        def ok(candidate: Candidate) -> None:
            with self._lock:
                if candidate.key not in self.journal.downloaded:
                    self.journal.downloaded.append(candidate.key)
                self.save()
            self.progress("download", candidate.key)

        def failed(candidate: Candidate, error: PaperError) -> None:
            self.on_done(PaperOutcome(candidate, error=error))

        return self.pipeline.download(candidates, ok, failed)

    def on_done(self, outcome: PaperOutcome) -> None:
        """One paper finished download → score: propose it, or record its failure. Called once per paper."""
        candidate = outcome.candidate
        with self._lock:
            if candidate.key in self.journal.done:
                return
        extraction, error = outcome.extraction, outcome.error
        if extraction is not None:
            from ingest.review.propose import propose  # here: a run with nothing found never proposes

            self.report.extracted += 1
            self.report.usage = self.report.usage + extraction.usage
            with self._lock:
                proposal = propose(
                    self.root, extraction, run_id=self.report.run_id, known=self.known, only=self.only
                )
            self._proposed(candidate, proposal)
            self.progress("extract", f"{candidate.key} -> {proposal.id if proposal else 'nothing new'}")
        elif stops_run(error):
            # Not the paper's fault: left undone, so the resumed (or next) run tries it again.
            self.progress("extract", f"{candidate.key}: not done, {error}")
        else:
            stage = error.stage if error is not None else "extract"
            reason = (error.reason if error is not None else "") or str(error)
            self.report.failed.append(FailedItem(paper=candidate.key, stage=stage, reason=reason))
            self.mark(candidate.key, PaperDone(outcome="failed", stage=stage, reason=reason))
            self.progress("extract", f"{candidate.key} failed ({stage}): {reason}")

    def work(self, candidates: list[Candidate]) -> None:
        """The download stage, then the extract stage of those that downloaded (run and backfill alike)."""
        if candidates:
            # The reader processes' server and the backend start now, so their start overlaps the downloads.
            self.pipeline.warm_up(len(candidates))
            try:
                with self.stage("download"):
                    candidates = self.download(candidates)
                if candidates:
                    with self.stage("extract"):
                        self.process(candidates)
            finally:
                self.pipeline.settle()

    def process(self, candidates: list[Candidate]) -> None:
        outcomes = self.pipeline.process(candidates, on_done=self.on_done)
        for outcome in outcomes:  # on_done is idempotent: this catches any paper it was not called for
            self.on_done(outcome)
        down = next((o.error for o in outcomes if stops_run(o.error)), None)
        if down is not None:  # the run is not complete: no failure recorded, the watermark stays
            raise self.endpoint_down(down)

    def endpoint_down(self, error: Exception) -> IngestError:
        """Stop the run for an LLM endpoint that is down or refuses the key: the papers not done wait.

        Exit 3 for an endpoint that did not answer, 2 for one that refused the request (the key, its rights or
        the URL are wrong): either way nothing is recorded as failed and the watermark stays."""
        left = [c.key for c in self.journal.candidates or [] if c.key not in self.journal.done]
        resumable = self.path.name.endswith(JOURNAL_SUFFIX)
        if not self.journal.done or not resumable:
            self.path.unlink(missing_ok=True)  # nothing to resume: leave the root as it was
            after = "the next run tries them again"
        else:
            self.save()
            after = "the next `ingest run` resumes this run"
        if isinstance(error, EndpointAuthError):
            return UsageError(
                f"{error.reason}; {len(left)} paper(s) left undone",
                hint=f"{error.hint or 'check OPENAI_API_KEY'}; {after}",
            )
        endpoint = error.endpoint if isinstance(error, EndpointUnreachable) else "(see OPENAI_BASE_URL)"
        return ServiceError(
            f"the LLM endpoint {endpoint} could not be reached; {len(left)} paper(s) left undone",
            hint=f"check OPENAI_BASE_URL and that the server runs; {after}",
        )

    def finish(self) -> None:
        state = self.root.read_state()
        failures = dict(state.failures)
        now = datetime.now(UTC)
        for paper, done in self.journal.done.items():
            if done.outcome == "failed":
                prior = failures.get(paper)
                failures[paper] = Failure(
                    paper=paper,
                    stage=done.stage or "extract",
                    reason=done.reason or "",
                    at=now,
                    attempts=(prior.attempts + 1) if prior else 1,
                )
            else:
                failures.pop(paper, None)
        self.report.health = health.warnings(self.report, state, self.root.config.arxiv)
        self.report.committed = health.worth_committing(self.report, state)
        self.report.finished = now
        self.report.downloaded = len(self.journal.downloaded)
        if self.report.committed:  # else: nothing a workflow would commit (health.py)
            watermark = self.report.watermark or self.report.until
            history = health.record(self.report, state)
            update = {"failures": failures, "watermark": watermark, "last_run": self.report.run_id}
            self.root.write_state(state.model_copy(update={**update, "history": history}))
        write_report(self.root, self.report)
        self.path.unlink(missing_ok=True)


def is_arxiv(paper: str) -> bool:
    return bool(ARXIV_ID_RE.match(paper))


def stops_run(error: Exception | None) -> bool:
    """An error that says the LLM endpoint failed (down, or refusing the key), not that a paper was bad.

    By type: EndpointUnreachable and EndpointAuthError are EndpointErrors (PaperErrors, so a chain keeps
    them); a PDF that cannot be fetched is that paper's failure, retried by the next run."""
    return isinstance(error, EndpointError)
