"""Read a PDF into normalised, page-tagged text (PDFium or pypdf), cached by its sha256; many: readers.py.

The `read.engine` setting chooses the reader: pdfium (default; pypdfium2, far faster than pypdf) or pypdf.
A PDF that PDFium cannot open is read with pypdf, which also names what is wrong with a broken file.
Normalisation (one pipeline, `normalise`, used on page text and on quotes alike): Unicode NFKC (so the
ligature "ﬁ" becomes "fi"), the arXiv side stamp `arXiv:NNNN.NNNNNvN [cat] D Mon YYYY` removed, a word
hyphenated across a line end joined again (PDFium marks that hyphen as U+FFFE inside the joined word; pypdf
leaves "-" before the line end: both go through the same rule), and all whitespace (line ends included)
collapsed to single spaces. A page is therefore one line of text; `PaperText.text` joins the pages with a
blank line and `PaperText.page_of` maps any character offset back to its page, so a quote found with `locate`
names its page. The title is read from page 1's layout (title.py), quoted as page 1 prints it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from ingest.errors import ReadError
from ingest.models import PaperText
from ingest.paper.context import select_context
from ingest.paper.structure import find_sections
from ingest.paper.title import choose_title
from ingest.paper.tokens import count_tokens

if TYPE_CHECKING:
    from diskcache import Cache

__all__ = [
    "cached_text",
    "count_tokens",
    "find_spaceless",
    "first_page",
    "locate",
    "normalise",
    "read_cached",
    "read_pdf",
    "select_context",
    "text_cache",
]

# Bump when normalisation, section or title finding changes, so cached texts are parsed again. The engine
# is part of the cache key too: the two readers' texts differ in small ways.
READER_VERSION = 4
Engine = Literal["pdfium", "pypdf"]
DEFAULT_ENGINE: Engine = "pdfium"

STAMP_RE = re.compile(
    r"arXiv:\s?(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})v\d+\s*\[[A-Za-z.-]+\]\s*\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}"
)
# Some fonts' ToUnicode maps yield lone UTF-16 surrogates (seen in InfiGUI-G1 and OpenClaw-RL); they cannot be
# encoded, so they would break the cache and every later write. They carry no text: replace them.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SPACE_RE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u3000]+")
_HYPHENS = "-\u00ad\u2010"
_HYPHEN_END_RE = re.compile(r"([^\W\d_]{2,})[-\u00ad\u2010]$")
# PDFium's mark of a hyphen it removed at a line end, inside the word it joined ("de\ufffeployment").
LINE_END_HYPHEN = "\ufffe"
_MARKED_HYPHEN_RE = re.compile(r"\ufffe[ \t]*(?:\r\n|\r|\n)?")
_WORD_START_RE = re.compile(r"^([a-z][^\W\d_]*)")
# Whitespace as str.isspace() and str.split() see it (find_spaceless squeezes it out).
_SPACES = re.compile(r"\s+")
_NON_SPACES = re.compile(r"\S+")


def _clean_lines(raw: str, keep_hyphen: Callable[[str, str], bool] | None = None) -> list[str]:
    """The lines of a page after NFKC, stamp removal, whitespace clean-up and joining of hyphenated words."""
    text = (
        unicodedata.normalize("NFKC", _SURROGATE_RE.sub("\ufffd", raw))
        .replace("\r\n", "\n")
        .replace("\r", "\n")
    )
    text = STAMP_RE.sub(" ", text)
    if LINE_END_HYPHEN in text:
        # Back to a hyphen at a line end, so PDFium's text takes exactly pypdf's rules (join, or keep "-").
        text = _MARKED_HYPHEN_RE.sub("-\n", text)
    lines = [_SPACE_RE.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out and out[-1][-1] in _HYPHENS:
            last = out[-1]
            head = _HYPHEN_END_RE.search(last, max(0, len(last) - 80))  # a word, not the whole joined line
            tail = _WORD_START_RE.match(line)
            if head and tail:
                prefix, suffix = head.group(1), tail.group(1)
                joiner = "-" if keep_hyphen and keep_hyphen(prefix, suffix) else ""
                out[-1] = out[-1][: head.start()] + prefix + joiner + line
                continue
        out.append(line)
    return out


def normalise(text: str) -> str:
    """NFKC, no arXiv stamp, hyphenated line ends joined, whitespace collapsed: the form of page text."""
    return " ".join(_clean_lines(text))


def _hyphen_rule(raw_pages: list[str]) -> Callable[[str, str], bool]:
    """Keep a line-end hyphen when the paper itself writes that compound with a hyphen more often than not."""
    flat = unicodedata.normalize("NFKC", " ".join(raw_pages)).lower()
    words = Counter(re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", flat))

    def keep(prefix: str, suffix: str) -> bool:
        joined, hyphened = (prefix + suffix).lower(), f"{prefix}-{suffix}".lower()
        return words[hyphened] > words[joined]

    return keep


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_bytes(path: Path, name: str) -> None:
    """Refuse what is plainly not a whole PDF before pypdf tries to repair it into partial text."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 2048))
            tail = fh.read()
    except OSError as exc:
        raise ReadError(name, f"cannot open {path}: {exc.strerror or exc}", hint="check the path") from exc
    if size == 0:
        raise ReadError(name, f"{path.name} is empty (0 bytes)", hint="check the file, or download it again")
    if b"%PDF-" not in head:
        start = head[:40].decode("latin-1", "replace").strip().replace("\n", " ")
        raise ReadError(
            name,
            f"{path.name} is not a PDF (it starts with {start!r})",
            hint="check the file, or download it again",
        )
    if b"%%EOF" not in tail:
        raise ReadError(
            name,
            f"{path.name} is truncated (no %%EOF end marker)",
            hint="check the file, or download it again",
        )


