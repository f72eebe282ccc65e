"""runjournal: the journal of `ingest run`, runs/<run-id>.journal.json, from which a killed run is finished.

The run writes it after each stage and after each paper. It holds the window, the candidates and what became
of each paper. A run killed at any point (even kill -9) leaves that journal; the next `ingest run` picks it up
and finishes the same run: the papers already done are skipped, and the PDF, parsed-text and LLM caches make
the rest cost nothing twice.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError
from ingest.jobs.report import RunReport
from ingest.models import Candidate, Model, Scope
from ingest.yamlio import atomic_write_text

JOURNAL_SUFFIX = ".journal.json"  # only these are resumed; backfill's runs/*.backfill.json are not


class PaperDone(Model):
    """What became of one paper in this run."""

    outcome: str = Field(description="proposed, known, screened-out or failed")
    proposal: str | None = None
    stage: str | None = None
    reason: str | None = None


class RunJournal(Model):
    """runs/<run-id>.journal.json: a run's progress, so a killed run can be finished."""

    report: RunReport
    candidates: list[Candidate] | None = Field(default=None, description="None until discover has finished")
    scopes: dict[str, Scope] = Field(default_factory=dict)
    done: dict[str, PaperDone] = Field(default_factory=dict)
    downloaded: list[str] = Field(default_factory=list, description="papers whose PDF is in the cache")


def journal_path(root: CatalogRoot, run_id: str) -> Path:
    """Where the journal of run `run_id` lives."""
    return root.runs_dir / f"{run_id}{JOURNAL_SUFFIX}"


def pending_journal(root: CatalogRoot) -> Path | None:
    """The journal of an interrupted run, if any (the latest, should there be several)."""
    journals = sorted(root.runs_dir.glob(f"*{JOURNAL_SUFFIX}")) if root.runs_dir.is_dir() else []
    return journals[-1] if journals else None


def load_journal(path: Path) -> RunJournal:
    """An interrupted run's journal; one that cannot be read names itself and what to do."""
    try:
        return RunJournal.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise CatalogError(
            path,
            f"cannot resume this run: {str(exc).splitlines()[0]}",
            hint="delete the file to start a fresh run",
        ) from exc


def save_journal(path: Path, journal: RunJournal) -> None:
    """Write the journal atomically: a kill mid-write leaves the previous one."""
    # JSON, not YAML: saved after every paper with every candidate's abstract; ruamel would be slow.
    atomic_write_text(path, journal.model_dump_json(exclude_none=True))
