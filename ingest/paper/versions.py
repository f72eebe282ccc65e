"""New versions of catalog papers, found by asking arXiv for the catalog's own ids (batched `id_list` calls).

Why not the window: a window filters on `submittedDate`, the v1 date, so a v2 of a paper catalogued last year
never falls into it. An `id_list` query without versions answers with each paper's latest version, whatever
its dates; a batch of `arxiv.version_batch` ids per call keeps a catalog of hundreds to a few calls, each
after arXiv's pause (`arxiv.delay_seconds`, applied by ArxivApi).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from ingest.config import ArxivConfig
from ingest.models import Candidate


class _Hit(Protocol):
    where: str
    version: int | None


class _Index(Protocol):
    @property
    def ids(self) -> Mapping[str, _Hit]: ...


def catalog_versions(known: _Index) -> dict[str, int]:
    """Catalog entries' arXiv ids with the version the catalog has; an entry with no known version is left
    out (it is never offered an update, see discover.py)."""
    return {
        arxiv_id: hit.version for arxiv_id, hit in known.ids.items() if hit.where == "entry" and hit.version
    }


def batches(ids: Iterable[str], size: int) -> list[list[str]]:
    items = sorted(ids)
    return [items[i : i + size] for i in range(0, len(items), size)] if size > 0 else []


def newer_versions(
    config: ArxivConfig, have: dict[str, int], lookup_ids: Callable[[list[str]], list[Candidate]]
) -> tuple[list[Candidate], int, int]:
    """Papers whose latest arXiv version is newer than the catalog's, the calls made and the results read.

    `lookup_ids(ids) -> list[Candidate]` is discover.lookup bound to one polite API client.
    """
    found: list[Candidate] = []
    calls = results = 0
    for batch in batches(have, config.version_batch):
        answered = lookup_ids(batch)
        calls += 1
        results += len(answered)
        found += [c for c in answered if c.arxiv_id in have and c.version > have[c.arxiv_id]]
    return found, calls, results
