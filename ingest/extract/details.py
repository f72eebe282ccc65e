"""The technical-detail columns the heuristic backend reads off a paper (loss or divergence, data, teacher
access, granularity, ...): a value is written only when a sentence of the paper's own states it.

Every rule is data: per group of columns, the taxonomy file (`cues.details`) gives each value's cue words, the
words one of which the same sentence must also hold (`context`: "token-level" says the granularity only next
to a teacher or a loss), and how a value is picked (the one most sentences state, or the first listed that
any states). Sentences about other work (the related work, a citing sentence), about future work, and those
that set the method against another (`cues.contrast`) state nothing. A column two groups fill takes the first
group's value; a later group is a fallback.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ingest.extract.scope import OWN_PARTS, own_sentence
from ingest.extract.support import FIRST_PERSON
from ingest.models import FieldEvidence, Flag, Quote
from ingest.taxonomy import DetailCues, Taxonomy

if TYPE_CHECKING:
    from ingest.extract.sentences import Doc, Sentence

DETAIL_CONFIDENCE = 0.3
MAX_QUOTES = 2
# A sentence that says "we" or stands in the method or abstract describes the paper's own choice: it counts
# more than a sentence elsewhere (an example, a comparison in the experiments).
OWN_WEIGHT = 2.0


def _weight(s: Sentence) -> float:
    return OWN_WEIGHT if s.kind in OWN_PARTS or s.front or FIRST_PERSON.search(s.text) else 1.0


def own_indices(doc: Doc, taxonomy: Taxonomy) -> set[int]:
    """The sentences that may state a detail: the paper's own, not the ones about future work or that set the
    method against another ("unlike GRPO", "rather than the forward KL": they name what it does not use)."""
    not_done = set(doc.with_cues([*taxonomy.cues.not_done, *taxonomy.cues.contrast]))
    return {i for i in range(len(doc.sents)) if i not in not_done and own_sentence(doc, i)}


def _group_value(doc: Doc, group: DetailCues, own: set[int]) -> tuple[str, list[Sentence]] | None:
    """The value a group's cues give, with the sentences that state it (best first), or None."""
    allowed = own & doc.naming(group.context) if group.context else own
    stated: list[tuple[float, str, list[Sentence]]] = []
    for value, cues in group.values.items():
        hits = sorted((doc.sents[i] for i in doc.naming(cues) & allowed), key=lambda s: (-_weight(s), s.page))
        if hits:
            stated.append((sum(_weight(s) for s in hits), value, hits))
    if not stated:
        return None
    # `first`: the first listed value any sentence states; `most`: the one most stated (the first on a tie).
    weight, value, hits = stated[0] if group.pick == "first" else max(stated, key=lambda t: t[0])
    # A value that shares the paper with others as often (a domain among several) is no statement of it.
    if len(hits) < group.min_sentences or weight < group.min_share * sum(t[0] for t in stated):
        return None
    return value, hits


def detail_columns(
    doc: Doc, section_columns: list[str], taxonomy: Taxonomy, own: set[int] | None = None
) -> dict[str, tuple[str, list[Sentence]]]:
    """column -> (value, sentences that state it) for those of `section_columns` the paper states."""
    own = own_indices(doc, taxonomy) if own is None else own
    out: dict[str, tuple[str, list[Sentence]]] = {}
    for group in taxonomy.cues.details:
        columns = [c for c in section_columns if c in group.columns and c not in out]
        if not columns:
            continue
        found = _group_value(doc, group, own)
        if found is not None:
            out[columns[0]] = found
    return out


def detail_evidence(hits: list[Sentence], used: Counter[str]) -> FieldEvidence:
    """The evidence of one detail value: its best sentence that the fewest other fields quote (a sentence that
    backs three fields backs them weakly), and a second one no field quotes yet; `used` counts them."""
    n = len(hits)
    ranked = sorted(hits, key=lambda s: used[s.text])  # stable: the best sentence first among equals
    chosen = ranked[:1] + [s for s in ranked[1:MAX_QUOTES] if not used[s.text]]
    used.update(s.text for s in chosen)
    return FieldEvidence(
        quotes=[Quote(text=s.text, page=s.page) for s in chosen],
        confidence=DETAIL_CONFIDENCE,
        model_confidence=DETAIL_CONFIDENCE,
        flags=[Flag.heuristic],
        note=f"heuristic: {n} sentence{'' if n == 1 else 's'} of the paper's own state this value",
    )
