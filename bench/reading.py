"""Benchmark of the first half of the pipeline: reading speed, context size, and a cached re-fetch.

`measure()` returns rows of dict(name, value, unit, goal, ratio, met): `goal` is a comparator and a number
(">= 0.5"), `ratio` is value / goal-number where that means something. Run `python bench/reading.py` for a
table.

1. pypdf read + normalise (ingest.read.read_pdf, no cache) of corpus PDFs 1-10 against `pdftotext` on the same
   files, as a speed ratio (goal >= 0.5x). DESIGN.md measured pypdf at about 0.09x; we keep pypdf anyway (its
   text is what the page map and quotes are built on) and report the ratio as it is.
2. The selected context's tokens over the full text's tokens for the same ten papers, at the config's default
   budget (goal <= 0.4).
3. A second `fetch` of the same window against the loopback arXiv mirror (tests/arxiv_mirror.py): PDF
   downloads (goal 0).
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


def corpus_files() -> list[Path]:
    from arxiv_mirror import corpus_papers

    papers = sorted(corpus_papers(PDFS).values(), key=lambda p: p.number)
    return [p.file for p in papers if p.number in FIRST_TEN]


def reading_rows(files: list[Path]) -> list[dict[str, Any]]:
    start = time.perf_counter()
    papers = [read_pdf(f) for f in files]
    pypdf_s = time.perf_counter() - start
    pages = sum(len(p.pages) for p in papers)
    rows = [_row(f"pypdf read + normalise, {len(files)} PDFs ({pages} pages)", pypdf_s, "s")]
    if shutil.which("pdftotext"):
        start = time.perf_counter()
        for f in files:
            subprocess.run(["pdftotext", "-q", str(f), "-"], check=True, capture_output=True)
        poppler_s = time.perf_counter() - start
        rows.append(_row("pdftotext, the same PDFs", poppler_s, "s"))
        rows.append(_row("pypdf speed as a ratio of pdftotext's", poppler_s / pypdf_s, "x", ">= 0.5"))
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


def measure() -> list[dict[str, Any]]:
    if not PDFS.is_dir():
        return [_row(f"needs the corpus at {PDFS}", None, "")]
    files = corpus_files()
    return [*reading_rows(files), refetch_row(files)]


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
