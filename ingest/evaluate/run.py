"""The extractor against the approved catalog: the entries whose PDF is at hand, extracted and scored.

    CatalogRoot -> eval_targets (entry + PDF) -> process (read, extract, verify, score) -> compare -> report

The gold is the approved entry. The extractor runs as on a new paper (a candidate with the arXiv id and
title, as discover would give it), and the few-shot examples never include the paper itself
(prompts.choose_examples). The metrics are pure functions in metrics.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ingest.catalog.store import CatalogRoot
from ingest.errors import IngestError, PaperError, ServiceError, UsageError
from ingest.evaluate.metrics import (
    EvalFailure,
    EvalReport,
    FieldScores,
    compare,
    compare_negative,
    diff_reports,
    summarise,
)
from ingest.evaluate.truth import Half, apply_truth, load_truth, negative_targets
from ingest.jobs.pipeline import PipelineOptions
from ingest.models import Candidate, Entry
from ingest.yamlio import atomic_write_text

if TYPE_CHECKING:
    from ingest.jobs.pipeline import PaperOutcome

# download.py's folder of cached PDF files under the cache dir (<arXiv id>v<version>.pdf).
PDF_FILES = "pdf-files"
# An arXiv id inside a file name such as gkd-2306.13649-iclr2024.pdf or mimo-v2-flash-2601.02780v1.pdf.
FILE_ARXIV_RE = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v(\d+))?(?!\d)")

__all__ = ["diff_reports", "eval_targets", "evaluate", "find_pdfs", "load_report", "save_report"]


def find_pdfs(folder: Path) -> dict[str, tuple[Path, int | None]]:
    """arXiv id -> (PDF, version) for each *.pdf under folder named with an arXiv id (latest version)."""
    if not folder.is_dir():
        raise UsageError(f"--pdfs {folder}: no such folder", hint="give a folder of PDFs named by arXiv id")
    found: dict[str, tuple[Path, int | None]] = {}
    for path in sorted(folder.rglob("*.pdf")):
        m = FILE_ARXIV_RE.search(path.name)
        if not m:
            continue
        version = int(m.group(2)) if m.group(2) else None
        known = found.get(m.group(1))
        if known is None or (version or 0) > (known[1] or 0):
            found[m.group(1)] = (path, version)
    return found


def cached_pdfs(root: CatalogRoot) -> dict[str, tuple[Path, int | None]]:
    """PDFs that `fetch`, `add` or `run` already downloaded: download.py keeps each as <id>v<N>.pdf there."""
    folder = root.cache_dir / PDF_FILES
    return find_pdfs(folder) if folder.is_dir() else {}


def eval_targets(
    root: CatalogRoot, *, pdfs: Path | None = None, limit: int | None = None
) -> list[tuple[Entry, Candidate]]:
    """Entries with an arXiv id whose PDF is under `pdfs` or in the cache, in id order, at most `limit`."""
    entries = [e for e in root.entries().values() if e.arxiv_ids]
    available = cached_pdfs(root)
    if pdfs is not None:
        available.update(find_pdfs(pdfs))
    targets, seen = [], set()
    for entry in sorted(entries, key=lambda e: e.id):
        arxiv_id = next((a for a in entry.arxiv_ids if a in available), None)
        if arxiv_id is None or arxiv_id in seen:
            continue
        seen.add(arxiv_id)
        path, version = available[arxiv_id]
        candidate = Candidate(
            arxiv_id=arxiv_id, version=version or 1, title=entry.title or entry.name, local_pdf=str(path)
        )
        targets.append((entry, candidate))
    return targets[:limit] if limit is not None else targets


def evaluate(
    root: CatalogRoot,
    options: PipelineOptions | None = None,
    *,
    limit: int | None = None,
    pdfs: Path | None = None,
    on_done: Callable[[PaperOutcome], None] | None = None,
    truth: Path | None = None,
    half: Half | None = None,
) -> EvalReport:
    """Run the extractor on every catalog paper whose PDF is at hand and score it against the entry; the
    catalog's exclusions and rejections at hand are scored as negatives (their scope call only)."""
    from ingest.jobs.pipeline import Pipeline

    options = options or PipelineOptions()
    root.require()
    configured = root.config.evaluate.truth
    truth = truth or (root.path / configured if configured else None)
    targets = eval_targets(root, pdfs=pdfs, limit=None if truth else limit)
    available = {**cached_pdfs(root), **(find_pdfs(pdfs) if pdfs is not None else {})}
    negatives = negative_targets(root, available)
    notes: list[str] = []
    if truth is not None:
        targets, negatives, notes = apply_truth(load_truth(truth), half, targets, negatives, available)
    if limit is not None:
        targets, negatives = targets[:limit], negatives[: max(0, limit - len(targets))]
    if not targets:
        where = f"under {pdfs} or " if pdfs else ""
        raise UsageError(
            f"no catalog entry has its PDF {where}in the cache {root.cache_dir}",
            hint="pass --pdfs DIR with PDFs whose file names hold the arXiv id",
        )
    gold = {candidate.key: entry for entry, candidate in targets}
    excluded = {candidate.key: ident for ident, candidate in negatives}
    candidates = [c for _, c in targets] + [c for _, c in negatives]
    pipeline = Pipeline(root, options)
    outcomes = pipeline.process(candidates, on_done=on_done)
    scores: list[FieldScores] = []
    failures: list[EvalFailure] = []
    first = None
    for outcome in outcomes:
        key = outcome.candidate.key
        ident = gold[key].id if key in gold else excluded[key]
        if outcome.extraction is None:
            failures.append(EvalFailure(paper=key, entry_id=ident, error=str(outcome.error)))
            continue
        first = first or outcome.extraction
        if key in gold:
            scores.append(compare(gold[key], outcome.extraction, root.taxonomy))
        else:
            scores.append(compare_negative(key, ident, outcome.extraction))
    if failures and not scores:
        raise _nothing_scored(outcomes)
    report = summarise(
        scores,
        failures=failures,
        backend=first.backend if first else options.backend,
        model=first.model if first else options.model,
        prompt_hash=first.prompt_hash if first else None,
    )
    report.notes += notes
    if failures:
        report.notes.append(f"{len(failures)} of {len(candidates)} papers failed and are not counted")
    return report


def _nothing_scored(outcomes: list[PaperOutcome]) -> IngestError:
    """Every paper failed: exit 3 when the LLM endpoint was never reached, else the first paper's error."""
    errors = [o.error for o in outcomes if o.error is not None]
    first = errors[0]
    if all(isinstance(e, ServiceError) for e in errors):  # by type: EndpointUnreachable is a ServiceError
        return ServiceError(f"eval scored no paper: {first}", hint="nothing was written")
    return PaperError(
        first.paper, f"{first.reason}; all {len(errors)} papers failed, nothing was scored", hint=first.hint
    )


def save_report(report: EvalReport, path: Path) -> None:
    atomic_write_text(path, report.model_dump_json(indent=2) + "\n")


def load_report(path: Path) -> EvalReport:
    """An earlier `ingest eval --json` output, for --compare."""
    try:
        return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            f"--compare {path}: no such file", hint="save a report with --output FILE first"
        ) from exc
    except (ValidationError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--compare {path}: not an ingest eval JSON report",
            hint="use a file written by `ingest eval --json` or --output",
        ) from exc
