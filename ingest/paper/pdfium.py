"""PDFium (pypdfium2) access: a PDF's raw page texts, page 1's layout lines, character boxes, page images.

PDFium is not thread-safe: every function here that opens a PDF holds PDFIUM_LOCK (re-entrant), so threads
(the review server's, or `process` parsing in its worker threads when it has a single reader) take turns; the
weekly job reads in parallel in processes (readers.reader_pool). Import this module only where PDFium is used,
so the command line starts without loading it.
"""

from __future__ import annotations

import ctypes
import functools
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.paper.title import LayoutCollector, Line, layout_title

PDFIUM_LOCK = threading.RLock()
P = ParamSpec("P")
R = TypeVar("R")


def _locked(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with PDFIUM_LOCK:
            return fn(*args, **kwargs)

    return call


PdfiumError = pdfium.PdfiumError


@dataclass(frozen=True)
class RawPdf:
    """What PDFium reads of a whole PDF: each page's text as it comes, page 1's layout title, /Title."""

    pages: list[str]
    layout_title: str | None
    metadata_title: str | None


def layout_lines(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> list[Line]:
    """The page's horizontal text as baselines with their printed letter size and form depth, top first.

    Each PDFium text object is one text-showing operator, the run pypdf's layout callbacks report: its text,
    baseline, size (font size times the matrix's vertical scale) and form depth go to the same collector, so
    both readers group runs into lines and choose the title the same way."""
    collector = LayoutCollector()
    matrix = pdfium_c.FS_MATRIX()
    size = ctypes.c_float()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=8):
        length = pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)  # bytes, with the final NUL
        if length <= 2:
            continue
        buffer = ctypes.create_string_buffer(length)
        pointer = ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR))
        pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, pointer, length)
        text = buffer.raw[: length - 2].decode("utf-16-le", errors="ignore")
        if not text.strip() or not pdfium_c.FPDFPageObj_GetMatrix(obj.raw, matrix):
            continue
        if abs(matrix.b) > abs(matrix.a) or matrix.a < 0:
            continue  # vertical or mirrored: the arXiv side stamp, a rotated axis label
        pdfium_c.FPDFTextObj_GetFontSize(obj.raw, size)
        collector.runs.append((text, matrix.f, size.value * math.hypot(matrix.c, matrix.d), obj.level))
    return collector.lines()


# The start of a line that may be a numbered heading ("4 Post-training", "A.1 Setup").
_HEADING_START = re.compile(r"(?m)^(?:\d{1,2}|[A-H])(?:\.\d{1,2})*\.?[ \t]+[A-Z]")
MAX_HEADING_LINE = 160  # a heading with a label beside it; structure.py takes titles up to 80 characters
_PAGE_NUMBER_REST = re.compile(r"[.\s\u2026\u00b7]*\d{0,4}[ \t]*$")


def split_heading_lines(textpage: pdfium.PdfTextPage, text: str) -> str:
    """`text` with a line break where a heading line runs into other text on the same line of PDFium's text.

    PDFium joins text that the page prints elsewhere (a figure label set beside a heading: "4 Post-training
    Stage 1") into one line; the heading finder would take the label for part of the title. The join shows
    as a jump of the baseline or a gap of several letters' width, which a heading never has inside it. Only
    lines that start like a numbered heading are looked at: a few character boxes per page."""
    if len(text) != pdfium_c.FPDFText_CountChars(textpage.raw):
        return text
    cuts: list[int] = []
    x, y = ctypes.c_double(), ctypes.c_double()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    for m in _HEADING_START.finditer(text):
        end = text.find("\r", m.start())
        end = len(text) if end < 0 else end
        if end - m.start() > MAX_HEADING_LINE:
            continue  # a paragraph that starts with a number: the heading finder would not take it anyway
        pdfium_c.FPDFText_GetCharBox(textpage.raw, m.start(), left, right, bottom, top)
        height = max(top.value - bottom.value, 1.0)
        last: tuple[float, float] | None = None  # (right edge, baseline) of the last printed character
        for k in range(m.start(), end):
            if text[k].isspace():
                continue
            pdfium_c.FPDFText_GetCharBox(textpage.raw, k, left, right, bottom, top)
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, k, x, y)
            if last is not None and (abs(y.value - last[1]) > height or left.value - last[0] > 3 * height):
                if not _PAGE_NUMBER_REST.match(text, k, end):  # a contents line keeps its page number
                    cuts.append(k)
                break
            last = (right.value, y.value)
    for k in reversed(cuts):
        text = text[:k].rstrip(" ") + "\r\n" + text[k:]
    return text


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """The document (raises PdfiumError for a file PDFium cannot open: damaged, or needs a password)."""
    return pdfium.PdfDocument(str(path))


