"""Find new arXiv papers for the catalog's queries, and drop those the catalog already knows.

The HTTP is ours (httpx), the Atom reading strict and our own (atom.py). Why not
`arxiv.Client.results`: it hides the body of a non-200 answer (arXiv's HTTP 400 explains the problem in an
Atom "Error" entry), retries a 400 as if it were transient, and drops an error entry that arrives with HTTP
200 without a word. Here an error feed is a ServiceError (exit 3, nothing changed), never a paper.

The window filters on `submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`, oldest first, so that a cap leaves a
watermark before which everything was seen (window.py); new versions of catalog papers, whose v1 date is
outside any recent window, come from a batched `id_list` check of the catalog's ids (versions.py). A newer
version of a catalogued paper is an update candidate when it shows up (the version check, a window, or
`lookup`/`ingest add`): the catalogued version is read from the entry's arXiv link (`.../abs/IDvN`) or the
approved decision; an entry with no known version is never reported as an update.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.catalog.known import KnownPapers
from ingest.config import ArxivConfig
from ingest.errors import ServiceError, UsageError
from ingest.models import Candidate, split_arxiv_id
from ingest.paper.atom import Page, parse_page
from ingest.paper.tls import tls_context
from ingest.paper.versions import catalog_versions, newer_versions
from ingest.paper.window import Coverage, cap

if TYPE_CHECKING:  # imported where a call is made: `add` of a local PDF asks arXiv nothing (~0.15 s)
    import httpx

USER_AGENT = "ingest (https://github.com/; catalog discovery)"
API_RETRIES = 3
CONNECT_RETRIES = 1  # a refused connection or an unknown host is tried twice in all
CONNECT_WAIT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 5.0  # a host that drops packets is unreachable, not slow
log = logging.getLogger(__name__)  # retries are shown: the CLI prints this logger's warnings
RETRY_STATUSES = {429, 500, 502, 503, 504}
_ID_IN_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf)/(?P<id>[a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v(?P<v>\d+))?"
)
_ID_IN_NAME = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v(\d+))?(?![\d])")
_ID_BARE = re.compile(r"^(?:arxiv:)?\s*(\S+?)(?:\.pdf)?$", re.IGNORECASE)


@dataclass
class DiscoverResult:
    candidates: list[Candidate]
    skipped_known: list[str]
    updates: list[Candidate]
    total_seen: int
    per_query: dict[str, int] = field(default_factory=dict)  # results arXiv listed for each query
    version_asked: int = 0  # catalog papers whose latest version was asked for
    version_calls: int = 0
    watermark: datetime | None = None  # how far every paper was seen (the window's end unless cut)
    capped: str | None = None  # the sentence saying why the watermark stops short


# --- the API ------------------------------------------------------------------------------------------------


# When each endpoint was last called, shared by every ArxivApi of the process: discover, lookup and the
# retries of a run follow each other, and arXiv's "one call every 3 s" is per client, not per search.
_LAST_CALL: dict[str, float] = {}


class ArxivApi:
    """Polite GETs of the query endpoint: a pause between calls, retries on 429/5xx/timeouts, clear errors."""

    def __init__(self, config: ArxivConfig, client: httpx.Client | None = None) -> None:
        import httpx

        self.config = config
        self._owned = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(60.0, connect=CONNECT_TIMEOUT_SECONDS),
            headers={"User-Agent": USER_AGENT},
            verify=tls_context(),
        )

    def __enter__(self) -> ArxivApi:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.client.close()

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def get(self, params: dict[str, str]) -> Page:
        import httpx

        url = self.config.url
        last_problem = ""
        for attempt in range(API_RETRIES + 1):
            last = _LAST_CALL.get(url)
            if last is not None:
                self._pause(self.config.delay_seconds - (time.monotonic() - last))
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                response = None
                if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and attempt >= CONNECT_RETRIES:
                    break  # refused or no such host: a few seconds of retries, not half a minute
            _LAST_CALL[url] = time.monotonic()
            if response is not None:
                feed = parse_page(response.content)  # one parse: the error feed comes with HTTP 400 or 200
                if feed.api_error:
                    raise ServiceError(
                        f"arXiv API at {url} answered with an error: {feed.api_error}",
                        hint="check the query syntax in ingest.yaml or --query",
                    )
                if response.status_code == 200:
                    if feed.malformed:
                        raise ServiceError(
                            f"arXiv API at {url} sent a malformed feed: {feed.error}", hint="try again later"
                        )
                    return feed
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    break
            if attempt < API_RETRIES:
                wait = self.config.delay_seconds * 2**attempt
                if response is None:  # nothing answered: a short wait, the next try shows if it is down
                    wait = min(wait, CONNECT_WAIT_SECONDS)
                if response is not None and response.headers.get("Retry-After", "").isdigit():
                    wait = max(wait, float(response.headers["Retry-After"]))
                log.warning(
                    "arXiv API at %s: %s; retry %d of %d in %.0f s", url, last_problem, attempt + 1,
                    API_RETRIES, wait,
                )
                self._pause(wait)
        raise ServiceError(
            f"arXiv API at {url} could not be reached ({last_problem})",
            hint="check the network or INGEST_ARXIV_URL, then run again; nothing was changed",
        )


def search_query(query: str, categories: list[str], since: datetime | None, until: datetime | None) -> str:
    parts = [f"({query})"]
    if categories:
        parts.append("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
    if since or until:
        lo = (since or datetime(1991, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%d%H%M")
        hi = (until or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M")
        parts.append(f"submittedDate:[{lo} TO {hi}]")
    return " AND ".join(parts)


def _pages(api: ArxivApi, params: dict[str, str], limit: int) -> Iterator[Candidate]:
    """Results of one search, page by page, until `limit`, the last page, or the feed's total."""
    start, empty_pages = 0, 0
    while start < limit:
        size = min(api.config.page_size, limit - start)
        feed = api.get({**params, "start": str(start), "max_results": str(size)})
        if not feed.results and 0 < start < feed.total_results and empty_pages < API_RETRIES:
            # arXiv sporadically answers a later page empty although more results exist; asking again helps
            # (the arxiv package does the same: UnexpectedEmptyPageError).
            empty_pages += 1
            continue
        yield from feed.results
        start += len(feed.results)
        if not feed.results or start >= feed.total_results:
            return


