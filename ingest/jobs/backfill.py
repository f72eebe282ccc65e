"""backfill: run extraction on catalog entries whose fields are still `unknown`, and propose `update`s.

The imported catalog has names, links and sections but no design axes; backfill reads each such entry's arXiv
PDF and proposes the missing values through the same review queue as the weekly run. Only unknown fields are
filled (propose.update_changes); an entry that already has a pending or rejected update for the same arXiv
version is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.catalog.store import CatalogRoot
from ingest.jobs.journal import RunJournal
from ingest.jobs.pipeline import Pipeline, PipelineOptions
from ingest.jobs.report import FailedItem, RunReport, write_report
from ingest.jobs.session import Progress, Session, new_report, new_run_id, run_lock
from ingest.models import UNKNOWN, Candidate, Entry
from ingest.review.decide import recover
from ingest.taxonomy import Taxonomy

LOOKUP_BATCH = 50  # ids per arXiv id_list query


def unknown_fields(entry: Entry, taxonomy: Taxonomy) -> list[str]:
    """The dotted fields of an entry that hold no known value: axes and verdicts."""
    fields = [
        f"axes.{a.id}"
        for a in taxonomy.axes
        if not entry.axes.get(a.id) or all(v == UNKNOWN for v in entry.axes[a.id])
    ]
    fields += [
        f"verdicts.{c.id}"
        for c in taxonomy.criteria
        if c.id not in entry.verdicts or entry.verdicts[c.id].value == UNKNOWN
    ]
    return fields


def _wanted(field: str, only: list[str] | None) -> bool:
    return only is None or any(field == f or field.startswith(f + ".") for f in only)


def backfill_targets(
    root: CatalogRoot, *, fields: list[str] | None = None, limit: int | None = None
) -> list[tuple[Entry, str]]:
    """(entry, arXiv id) of the entries with an unknown field of `fields` and no update already queued."""
    from ingest.catalog.known import KnownPapers

    known = KnownPapers.from_root(root)
    targets = []
    for entry in known.entries.values():
        if not entry.arxiv_ids or entry.arxiv_ids[0] in known.queued:
            continue
        if any(_wanted(f, fields) for f in unknown_fields(entry, root.taxonomy)):
            targets.append((entry, entry.arxiv_ids[0]))
        if limit and len(targets) >= limit:
            break
    return targets


def backfill(
    root: CatalogRoot,
    options: PipelineOptions | None = None,
    *,
    fields: list[str] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Extract the entries with unknown fields; returns a run report (also written to runs/)."""
    from ingest.paper.discover import lookup

    with run_lock(root):
        recover(root)
        now = datetime.now(UTC).replace(microsecond=0)
        pipeline = Pipeline(root, options)
        pipeline.check_backend()  # a bad backend or a missing key is a usage error before any lookup
        report = new_report(pipeline, f"backfill-{new_run_id(now)}", now)
        path = root.runs_dir / f"{report.run_id}.backfill.json"
        session = Session(pipeline, RunJournal(report=report), path, progress, only=fields)
        targets = backfill_targets(root, fields=fields, limit=limit)
        with session.stage("lookup"):
            ids = [arxiv_id for _, arxiv_id in targets]
            found: dict[str, Candidate] = {}
            for start in range(0, len(ids), LOOKUP_BATCH):
                for candidate in lookup(root.config.arxiv, ids[start : start + LOOKUP_BATCH]):
                    found[candidate.key] = candidate
        candidates = []
        for entry, arxiv_id in targets:
            hit = found.get(arxiv_id)
            if hit is None:
                report.failed.append(
                    FailedItem(
                        paper=arxiv_id,
                        stage="lookup",
                        reason=f"arXiv has no paper {arxiv_id} (entry {entry.id})",
                    )
                )
                continue
            candidates.append(hit.model_copy(update={"status": "update", "known_entry": entry.id}))
        report.found = report.candidates = len(candidates)
        session.journal.candidates = candidates
        if candidates:
            with session.stage("download"):
                candidates = session.download(candidates)
        if candidates:
            with session.stage("extract"):
                session.process(candidates)
        report.finished = datetime.now(UTC)
        report.downloaded = len(session.journal.downloaded)
        write_report(root, report)
        path.unlink(missing_ok=True)
        return report
