"""`ingest fetch`: discover the window's papers and download their PDFs, recording failures for a retry.

The window is --since/--until, else from the last successful run's watermark to now (else the config's
lookback). `fetch` never moves the watermark: only `ingest run`, which also extracts, does, so papers fetched
here are still in the window of the next run. A paper that fails to download is recorded in state.yaml
(`failures`) and retried by the next fetch (looked up by id if it has left the window); a success clears its
record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest.catalog.store import CatalogRoot
from ingest.errors import DownloadError
from ingest.jobs.pipeline import Pipeline
from ingest.jobs.session import window
from ingest.models import ARXIV_ID_RE, Candidate, Failure

if TYPE_CHECKING:
    import httpx

STAGE = "download"


@dataclass
class FetchItem:
    candidate: Candidate
    outcome: Literal["downloaded", "cached", "failed"]
    path: Path | None = None
    error: str | None = None
    retried: bool = False


@dataclass
class FetchReport:
    since: datetime
    until: datetime
    items: list[FetchItem] = field(default_factory=list)
    skipped_known: list[str] = field(default_factory=list)
    total_seen: int = 0  # unique papers arXiv listed in the window, over every query

    @property
    def failures(self) -> list[FetchItem]:
        return [i for i in self.items if i.outcome == "failed"]

    @property
    def downloads(self) -> int:
        return sum(1 for i in self.items if i.outcome == "downloaded")


def fetch(
    root: CatalogRoot,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    queries: list[str] | None = None,
    max_results: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_item: Callable[[str], None] | None = None,
    client: httpx.Client | None = None,
) -> FetchReport:
    """Discover and download under the root's lock; a ServiceError from arXiv propagates before any write."""
    with root.lock("ingest fetch"):  # a fetch and a run must not both write state.yaml
        return _fetch(root, since, until, queries, max_results, on_total, on_item, client)


def _fetch(
    root: CatalogRoot,
    since: datetime | None,
    until: datetime | None,
    queries: list[str] | None,
    max_results: int | None,
    on_total: Callable[[int], None] | None,
    on_item: Callable[[str], None] | None,
    client: httpx.Client | None,
) -> FetchReport:
    from ingest.catalog.known import KnownPapers
    from ingest.paper.discover import discover, lookup
    from ingest.paper.download import is_cached

    config = root.config
    since, until = window(root, since, until)
    pipeline = Pipeline(root)  # only its PDF download: fetch extracts nothing
    found = discover(
        config.arxiv,
        known=KnownPapers.from_root(root),
        since=since,
        until=until,
        queries=queries,
        max_results=max_results,
        client=client,
    )
    state = root.read_state()
    todo = [*found.candidates, *found.updates]
    listed = {c.key for c in todo}
    retry_ids = [
        key
        for key, f in state.failures.items()
        if f.stage == STAGE and key not in listed and ARXIV_ID_RE.match(key)  # a local file is not looked up
    ]
    again = lookup(config.arxiv, retry_ids, client=client) if retry_ids else []
    retried = {c.key for c in again}
    todo += again
    # Count papers, not search hits: each query of the config may return the same papers again.
    known = list(dict.fromkeys(found.skipped_known))
    unique = len({c.key for c in [*found.candidates, *found.updates]} | set(known))
    report = FetchReport(since, until, skipped_known=known, total_seen=unique)
    if on_total:
        on_total(len(todo))
    for candidate in todo:
        cached = is_cached(candidate, root.cache_dir)
        try:
            path = pipeline.pdf(candidate, client=client)
        except DownloadError as exc:
            report.items.append(
                FetchItem(candidate, "failed", error=str(exc), retried=candidate.key in retried)
            )
            old = state.failures.get(candidate.key)
            state.failures[candidate.key] = Failure(
                paper=candidate.key,
                stage=STAGE,
                reason=exc.reason,
                at=datetime.now(UTC),
                attempts=(old.attempts + 1) if old else 1,
            )
        else:
            report.items.append(
                FetchItem(
                    candidate, "cached" if cached else "downloaded", path, retried=candidate.key in retried
                )
            )
            if (
                state.failures.get(candidate.key, None) is not None
                and state.failures[candidate.key].stage == STAGE
            ):
                del state.failures[candidate.key]
        if on_item:
            on_item(candidate.key)
    root.write_state(state)
    return report
