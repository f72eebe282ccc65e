"""Where the heuristic files a paper: the section that its own description of the distillation points to, with
the rest of its body and its title as smaller signals; a document-kind section (a report, a survey) when the
title says the paper is that kind of document (the taxonomy's `cues.genre_sections`).

A long paper mentions its application (agents, reasoning, images) on every page; the sentences that describe
the distillation itself say what kind of distillation it is. So those sentences, and the ones right beside
them, count in full; any other sentence of the paper's own text counts BODY_SHARE; the title TITLE_UNITS.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.extract.scope import OpdEvidence, core_indices, own_sentence
from ingest.extract.sentences import Doc, Sentence, phrase_pattern
from ingest.taxonomy import Section, Taxonomy

BODY_SHARE = 0.02
TITLE_UNITS = 1.0
# A second section only on a near tie: the catalog cross-lists few entries (4 of its 109 when this was set).
CROSS_LIST = 0.95


@dataclass(frozen=True)
class Placement:
    sections: list[str]
    weight: float  # the primary section's score
    hits: list[Sentence]  # the sentences that back it, the distillation's own first
    note: str


def section_words(section: Section, taxonomy: Taxonomy) -> list[str]:
    """A section's keywords and cues, without the words every distillation sentence holds ("teacher"): in a
    sentence picked for saying C2, they tell nothing about the kind of distillation."""
    c2 = {c.lower() for c in taxonomy.cues.distillation}
    words = [*section.keywords, *taxonomy.cues.sections.get(section.id, [])]
    return [w for w in dict.fromkeys(words) if w.strip() and w.lower() not in c2]


def place(doc: Doc, evidence: OpdEvidence, titles: str, taxonomy: Taxonomy) -> Placement:
    """The primary section and at most one close second; see the module docstring."""
    title_low = titles.lower()  # the candidate's title (arXiv's) and the one printed on page 1
    for section_id, words in taxonomy.cues.genre_sections.items():
        said = next((w for w in words if phrase_pattern(w).search(title_low)), None)
        if said:
            hits = doc.hits([said])
            hits.sort(key=lambda s: (not s.front, s.page))
            return Placement([section_id], TITLE_UNITS, hits, f"heuristic: the title says {said!r}")
    core = core_indices(doc, evidence)
    scored: list[tuple[str, float, list[Sentence]]] = []
    for section in taxonomy.catalog_sections:
        if section.id in taxonomy.cues.genre_sections:
            continue
        words = section_words(section, taxonomy)
        own = [i for i in doc.indices(words) if own_sentence(doc, i)]
        in_core = [i for i in own if i in core]
        in_title = any(phrase_pattern(w).search(title_low) for w in words)
        weight = len(in_core) + BODY_SHARE * len(own) + TITLE_UNITS * in_title
        ordered = in_core + [i for i in own if i not in core]
        scored.append((section.id, weight, [doc.sents[i] for i in ordered]))
    scored.sort(key=lambda s: -s[1])
    top = scored[0]
    second = [s[0] for s in scored[1:2] if s[1] >= CROSS_LIST * top[1] > 0]
    where = "the sentences that describe its distillation" if core else "the paper's own sentences"
    return Placement([top[0], *second], top[1], top[2], f"heuristic: the section {where} point to most")
