"""Facts the heuristic backend reads off a paper's text: the technical detail columns it states, and an axis
value that sentences name alone (a teacher named only by its role). Its organisation and code: identity.py.

Every rule is a pattern of wording, or cue words from the taxonomy file; none names a paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.models import FieldEvidence, Flag, Quote
from ingest.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.extract.sentences import Doc, Sentence

# Sentences that name one value of an axis and no other, for that value when keywords decided nothing.
EXCLUSIVE_SENTENCES = 2
DETAIL_CONFIDENCE = 0.3


def detail_columns(
    doc: Doc, section_columns: list[str], taxonomy: Taxonomy
) -> dict[str, tuple[str, list[Sentence]]]:
    """column -> (value, sentences that state it) for the columns of the section the text states; the value
    most sentences state wins."""
    out: dict[str, tuple[str, list[Sentence]]] = {}
    for group in taxonomy.cues.details:
        columns = [c for c in section_columns if c in group.columns]
        if not columns:
            continue
        best: tuple[str, list[Sentence]] | None = None
        for value, cues in group.values.items():
            hits = [doc.sents[i] for i in sorted(doc.naming(cues))]
            if hits and (best is None or len(hits) > len(best[1])):
                best = (value, hits)
        if best is not None:
            out[columns[0]] = best
    return out


def detail_evidence(hits: list[Sentence]) -> FieldEvidence:
    quotes = [Quote(text=s.text, page=s.page) for s in hits[:2]]
    return FieldEvidence(
        quotes=quotes,
        confidence=DETAIL_CONFIDENCE,
        model_confidence=DETAIL_CONFIDENCE,
        flags=[Flag.heuristic],
        note="heuristic: the sentences state this value",
    )


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