def discover(
    config: ArxivConfig,
    *,
    known: KnownPapers,
    since: datetime | None,
    until: datetime | None,
    queries: list[str] | None = None,
    max_results: int | None = None,
    client: httpx.Client | None = None,
) -> DiscoverResult:
    """Run each query over the window; return new candidates, updates of entries, and what was skipped."""
    limit = max_results or config.max_results
    if until is None:
        until = datetime.now(UTC)
    if since is None:
        since = until - timedelta(days=config.lookback_days)
    seen: dict[str, Candidate] = {}
    result = DiscoverResult([], [], [], 0)
    coverage = Coverage(since, until)
    with ArxivApi(config, client) as api:
        _search(api, config, known, result, seen, queries or config.queries, coverage)
        have = catalog_versions(known)
        result.version_asked = len(have)
        versions, result.version_calls, _ = newer_versions(
            config, have, lambda ids: list(_pages(api, _id_params(ids), len(ids)))
        )
    # The window's papers first, by submission date; new versions fill what room the cap leaves. The version
    # check is asked again by every run, so one left out now comes next time, and never holds the watermark.
    kept = {c.key for c in cap(result.candidates + result.updates, limit, coverage)}
    result.candidates = [c for c in result.candidates if c.key in kept]
    result.updates = [c for c in result.updates if c.key in kept]
    room = limit - len(kept)
    for candidate in versions:
        if candidate.key in seen:
            continue  # the window listed it (at its latest version): already filed
        seen[candidate.key] = candidate
        if room > 0 and known.classify(candidate)[0] == "update":
            _file(result, known, candidate)
            room -= 1
    result.watermark, result.capped = coverage.watermark, coverage.sentence()
    return result