@_locked
def first_page_raw(path: Path) -> tuple[str, str | None, str | None]:
    """Page 1's text, its layout title and the /Title metadata, without reading the other pages."""
    doc = open_pdf(path)
    try:
        if len(doc) == 0:
            return "", None, None
        page = doc[0]
        textpage = page.get_textpage()
        try:
            _, height = page.get_size()
            text, title = textpage.get_text_range(), layout_title(layout_lines(page, textpage), height)
        finally:
            textpage.close()
            page.close()
        return text, title, doc.get_metadata_dict(skip_empty=True).get("Title")
    finally:
        doc.close()


@_locked
def read_raw(path: Path) -> RawPdf:
    """Every page's text (PDFium's: CRLF line ends, U+FFFE for a hyphen at a line end) and page 1's title."""
    doc = open_pdf(path)
    try:
        pages: list[str] = []
        title = None
        for number in range(len(doc)):
            page = doc[number]
            textpage = page.get_textpage()
            try:
                pages.append(split_heading_lines(textpage, textpage.get_text_range()))
                if number == 0:
                    _, height = page.get_size()
                    title = layout_title(layout_lines(page, textpage), height)
            finally:
                textpage.close()
                page.close()
        meta = doc.get_metadata_dict(skip_empty=True).get("Title")
        return RawPdf(pages, title, meta)
    finally:
        doc.close()


@dataclass(frozen=True)
class Box:
    """A rectangle on a page as rendered, in fractions of the image's width and height, from its top left."""

    left: float
    top: float
    right: float
    bottom: float


@_locked
def page_count(path: Path) -> int:
    doc = open_pdf(path)
    try:
        return len(doc)
    finally:
        doc.close()


@contextmanager
def _text_page(path: Path, number: int) -> Iterator[tuple[pdfium.PdfPage, pdfium.PdfTextPage]]:
    """Page `number` (1-based) of the PDF and its text page, closed (with the document) on leaving."""
    doc = open_pdf(path)
    try:
        page = doc[number - 1]
        textpage = page.get_textpage()
        try:
            yield page, textpage
        finally:
            textpage.close()
            page.close()
    finally:
        doc.close()


@_locked
def page_text(path: Path, number: int) -> str:
    """Page `number` (1-based) as PDFium's characters, one for each character index."""
    with _text_page(path, number) as (_, textpage):
        count = pdfium_c.FPDFText_CountChars(textpage.raw)
        text = textpage.get_text_range()
        if len(text) != count:
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
        return str(text)


@_locked
def char_boxes(path: Path, number: int, indices: list[int]) -> list[Box | None]:
    """The box of each character index on page `number` (1-based) as rendered, None for a space or line end
    PDFium generated. The boxes go through PDFium's own page-to-device transform, so a cropped or rotated
    page maps as render_png draws it."""
    with _text_page(path, number) as (page, textpage):
        width, height = page.get_size()
        rotation = page.get_rotation() // 90
        size_x, size_y = round(width * 8), round(height * 8)  # 8 device units a point: sub-pixel
        if rotation % 2:
            size_x, size_y = size_y, size_x
        dx, dy = ctypes.c_int(), ctypes.c_int()

        def device(x: float, y: float) -> tuple[float, float]:
            pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, size_x, size_y, rotation, x, y, dx, dy)
            return dx.value / size_x, dy.value / size_y

        boxes: list[Box | None] = []
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        for i in indices:
            generated = pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1
            if generated or not pdfium_c.FPDFText_GetCharBox(textpage.raw, i, left, right, bottom, top):
                boxes.append(None)
                continue
            (x0, y0), (x1, y1) = device(left.value, top.value), device(right.value, bottom.value)
            boxes.append(Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        return boxes


@_locked
def render_png(path: Path, number: int, target: Path, *, scale: float) -> None:
    """Page `number` (1-based) as a PNG at `scale` pixels per point, written atomically to `target`."""
    doc = open_pdf(path)
    try:
        page = doc[number - 1]
        try:
            image = page.render(scale=scale).to_pil()
        finally:
            page.close()
    finally:
        doc.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    image.save(tmp, format="PNG", optimize=False, compress_level=1)
    tmp.replace(target)
