"""run: the weekly job, locked: discover → screen → download → (read → extract → verify → score) → propose.

Resumable: the run keeps a journal (journal.py), and the next `ingest run` finishes a killed run. propose()
never proposes a paper the queue already holds, so a paper proposed just before the kill is not proposed
again.

The watermark in state.yaml moves to the end of the window (or where a cap stopped discovery, paper/window.py)
only when a run completes with something to review or retry; a run with nothing new leaves state.yaml as it
was (jobs/health.py). A paper that fails a stage is recorded in state.yaml and retried by the next run.

Faults that are not a paper's (DESIGN.md §7):
- The LLM endpoint unreachable (connections refused after one paper's retries, or calls timing out for two
  papers; the openai backend's circuit breaker then fails every other paper at once, see
  extract/openai.py): the run stops with exit 3 and one line naming the endpoint. No
  failure is recorded and the watermark does not move; the papers are tried again by the next run. When
  nothing was proposed yet the journal is removed too (the root is as it was); otherwise the next run
  resumes this one.
- A hand-broken proposal or entry file: one warning line each (file:line, how to fix it), kept in the report;
  the run goes on, and the paper that file still names (its arXiv id or title, read even from YAML that does
  not parse) is not proposed again. An entry file from which no arXiv id or title can be read stops the run
  (exit 1, file and line) before anything is written: its paper could otherwise be proposed twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.catalog.known import KnownPapers, Snapshot
from ingest.catalog.queue import scan_entries, scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.errors import EndpointError, ServiceError
from ingest.jobs.journal import RunJournal, journal_path, load_journal, pending_journal
from ingest.jobs.pipeline import Pipeline, PipelineOptions
from ingest.jobs.report import RunReport
from ingest.jobs.session import Progress, Session, new_report, new_run_id, window

__all__ = ["broken_file_warnings", "run"]


def broken_file_warnings(root: CatalogRoot, snapshot: Snapshot | None = None) -> list[str]:
    """One line per hand-broken proposal or entry: where, what, how to fix it, and what becomes of its paper.
    `snapshot`: the root as the command read it already (else its entries and queue are read here).

    Raises CatalogError (exit 1) for a broken entry that names no paper: the run could propose it twice.
    """
    entries = snapshot.entries if snapshot else scan_entries(root)
    entries.require_identified()
    lines = []
    for broken in (snapshot.queue if snapshot else scan_queue(root)).broken_files:
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


def run(
    root: CatalogRoot,
    options: PipelineOptions | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    max_results: int | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """The weekly job over the window since the last successful run; finishes an interrupted run first.

    A resumed run keeps the backend and model it started with; a run that finds nothing to screen or
    extract builds no backend at all."""
    options = options or PipelineOptions()
    with root.lock("ingest run"):
        if root.review_journals():  # a review decision a crash left half-done (decide.recover's own test)
            from ingest.review.decide import recover

            recover(root)
        snapshot = Snapshot.read(root)  # the root read once: the warnings and the known-papers index share it
        # before anything is written: an unknowable entry stops here
        warnings = broken_file_warnings(root, snapshot)
        pending = pending_journal(root)
        if pending is not None:
            journal = load_journal(pending)
            journal.report.resumed = True
            path = pending
            options = PipelineOptions(
                backend=journal.report.backend, model=journal.report.model, concurrency=options.concurrency
            )
            pipeline = Pipeline(root, options)
        else:
            now = datetime.now(UTC).replace(microsecond=0)
            since, until = window(root, since, until)
            pipeline = Pipeline(root, options)
            report = new_report(pipeline, new_run_id(now, root.runs_dir), now, since=since, until=until)
            journal = RunJournal(report=report)
            path = journal_path(root, report.run_id)
        journal.report.warnings = warnings
        session = Session(pipeline, journal, path, progress, known=KnownPapers.from_root(root, snapshot))
        if journal.candidates is None:
            with session.stage("discover"):
                session.discover(max_results)
        try:
            with session.stage("screen"):
                keep = session.screen()
        except (ServiceError, EndpointError) as exc:  # only the LLM endpoint is asked here: down, or refusing
            raise session.endpoint_down(exc) from exc
        todo = [c for c in keep if c.key not in journal.done]
        if todo:
            with session.stage("download"):
                todo = session.download(todo)
        if todo:
            with session.stage("extract"):
                session.process(todo)
        session.finish()
        return session.report
