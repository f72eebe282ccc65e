"""arXiv's Atom answers read with feedparser: one page's papers as Candidates and the total result count.

Why feedparser and not the `arxiv` package: its parser is a private module (`arxiv._feed`), and its public
`Client.results` hides the body of an error answer (see discover.py). feedparser reads both API eras in the
corpus (2016 and current) and keeps arXiv's own elements (`arxiv:comment`, `arxiv:primary_category`, ...).
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from ingest.models import Candidate, split_arxiv_id


@dataclass
class Page:
    """One answer of the query API."""

    total_results: int
    results: list[Candidate] = field(default_factory=list)
    malformed: bool = False
    error: str = ""


def _when(parsed: time.struct_time | None) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


def _text(value: Any) -> str | None:
    text = " ".join(str(value or "").split())
    return text or None


def _candidate(entry: Any) -> Candidate | None:
    url = str(entry.get("id", ""))
    short = url.rsplit("/abs/", 1)[-1] if "/abs/" in url else ""
    if not short:
        return None  # not a paper (arXiv's error entry is handled before parsing)
    arxiv_id, version = split_arxiv_id(short)
    links = entry.get("links", [])
    pdf = next((x.get("href") for x in links if x.get("title") == "pdf"), None)
    alternate = next((x.get("href") for x in links if x.get("rel") == "alternate"), None)
    primary = entry.get("arxiv_primary_category") or {}
    return Candidate(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=_text(entry.get("title")) or "",
        abstract=_text(entry.get("summary")) or "",
        authors=[a.get("name", "") for a in entry.get("authors", []) if a.get("name")],
        published=_when(entry.get("published_parsed")),
        updated=_when(entry.get("updated_parsed")),
        categories=[t.get("term") for t in entry.get("tags", []) if t.get("term")],
        primary_category=primary.get("term") or None,
        comment=_text(entry.get("arxiv_comment")),
        journal_ref=_text(entry.get("arxiv_journal_ref")),
        doi=_text(entry.get("arxiv_doi")),
        pdf_url=pdf,
        abs_url=alternate,
    )


def parse_page(content: bytes) -> Page:
    """The papers of one API answer; `malformed` when the XML could not be read at all."""
    parsed = feedparser.parse(content)
    if parsed.get("bozo") and not parsed.entries and not parsed.feed:
        return Page(0, malformed=True, error=str(parsed.get("bozo_exception", "unreadable XML")))
    results = [c for c in (_candidate(e) for e in parsed.entries) if c is not None]
    total = str(parsed.feed.get("opensearch_totalresults", "") or "").strip()
    return Page(int(total) if total.isdigit() else len(results), results)
