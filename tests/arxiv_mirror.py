"""A loopback arXiv: an HTTP server on 127.0.0.1 that answers the query API and serves the corpus PDFs.

Fixture `arxiv_mirror` (function scope; needs ../shared/corpus) returns an ArxivMirror with the environment
set (INGEST_ARXIV_URL -> mirror.api_url, INGEST_ARXIV_PDF_URL -> mirror.pdf_url), routes and faults reset:

- query API (`/api/query`): an `id_list` query is answered with the real answer file when one was recorded for
  exactly those ids (`0808.05394,1707.08567`, `0000.0000`, `abc` -> the real HTTP 400 error feed,
  `1111.2011v2`), else with a feed built for the corpus papers among the ids. A `search_query` is answered by
  the routes set with `mirror.route_search(answer, match=...)` (answer: a corpus answer file name, bytes, or
  `mirror.feed([...])`); with no route, by the real empty feed.
- `mirror.feed(ids)` BUILDS an Atom feed (current-era layout, like search-testing-start0-max10.xml) for corpus
  papers, because the real corpus has no API answer that lists them: ids, versions and titles come from the
  PDFs' MANIFEST, the abstract from the PDF's own abstract section, dates from `published` (default:
  yesterday, so the default 7-day window finds them). This is how an end-to-end `ingest run` "discovers" the
  corpus papers.
- PDFs (`/pdf/<id>[vN]`): the corpus file whose MANIFEST arXiv id matches, e.g. 2306.13649 ->
  gkd-2306.13649-iclr2024.pdf (files 1-4 and 11-13 are catalog papers, 5-10 and 14-26 are not).
- faults per paper: `mirror.fail_pdf(id, kind, ...)` with kind html, truncated, empty, status (e.g. 429 with
  Retry-After, or 500 `times` times, then the PDF), slow (answers after `delay` seconds);
  `mirror.fail_api(status, times)` for the query endpoint.
- a dated arXiv (`mirror.list_paper(id, submitted=..., updated=..., version=..., announced=...)`): once a
  paper is listed, search queries are answered like arXiv does: only announced papers, filtered by the
  `submittedDate:[A TO B]` / `lastUpdatedDate:[A TO B]` ranges in `search_query`, sorted by `sortBy` and
  `sortOrder`, paged by `start`/`max_results`; an `id_list` query gives a listed paper's latest version and
  dates. `mirror.announce(id)` makes a paper listed with `announced=False` (submitted before a run's end, but
  not in the feed yet: a late announcement) appear; `mirror.new_version(id, v, updated)` adds a version.
- `mirror.log` records every request; `mirror.pdf_requests()` counts PDF downloads (0 on a rerun).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest
from conftest import ARXIV_API, PDFS, need_shared

REAL_ID_ANSWERS = {
    "0808.05394,1707.08567": "idlist-0808.05394-1707.08567.xml",
    "0000.0000": "empty-idlist-0000.0000.xml",
    "abc": "error-400-idlist-abc.xml",
    "1111.2011v2": "legacy2016-idlist-1111.2011v2.xml",
}
ERROR_ANSWERS = {"error-400-idlist-abc.xml"}  # answered with HTTP 400, as arXiv did
EMPTY_ANSWER = "empty-idlist-0000.0000.xml"
_ID_RE = re.compile(r"(\d{4}\.\d{4,5})(?:v(\d+))?")


@dataclass
class CorpusPaper:
    number: int
    file: Path
    arxiv_id: str
    version: int
    title: str
    in_catalog: bool


def corpus_papers(pdfs: Path = PDFS) -> dict[str, CorpusPaper]:
    """The corpus PDFs by version-less arXiv id, read off MANIFEST.md's tables."""
    papers: dict[str, CorpusPaper] = {}
    columns: list[str] = []
    for line in (pdfs / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "#":
            columns = [c.lower() for c in cells]
            continue
        if not columns or not cells[0].isdigit():
            continue
        row = dict(zip(columns, cells, strict=False))
        m = _ID_RE.match(row["arxiv id"])
        if not m:
            continue
        number = int(cells[0])
        title = re.sub(r"\s*\([^()]*\)\s*$", "", row["title"]).strip()
        papers[m.group(1)] = CorpusPaper(
            number,
            pdfs / row["file"],
            m.group(1),
            int(m.group(2) or 1),
            title,
            number in {1, 2, 3, 4, 11, 12, 13},
        )
    return papers


@dataclass
class Listing:
    """A corpus paper in the dated arXiv: v1 date, latest version and its date, announced or not."""

    arxiv_id: str
    submitted: datetime
    updated: datetime
    version: int
    announced: bool = True


_RANGE = re.compile(r"(submittedDate|lastUpdatedDate):\[(\d{12}) TO (\d{12})\]")


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=UTC)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Fault:
    answer: Answer
    times: int | None  # None: every time


