"""Find a paper's sections (abstract, introduction, method, experiments, ...) from its heading lines.

A heading is a short line that is either numbered in sequence ("3 Method", "4. EXPERIMENTS", "A Appendix"
after the references) or a bare well-known title ("Abstract", "REFERENCES"). Numbers must run in order, which
rejects the axis ticks and table cells ("22 Greedy Sampling") that pypdf emits as lines of their own. A
numbered section between the introduction and the experiments whose title names nothing known counts as
method: that is where papers put it.
"""

from __future__ import annotations

import re

from ingest.models import PaperText, SectionSpan

# Title words -> section kind, first match wins. These are the generic parts of a research paper, not a
# catalog's taxonomy, so they live here.
KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("abstract", ("abstract",)),
    ("introduction", ("introduction", "overview")),
    ("references", ("references", "bibliography", "reference")),
    ("appendix", ("appendix", "appendices", "supplementary")),
    ("related_work", ("related work", "related works", "background", "prior work", "literature")),
    (
        "conclusion",
        ("conclusion", "conclusions", "discussion", "limitation", "future work", "summary", "broader impact"),
    ),
    (
        "experiments",
        (
            "experiment",
            "evaluation",
            "results",
            "empirical",
            "setup",
            "set-up",
            "ablation",
            "benchmark",
            "analysis",
        ),
    ),
    (
        "method",
        (
            "method",
            "approach",
            "methodology",
            "preliminaries",
            "preliminary",
            "algorithm",
            "framework",
            "objective",
            "training",
            "model",
            "formulation",
            "distillation",
            "problem",
        ),
    ),
]
BARE_TITLES = {
    "abstract",
    "references",
    "bibliography",
    "appendix",
    "acknowledgements",
    "acknowledgments",
    "introduction",
    "conclusion",
    "conclusions",
    "related work",
    "supplementary material",
}

_NUMBERED = re.compile(r"^(?P<num>\d{1,2}|[A-H])(?P<sub>(?:\.\d{1,2})*)\.?\s+(?P<title>[A-Z][^\n]{1,80})$")
_ABSTRACT_LEAD = re.compile(r"^abstract\b\s*[.:\u2014\u2013-]?\s*", re.IGNORECASE)


def kind_of(title: str) -> str | None:
    low = title.lower()
    for kind, words in KIND_WORDS:
        if any(re.search(rf"\b{re.escape(w)}", low) for w in words):
            return kind
    return None


def _looks_like_title(title: str) -> bool:
    words = title.split()
    letters = sum(c.isalpha() for c in title)
    if re.search(r"(\s\d{1,3}|\.{3,}\s*\d*)$", title):
        return False  # a table-of-contents line: "2 Pre-Training 3" or "Method ........ 4"
    return (
        1 <= len(words) <= 10
        and letters >= 0.6 * len(title.replace(" ", ""))
        and not title.endswith((".", ","))
    )


class _Finder:
    def __init__(self) -> None:
        self.heads: list[tuple[int, str, str]] = []  # (offset, kind, title)
        self.last_num = 0
        self.last_letter = ""
        self.seen_refs = False

    def feed(self, line: str, offset: int) -> None:
        bare = line.strip().rstrip(":").lower()
        if bare in BARE_TITLES or (_ABSTRACT_LEAD.match(line) and not self.heads):
            kind = "abstract" if bare.startswith("abstract") else kind_of(bare) or "other"
            if kind == "references":
                self.seen_refs = True
            self.heads.append((offset, kind, line[:80]))
            return
        m = _NUMBERED.match(line)
        if not m or m.group("sub") or not _looks_like_title(m.group("title")):
            return
        num, title = m.group("num"), m.group("title")
        if num.isdigit():
            n = int(num)
            if n != self.last_num + 1 or self.seen_refs:
                return
            self.last_num = n
            kind = kind_of(title) or self._default_kind()
        else:
            expected = chr(ord(self.last_letter) + 1) if self.last_letter else "A"
            if num != expected or not (self.seen_refs or kind_of(title) == "appendix"):
                return
            self.last_letter = num
            kind = "appendix"
        if kind == "references":
            self.seen_refs = True
        self.heads.append((offset, kind, f"{num} {title}"))

    def _default_kind(self) -> str:
        kinds = [k for _, k, _ in self.heads]
        if "introduction" in kinds and not {"experiments", "conclusion", "references"} & set(kinds):
            return "method"
        return "other"


def find_sections(paper: PaperText, lines: list[list[str]]) -> list[SectionSpan]:
    """SectionSpans over paper.text, in order and covering it; `lines` are each page's cleaned lines."""
    finder = _Finder()
    for start, page_lines in zip(paper.page_starts, lines, strict=True):
        pos = start
        for line in page_lines:
            finder.feed(line, pos)
            pos += len(line) + 1
    text_len = len(paper.text)
    heads = finder.heads
    spans: list[SectionSpan] = []
    if not heads or heads[0][0] > 0:
        spans.append(
            SectionSpan(
                kind="front", title="front matter", start=0, end=heads[0][0] if heads else text_len, page=1
            )
        )
    for i, (offset, kind, title) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else text_len
        if end > offset:
            span = {"kind": kind, "title": title, "start": offset, "end": end, "page": paper.page_of(offset)}
            spans.append(SectionSpan.model_validate(span))
    return spans
