"""Benchmark of the first half of the pipeline: reading speed, context size, a cached re-fetch, review page.

`measure()` returns rows of dict(name, value, unit, goal, ratio, met): `goal` is a comparator and a number
(">= 1.0"), `ratio` is value / goal-number where that means something. Run `python bench/reading.py` for a
table.

1. Reading all 26 corpus PDFs serial and cold (ingest.paper.read.read_pdf, default engine PDFium: page text,
   normalisation, sections and title, no cache) against `pdftotext` on the same files in the same run, as a
   speed ratio (goal >= 1.0x; pypdf, the reader before PDFium, measured about 0.09x).
2. The selected context's tokens over the full text's tokens for the same papers, at the config's default
   budget (goal <= 0.4).
3. A second `fetch` of corpus PDFs 1-10 against the loopback arXiv mirror (tests/arxiv_mirror.py): PDF
   downloads (goal 0).
4. The review page (`ingest review serve`, in this process): a proposal's JSON with its highlights, then its
   first quote's page image, the PDF downloaded and nothing rendered or cached yet (goal <= 1 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from ingest.config import ReadConfig  # noqa: E402 - after the path set-up above
from ingest.paper.read import count_tokens, read_pdf, select_context  # noqa: E402

SHARED = Path(os.environ.get("INGEST_SHARED", REPO.parent / "shared"))
PDFS = SHARED / "corpus" / "pdfs"
FIRST_TEN = range(1, 11)


def _row(name: str, value: float | None, unit: str, goal: str | None = None) -> dict[str, Any]:
    ratio, met = None, None
    if goal and value is not None:
        op, number = goal.split()
        target = float(number)
        ratio = round(value / target, 3) if target else None
        met = value >= target if op == ">=" else value <= target
    return {
        "name": name,
        "value": None if value is None else round(value, 3),
        "unit": unit,
        "goal": goal,
        "ratio": ratio,
        "met": met,
    }


def corpus_files(numbers: range | None = None) -> list[Path]:
    from arxiv_mirror import corpus_papers

    papers = sorted(corpus_papers(PDFS).values(), key=lambda p: p.number)
    return [p.file for p in papers if numbers is None or p.number in numbers]


def reading_rows(files: list[Path]) -> list[dict[str, Any]]:
    start = time.perf_counter()
    papers = [read_pdf(f) for f in files]
    pdfium_s = time.perf_counter() - start
    pages = sum(len(p.pages) for p in papers)
    rows = [_row(f"PDFium read + normalise, {len(files)} PDFs ({pages} pages), serial", pdfium_s, "s")]
    if shutil.which("pdftotext"):
        start = time.perf_counter()
        for f in files:
            subprocess.run(["pdftotext", "-q", str(f), "-"], check=True, capture_output=True)
        poppler_s = time.perf_counter() - start
        rows.append(_row("pdftotext, the same PDFs, serial", poppler_s, "s"))
        rows.append(_row("reading speed as a ratio of pdftotext's", poppler_s / pdfium_s, "x", ">= 1.0"))
    else:
        rows.append(_row("pdftotext not installed: no speed ratio", None, ""))
    budget = ReadConfig().context_tokens
    context = sum(p.tokens for paper in papers for p in select_context(paper, budget))
    full = sum(count_tokens(paper.text) for paper in papers)
    rows.append(_row(f"context tokens / full-text tokens (budget {budget})", context / full, "", "<= 0.4"))
    return rows


def refetch_row(files: list[Path]) -> dict[str, Any]:
    """Fetch a window twice against the loopback mirror; count the second fetch's PDF requests."""
    from arxiv_mirror import ArxivMirror, _Handler, _Server

    from ingest.catalog.store import CatalogRoot
    from ingest.config import Env
    from ingest.jobs.fetch import fetch

    server = _Server(("127.0.0.1", 0), _Handler)
    mirror = ArxivMirror(f"http://127.0.0.1:{server.server_address[1]}")
    server.mirror = mirror
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ids = [pid for pid, p in mirror.papers.items() if p.file in files]
    mirror.route_search(ids=ids)
    saved = {
        k: os.environ.get(k)
        for k in ("INGEST_ARXIV_URL", "INGEST_ARXIV_PDF_URL", "INGEST_ARXIV_DELAY", "INGEST_CACHE_DIR")
    }
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            INGEST_ARXIV_URL=mirror.api_url,
            INGEST_ARXIV_PDF_URL=mirror.pdf_url,
            INGEST_ARXIV_DELAY="0",
            INGEST_CACHE_DIR=str(Path(tmp) / "cache"),
        )
        try:
            until = datetime.now(UTC)
            window = {"since": until - timedelta(days=7), "until": until, "queries": ["bench"]}
            env = Env.from_mapping(os.environ)  # the library reads no environment: pass it as the CLI does
            first = fetch(CatalogRoot(Path(tmp) / "root", env=env).create(), **window)
            before = len(mirror.pdf_requests())
            fetch(CatalogRoot(Path(tmp) / "root", env=env), **window)
            second = len(mirror.pdf_requests()) - before
        finally:
            server.shutdown()
            server.server_close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return _row(
        f"PDF downloads of a second fetch ({first.downloads} in the first)", second, "downloads", "<= 0"
    )