_ABSTRACTS: dict[str, str] = {}


def _abstract(paper: CorpusPaper) -> str:
    """The paper's abstract as page 1 of its PDF gives it (only that page is parsed, once per process)."""
    if paper.arxiv_id not in _ABSTRACTS:
        from pypdf import PdfReader

        from ingest.paper.read import normalise

        page = normalise(PdfReader(paper.file).pages[0].extract_text() or "")
        m = re.search(r"\babstract\b\W*(.*?)(?:\b1\.?\s+introduction\b|$)", page, flags=re.I | re.S)
        _ABSTRACTS[paper.arxiv_id] = " ".join((m.group(1) if m else page).split())[:1500]
    return _ABSTRACTS[paper.arxiv_id]


class ArxivMirror:
    """Routes, faults and a request log for the loopback server; see the module docstring."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.api_url = f"{base}/api/query"
        self.pdf_url = f"{base}/pdf"
        self.papers = corpus_papers()
        self.log: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._search: list[tuple[str | None, Answer]] = []
            self._pdf_faults: dict[str, list[Fault]] = {}
            self._api_faults: list[Fault] = []
            self._extra_pdfs: dict[str, bytes] = {}
            self.listings: dict[str, Listing] = {}

    # -- configuring -------------------------------------------------------------------------------------
    def answer_file(self, name: str) -> Answer:
        body = (ARXIV_API / name).read_bytes()
        return Answer(400 if name in ERROR_ANSWERS else 200, body, {"Content-Type": "application/atom+xml"})

    def route_search(
        self,
        answer: str | bytes | None = None,
        *,
        ids: list[str] | None = None,
        match: str | None = None,
        status: int = 200,
        **feed_options: object,
    ) -> None:
        """Answer search queries containing `match` (any, when None): with a corpus answer file, these bytes,
        or
        a feed built for the corpus papers `ids`, paged by the request's start/max_results like arXiv does."""
        if ids is not None:
            ans = Answer(200, b"", {"Content-Type": "application/atom+xml"})
            ans.ids = (list(ids), feed_options)  # type: ignore[attr-defined]
        elif isinstance(answer, str):
            ans = self.answer_file(answer)
        else:
            ans = Answer(status, answer or b"", {"Content-Type": "application/atom+xml"})
        with self._lock:
            self._search.append((match, ans))

    def list_paper(
        self,
        arxiv_id: str,
        *,
        submitted: datetime,
        updated: datetime | None = None,
        version: int = 1,
        announced: bool = True,
    ) -> None:
        """Put a corpus paper in the dated arXiv (see the module docstring)."""
        with self._lock:
            self.listings[arxiv_id] = Listing(arxiv_id, submitted, updated or submitted, version, announced)

    def announce(self, arxiv_id: str) -> None:
        with self._lock:
            self.listings[arxiv_id].announced = True

    def new_version(self, arxiv_id: str, version: int, updated: datetime) -> None:
        with self._lock:
            listing = self.listings[arxiv_id]
            listing.version, listing.updated = version, updated

    def serve_pdf_bytes(self, arxiv_id: str, data: bytes) -> None:
        """Serve these bytes as the PDF of arxiv_id (a PDF made by a test)."""
        self._extra_pdfs[arxiv_id] = data

    def fail_pdf(
        self,
        arxiv_id: str,
        kind: str,
        *,
        times: int | None = None,
        status: int = 500,
        retry_after: str | None = None,
        delay: float = 2.0,
    ) -> None:
        """Make the PDF of arxiv_id fail: html, truncated, empty, status (then the PDF) or slow."""
        paper = self.papers.get(arxiv_id)
        if kind == "html":
            answer = Answer(
                200,
                b"<!DOCTYPE html><html><head><title>arXiv</title></head><body>"
                b"<p>Please verify you are a human.</p></body></html>",
                {"Content-Type": "text/html"},
            )
        elif kind == "truncated":
            data = paper.file.read_bytes() if paper else self._extra_pdfs[arxiv_id]
            answer = Answer(200, data[: len(data) // 2], {"Content-Type": "application/pdf"})
        elif kind == "empty":
            answer = Answer(200, b"", {"Content-Type": "application/pdf"})
        elif kind == "status":
            answer = Answer(status, b"busy", {"Retry-After": retry_after} if retry_after else {})
        elif kind == "slow":
            answer = Answer(200, b"", {}, delay=delay)
        else:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._pdf_faults.setdefault(arxiv_id, []).append(Fault(answer, times))

    def fail_api(
        self, status: int = 503, *, times: int | None = None, retry_after: str | None = None
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        with self._lock:
            self._api_faults.append(Fault(Answer(status, b"Service Unavailable", headers), times))

    def feed(
        self,
        arxiv_ids: list[str],
        *,
        published: datetime | None = None,
        versions: dict[str, int] | None = None,
        total: int | None = None,
        start: int = 0,
        dates: dict[str, tuple[datetime, datetime]] | None = None,
    ) -> bytes:
        """A current-era Atom feed for these corpus papers (built, not recorded: see the module docstring).

        `dates` gives a paper its own (published, updated) dates; the others get `published` for both."""
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        when = (published or datetime.now(UTC) - timedelta(days=1)).strftime(fmt)
        entries = []
        for arxiv_id in arxiv_ids:
            paper = self.papers[arxiv_id]
            vid = f"{arxiv_id}v{(versions or {}).get(arxiv_id, paper.version)}"
            own = (dates or {}).get(arxiv_id)
            first, last = (own[0].strftime(fmt), own[1].strftime(fmt)) if own else (when, when)
            entries.append(f"""  <entry>
    <id>http://arxiv.org/abs/{vid}</id>
    <title>{escape(paper.title)}</title>
    <updated>{last}</updated>
    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>
    <summary>{escape(_abstract(paper))}</summary>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <published>{first}</published>
    <arxiv:primary_category term="cs.CL"/>
    <author>
      <name>Corpus Author</name>
    </author>
  </entry>
""")
        return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"
xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/loopback-mirror</id>
  <title>arXiv Query: built by tests/arxiv_mirror.py</title>
  <updated>{when}</updated>
  <link href="https://arxiv.org/api/query" type="application/atom+xml"/>
  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>
  <opensearch:totalResults>{len(entries) if total is None else total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
{"".join(entries)}</feed>
""".encode()

    # -- reading the log -----------------------------------------------------------------------------------
    def pdf_requests(self) -> list[str]:
        return [path for path, _ in self.log if path.startswith("/pdf/")]

    def api_requests(self) -> list[dict[str, str]]:
        return [params for path, params in self.log if path.startswith("/api/")]

    # -- answering -----------------------------------------------------------------------------------------
    @staticmethod
    def _take(faults: list[Fault]) -> Answer | None:
        for fault in faults:
            if fault.times is None:
                return fault.answer
            if fault.times > 0:
                fault.times -= 1
                return fault.answer
        return None

    def answer(self, path: str, params: dict[str, str]) -> Answer:
        with self._lock:
            self.log.append((path, params))
            if path.startswith("/api/"):
                return self._take(self._api_faults) or self._api(params)
            if path.startswith("/pdf/"):
                m = _ID_RE.search(path)
                arxiv_id = m.group(1) if m else path.rsplit("/", 1)[-1]
                return self._take(self._pdf_faults.get(arxiv_id, [])) or self._pdf(arxiv_id)
        return Answer(404, b"not found")

    def _api(self, params: dict[str, str]) -> Answer:
        start = int(params.get("start", "0") or 0)
        id_list = params.get("id_list", "")
        if id_list:
            if id_list in REAL_ID_ANSWERS:
                return self.answer_file(REAL_ID_ANSWERS[id_list])
            ids = [_ID_RE.match(i).group(1) for i in id_list.split(",") if _ID_RE.match(i)]  # type: ignore[union-attr]
            known = [i for i in ids if i in self.papers]
            if not any(i in self.listings for i in known):
                return Answer(
                    200, self.feed(known if start == 0 else []), {"Content-Type": "application/atom+xml"}
                )
            size = int(params.get("max_results", "10") or 10)
            return self._listed([self.listings.get(i) or self._default(i) for i in known], start, size)
        query = params.get("search_query", "")
        size = int(params.get("max_results", "10") or 10)
        if self.listings and not self._search:
            return self._dated_search(query, params, start, size)
        for match, answer in self._search:
            if match is None or match in query:
                built = getattr(answer, "ids", None)
                if built is not None:
                    ids, options = built
                    body = self.feed(ids[start : start + size], total=len(ids), start=start, **options)
                    return Answer(200, body, answer.headers)
                return answer if start == 0 else self.answer_file(EMPTY_ANSWER)
        return self.answer_file(EMPTY_ANSWER)

    def _default(self, arxiv_id: str) -> Listing:
        when = datetime.now(UTC) - timedelta(days=1)
        return Listing(arxiv_id, when, when, self.papers[arxiv_id].version)

    def _listed(self, listings: list[Listing], start: int, size: int) -> Answer:
        page = listings[start : start + size]
        body = self.feed(
            [x.arxiv_id for x in page],
            versions={x.arxiv_id: x.version for x in page},
            dates={x.arxiv_id: (x.submitted, x.updated) for x in page},
            total=len(listings),
            start=start,
        )
        return Answer(200, body, {"Content-Type": "application/atom+xml"})

    def _dated_search(self, query: str, params: dict[str, str], start: int, size: int) -> Answer:
        """arXiv's answer over the listed papers: announced ones, in the query's date ranges, sorted."""
        hits = [x for x in self.listings.values() if x.announced]
        for field_name, lo, hi in _RANGE.findall(query):
            attr = "submitted" if field_name == "submittedDate" else "updated"
            hits = [x for x in hits if _stamp(lo) <= getattr(x, attr).replace(second=0) <= _stamp(hi)]
        key = "updated" if params.get("sortBy") == "lastUpdatedDate" else "submitted"
        hits.sort(key=lambda x: (getattr(x, key), x.arxiv_id), reverse=params.get("sortOrder") != "ascending")
        return self._listed(hits, start, size)

    def _pdf(self, arxiv_id: str) -> Answer:
        if arxiv_id in self._extra_pdfs:
            return Answer(200, self._extra_pdfs[arxiv_id], {"Content-Type": "application/pdf"})
        paper = self.papers.get(arxiv_id)
        if paper is None:
            return Answer(404, b"no such paper")
        return Answer(200, paper.file.read_bytes(), {"Content-Type": "application/pdf"})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        answer = self.server.mirror.answer(parts.path, params)
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to tell it

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mirror: ArxivMirror

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up mid-answer is expected in the fault tests


@pytest.fixture(scope="session")
def arxiv_mirror_server() -> Iterator[ArxivMirror]:
    need_shared(PDFS)
    server = _Server(("127.0.0.1", 0), _Handler)
    mirror = ArxivMirror(f"http://127.0.0.1:{server.server_address[1]}")
    server.mirror = mirror
    thread = threading.Thread(target=server.serve_forever, name="arxiv-mirror", daemon=True)
    thread.start()
    yield mirror
    server.shutdown()
    server.server_close()


@pytest.fixture
def arxiv_mirror(arxiv_mirror_server: ArxivMirror, monkeypatch: pytest.MonkeyPatch) -> ArxivMirror:
    """The loopback arXiv, reset, with INGEST_ARXIV_URL / INGEST_ARXIV_PDF_URL pointing at it."""
    arxiv_mirror_server.reset()
    monkeypatch.setenv("INGEST_ARXIV_URL", arxiv_mirror_server.api_url)
    monkeypatch.setenv("INGEST_ARXIV_PDF_URL", arxiv_mirror_server.pdf_url)
    return arxiv_mirror_server
