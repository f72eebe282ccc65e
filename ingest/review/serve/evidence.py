"""A quote on its PDF page: the page as a cached PNG and the quote's characters as highlight rectangles.

The quote is found among PDFium's characters of the page with verify's matching: normalised (read.normalise),
compared ignoring case, then fuzzily (rapidfuzz's partial_ratio_alignment at verify's threshold). Both sides
drop whitespace and hyphens before comparing, so a word hyphenated at a line end on the page (PDFium: U+FFFE)
matches the quote's joined word, and every kept character still maps back to one PDFium character box.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from ingest.catalog.store import CatalogRoot
from ingest.extract.verify import FUZZY_THRESHOLD, MIN_FUZZY_CHARS
from ingest.models import Candidate, Proposal
from ingest.paper.read import normalise

RENDER_SCALE = 1.5  # pixels per PDF point: a US letter page is 918 x 1188 pixels, sharp enough to read
_IGNORED = set("-\u00ad\u2010\u2011\ufffe")


@dataclass(frozen=True)
class Rect:
    """A highlight on the page image, in fractions of its width and height from the top left."""

    x: float
    y: float
    w: float
    h: float


def proposal_pdf(root: CatalogRoot, proposal: Proposal) -> Path | None:
    """The proposal's PDF when it is on disk (downloaded into the root's cache), else None."""
    from ingest.paper.download import pdf_file_name

    if not proposal.arxiv_id:
        return None
    candidate = Candidate(arxiv_id=proposal.arxiv_id, version=proposal.version or 1, title=proposal.title)
    path = root.cache_dir / "pdf-files" / pdf_file_name(candidate)
    return path if path.is_file() else None


def arxiv_page(proposal: Proposal) -> str | None:
    if not proposal.arxiv_id:
        return None
    version = f"v{proposal.version}" if proposal.version else ""
    return f"https://arxiv.org/abs/{proposal.arxiv_id}{version}"


def _keyed(text: str) -> tuple[str, list[int]]:
    """`text` NFKC, lower case, without whitespace and hyphens; and the index in `text` of each kept char."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if not c.isspace() and c not in _IGNORED:
                out.append(c)
                where.append(i)
    return "".join(out), where


def _file_key(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _page(key: str, path: str, number: int) -> tuple[str, list[int]]:
    """A page's keyed characters and their PDFium character indices (kept per PDF content and page)."""
    from ingest.paper.pdfium import page_text

    return _keyed(page_text(Path(path), number))


def _span(keyed: str, quote: str) -> tuple[int, int] | None:
    """Where the keyed quote is in the keyed page: exactly, else fuzzily as verify matches; None if absent."""
    needle, _ = _keyed(normalise(quote))
    if not needle:
        return None
    start = keyed.find(needle)
    if start >= 0:
        return start, start + len(needle)
    if len(needle) < MIN_FUZZY_CHARS:
        return None
    align = fuzz.partial_ratio_alignment(needle, keyed, score_cutoff=FUZZY_THRESHOLD)
    return None if align is None else (align.dest_start, align.dest_end)


def quote_rects(pdf: Path, number: int, quotes: list[str]) -> list[list[Rect]]:
    """For each quote, the rectangles that cover it on page `number` of `pdf`, one a printed line ([] when
    the page does not hold it). The page is loaded once for all of them."""
    from ingest.paper.pdfium import char_boxes

    keyed, where = _page(_file_key(pdf), str(pdf), number)
    chosen: list[list[int]] = []
    for quote in quotes:
        span = _span(keyed, quote)
        chosen.append(sorted({where[k] for k in range(*span)}) if span else [])
    wanted = sorted({i for indices in chosen for i in indices})
    if not wanted:
        return [[] for _ in quotes]
    found = dict(zip(wanted, char_boxes(pdf, number, wanted), strict=True))
    return [
        _lines([(b.left, b.top, b.right, b.bottom) for i in indices if (b := found[i]) is not None])
        for indices in chosen
    ]


def _lines(boxes: list[tuple[float, float, float, float]]) -> list[Rect]:
    """Character boxes in reading order merged into one rectangle a line (a new line: no vertical overlap)."""
    rects: list[list[float]] = []
    for left, top, right, bottom in boxes:
        last = rects[-1] if rects else None
        middle = (top + bottom) / 2
        if last is not None and last[1] <= middle <= last[3] and left >= last[0] - 0.01:
            last[0], last[1] = min(last[0], left), min(last[1], top)
            last[2], last[3] = max(last[2], right), max(last[3], bottom)
        else:
            rects.append([left, top, right, bottom])
    return [Rect(r[0], r[1], r[2] - r[0], r[3] - r[1]) for r in rects]


def page_png(pdf: Path, number: int, cache_dir: Path) -> Path:
    """Page `number` of `pdf` rendered by PDFium, cached as cache_dir/pages/<pdf sha256>-<n>.png."""
    from ingest.paper.pdfium import PDFIUM_LOCK, render_png

    target = cache_dir / "pages" / f"{_file_key(pdf)}-{number}.png"
    if not target.is_file():
        with PDFIUM_LOCK:  # held across the check, so two requests for one page render it once
            if not target.is_file():
                render_png(pdf, number, target, scale=RENDER_SCALE)
    return target


def page_total(pdf: Path) -> int:
    from ingest.paper.pdfium import page_count

    return page_count(pdf)