def review_page_row() -> dict[str, Any]:
    """One proposal (the heuristic on GKD) on the review page: its JSON, then its first page image, cold."""
    import httpx

    from ingest.catalog.store import CatalogRoot
    from ingest.extract.heuristic import HeuristicBackend
    from ingest.extract.score import score
    from ingest.extract.verify import verify
    from ingest.models import Candidate
    from ingest.review.propose import propose
    from ingest.review.serve.server import ReviewServer, serve_in_thread

    gkd = next(f for f in corpus_files(range(1, 2)))
    saved = os.environ.get("INGEST_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INGEST_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            root = CatalogRoot(Path(tmp) / "root").create()
            paper = read_pdf(gkd, source="2306.13649")
            candidate = Candidate(arxiv_id="2306.13649", version=1, title="On-Policy Distillation")
            raw = HeuristicBackend(root.taxonomy).extract(paper, candidate, examples=[])
            scored = score(verify(raw, paper), taxonomy=root.taxonomy, cross_check=None, min_confidence=0.6)
            proposal = propose(root, scored, run_id="bench")
            assert proposal is not None
            folder = root.cache_dir / "pdf-files"
            folder.mkdir(parents=True)
            shutil.copyfile(gkd, folder / "2306.13649v1.pdf")
            server = ReviewServer(root, "127.0.0.1", 0)
            serve_in_thread(server)
            try:
                with httpx.Client(base_url=server.url.rstrip("/"), trust_env=False, timeout=30) as client:
                    start = time.perf_counter()
                    view = client.get(f"/api/proposal/{proposal.id}").json()
                    image = next(q["image"] for row in view["rows"] for q in row["quotes"])
                    client.get(image).raise_for_status()
                    took = time.perf_counter() - start
            finally:
                server.shutdown()
                server.server_close()
        finally:
            if saved is None:
                os.environ.pop("INGEST_CACHE_DIR", None)
            else:
                os.environ["INGEST_CACHE_DIR"] = saved
    return _row("review page: a proposal and its first page image, cold", took, "s", "<= 1")


def measure() -> list[dict[str, Any]]:
    if not PDFS.is_dir():
        return [_row(f"needs the corpus at {PDFS}", None, "")]
    return [*reading_rows(corpus_files()), refetch_row(corpus_files(FIRST_TEN)), review_page_row()]


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="reading and fetching (bench/reading.py)", title_justify="left")
    for column in ("measure", "value", "unit", "goal", "ratio", "met"):
        table.add_column(column)
    for row in measure():
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        table.add_row(
            row["name"], str(row["value"]), row["unit"], row["goal"] or "", str(row["ratio"] or ""), met
        )
    Console().print(table)


if __name__ == "__main__":
    main()