def read_pdf(path: Path, *, source: str | None = None, engine: Engine = DEFAULT_ENGINE) -> PaperText:
    """A PDF's pages as normalised text with their sections; raises ReadError naming the paper and file."""
    path = Path(path)
    name = source or path.name
    _check_bytes(path, name)
    raw = _read_pdfium(path) if engine == "pdfium" else None
    if raw is None:
        from ingest.paper.pypdf_read import read_pypdf  # pypdf loads only when it reads

        raw = read_pypdf(path, name)
    raw_pages, layout, metadata = raw
    if not raw_pages:
        raise ReadError(name, f"{path.name} has no pages", hint="check the file, or download it again")
    keep = _hyphen_rule(raw_pages)
    lines = [_clean_lines(raw, keep) for raw in raw_pages]
    pages = [" ".join(page) for page in lines]
    if not any(pages):
        raise ReadError(
            name, f"{path.name} has no text layer ({len(pages)} pages of images only)", hint="OCR it first"
        )
    flags = []
    blank = sum(1 for page in pages if not page)
    if blank:
        flags.append(f"pages-without-text:{blank}")
    title = choose_title(layout, metadata, pages[0])
    paper = PaperText(source=name, pages=pages, title=title, flags=flags, sha256=_sha256(path))
    paper.sections = find_sections(paper, lines)
    return paper


def _read_pdfium(path: Path) -> tuple[list[str], str | None, str | None] | None:
    """Page texts, layout title and /Title by PDFium; None when PDFium cannot read the file (pypdf will)."""
    from ingest.paper.pdfium import read_raw

    try:
        raw = read_raw(path)
    except Exception:  # PdfiumError (damaged, password) or anything odd: pypdf reads it, or says why not
        return None
    return raw.pages, raw.layout_title, raw.metadata_title


@dataclass(frozen=True)
class FirstPage:
    """Page 1 alone: its text (NFKC and whitespace only, arXiv stamp kept) and the paper's title, if found."""

    text: str
    title: str | None


