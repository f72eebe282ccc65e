"""The dated loopback arXiv answers like arXiv; the window, the cap and the batched version check use it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest

from ingest.catalog.known import KnownPapers
from ingest.catalog.store import CatalogRoot
from ingest.config import ArxivConfig, Env, load_config
from ingest.models import Candidate, Entry, Link
from ingest.paper.discover import discover
from ingest.paper.window import Coverage, cap, window_start

T = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
A, B, C = "1503.02531", "2505.14464", "2503.21776"


def ids(mirror, **params: str) -> list[str]:
    answer = httpx.get(mirror.api_url, params={"id_list": "", "search_query": "", **params})
    return [e.id.rsplit("/", 1)[-1] for e in feedparser.parse(answer.content).entries]


def test_the_mirror_filters_both_date_ranges_sorts_pages_and_hides_unannounced_papers(arxiv_mirror) -> None:
    arxiv_mirror.list_paper(A, submitted=T - timedelta(days=5), updated=T - timedelta(days=1), version=3)
    arxiv_mirror.list_paper(B, submitted=T - timedelta(days=4))
    arxiv_mirror.list_paper(C, submitted=T - timedelta(days=2), announced=False)
    week = "submittedDate:[202603020600 TO 202603090600]"
    assert ids(arxiv_mirror, search_query=f"q AND {week}", sortOrder="ascending") == [f"{A}v3", f"{B}v1"]
    assert ids(arxiv_mirror, search_query=f"q AND {week}", sortOrder="descending") == [f"{B}v1", f"{A}v3"]
    assert ids(
        arxiv_mirror, search_query=f"q AND {week}", sortOrder="ascending", start="1", max_results="1"
    ) == [f"{B}v1"]
    recent = "lastUpdatedDate:[202603070600 TO 202603090600]"
    assert ids(arxiv_mirror, search_query=f"q AND {recent}") == [f"{A}v3"]
    arxiv_mirror.announce(C)
    assert f"{C}v1" in ids(arxiv_mirror, search_query=f"q AND {week}")
    arxiv_mirror.new_version(B, 2, T)
    assert ids(arxiv_mirror, id_list=f"{A},{B}") == [f"{A}v3", f"{B}v2"]  # id_list: the latest versions


def test_the_window_overlaps_the_last_one_and_a_first_run_looks_back() -> None:
    assert window_start(T, T + timedelta(days=7), overlap_days=3, lookback_days=7) == T - timedelta(days=3)
    assert window_start(None, T, overlap_days=3, lookback_days=7) == T - timedelta(days=7)
    assert window_start(T, T, overlap_days=0, lookback_days=7) == T


def test_the_cap_keeps_the_earliest_and_stops_the_watermark_at_the_first_left_out() -> None:
    found = [
        Candidate(arxiv_id=i, version=1, title=i, published=T - timedelta(days=d))
        for i, d in ((A, 1), (B, 3), (C, 2))
    ]
    coverage = Coverage(T - timedelta(days=7), T)
    kept = cap(found, 2, coverage)
    assert [c.arxiv_id for c in kept] == [B, C]
    assert coverage.watermark == T - timedelta(days=1)
    assert "cap of 2" in (coverage.sentence() or "")
    whole = Coverage(T - timedelta(days=7), T)
    assert cap(found, 3, whole) == found
    assert whole.watermark == T
    assert whole.sentence() is None


@pytest.fixture
def config(arxiv_mirror, tmp_path: Path) -> ArxivConfig:
    return load_config(tmp_path / "missing.yaml", Env.from_mapping(os.environ)).arxiv


@pytest.mark.parametrize(("batch", "calls"), [(100, 1), (1, 2), (0, 0)])
def test_new_versions_come_from_batched_id_list_calls(
    arxiv_mirror, config: ArxivConfig, tmp_path: Path, batch: int, calls: int
) -> None:
    root = CatalogRoot(tmp_path / "root").create()
    for entry_id, arxiv_id in (("a", A), ("b", B)):
        link = Link(kind="arxiv", url=f"https://arxiv.org/abs/{arxiv_id}v1", arxiv_id=arxiv_id)
        root.write_entry(Entry(id=entry_id, name=entry_id.upper(), sections=["x"], links=[link]))
    arxiv_mirror.list_paper(A, submitted=datetime(2015, 3, 9, tzinfo=UTC), updated=T, version=2)
    arxiv_mirror.list_paper(B, submitted=datetime(2025, 5, 1, tzinfo=UTC))  # still v1
    config.version_batch = batch
    result = discover(
        config, known=KnownPapers.from_root(root), since=T - timedelta(days=7), until=T, queries=["q"]
    )
    id_lists = [r["id_list"] for r in arxiv_mirror.api_requests() if r.get("id_list")]
    assert len(id_lists) == calls
    assert result.version_calls == calls
    if calls:
        assert sorted(",".join(id_lists).split(",")) == [A, B]
        assert [(c.arxiv_id, c.version, c.status) for c in result.updates] == [(A, 2, "update")]
    else:
        assert result.updates == []
    assert result.candidates == []


def test_version_updates_fill_the_room_the_cap_leaves_and_never_hold_the_watermark(
    arxiv_mirror, config: ArxivConfig, tmp_path: Path
) -> None:
    root = CatalogRoot(tmp_path / "root").create()
    link = Link(kind="arxiv", url=f"https://arxiv.org/abs/{A}v1", arxiv_id=A)
    root.write_entry(Entry(id="a", name="A", sections=["x"], links=[link]))
    arxiv_mirror.list_paper(A, submitted=datetime(2015, 3, 9, tzinfo=UTC), updated=T, version=2)
    arxiv_mirror.list_paper(B, submitted=T - timedelta(days=3))
    arxiv_mirror.list_paper(C, submitted=T - timedelta(days=2))
    window = {"since": T - timedelta(days=7), "until": T, "queries": ["q"]}
    known = KnownPapers.from_root(root)
    full = discover(config, known=known, max_results=1, **window)
    assert [c.arxiv_id for c in full.candidates] == [B]  # the window's earliest paper takes the one place
    assert full.updates == []  # the v2 of A waits for the next run's version check
    assert full.watermark == T - timedelta(days=2)  # at C, not back at A's 2015 submission
    roomy = discover(config, known=known, max_results=3, **window)
    assert [c.arxiv_id for c in roomy.updates] == [A]
    assert roomy.watermark == T
    assert roomy.capped is None
