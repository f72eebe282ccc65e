"""Who wrote a paper and where its own code is, read off its text: the organisation of page 1's affiliation
block and the URLs the paper announces as its own (not a framework it uses, nor one its references cite).

Both prefer nothing to a guess: a value needs its own wording (the taxonomy's `cues`), else it stays empty.
No rule names a paper; organisation words, names and code cues are data in taxonomy.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.extract.support import cue_pattern
from ingest.models import PaperText, Quote
from ingest.taxonomy import Cues

# A code or model URL; a PDF line break may put a space after "https:", "//", the host's dot, a slash or a
# hyphen ("https: //github.com/a/b", "huggingface.co/datasets/a- m-team/c").
_SEGMENT = r"[\w.]+(?:-\s?[\w.]+)*-?"
URL = re.compile(
    r"https?:\s?//\s?(?:www\.)?(?P<host>github\.\s?com|gitlab\.\s?com|huggingface\.\s?co)\s?/\s?"
    r"(?P<prefix>(?:datasets|spaces)\s?/\s?)?"
    rf"(?P<owner>{_SEGMENT})\s?/\s?(?P<name>{_SEGMENT})"
)
# Where an affiliation block ends: the abstract or introduction heading, or this far after the title.
BLOCK_CHARS = 1500
# How far before a URL its sentence may start (a cue further away announces something else).
SENTENCE_CHARS = 240
_SENTENCE_END = re.compile(r"[.!?:;]\s+(?=[A-Z\d(\[])|\s\d\s?(?=https?:)")
_FIRST_PERSON = re.compile(r"\b(we|our|us)\b", re.IGNORECASE)
_PROSE = re.compile(r"\b[a-z]{3,}\b")  # a lower-case word: names and affiliations have few
# Sections whose URLs are someone else's: what the paper cites or reviews.
_NOT_OWN_KINDS = {"references", "related_work"}
# Sections that describe the paper's own contribution, where "the code is at" means its own code.
_FRONT_KINDS = {"front", "abstract", "introduction", "conclusion", ""}
# A marker in front of an affiliation: "1Google Research", "2 Mila", "†University".
_MARKER = re.compile(r"(?:(?<![\d.])\d{1,2}\s?|[*\u2217\u2020\u2021\u00a7\u00b6]\s?)$")
TEAM_WORDS = 4  # a team line is short; an author list is longer


@dataclass(frozen=True)
class OwnUrl:
    url: str  # without the line-break spaces
    quote: Quote  # the paper's text from the announcing words (or the URL) to the URL's end, verbatim

    @property
    def kind(self) -> str:
        return "code" if "huggingface" not in self.url else "model"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _last_cue(text: str, cues: list[str]) -> int:
    """The end of the last cue found in lowered `text`, or -1."""
    ends = [m.end() for c in cues if c.strip() for m in cue_pattern(c).finditer(text)]
    return max(ends, default=-1)


def _sentence_before(text: str, at: int) -> int:
    """Where the sentence holding position `at` starts (at most SENTENCE_CHARS back)."""
    start = max(0, at - SENTENCE_CHARS)
    # The lookahead needs the text after `at` (a footnote's number right before the URL).
    for m in _SENTENCE_END.finditer(text, start, at + 8):
        if m.end() <= at:
            start = m.end()
    return start


def _kind_at(paper: PaperText, offset: int) -> str:
    return next((s.kind for s in paper.sections if s.start <= offset < s.end), "")


def _block(paper: PaperText, title: str = "") -> tuple[int, int]:
    """The affiliation block's span in paper.text: after the title on page 1 (as the PDF prints it, else as
    the candidate gives it), before the abstract or introduction heading, at most BLOCK_CHARS long."""
    page = paper.pages[0] if paper.pages else ""
    start = 0
    for printed in (paper.title, title):
        at = page.lower().find(printed.lower()) if printed else -1
        if printed and at >= 0:
            start = at + len(printed)
            break
    heads = [s.start for s in paper.sections if s.kind in ("abstract", "introduction") and s.start > start]
    end = min([*heads, start + BLOCK_CHARS, len(page)])
    return start, end


def _names_paper(repo: str, paper: PaperText, title: str, name: str) -> bool:
    """Whether a repository is named like the paper: its name is the title's first whole words ("OpenFoo-RL"
    for "OpenFoo-RL: ..."), or holds the paper's name; a part of a word ("frob" in "Frobnicating") is not."""
    repo_norm, name_norm = _norm(repo), _norm(name)
    if len(repo_norm) < 4:
        return False
    if len(name_norm) >= 4 and name_norm in repo_norm:
        return True
    for printed in (title, paper.title or ""):
        words = [_norm(w) for w in re.split(r"[\s:,]+", printed) if _norm(w)]
        # From the title's first word: a paper's name leads its title; later words may name another model.
        runs = {"".join(words[:j]) for j in range(1, min(len(words), 6) + 1)}
        if repo_norm in runs:
            return True
    return False


