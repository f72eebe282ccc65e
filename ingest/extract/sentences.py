"""A paper cut into the heuristic's sentences, each a verbatim slice of its page with the part of the paper
(abstract, method, related work, ...) it stands in, and the index that finds a keyword's sentences fast."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from ingest.extract.support import any_cue_pattern
from ingest.models import PaperText
from ingest.taxonomy import REGEX_CUE

MIN_SENTENCE, MAX_SENTENCE = 30, 400
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_WORD = re.compile(r"\w").match


@dataclass(frozen=True)
class Sentence:
    page: int
    text: str
    front: bool  # title, abstract or first page: weighs more
    kind: str = ""  # the reader's section kind it stands in ("method", "related_work", ...); "" before any

    @cached_property
    def low(self) -> str:
        """The text in lower case, made once: every rule matches cue words against it."""
        return self.text.lower()


def sentences(paper: PaperText) -> list[Sentence]:
    """The paper's sentences outside the references, each a verbatim slice of its page's text."""
    refs = [(s.start, s.end) for s in paper.sections if s.kind == "references"]
    spans = sorted((s.start, s.end, s.kind) for s in paper.sections)
    starts = [a for a, _, _ in spans]
    front_end = min((s.start for s in paper.sections if s.kind == "introduction"), default=0)
    out = []
    for number, page in enumerate(paper.pages, start=1):
        base = paper.page_starts[number - 1]
        pos = 0
        for piece in _SPLIT.split(page):
            at = page.find(piece, pos)
            pos = at + len(piece)
            offset = base + at
            i = bisect_right(starts, offset) - 1
            kind = spans[i][2] if i >= 0 and offset < spans[i][1] else ""
            if any(a <= offset < b for a, b in refs):
                continue
            if MIN_SENTENCE <= len(piece) <= MAX_SENTENCE:
                out.append(Sentence(number, piece, number == 1 or offset < front_end, kind))
    return out


@cache
def phrase_pattern(*keywords: str) -> re.Pattern[str]:
    """One regex for a group of phrases, each matched as whole words, case-insensitively (on lowered text)."""
    alternatives = "|".join(
        re.escape(k.lower()) for k in sorted(keywords, key=len, reverse=True) if k.strip()
    )
    return re.compile(rf"(?<!\w)(?:{alternatives or '(?!)'})(?!\w)")


def cue_group(cues: tuple[str, ...]) -> re.Pattern[str]:
    """The support check's cue rule for a group of cues as one regex: a group is one scan of the text."""
    return any_cue_pattern(cues)


class Doc:
    """The sentences and their lowered text joined once: a keyword group or a set of cues is one scan."""

    def __init__(self, sents: list[Sentence], cites: Callable[[str], bool] = lambda text: False) -> None:
        self.sents = sents
        self._cites_rule = cites  # whether a sentence is about another paper: quoted last
        self._cited: dict[str, bool] = {}
        lowered = [s.low for s in sents]
        self.starts: list[int] = []
        pos = 0
        for text in lowered:
            self.starts.append(pos)
            pos += len(text) + 1
        self.low = "\n".join(lowered)
        # The same text with a separator no cue can match across (a cue's words may be split by any space).
        self._sealed = "\x00".join(lowered)

        self._seen: dict[str, set[int]] = {}

    def cites(self, text: str) -> bool:
        """The citation rule, asked once a sentence (every keyword group sorts its sentences by it)."""
        found = self._cited.get(text)
        if found is None:
            found = self._cited[text] = self._cites_rule(text)
        return found

    def _sentences_with(self, keyword: str) -> set[int]:
        """Indices of the sentences holding `keyword` as whole words (str.find: far faster than a regex)."""
        if keyword not in self._seen:
            found, low, at = set(), self.low, self.low.find(keyword)
            while at >= 0:
                end = at + len(keyword)
                if (at == 0 or not _WORD(low[at - 1])) and (end == len(low) or not _WORD(low[end])):
                    found.add(bisect_right(self.starts, at) - 1)
                at = low.find(keyword, at + 1)
            self._seen[keyword] = found
        return self._seen[keyword]

    def indices(self, keywords: Iterable[str]) -> list[int]:
        found: set[int] = set()
        for k in keywords:
            if k.startswith(REGEX_CUE):  # a cue list's regex (taxonomy cues), matched as the cue rule does
                found |= self.naming([k])
            elif k.strip():
                found |= self._sentences_with(k.lower())
        return sorted(found)

    def naming(self, cues: Sequence[str]) -> set[int]:
        """Indices of the sentences holding a cue (matched at a word's start, as the support check does),
        found in one scan of the paper."""
        key = "\x00cue:" + "\x00".join(sorted(c for c in cues if c.strip()))
        if key not in self._seen:
            group = cue_group(tuple(sorted(c for c in cues if c.strip())))
            self._seen[key] = {bisect_right(self.starts, m.start()) - 1 for m in group.finditer(self._sealed)}
        return self._seen[key]

    def with_cues(self, cues: Iterable[str]) -> list[int]:
        return sorted(self.naming(list(cues)))

    def hits(self, keywords: Iterable[str]) -> list[Sentence]:
        return [self.sents[i] for i in self.indices(keywords)]
