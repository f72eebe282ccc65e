"""A paper's name as the heuristic backend guesses it: a short pre-colon title, a report's model name, or the
acronym the paper defines for its own method (not one the whole field uses)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ingest.models import PaperText

# "... Sequence Distillation (DASD)": up to eight words, then an acronym in parentheses.
_DEFINED = re.compile(r"((?:[A-Za-z][\w-]*\s+){1,8})\(([A-Z][A-Za-z0-9.-]*[A-Z0-9][A-Za-z0-9.-]*)\)")
_PAREN = re.compile(r"\([A-Z][A-Za-z0-9.-]*[A-Z0-9][A-Za-z0-9.-]*\)")
_OUTSIDE_WORDS = re.compile(r"[^\w\s-]")


def _definitions(text: str) -> Iterator[re.Match[str]]:
    """The matches of _DEFINED.finditer(text), found from each "(ACRONYM)" instead of trying the words at
    every letter of the text (about 10 ms a paper): a match's words hold only word characters, spaces and
    hyphens, so it starts after the last other character before its parenthesis, and spans no other one."""
    last = 0
    for paren in _PAREN.finditer(text):
        start = last
        for other in _OUTSIDE_WORDS.finditer(text, last, paren.start()):
            start = other.end()
        found = _DEFINED.search(text, start, paren.end())
        if found is not None:
            yield found
        last = paren.end()


def defined_acronyms(text: str) -> dict[str, str]:
    """Acronyms the paper defines, with their expansion: "Sequence Distillation (SD)" gives {"SD": "Sequence
    Distillation"}; the capitals must be the initials of the words right before. A cited "(PPO)" is not."""
    found: dict[str, str] = {}
    for m in _definitions(text):
        words = [w for w in re.split(r"[\s-]+", m.group(1)) if w]
        capitals = "".join(c for c in m.group(2) if c.isupper())
        expansion = words[-len(capitals) :] if capitals else []
        if len(capitals) >= 2 and "".join(w[0] for w in expansion).upper() == capitals:
            found.setdefault(m.group(2), " ".join(expansion))
    return found


def guess_name(title: str, paper: PaperText, generic: Iterable[str] = ()) -> str:
    """The name: a short pre-colon title (its acronym when the paper defines one for it), a report's model
    name, else the acronym the paper defines on its first pages and uses most, else the title itself."""
    early = " ".join(paper.pages[:2])
    # An acronym names the paper when it shares a word with the title ("supervised fine-tuning (SFT)" does not
    # name DASD) and is not one the whole field uses (the taxonomy's generic_acronyms).
    title_words = set(re.split(r"[\s:,-]+", title.lower()))
    skip = set(generic)
    uses = {
        a: len(re.findall(rf"(?<![\w-]){re.escape(a)}(?![\w-])", paper.text))
        for a, expansion in defined_acronyms(early).items()
        if a not in skip and set(re.split(r"[\s-]+", expansion.lower())) & title_words
    }
    head = title.split(":")[0].strip()
    if ":" in title and len(head.split()) <= 3:
        # "Direct Preference Optimization: ..." is known as DPO: the paper's "(DPO)" names it better.
        initials = "".join(w[0] for w in re.split(r"[\s-]+", head) if w).upper()
        return initials if len(head.split()) > 1 and uses.get(initials, 0) >= 5 else head
    stripped = re.sub(r"\s*(technical report|tech report|report)$", "", title, flags=re.I).strip()
    if stripped != title and len(stripped.split()) <= 3:
        return stripped
    if uses and max(uses.values()) >= 5:
        return max(uses, key=lambda a: (uses[a], -early.find(f"({a})")))
    words = head.split() if ":" in title else title.split()
    return " ".join(words[:8]).rstrip(".,;:")
