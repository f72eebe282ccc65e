"""run: the weekly job, locked: discover → screen → download → (read → extract → verify → score) → propose.

Resumable: the run keeps a journal (runjournal.py), and the next `ingest run` finishes a killed run. propose()
never proposes a paper the queue already holds, so a paper proposed just before the kill is not proposed
again.

The watermark in state.yaml moves to the end of the window only when a run completes. A paper that fails a
stage is recorded in state.yaml and retried by the next run.

Faults that are not a paper's (DESIGN.md §7):
- The LLM endpoint unreachable (connections refused after one paper's retries, or calls timing out for two
  papers; the openai backend's circuit breaker then fails every other paper at once, see
  backends/openai.py): the run stops with exit 3 and one line naming the endpoint. No
  failure is recorded and the watermark does not move; the papers are tried again by the next run. When
  nothing was proposed yet the journal is removed too (the root is as it was); otherwise the next run
  resumes this one.
- A hand-broken proposal or entry file: one warning line each (file:line, how to fix it), kept in the report;
  the run goes on, and the paper that file still names (its arXiv id or title, read even from YAML that does
  not parse) is not proposed again. An entry file from which no arXiv id or title can be read stops the run
  (exit 1, file and line) before anything is written: its paper could otherwise be proposed twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ingest.catalog.known import KnownPapers
from ingest.catalog.queue import scan_entries, scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.errors import LockedError, PaperError, ServiceError, UsageError
from ingest.jobs.journal import (
    JOURNAL_SUFFIX,
    PaperDone,
    RunJournal,
    journal_path,
    load_journal,
    pending_journal,
    save_journal,
)
from ingest.jobs.report import FailedItem, ProposedItem, RunReport, ScreenedOut, write_report
from ingest.models import ARXIV_ID_RE, Candidate, Extraction, Failure
from ingest.review.decide import recover
from ingest.review.propose import propose, propose_exclusion

Progress = Callable[[str, str], None]


def broken_file_warnings(root: CatalogRoot) -> list[str]:
    """One line per hand-broken proposal or entry: where, what, how to fix it, and what becomes of its paper.

    Raises CatalogError (exit 1) for a broken entry that names no paper: the run could propose it twice.
    """
    entries = scan_entries(root)
    entries.require_identified()
    lines = []
    for broken in scan_queue(root).broken_files:
        paper = ", ".join(sorted(broken.arxiv_ids)) or None
        lines.append(
            f"{_where(root, broken.path, broken.problem.line)}: {_first_line(broken.problem.detail)}; "
            f"fix it with `ingest review edit {broken.path.stem}` or delete it"
            + (f" (arXiv {paper} is not proposed again meanwhile)" if paper else " (no arXiv id readable)")
        )
    for broken in entries.broken:
        paper = ", ".join(sorted(broken.arxiv_ids)) or repr(broken.title)
        lines.append(
            f"{_where(root, broken.path, broken.problem.line)}: {_first_line(broken.problem.detail)}; "
            f"fix it (`ingest check` lists its problems) or delete it ({paper} is not proposed again)"
        )
    return lines


def _where(root: CatalogRoot, path: Path, line: int | None) -> str:
    rel = path.resolve().relative_to(root.path) if path.resolve().is_relative_to(root.path) else path
    return f"{rel}:{line}" if line else str(rel)


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1]) or "invalid"


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


@contextmanager
def run_lock(root: CatalogRoot) -> Iterator[None]:
    """The root's lock, or LockedError (exit 2) at once: two runs must never work on one root."""
    lock = FileLock(str(root.lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise LockedError(
            f"another ingest process (a run or a review) holds the lock {root.lock_path}",
            hint="wait for it to finish; the lock frees itself when that process ends",
        ) from exc
    try:
        yield
    finally:
        lock.release()


class _Runner:
    """One run's state while it works; every change to the journal is saved at once."""

    def __init__(self, root: CatalogRoot, journal: RunJournal, path: Path, progress: Progress | None) -> None:
        self.root = root
        self.journal = journal
        self.path = path
        self.progress = progress or (lambda stage, item: None)
        self.known = KnownPapers.from_root(root)
        self.only: list[str] | None = None  # backfill: propose changes to these fields only
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
        retry_ids = [p for p in retry if _is_arxiv(p)]
        retried = lookup(config, retry_ids) if retry_ids else []
        self.report.found = result.total_seen
        self.report.skipped_known = result.skipped_known
        self.report.updates = len(result.updates)
        self.report.retried = len(retried)
        self.journal.candidates = candidates + retried
        self.report.candidates = len(self.journal.candidates)
        self.save()
        self.progress("discover", f"{self.report.found} found, {len(self.journal.candidates)} to look at")

    def screen(self, backend: Any) -> list[Candidate]:
        from ingest.paper.screen import goes_on, screen

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
                scope = screen(candidate, backend, self.root.taxonomy)
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

    def _proposed(self, candidate: Candidate, proposal: Any, *, outcome: str = "proposed") -> None:
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

    def download(self, candidates: list[Candidate], concurrency: int | None) -> list[Candidate]:
        """Every candidate's PDF into the cache, in parallel; a failed download is recorded, not extracted."""
        from ingest.paper.download import download_pdf

        cfg = self.root.config

        def fetch(candidate: Candidate) -> PaperError | None:
            try:
                download_pdf(
                    candidate,
                    config=cfg.download,
                    pdf_base_url=cfg.arxiv.pdf_url,
                    cache_dir=self.root.cache_dir,
                )
            except PaperError as exc:
                return exc
            return None

        failed: set[str] = set()
        workers = max(1, min(concurrency or cfg.extract.concurrency, len(candidates)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(fetch, c): c for c in candidates}
            for future in as_completed(futures):
                candidate, error = futures[future], future.result()
                if error is None:
                    with self._lock:
                        if candidate.key not in self.journal.downloaded:
                            self.journal.downloaded.append(candidate.key)
                        self.save()
                    self.progress("download", candidate.key)
                else:
                    failed.add(candidate.key)
                    self.on_done(_Failed(candidate, error))
        return [c for c in candidates if c.key not in failed]

    def on_done(self, outcome: Any) -> None:
        """One paper finished download → score: propose it, or record its failure. Called once per paper."""
        candidate: Candidate = outcome.candidate
        with self._lock:
            if candidate.key in self.journal.done:
                return
        extraction: Extraction | None = outcome.extraction
        error: PaperError | None = outcome.error
        if extraction is not None:
            self.report.extracted += 1
            self.report.usage = self.report.usage + extraction.usage
            with self._lock:
                proposal = propose(
                    self.root, extraction, run_id=self.report.run_id, known=self.known, only=self.only
                )
            self._proposed(candidate, proposal)
            self.progress("extract", f"{candidate.key} -> {proposal.id if proposal else 'nothing new'}")
        elif _unreachable(error):
            # Not the paper's fault: left undone, so the resumed (or next) run tries it again.
            self.progress("extract", f"{candidate.key}: the LLM endpoint could not be reached")
        else:
            stage = getattr(error, "stage", "extract")
            reason = getattr(error, "reason", None) or str(error)
            self.report.failed.append(FailedItem(paper=candidate.key, stage=stage, reason=reason))
            self.mark(candidate.key, PaperDone(outcome="failed", stage=stage, reason=reason))
            self.progress("extract", f"{candidate.key} failed ({stage}): {reason}")

    def process(
        self, candidates: list[Candidate], *, backend: str | None, model: str | None, concurrency: int | None
    ) -> None:
        from ingest.jobs.pipeline import process

        outcomes = process(
            self.root, candidates, backend=backend, model=model, concurrency=concurrency, on_done=self.on_done
        )
        for outcome in outcomes:  # on_done is idempotent: this catches any paper it was not called for
            self.on_done(outcome)
        down = next((o.error for o in outcomes if o.error is not None and _unreachable(o.error)), None)
        if down is not None:  # the run is not complete: no failure recorded, the watermark stays
            raise self.endpoint_down(down)

    def endpoint_down(self, error: Exception) -> ServiceError:
        """Stop the run for an unreachable LLM endpoint: the papers not done are left for the next run."""
        left = [c.key for c in self.journal.candidates or [] if c.key not in self.journal.done]
        resumable = self.path.name.endswith(JOURNAL_SUFFIX)
        if not self.journal.done or not resumable:
            self.path.unlink(missing_ok=True)  # nothing to resume: leave the root as it was
            after = "the next run tries them again"
        else:
            self.save()
            after = "the next `ingest run` resumes this run"
        endpoint = getattr(error, "endpoint", None) or "(see OPENAI_BASE_URL)"
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
        state = state.model_copy(
            update={"failures": failures, "watermark": self.report.until, "last_run": self.report.run_id}
        )
        self.report.finished = now
        self.report.downloaded = len(self.journal.downloaded)
        self.root.write_state(state)
        write_report(self.root, self.report)
        self.path.unlink(missing_ok=True)


@dataclass
class _Failed:
    """A paper that failed before process(): shaped like process.PaperOutcome for on_done."""

    candidate: Candidate
    error: PaperError
    extraction: Extraction | None = None


def _is_arxiv(paper: str) -> bool:
    return bool(ARXIV_ID_RE.match(paper))


def _unreachable(error: Exception | None) -> bool:
    """An error that says the LLM endpoint never answered (refused, timed out), not that a paper was bad."""
    if error is None or getattr(error, "stage", "") == "download":
        return False  # a PDF that cannot be fetched is that paper's failure, retried by the next run
    # The openai backend's EndpointUnreachable is a ServiceError (and a PaperError, so a chain keeps it).
    return isinstance(error, ServiceError) or getattr(error, "exit_code", 0) == ServiceError.exit_code


def run(
    root: CatalogRoot,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    backend: str | None = None,
    model: str | None = None,
    concurrency: int | None = None,
    max_results: int | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """The weekly job over the window since the last successful run; finishes an interrupted run first."""
    from ingest.extract.backend import make_backend

    with run_lock(root):
        recover(root)
        warnings = broken_file_warnings(root)  # before anything is written: an unknowable entry stops here
        pending = pending_journal(root)
        if pending is not None:
            journal = load_journal(pending)
            journal.report.resumed = True
            path = pending
        else:
            now = datetime.now(UTC).replace(microsecond=0)
            state = root.read_state()
            until = until or now
            since = since or state.watermark or until - timedelta(days=root.config.arxiv.lookback_days)
            if since > until:
                raise UsageError(
                    f"the window is empty: {since:%Y-%m-%d} is after {until:%Y-%m-%d}",
                    hint="give an earlier --since or a later --until",
                )
            chosen = make_backend(backend, root, model=model)
            report = RunReport(
                run_id=new_run_id(now),
                started=now,
                since=since,
                until=until,
                backend=chosen.name,
                model=chosen.model,
                min_confidence=root.config.check.min_confidence,
            )
            journal = RunJournal(report=report)
            path = journal_path(root, report.run_id)
        journal.report.warnings = warnings
        runner = _Runner(root, journal, path, progress)
        report = runner.report
        backend_obj = make_backend(report.backend, root, model=report.model)
        if journal.candidates is None:
            with runner.stage("discover"):
                runner.discover(max_results)
        try:
            with runner.stage("screen"):
                keep = runner.screen(backend_obj)
        except ServiceError as exc:  # only the LLM endpoint is asked here; arXiv was asked by discover
            raise runner.endpoint_down(exc) from exc
        todo = [c for c in keep if c.key not in journal.done]
        if todo:
            with runner.stage("download"):
                todo = runner.download(todo, concurrency)
        if todo:
            with runner.stage("extract"):
                runner.process(todo, backend=report.backend, model=report.model, concurrency=concurrency)
        runner.finish()
        return report