def _search(
    api: ArxivApi,
    config: ArxivConfig,
    known: KnownPapers,
    result: DiscoverResult,
    seen: dict[str, Candidate],
    queries: list[str],
    coverage: Coverage,
) -> None:
    """Every query over the whole window, oldest first; the cap is applied afterwards, over all queries."""
    for query in queries:
        params = {
            "search_query": search_query(query, config.categories, coverage.since, coverage.until),
            "id_list": "",
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        listed, last = 0, None
        for candidate in _pages(api, params, config.results_per_query):
            result.total_seen += 1
            listed += 1
            last = candidate.published or last
            if candidate.key in seen:
                continue
            seen[candidate.key] = candidate
            _file(result, known, candidate)
        result.per_query[query] = listed
        if listed >= config.results_per_query:
            # More may follow, submitted at `last` or later (oldest first): the watermark stops there.
            why = f"query {query!r} listed {listed} results or more (arxiv.results_per_query)"
            coverage.stop_at(last or coverage.since, why)


def _id_params(ids: list[str]) -> dict[str, str]:
    return {"search_query": "", "id_list": ",".join(ids), "sortBy": "relevance", "sortOrder": "descending"}


def _file(result: DiscoverResult, known: KnownPapers, candidate: Candidate) -> None:
    status, hit = known.classify(candidate)
    if status == "known":
        result.skipped_known.append(candidate.key)
    elif status == "update":
        candidate.status = "update"
        candidate.known_entry = hit.entry_id if hit else None
        result.updates.append(candidate)
    else:
        result.candidates.append(candidate)


def lookup(
    config: ArxivConfig, arxiv_ids: list[str], *, client: httpx.Client | None = None
) -> list[Candidate]:
    """The papers with these ids (an id_list query); ids arXiv does not have are simply absent."""
    if not arxiv_ids:
        return []
    with ArxivApi(config, client) as api:
        return list(_pages(api, _id_params(arxiv_ids), max(len(arxiv_ids), 1)))


def parse_ref(ref: str) -> tuple[str, int | None] | Path:
    """An arXiv id (with or without version or 'arXiv:'), an arXiv abs/pdf URL, or an existing local PDF."""
    text = ref.strip()
    if text.lower().endswith(".pdf") and Path(text).expanduser().is_file():
        return Path(text).expanduser()
    m = _ID_IN_URL.search(text)
    if m:
        return m.group("id"), int(m.group("v")) if m.group("v") else None
    bare = _ID_BARE.match(text)
    if bare:
        try:
            return split_arxiv_id(bare.group(1))
        except ValueError:
            pass
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise UsageError(
        f"{ref!r} is neither an arXiv id, an arXiv URL nor an existing file",
        hint="give e.g. 2306.13649, https://arxiv.org/abs/2306.13649v2 or a path to a PDF",
    )


def id_from_pdf(path: Path) -> tuple[str, int | None] | None:
    """The arXiv id a local PDF reveals: in its file name, else in the side stamp on its first page."""
    m = _ID_IN_NAME.search(path.name)
    if m:
        return m.group(1), int(m.group(2)) if m.group(2) else None
    from ingest.paper.read import STAMP_RE, first_page_text

    stamp = STAMP_RE.search(first_page_text(path))
    if stamp:
        found = re.search(r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})v(\d+)", stamp.group(0))
        if found:
            return found.group(1), int(found.group(2))
    return None


def resolve_ref(ref: str, config: ArxivConfig, *, client: httpx.Client | None = None) -> Candidate:
    """A REF of `ingest add` as a Candidate: arXiv refs are looked up (metadata, latest or given version).

    A local PDF's title is the one page 1 prints (only page 1 is parsed, once for id and title); the file's
    name stands in when page 1 shows none.
    """
    parsed = parse_ref(ref)
    if isinstance(parsed, Path):
        from ingest.paper.read import first_page

        found = id_from_pdf(parsed)
        return Candidate(
            arxiv_id=found[0] if found else None,
            version=(found[1] or 1) if found else 1,
            title=first_page(parsed).title or parsed.stem,
            local_pdf=str(parsed.resolve()),
        )
    arxiv_id, version = parsed
    wanted = f"{arxiv_id}v{version}" if version else arxiv_id
    hits = lookup(config, [wanted], client=client)
    if not hits:
        raise UsageError(f"{wanted}: arXiv has no paper with this id", hint="check the id")
    return hits[0]