def own_urls(paper: PaperText, cues: Cues, title: str = "", name: str = "", limit: int = 3) -> list[OwnUrl]:
    """The URLs the paper gives as its own code or model, in order: one in the affiliation block under the
    authors; one its sentence announces (the last cue before it is an own_code one, and an own_code_front one
    counts only up front or when the sentence says "we"); one on page 1 named like the paper. Never one in
    the references or related work, nor one after a framework cue (other_code)."""
    text, page1_end = paper.text, len(paper.pages[0]) if paper.pages else 0
    block = _block(paper, title)
    found: dict[str, OwnUrl] = {}
    for m in URL.finditer(text):
        kind = _kind_at(paper, m.start())
        if kind in _NOT_OWN_KINDS:
            continue
        url = re.sub(r"\s+", "", m.group(0)).rstrip(".-")
        page = paper.page_of(m.start())
        # A quote stays on its page (verify looks for it there).
        start = max(_sentence_before(text, m.start()), paper.page_starts[page - 1])
        sentence = text[start : m.start()].lower()
        own = _last_cue(sentence, cues.own_code)
        if kind in _FRONT_KINDS or m.start() < page1_end or _FIRST_PERSON.search(sentence):
            own = max(own, _last_cue(sentence, cues.own_code_front))
        other = _last_cue(sentence, cues.other_code)
        # Under the authors means no sentence leads to it ("compared with X (URL)" in an abstract is X's).
        in_block = block[0] <= m.start() < block[1] and len(_PROSE.findall(text[start : m.start()])) < 2
        named = m.start() < page1_end and _names_paper(m.group("name"), paper, title, name)
        if other > own or not (own >= 0 or in_block or named):
            continue
        quote_from = start + sentence.rfind(" ", 0, max(0, own - 40)) + 1 if own >= 0 else m.start()
        quote = Quote(text=text[quote_from : m.end()].strip(), page=page)
        found.setdefault(url.lower(), OwnUrl(url=url, quote=quote))
    return list(found.values())[:limit]


def _org_pattern(cues: Cues) -> re.Pattern[str]:
    """A name ending in an org word ("Shanghai AI Laboratory"), "University of X" ones, or a listed name."""
    words = "|".join(re.escape(w) for w in sorted(cues.org_words, key=len, reverse=True))
    names = "|".join(re.escape(n) for n in sorted(cues.org_names, key=len, reverse=True))
    word = r"[A-Z][\w&.'\u2019-]*"
    # "University of California, Los Angeles": the place after a comma is part of the name.
    place = r"(?!(?:Abstract|ABSTRACT|Introduction)\b)[A-Z][\w-]+"
    tail = rf"(?:\s+(?:of|for)(?:\s+(?:the\s+)?{word}){{1,4}}(?:,\s+{place}(?:\s+{place})?)?)?"
    lead = rf"(?:(?:The\s+)?(?:{word}\s+){{0,4}})"
    alternatives = [f"{lead}(?:{words})(?![\\w-]){tail}"] if words else []
    if names:
        alternatives.append(f"(?:{names})(?![\\w-])")
    return re.compile("|".join(alternatives) or "(?!)")


