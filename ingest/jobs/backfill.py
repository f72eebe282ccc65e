"""backfill: run extraction on catalog entries whose fields are still `unknown`, and propose `update`s.

The imported catalog has names, links and sections but no design axes; backfill reads each such entry's arXiv
PDF and proposes the missing values through the same review queue as the weekly run. Only unknown fields are
filled (review/changes.py, update_changes); an entry that already has a pending or rejected update for the
same arXiv version is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.catalog.store import CatalogRoot
from ingest.jobs.journal import RunJournal
from ingest.jobs.pipeline import Pipeline, PipelineOptions
from ingest.jobs.report import FailedItem, RunReport, write_report
from ingest.jobs.session import Progress, Session, new_report, new_run_id
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


def still_unknown(
    root: CatalogRoot,
    before: dict[str, Entry],
    queued: set[str],
    fields: list[str] | None,
    report: RunReport,
    tried: set[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Field → why it is still unknown after the run → how many entries: no arXiv id to read, an update
    already queued before the run, left for a later run (not among `tried`, the papers --limit let in), the
    run failed on the paper, or the extractor found no value; `proposed` counts the ones now waiting for a
    reviewer."""
    from ingest.catalog.known import KnownPapers

    after = KnownPapers.from_root(root).queued
    failed = {f.paper: f.stage for f in report.failed}
    out: dict[str, dict[str, int]] = {}
    for entry in before.values():
        arxiv = entry.arxiv_ids[0] if entry.arxiv_ids else None
        for name in (f for f in unknown_fields(entry, root.taxonomy) if _wanted(f, fields)):
            proposal = after.get(arxiv) if arxiv else None
            if arxiv is None:
                why = "no arXiv id to read"
            elif arxiv in queued:
                why = "an update was already queued"
            elif tried is not None and arxiv not in tried:
                why = "left for a later run (--limit)"
            elif arxiv in failed:
                why = f"failed at {failed[arxiv]}"
            elif proposal and any(c.field in (name, name.split(".")[0]) for c in proposal.changes):
                why = "proposed (waiting for review)"
            else:
                why = "the extractor found no value"
            out.setdefault(name, {})
            out[name][why] = out[name].get(why, 0) + 1
    return {name: dict(sorted(out[name].items())) for name in sorted(out)}


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

    with root.lock("ingest backfill"):
        recover(root)
        now = datetime.now(UTC).replace(microsecond=0)
        pipeline = Pipeline(root, options)
        pipeline.check_backend()  # a bad backend or a missing key is a usage error before any lookup
        report = new_report(pipeline, new_run_id(now, root.runs_dir, "backfill-"), now)
        path = root.runs_dir / f"{report.run_id}.backfill.json"
        session = Session(pipeline, RunJournal(report=report), path, progress, only=fields)
        targets = backfill_targets(root, fields=fields, limit=limit)
        at_start = session.known  # the index the session read at its start: the catalog before this run
        before, queued = dict(at_start.entries), set(at_start.queued)
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
        session.work(candidates)
        report.finished = datetime.now(UTC)
        report.downloaded = len(session.journal.downloaded)
        tried = {arxiv_id for _, arxiv_id in targets}
        report.still_unknown = still_unknown(root, before, queued, fields, report, tried)
        write_report(root, report)
        path.unlink(missing_ok=True)
        return report
