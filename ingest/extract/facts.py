"""Facts the heuristic backend reads off a paper's text: its organisation, its own code links, and an axis
value that sentences name alone (a teacher named only by its role); the detail columns are in details.py.

Every rule is a pattern of wording, or cue words from the taxonomy file; none names a paper.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingest.models import PaperText
from ingest.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.extract.sentences import Doc, Sentence

ORG = re.compile(
    r"(?:Google DeepMind|Google Research|Microsoft Research|Meta AI|OpenAI|Anthropic|DeepMind|"
    r"(?:[A-Z][\w&.-]*\s+){0,4}(?:University|Institute|Laboratory|Labs?|Academy|Team|Inc\.|Corporation|Group)"
    r"(?:\s+of(?:\s+[A-Z][\w&.-]*){1,4})?)"
)
URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co)/[\w.-]+/[\w.-]+")
# Words right before a URL that make it the paper's own code or model.
OWN_CODE = re.compile(
    r"(our|the) (code|models?|weights|implementation|data(set)?s?)\b|available at|we (release|open-source)|"
    r"released at|can be found at|open-sourced at|publicly available"
)
# How far before a URL its announcing words may stand.
OWN_CODE_WINDOW = 160
# Sentences that name one value of an axis and no other, for that value when keywords decided nothing.
EXCLUSIVE_SENTENCES = 2
TEAM_WORDS = 4  # a team line is short; an author list is longer


def affiliation(paper: PaperText, title: str) -> str | None:
    """The organisation in page 1's affiliation block: the title's own words (a report's "Technical Report
    X Team" runs into its title line) are not part of it."""
    if not paper.pages:
        return None
    title_words = {w.lower() for w in re.split(r"[\s:,-]+", f"{title} {paper.title or ''}") if w}
    for m in ORG.finditer(paper.pages[0][:3000]):
        words = m.group(0).split()
        while len(words) > 1 and words[0].lower() in title_words | {"technical", "report"}:
            words = words[1:]
        if len(words) >= 2:
            return " ".join(words)
    return _team_line(paper.pages[0], paper.title or title)


def _team_line(page: str, title: str) -> str | None:
    """A report's team line: the few words between its printed title and "Abstract" ("MiMo Report LLM-Core
    Xiaomi Abstract ..."), when they are no author list (no comma, star, digit or "and")."""
    at = page.find(title) if title else -1
    end = page.find("Abstract", at + len(title)) if at >= 0 else -1
    if end < 0:
        return None
    # An e-mail or URL beside the team's name is not part of it.
    words = [w for w in page[at + len(title) : end].split() if "@" not in w and "://" not in w]
    block = " ".join(words)
    if 1 <= len(words) <= TEAM_WORDS and not re.search(r"[,*\d†‡]|\band\b", block) and block[:1].isupper():
        return block
    return None


def own_urls(paper: PaperText, limit: int = 3) -> list[str]:
    """The paper's own code: a URL next to "our code", "available at", "we release", or on page 1 (where a
    paper's own links and their footnotes sit); a URL cited elsewhere is usually someone else's."""
    own, page1 = [], paper.pages[0] if paper.pages else ""
    for m in URL.finditer(paper.text):
        before = paper.text[max(0, m.start() - OWN_CODE_WINDOW) : m.start()].lower()
        if m.start() < len(page1) or OWN_CODE.search(before):
            own.append(m.group(0).rstrip("."))
    return list(dict.fromkeys(own))[:limit]


def exclusive_value(doc: Doc, taxonomy: Taxonomy, axis_id: str) -> tuple[str, list[Sentence]]:
    """The axis value that sentences name alone ("the teacher" with no word for the student itself, an earlier
    checkpoint or several teachers), when at least EXCLUSIVE_SENTENCES do; ("", []) when none does."""
    axis = taxonomy.axis(axis_id)
    cues = {v.id: taxonomy.value_cues(f"axes.{axis_id}", v.id) for v in axis.values}
    # Which sentences name each value, found once: a sentence names a value alone when no other value's
    # set holds it.
    naming = {value: doc.naming(own) for value, own in cues.items()}
    best: tuple[str, list[Sentence]] = ("", [])
    for value in cues:
        others = set().union(*(found for v, found in naming.items() if v != value))
        hits = [doc.sents[i] for i in sorted(naming[value] - others)]
        if len(hits) >= EXCLUSIVE_SENTENCES and len(hits) > len(best[1]):
            best = (value, hits)
    return best
