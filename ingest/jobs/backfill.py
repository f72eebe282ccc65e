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
from ingest.jobs.report import FailedItem, RunReport, write_report
from ingest.jobs.run import Progress, _Runner, new_run_id, run_lock
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
    from ingest.catalog.known import Known

    known = Known.from_root(root)
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
    root: CatalogRoot, before: dict[str, Entry], queued: set[str], fields: list[str] | None, report: RunReport
) -> dict[str, dict[str, int]]:
    """Field → why it is still unknown after the run → how many entries: no arXiv id to read, an update
    already queued before the run, the run failed on the paper, or the extractor found no value; `proposed`
    counts the ones now waiting for a reviewer."""
    from ingest.catalog.known import Known

    after = Known.from_root(root).queued
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
    *,
    fields: list[str] | None = None,
    limit: int | None = None,
    backend: str | None = None,
    model: str | None = None,
    concurrency: int | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Extract the entries with unknown fields; returns a run report (also written to runs/)."""
    from ingest.extract.backend import make_backend
    from ingest.paper.discover import lookup

    with run_lock(root):
        recover(root)
        now = datetime.now(UTC).replace(microsecond=0)
        chosen = make_backend(backend, root, model=model)
        report = RunReport(
            run_id=f"backfill-{new_run_id(now)}",
            started=now,
            backend=chosen.name,
            model=chosen.model,
            min_confidence=root.config.check.min_confidence,
        )
        runner = _Runner(
            root, RunJournal(report=report), root.runs_dir / f"{report.run_id}.backfill.json", progress
        )
        runner.only = fields
        targets = backfill_targets(root, fields=fields, limit=limit)
        from ingest.catalog.known import Known

        at_start = Known.from_root(root)
        before, queued = dict(at_start.entries), set(at_start.queued)
        with runner.stage("lookup"):
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
        runner.journal.candidates = candidates
        if candidates:
            with runner.stage("download"):
                candidates = runner.download(candidates, concurrency)
        if candidates:
            with runner.stage("extract"):
                runner.process(
                    candidates, backend=report.backend, model=report.model, concurrency=concurrency
                )
        report.finished = datetime.now(UTC)
        report.downloaded = len(runner.journal.downloaded)
        report.still_unknown = still_unknown(root, before, queued, fields, report)
        write_report(root, report)
        runner.path.unlink(missing_ok=True)
        return report
