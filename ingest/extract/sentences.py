"""A paper's sentences as the heuristic's rules read them, and `Doc`: their lowered text joined once, so a
keyword group or a set of cue words is one scan of the paper rather than one per sentence."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from ingest.extract.support import any_cue_pattern
from ingest.models import PaperText

MIN_SENTENCE, MAX_SENTENCE = 30, 400
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_WORD = re.compile(r"\w").match


@dataclass(frozen=True)
class Sentence:
    page: int
    text: str
    front: bool  # title, abstract or first page: weighs more

    @cached_property
    def low(self) -> str:
        """The text in lower case, made once: every rule matches cue words against it."""
        return self.text.lower()


def sentences(paper: PaperText) -> list[Sentence]:
    """The paper's sentences outside the references, each a verbatim slice of its page's text."""
    refs = [(s.start, s.end) for s in paper.sections if s.kind == "references"]
    front_end = min((s.start for s in paper.sections if s.kind == "introduction"), default=0)
    out = []
    for number, page in enumerate(paper.pages, start=1):
        base = paper.page_starts[number - 1]
        pos = 0
        for piece in _SPLIT.split(page):
            at = page.find(piece, pos)
            pos = at + len(piece)
            offset = base + at
            if any(a <= offset < b for a, b in refs):
                continue
            if MIN_SENTENCE <= len(piece) <= MAX_SENTENCE:
                out.append(Sentence(number, piece, number == 1 or offset < front_end))
    return out


class Doc:
    """The sentences and their lowered text joined once: a keyword group is one regex scan."""

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
        # The same text with a separator no cue can match across (cues span spaces and hyphens only).
        self._sealed = "\x00".join(lowered)
        self._named: dict[tuple[str, ...], set[int]] = {}

        self._seen: dict[str, set[int]] = {}

    def cites(self, text: str) -> bool:
        """The citation rule, asked once a sentence (every keyword group sorts its sentences by it)."""
        found = self._cited.get(text)
        if found is None:
            found = self._cited[text] = self._cites_rule(text)
        return found

    def naming(self, cues: Sequence[str]) -> set[int]:
        """Indices of the sentences that hold any of the cues (support.mentions of each), in one scan."""
        key = tuple(cues)
        if key not in self._named:
            found = any_cue_pattern(key).finditer(self._sealed)
            self._named[key] = {bisect_right(self.starts, m.start()) - 1 for m in found}
        return self._named[key]

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

    def hits(self, keywords: Iterable[str]) -> list[Sentence]:
        found: set[int] = set()
        for k in keywords:
            if k.strip():
                found |= self._sentences_with(k.lower())
        return [self.sents[i] for i in sorted(found)]
