"""download: real PDFs and real faults from the loopback server; a rerun downloads nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.config import DownloadConfig
from ingest.errors import DownloadError
from ingest.models import Candidate
from ingest.paper.download import download_pdf

FAST = DownloadConfig(timeout_seconds=2.0, retries=3, backoff_seconds=0.01)
GKD = Candidate(arxiv_id="2306.13649", version=1, title="GKD")
HINTON = Candidate(arxiv_id="1503.02531", version=1, title="Distilling the Knowledge in a Neural Network")


def get(mirror, candidate: Candidate, cache: Path, config: DownloadConfig = FAST) -> Path:
    return download_pdf(candidate, config=config, pdf_base_url=mirror.pdf_url, cache_dir=cache)


def test_download_is_the_real_pdf_and_a_rerun_downloads_nothing(
    arxiv_mirror, tmp_path: Path, pdfs: Path
) -> None:
    path = get(arxiv_mirror, GKD, tmp_path / "cache")
    assert path.read_bytes() == (pdfs / "gkd-2306.13649-iclr2024.pdf").read_bytes()
    assert path.name == "2306.13649v1.pdf"
    assert arxiv_mirror.pdf_requests() == ["/pdf/2306.13649v1"]
    path.unlink()  # the materialised file is rebuilt from the cache, still without a request
    assert get(arxiv_mirror, GKD, tmp_path / "cache").is_file()
    assert len(arxiv_mirror.pdf_requests()) == 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("html", "HTML page, not a PDF"),
        ("truncated", "truncated"),
        ("empty", "empty body"),
    ],
)
def test_a_bad_answer_is_a_one_line_error_naming_the_paper(
    arxiv_mirror, tmp_path: Path, kind: str, message: str
) -> None:
    arxiv_mirror.fail_pdf("2306.13649", kind)
    with pytest.raises(DownloadError, match=message) as info:
        get(arxiv_mirror, GKD, tmp_path / "cache")
    assert str(info.value).startswith("2306.13649: ")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache" / "pdf-files" / "2306.13649v1.pdf").exists()
    # nothing bad was cached: once the server behaves, the paper downloads
    arxiv_mirror.reset()
    assert get(arxiv_mirror, GKD, tmp_path / "cache").read_bytes()[:5] == b"%PDF-"


def test_429_with_retry_after_then_200(arxiv_mirror, tmp_path: Path) -> None:
    arxiv_mirror.fail_pdf("1503.02531", "status", status=429, retry_after="1", times=1)
    start = time.monotonic()
    path = get(arxiv_mirror, HINTON, tmp_path / "cache")
    assert time.monotonic() - start >= 1.0  # Retry-After was honoured, not just the 10 ms backoff
    assert path.stat().st_size == 111779
    assert len(arxiv_mirror.pdf_requests()) == 2


def test_500_three_times_then_the_pdf(arxiv_mirror, tmp_path: Path) -> None:
    arxiv_mirror.fail_pdf("1503.02531", "status", status=500, times=3)
    assert get(arxiv_mirror, HINTON, tmp_path / "cache").is_file()
    assert len(arxiv_mirror.pdf_requests()) == 4


def test_500_every_time_gives_up_after_the_retries(arxiv_mirror, tmp_path: Path) -> None:
    arxiv_mirror.fail_pdf("1503.02531", "status", status=500)
    config = DownloadConfig(timeout_seconds=2.0, retries=2, backoff_seconds=0.01)
    with pytest.raises(DownloadError, match=r"^1503.02531: download failed after 3 tries \(HTTP 500\)"):
        get(arxiv_mirror, HINTON, tmp_path / "cache", config)


def test_a_slow_server_past_the_timeout(arxiv_mirror, tmp_path: Path) -> None:
    arxiv_mirror.fail_pdf("1503.02531", "slow", delay=1.5)
    config = DownloadConfig(timeout_seconds=0.3, retries=1, backoff_seconds=0.01)
    with pytest.raises(
        DownloadError, match=r"1503.02531: download failed after 2 tries \(timed out after 0.3 s"
    ):
        get(arxiv_mirror, HINTON, tmp_path / "cache", config)


def test_the_size_limit_stops_the_download(arxiv_mirror, tmp_path: Path) -> None:
    config = DownloadConfig(timeout_seconds=2.0, retries=0, max_bytes=100_000)
    with pytest.raises(DownloadError, match="over the 100000-byte limit"):
        get(arxiv_mirror, HINTON, tmp_path / "cache", config)


def test_an_unknown_paper_is_a_404_error(arxiv_mirror, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        get(arxiv_mirror, Candidate(arxiv_id="2401.00001", title="x"), tmp_path / "cache")
