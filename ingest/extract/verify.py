"""Verify an extraction against its paper: every quote is searched for in the paper's normalised text.

A quote is normalised like the page text (read.normalise) and looked for on its cited page first, then on the
other pages: first exactly (ignoring case), then fuzzily with rapidfuzz's `partial_ratio_alignment`, which
scores the best-matching window of the page against the quote. A fuzzy match counts when it scores at least
FUZZY_THRESHOLD (0-100); 90 tolerates a ligature, a dropped hyphen or a one-word slip in a sentence-long quote
while rejecting paraphrase. Quotes shorter than MIN_FUZZY_CHARS must match exactly, since a short string
partially matches almost any page.

Found on another page: the quote's page is corrected, `cited_page` keeps the model's page, and the field gets
`page-corrected`. Not found: the quote is `not_found` and the field is `ungrounded`. The paper text is also
scanned for injection attempts (text that tries to instruct a model or a reviewer), and so is the model's
answer (extract/injection.py, one detector for both): `injection-suspect`.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from ingest.extract.injection import find_injection, screen_answer
from ingest.models import Extraction, FieldEvidence, Flag, MatchKind, PaperText, Quote
from ingest.paper.read import normalise

FUZZY_THRESHOLD = 90.0
MIN_FUZZY_CHARS = 20
Found = tuple[int, MatchKind, float, int, int]


def _find(needle: str, low_pages: list[str], pages: list[int]) -> Found | None:
    """(page, kind, score, start, end) of the first page in `pages` that holds the needle."""
    low = needle.lower()
    for number in pages:
        text = low_pages[number - 1]
        at = text.find(low)
        if at >= 0:
            return number, MatchKind.exact, 100.0, at, at + len(low)
    if len(low) < MIN_FUZZY_CHARS:
        return None
    best: Found | None = None
    for number in pages:
        text = low_pages[number - 1]
        if not text:
            continue
        align = fuzz.partial_ratio_alignment(low, text, score_cutoff=FUZZY_THRESHOLD)
        if align is not None and (best is None or align.score > best[2]):
            best = (number, MatchKind.fuzzy, round(align.score, 1), align.dest_start, align.dest_end)
            if number == pages[0] or align.score >= 99:
                break  # the cited page wins a tie with later pages
    return best


def lowered_pages(paper: PaperText) -> list[str]:
    """The paper's pages in lower case, as quotes are looked for in them (once a paper, not once a quote)."""
    return [page.lower() for page in paper.pages]


def verify_quote(quote: Quote, paper: PaperText, low_pages: list[str] | None = None) -> Quote:
    """The quote with its match kind, score, span in paper.text and (when found elsewhere) corrected page.
    `low_pages`: lowered_pages(paper), when the caller checks many quotes of the paper."""
    needle = normalise(quote.text)
    n = len(paper.pages)
    cited = quote.cited_page or quote.page
    order = ([cited] if 1 <= cited <= n else []) + [p for p in range(1, n + 1) if p != cited]
    low_pages = lowered_pages(paper) if low_pages is None else low_pages
    found = _find(needle, low_pages, order) if needle else None
    if found is None:
        return quote.model_copy(update={"match": MatchKind.not_found, "score": None, "span": None})
    page, kind, score, start, end = found
    offset = paper.page_starts[page - 1]
    return quote.model_copy(
        update={
            "match": kind,
            "score": score,
            "span": (offset + start, offset + end),
            "page": page,
            "cited_page": cited if page != cited else None,
        }
    )


def verify_field(
    evidence: FieldEvidence, paper: PaperText, low_pages: list[str] | None = None
) -> FieldEvidence:
    low_pages = lowered_pages(paper) if low_pages is None else low_pages
    quotes = [verify_quote(q, paper, low_pages) for q in evidence.quotes]
    flags: list[Flag] = [f for f in evidence.flags if f not in (Flag.ungrounded, Flag.page_corrected)]
    if any(q.match == MatchKind.not_found for q in quotes):
        flags.append(Flag.ungrounded)
    if any(q.cited_page is not None for q in quotes):
        flags.append(Flag.page_corrected)
    return evidence.model_copy(update={"quotes": quotes, "flags": flags})


def verify(extraction: Extraction, paper: PaperText) -> Extraction:
    """Check every quote of every field against the paper; pure: returns a new Extraction."""
    low_pages = lowered_pages(paper)
    evidence = {path: verify_field(ev, paper, low_pages) for path, ev in extraction.entry.evidence.items()}
    entry = extraction.entry.model_copy(update={"evidence": evidence})
    flags = list(extraction.flags)
    if find_injection(paper) and Flag.injection_suspect not in flags:
        flags.append(Flag.injection_suspect)
    return screen_answer(extraction.model_copy(update={"entry": entry, "flags": flags}))  # the answer too