def first_page(path: Path) -> FirstPage:
    """Page 1's text and title without parsing the rest (discover's look at a local PDF); empty on failure."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return FirstPage("", None)
    return _first_page(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)  # resolve_ref asks for the id (stamp) and the title of one file: parse page 1 once
def _first_page(path: str, mtime_ns: int, size: int) -> FirstPage:
    from ingest.paper.pdfium import first_page_raw

    try:
        raw, layout, meta = first_page_raw(Path(path))
    except Exception:  # PDFium cannot open it: pypdf may; read_pdf says why later when neither can
        pass
    else:
        raw = raw.replace(LINE_END_HYPHEN, "-")
        text = " ".join(unicodedata.normalize("NFKC", raw).split())
        return FirstPage(text, choose_title(layout, meta, normalise(raw)))
    from ingest.paper.pypdf_read import first_page_pypdf

    try:
        raw, layout, metadata = first_page_pypdf(Path(path))
    except Exception:  # best effort: a file pypdf cannot open has no stamp to read; read_pdf says why later
        return FirstPage("", None)
    return FirstPage(
        " ".join(unicodedata.normalize("NFKC", raw).split()), choose_title(layout, metadata, normalise(raw))
    )


def first_page_text(path: Path) -> str:
    """Page 1's text, NFKC and whitespace only, stamp kept: discover reads a local file's arXiv id from it."""
    return first_page(path).text


def _from_cache(cache: Any, key: str, name: str) -> PaperText | None:
    stored = cache.get(key)
    if isinstance(stored, str):
        try:
            return PaperText.model_validate_json(stored).model_copy(update={"source": name})
        except ValidationError:
            pass  # written by an older PaperText: parse the PDF again and replace it
    return None


def _cache_key(path: Path, engine: Engine) -> str:
    return f"v{READER_VERSION}:{engine}:{_sha256(path)}"


def text_cache(cache_dir: Path) -> Cache:
    """The text cache, open (a context manager): opening costs ~7 ms of CPU, so a caller reading many PDFs
    opens it once and passes it as `store` (diskcache is safe across threads)."""
    from diskcache import Cache

    return Cache(str(Path(cache_dir) / "text"))


def cached_text(
    path: Path,
    cache_dir: Path,
    *,
    source: str | None = None,
    engine: Engine = DEFAULT_ENGINE,
    store: Cache | None = None,
) -> PaperText | None:
    """The PDF's text if an earlier read_cached stored it, else None (nothing is parsed)."""
    path = Path(path)
    if not path.is_file():
        return None
    with nullcontext(store) if store is not None else text_cache(cache_dir) as cache:
        return _from_cache(cache, _cache_key(path, engine), source or path.name)


def read_cached(
    path: Path,
    cache_dir: Path,
    *,
    source: str | None = None,
    engine: Engine = DEFAULT_ENGINE,
    store: Cache | None = None,
) -> PaperText:
    """read_pdf through a diskcache (cache_dir/"text", keyed by the PDF's sha256); a rerun parses nothing."""
    path = Path(path)
    name = source or path.name
    if not path.is_file():
        raise ReadError(name, f"{path} does not exist", hint="check the file, or download it again")
    key = _cache_key(path, engine)
    with nullcontext(store) if store is not None else text_cache(cache_dir) as cache:
        paper = _from_cache(cache, key, name)
        if paper is None:
            paper = read_pdf(path, source=name, engine=engine)
            cache.set(key, paper.model_dump_json())
    return paper


def locate(paper: PaperText, quote: str) -> tuple[int, int] | None:
    """The span of the normalised quote in paper.text (exact, then ignoring case, then ignoring spaces)."""
    needle = normalise(quote)
    if not needle:
        return None
    text = paper.text
    start = text.find(needle)
    if start >= 0:
        return start, start + len(needle)
    lowered = text.lower()
    if len(lowered) != len(text):
        return None  # lower() changed lengths (rare scripts): offsets would not map back
    start = lowered.find(needle.lower())
    if start >= 0:
        return start, start + len(needle)
    return find_spaceless(lowered, needle.lower())


def find_spaceless(text: str, needle: str) -> tuple[int, int] | None:
    """The span of `needle` in `text` when spaces are ignored on both sides: readers space math and
    punctuation differently ("x∈ [0, 1]" and "x ∈ [0, 1]")."""
    bare = "".join(needle.split())
    at = _SPACES.sub("", text).find(bare) if bare else -1
    if at < 0:
        return None
    # Back from the squeezed text to the page's offsets: walk the runs of non-space characters (only for a
    # quote found; a Python loop over every character costs ~10 ms a paper).
    last, seen, start = at + len(bare) - 1, 0, -1
    for run in _NON_SPACES.finditer(text):
        length = run.end() - run.start()
        if start < 0 and at < seen + length:
            start = run.start() + at - seen
        if last < seen + length:
            return start, run.start() + last - seen + 1
        seen += length
    return None  # not reached: the squeezed text holds the needle
