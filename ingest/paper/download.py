"""Download a PDF over HTTP into a diskcache keyed by arXiv id + version; a rerun downloads nothing.

The bytes are checked before they are kept: a PDF starts with `%PDF-` and ends with `%%EOF`; arXiv and proxies
sometimes answer 200 with an HTML page, and a dropped connection leaves a truncated file. Retries with
exponential backoff cover 429, 5xx and timeouts, honouring Retry-After; the size limit is enforced while
streaming, so an enormous answer is cut off rather than held in memory.
"""

from __future__ import annotations

import email.utils
import logging
import os
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from diskcache import Cache

from ingest.config import DownloadConfig
from ingest.errors import DownloadError
from ingest.models import Candidate
from ingest.paper.tls import tls_context

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0
REFUSED_RETRIES = 1  # a refused connection is tried twice in all
log = logging.getLogger(__name__)  # retries are shown: the CLI prints this logger's warnings
USER_AGENT = "ingest (catalog PDF download)"

if TYPE_CHECKING:  # imported where a download is made: a local PDF or a cached one needs no HTTP client
    import httpx


class _Retry(Exception):
    """A failed attempt that is worth repeating: what went wrong, and how long the server asked us to wait."""

    def __init__(self, problem: str, wait: float | None = None, *, refused: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.wait = wait
        self.refused = refused  # no connection at all: one more try, not the whole backoff


def pdf_problem(data: bytes) -> str | None:
    """Why these bytes are not a whole PDF, or None when they look like one."""
    if not data:
        return "the server sent an empty body"
    head = data[:1024]
    if b"%PDF-" not in head:
        if b"<html" in head.lower() or b"<!doctype" in head.lower():
            return "the server sent an HTML page, not a PDF"
        return f"the server sent something that is not a PDF (it starts with {head[:20]!r})"
    if b"%%EOF" not in data[-2048:]:
        return f"the PDF is truncated ({len(data)} bytes, no %%EOF end marker)"
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), MAX_RETRY_AFTER)


def _fetch_once(client: httpx.Client, url: str, paper: str, config: DownloadConfig) -> bytes:
    import httpx

    try:
        with client.stream("GET", url, timeout=config.timeout_seconds, follow_redirects=True) as response:
            if response.status_code in RETRY_STATUSES:
                raise _Retry(f"HTTP {response.status_code}", _retry_after(response))
            if response.status_code != 200:
                raise DownloadError(
                    paper, f"HTTP {response.status_code} from {url}", hint="check the id and version"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > config.max_bytes:
                raise DownloadError(
                    paper,
                    f"the PDF is {int(declared)} bytes, over the {config.max_bytes}-byte limit",
                    hint="raise download.max_bytes in ingest.yaml",
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > config.max_bytes:
                    raise DownloadError(
                        paper,
                        f"the PDF is over the {config.max_bytes}-byte limit",
                        hint="raise download.max_bytes in ingest.yaml",
                    )
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise _Retry(f"timed out after {config.timeout_seconds:g} s ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise _Retry(problem, refused=isinstance(exc, httpx.ConnectError)) from exc
    return b"".join(chunks)


def fetch_bytes(url: str, paper: str, *, config: DownloadConfig, client: httpx.Client) -> bytes:
    """GET url with retries and backoff; the bytes must be a whole PDF, else DownloadError names the paper."""
    problem = ""
    for attempt in range(config.retries + 1):
        try:
            data = _fetch_once(client, url, paper, config)
        except _Retry as retry:
            problem = retry.problem
            if retry.refused and attempt >= REFUSED_RETRIES:
                break
            if attempt < config.retries:
                backoff = config.backoff_seconds * 2**attempt
                wait = max(backoff, retry.wait or 0.0)
                log.warning("download %s: %s; retry %d of %d in %.0f s", paper, problem, attempt + 1,
                            config.retries, wait)
                time.sleep(wait)
            continue
        bad = pdf_problem(data)
        if bad:
            raise DownloadError(paper, f"{bad} at {url}", hint="the next run retries it")
        return data
    tries = attempt + 1
    raise DownloadError(
        paper, f"download failed after {tries} tries ({problem}) at {url}", hint="the next run retries it"
    )


def pdf_file_name(candidate: Candidate) -> str:
    return (candidate.versioned_id or candidate.key).replace("/", "_") + ".pdf"


def download_pdf(
    candidate: Candidate,
    *,
    config: DownloadConfig,
    pdf_base_url: str,
    cache_dir: Path,
    client: httpx.Client | None = None,
) -> Path:
    """The candidate's PDF as a file under cache_dir/"pdf-files"; downloaded only when the cache lacks it."""
    paper = candidate.key
    if candidate.local_pdf:
        path = Path(candidate.local_pdf)
        if not path.is_file():
            raise DownloadError(paper, f"{path} does not exist", hint="check the path")
        return path
    if not candidate.versioned_id:
        raise DownloadError(
            paper, "has neither an arXiv id nor a local PDF", hint="give an arXiv id or a file"
        )
    key = candidate.versioned_id
    target = Path(cache_dir) / "pdf-files" / pdf_file_name(candidate)
    with Cache(str(Path(cache_dir) / "pdfs")) as cache:
        data = cache.get(key)
        if not isinstance(data, bytes):
            url = f"{pdf_base_url.rstrip('/')}/{key}"
            if client is None:
                import httpx

                with httpx.Client(headers={"User-Agent": USER_AGENT}, verify=tls_context()) as own:
                    data = fetch_bytes(url, paper, config=config, client=own)
            else:
                data = fetch_bytes(url, paper, config=config, client=client)
            cache.set(key, data)
    if not target.is_file() or target.stat().st_size != len(data):
        target.parent.mkdir(parents=True, exist_ok=True)
        # pid + thread: `run` downloads from several threads, and two may materialise the same paper.
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def keep_local_copy(candidate: Candidate, cache_dir: Path) -> None:
    """A copy of a local PDF whose arXiv id is known in cache_dir/"pdf-files", where a download would put
    it (atomic; skipped when one of that size is there already)."""
    if not candidate.local_pdf or not candidate.versioned_id:
        return
    path = Path(candidate.local_pdf)
    target = Path(cache_dir) / "pdf-files" / pdf_file_name(candidate)
    if not path.is_file() or (target.is_file() and target.stat().st_size == path.stat().st_size):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    shutil.copyfile(path, tmp)
    os.replace(tmp, target)


def is_cached(candidate: Candidate, cache_dir: Path) -> bool:
    """Whether download_pdf would answer from the cache, without a request."""
    if candidate.local_pdf:
        return True
    if not candidate.versioned_id:
        return False
    with Cache(str(Path(cache_dir) / "pdfs")) as cache:
        return candidate.versioned_id in cache
