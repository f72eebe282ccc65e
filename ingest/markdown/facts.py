"""Facts from a main table's cells: links by kind, arXiv ids, dates, star badges, paper-only markers.

Conventions of shields.io and of arXiv/GitHub URLs live here; no section or column name does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ingest.markdown.tables import Cell
from ingest.models import Link, LinkKind, split_arxiv_id

ARXIV_URL_RE = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(?P<ref>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$"
)
STARS_RE = re.compile(r"^https?://img\.shields\.io/github/stars/(?P<repo>[^/?#]+/[^/?#]+)")
BADGE_RE = re.compile(r"^https?://img\.shields\.io/(?:static/v1|badge)/(?P<body>[^?#]+)")
DATE_CELL_RE = re.compile(
    r"^(?P<date>\d{4}(?:\.(?:0[1-9]|1[0-2]))?)\s*(?:\(\s*updated\s+(?P<updated>\d{4})\s*\))?$", re.IGNORECASE
)
PAPER_ONLY_TEXT_RE = re.compile(r"paper[- ]only", re.IGNORECASE)
LABEL_KINDS = (
    ("project", LinkKind.project),
    ("blog", LinkKind.blog),
    ("code", LinkKind.code),
    ("repo", LinkKind.code),
    ("model", LinkKind.model),
    ("weights", LinkKind.model),
)


def arxiv_id_of(url: str) -> str | None:
    """The version-less arXiv id of an arxiv.org/abs or /pdf URL, else None."""
    m = ARXIV_URL_RE.match(url.strip())
    if not m:
        return None
    try:
        return split_arxiv_id(m.group("ref"))[0]
    except ValueError:
        return None


def link_kind(url: str, label: str) -> LinkKind:
    """arxiv, code (a GitHub repository), or project/blog/model/paper/other by label and URL."""
    if arxiv_id_of(url):
        return LinkKind.arxiv
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.lower()
    if host == "github.com" and len([p for p in path.split("/") if p]) >= 2:
        return LinkKind.code
    low = label.lower()
    for word, kind in LABEL_KINDS:
        if re.search(rf"\b{word}", low):
            return kind
    if "blog" in host or re.search(r"/(blog|posts?)/", path):
        return LinkKind.blog
    if path.endswith(".pdf"):
        return LinkKind.paper
    if host in ("huggingface.co", "hf.co"):
        return LinkKind.model
    if host.endswith("github.io"):
        return LinkKind.project
    return LinkKind.other


def links_of(cell: Cell) -> list[Link]:
    """Every link of a cell, in order, each with its kind, label and (for arXiv) version-less id."""
    out: list[Link] = []
    seen: set[str] = set()
    for href, label in cell.links:
        if not href or href in seen:
            continue
        seen.add(href)
        kind = link_kind(href, label)
        out.append(
            Link(
                kind=kind,
                url=href,
                label=label or None,
                arxiv_id=arxiv_id_of(href) if kind == LinkKind.arxiv else None,
            )
        )
    return out


def parse_date(cell: Cell) -> tuple[str | None, int | None, bool]:
    """('2023.11', 2025, ok) from '2023.11 (updated 2025)'; (None, None, True) for an empty cell."""
    if cell.empty:
        return None, None, True
    m = DATE_CELL_RE.match(cell.text.strip())
    if not m:
        return None, None, False
    return m.group("date"), int(m.group("updated")) if m.group("updated") else None, True


def _badge_message(body: str) -> str:
    """The message of a shields.io static badge path 'label-message-color' ('--' is a literal dash)."""
    parts = [p.replace("\0", "-") for p in body.replace("--", "\0").split("-")]
    return parts[1] if len(parts) >= 3 else ""


def stars_facts(cell: Cell) -> tuple[str | None, bool]:
    """(owner/repo of a GitHub star badge, paper-only marker) of a stars cell."""
    repo = None
    paper_only = False
    for src in cell.images:
        m = STARS_RE.match(src)
        if m and repo is None:
            repo = m.group("repo")
            continue
        b = BADGE_RE.match(src)
        if b and _badge_message(b.group("body")).strip().lower() == "paper":
            paper_only = True
    if PAPER_ONLY_TEXT_RE.search(cell.text):
        paper_only = True
    return repo, paper_only and repo is None


@dataclass
class ResourceCell:
    name: str
    url: str | None
    remainder: str | None  # text outside the link, e.g. '(MiniLLM)' in a list without a title column


def resource_of(cell: Cell) -> ResourceCell:
    """Name and URL of the resource cell: the first link's label, else the cell's text."""
    if cell.links and cell.links[0][1]:
        href, label = cell.links[0]
        rest = cell.outside_links.strip()
        rest = rest[1:-1].strip() if rest.startswith("(") and rest.endswith(")") else rest
        return ResourceCell(name=label, url=href or None, remainder=rest or None)
    if cell.empty:
        return ResourceCell(name="", url=None, remainder=None)
    if cell.lead_strong and cell.text.startswith(cell.lead_strong):
        # '**Qwen3** (canonical OPD recipe)': the bold part is the name, the parenthesised rest its gloss.
        g = re.match(r"^\((?P<rest>[^()]+)\)$", cell.after_strong.strip())
        if g:
            return ResourceCell(name=cell.lead_strong, url=None, remainder=g.group("rest").strip())
    m = re.match(r"^(?P<name>[^(]+?)\s*\((?P<rest>[^()]+)\)$", cell.text)
    if m and not cell.lead_strong:  # 'RPD (Refined Policy Distillation, VLA)': a name and its gloss
        return ResourceCell(name=m.group("name"), url=None, remainder=m.group("rest"))
    return ResourceCell(name=cell.text, url=None, remainder=None)


@dataclass
class TitleCell:
    title: str | None
    notes: str | None


def title_of(cell: Cell) -> TitleCell:
    """Split 'Title / Notes': a leading bold span is the title; else the text before the first ' — '."""
    if cell.empty:
        return TitleCell(None, None)
    if cell.lead_strong:
        rest = re.sub(r"^[\s—–-]+", "", cell.after_strong).strip()  # noqa: RUF001 (the en dash is meant)
        return TitleCell(cell.lead_strong, rest or None)
    head, sep, tail = cell.text.partition(" — ")
    return TitleCell(head.strip() or None, tail.strip() if sep and tail.strip() else None)


@dataclass
class RowFacts:
    """One main-table row, read."""

    line: int
    section: str
    bucket: str | None
    name: str
    url: str | None = None
    title: str | None = None
    notes: str | None = None
    date: str | None = None
    updated: int | None = None
    org: str | None = None
    stars_repo: str | None = None
    paper_only: bool = False
    links: list[Link] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of the headings above it
    position: int = 0  # the row's place among its section's main-table rows
    stated_axes: str | None = None  # the axes column's text, where the list has one

    @property
    def arxiv_ids(self) -> set[str]:
        ids = {link.arxiv_id for link in self.links if link.arxiv_id}
        own = arxiv_id_of(self.url) if self.url else None
        return ids | ({own} if own else set())