def _in_prose(page: str, start: int, end: int) -> bool:
    """Whether a name stands inside a sentence: a lowercase word right before or after it ("thank the X Team",
    "X University students"), not an affiliation block's names, markers, commas and e-mails."""
    before = page[max(0, start - 30) : start].split()
    after = page[end : end + 30].split()
    lower = re.compile(r"^[a-z][a-z'\u2019]*[,.;:]?$")
    prev_word = before[-1] if before else ""
    next_word = after[0] if after else ""
    return bool(
        (lower.match(prev_word) and prev_word not in ("and", "&"))
        or (lower.match(next_word) and next_word.rstrip(",.;:") not in ("and",))
    )


def _marked(page: str, start: int) -> bool:
    """An affiliation footnote or line: a number or symbol marker right before the name."""
    return bool(_MARKER.search(page[max(0, start - 4) : start]))


def _clean(words: list[str], skip: set[str]) -> str:
    """The name without the title's or authors' words that a block's line runs into ("Technical Report Foo
    Team", "Ann Lee Acme University")."""
    while len(words) > 1 and words[0].lower().rstrip(",") in skip | {"technical", "report", "the"}:
        words = words[1:]
    return " ".join(words).rstrip(",")


def affiliation(paper: PaperText, title: str, cues: Cues, authors: Sequence[str] = ()) -> str | None:
    """The organisation of page 1's affiliation block: the first name in the block under the authors (a
    team's name only when no other organisation is there), else the first one a footnote marker introduces
    ("1Google Research, ..."), else a report's team line. None rather than a name read out of a sentence."""
    if not paper.pages:
        return None
    page = paper.pages[0]
    block_start, block_end = _block(paper, title)
    title_words = {w.lower() for w in re.split(r"[\s:,-]+", f"{title} {paper.title or ''}") if w}
    # Names run into the organisation after them when the PDF's lines are joined: the authors' words are cut.
    skip = title_words | {w.lower() for a in authors for w in a.split()}
    pattern = _org_pattern(cues)
    in_block: list[str] = []
    teams: list[str] = []
    footnotes: list[str] = []
    names_of = {n.lower() for n in cues.org_names}
    for m in pattern.finditer(page, block_start):
        if _in_prose(page, m.start(), m.end()):
            continue
        name = _clean(m.group(0).split(), skip)
        # A lone word ("Research", "Laboratory") is a heading or a sentence's start, not a name.
        if not name or (len(name.split()) < 2 and name.lower() not in names_of):
            continue
        is_team = name.split()[-1] in ("Team", "Group") and len(name.split()) > 1
        if m.start() < block_end:
            (teams if is_team else in_block).append(name)
        elif _marked(page, m.start()) and not is_team:
            footnotes.append(name)
    for names in (in_block, footnotes, teams):
        if names:
            return names[0]
    return _team_line(page, paper.title or title)


def _team_line(page: str, title: str) -> str | None:
    """A report's team line: the few words between its printed title and "Abstract" ("MiMo Report LLM-Core
    Xiaomi Abstract ..."), when they are no author list (no comma, star, digit or "and") nor one name."""
    at = page.find(title) if title else -1
    end = page.find("Abstract", at + len(title)) if at >= 0 else -1
    if end < 0:
        return None
    # An e-mail or URL beside the team's name is not part of it.
    words = [w for w in page[at + len(title) : end].split() if "@" not in w and "://" not in w]
    block = " ".join(words)
    # A lab's or company's name is spelled unlike a person's ("LLM-Core", "DeepSeek-AI"): a lone author's
    # "Ann Lee" is no team.
    named = any(re.search(r"-|[A-Z]\w*[A-Z]", w) for w in words)
    if (
        1 <= len(words) <= TEAM_WORDS
        and named
        and not re.search(r"[,*\d†‡]|\band\b", block)
        and block[:1].isupper()
    ):
        return block
    return None
