"""Find a paper's title on its first page from the text layout: the largest-font block near the top.

pypdf reports each text run with its matrices and font size; the run's printed size is the font size scaled
by the text matrix times the current matrix. The title is the topmost line, in the upper part of the page,
set in the largest size among lines with a few letters (which skips a date line such as `2025-12-30`, a
logo glyph or an icon), together with the lines right below it in the same size. A small-caps title
(ICLR: "O" at 17pt, "N-POLICY" at 14pt) is one line, since a line is every run on one baseline. Runs inside
form XObjects (figures) carry the figure's own coordinates, so they count only when the page has no title
outside them (some producers wrap the whole page in one form). The arXiv side stamp is vertical and skipped.

Metadata (`/Title`) is used only when the layout finds nothing and it looks like a real title that page 1
prints. Either way the title returned is quoted from page 1's normalised text, so it can be grounded there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

MIN_LETTERS = 4  # a title line has words, not a date, a logo glyph or an icon
TOP_SHARE = 0.4  # the title sits in the upper 60% of the page
SAME_SIZE = 0.9  # title lines differ in size by less than this ratio
MAX_GAP = 2.2  # title lines are at most this many title sizes apart
ABOVE_BODY = 1.15  # a title is set larger than the page's body text
MAX_LINES, MAX_WORDS = 5, 40  # more is a paragraph, not a title
_NOT_TITLE = re.compile(r"://|www\.|@|^arxiv:|^preprint|^published as|^under review", re.IGNORECASE)
_FILE_LIKE = re.compile(
    r"\.(pdf|dvi|tex|docx?|ps)$|^microsoft (word|powerpoint) -|^untitled\b", re.IGNORECASE
)


@dataclass
class Line:
    """The runs printed on one baseline: their text in stream order, the largest letter size, the depth."""

    y: float
    size: float = 0.0
    depth: int = 0
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    @property
    def letters(self) -> int:
        return sum(c.isalpha() for c in self.text)


class LayoutCollector:
    """pypdf visitors that record each horizontal text run's baseline, printed size and form depth."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, float, float, int]] = []  # (text, y, size, depth)
        self._depth = 0
        self._entered: list[bool] = []
        self._pending = False  # a Do was seen; its form's first operator opens the deeper level

    def before(self, op: bytes, args: Any, cm: Any, tm: Any) -> None:
        if self._pending:
            # pypdf flushes the page's pending text at a Do before it walks the form: that text is the page's.
            self._depth += 1
            self._entered[-1] = True
            self._pending = False
        if op == b"Do":
            self._entered.append(False)
            self._pending = True

    def after(self, op: bytes, args: Any, cm: Any, tm: Any) -> None:
        if op == b"Do" and self._entered:
            self._pending = False
            if self._entered.pop():
                self._depth -= 1

    def text(self, text: str, cm: Any, tm: Any, font: Any, font_size: float) -> None:
        if not text.strip():
            return
        a, b, c, d, e, f = (float(v) for v in tm)
        ca, cb, cc, cd, _, cf = (float(v) for v in cm)
        m_a, m_b = a * ca + b * cc, a * cb + b * cd
        m_c, m_d = c * ca + d * cc, c * cb + d * cd
        y = e * cb + f * cd + cf
        if abs(m_b) > abs(m_a) or m_a < 0:
            return  # vertical or mirrored: the arXiv side stamp, a rotated axis label
        size = float(font_size or 0) * math.hypot(m_c, m_d)
        self.runs.append((text, y, size, self._depth))

    def lines(self) -> list[Line]:
        """Runs grouped by baseline, top of the page first."""
        lines: list[Line] = []
        for text, y, size, depth in self.runs:
            line = next(
                (ln for ln in lines if ln.depth == depth and abs(ln.y - y) <= 0.3 * max(size, 1.0)), None
            )
            if line is None:
                line = Line(y=y, depth=depth)
                lines.append(line)
            line.parts.append(text if not text.endswith("\n") else text[:-1] + " ")
            if any(ch.isalpha() for ch in text):
                line.size = max(line.size, size)
        return sorted(lines, key=lambda ln: -ln.y)


def layout_title(lines: list[Line], page_height: float, page_bottom: float = 0.0) -> str | None:
    """The text of the largest-font block of lines near the top of the page, or None."""
    floor = page_bottom + TOP_SHARE * page_height
    body = body_size(lines)
    for depth in sorted({ln.depth for ln in lines}):
        level = [ln for ln in lines if ln.depth == depth]
        found = [
            ln
            for ln in level
            if ln.y >= floor and ln.letters >= MIN_LETTERS and ln.size > 0 and not _NOT_TITLE.search(ln.text)
        ]
        if not found:
            continue
        size = max(ln.size for ln in found)
        if size < ABOVE_BODY * body:
            return None  # one size for everything: no line stands out as the title
        start = next(ln for ln in found if ln.size >= SAME_SIZE * size)
        block, last_y = [start], start.y
        for ln in level[level.index(start) + 1 :]:
            if last_y - ln.y > MAX_GAP * size:
                break
            if ln.letters == 0:
                continue  # a footnote mark or a superscript between title lines
            if not SAME_SIZE * size <= ln.size <= size / SAME_SIZE:
                break
            block.append(ln)
            last_y = ln.y
        text = " ".join(ln.text for ln in block)
        return text if len(block) <= MAX_LINES and len(text.split()) <= MAX_WORDS else None
    return None


def body_size(lines: list[Line]) -> float:
    """The size most of the page's letters are printed in."""
    letters: dict[float, int] = {}
    for ln in lines:
        key = round(ln.size, 1)
        letters[key] = letters.get(key, 0) + ln.letters
    return max(letters, key=lambda k: letters[k]) if letters else 0.0


def metadata_title(value: object) -> str | None:
    """The /Title metadata when it looks like a title: not a URL, a file name, 'untitled' or a Word name."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if len(text.split()) < 2 or _FILE_LIKE.search(text) or re.match(r"^[a-z]+:/", text, re.IGNORECASE):
        return None
    return text


def ground(title: str | None, page: str) -> str | None:
    """The title as page 1 prints it (the page's case and spacing), or None when the page lacks it."""
    if not title:
        return None
    start = page.find(title)
    if start >= 0:
        return page[start : start + len(title)]
    chars = [re.escape(c) for c in title if not c.isspace()]
    if not chars:
        return None
    # Spaces differ between a run-by-run join and pypdf's own page text ("ON-POLICY" vs "ON- POLICY").
    m = re.search(r"\s?".join(chars), page, re.IGNORECASE)
    return m.group(0) if m else None


def choose_title(layout: str | None, metadata: object, page: str) -> str | None:
    """Layout title quoted from page 1, else a real-looking metadata title that page 1 prints, else layout."""
    from ingest.paper.read import normalise

    found = normalise(layout) if layout else None
    meta = metadata_title(metadata)
    return ground(found, page) or ground(normalise(meta) if meta else None, page) or found or None
