"""An axis value that the paper's sentences name alone (a teacher named only by its role), for the heuristic
backend; its organisation and code are in identity.py, the detail columns in details.py.

Every rule is cue words from the taxonomy file; none names a paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.taxonomy import Taxonomy

if TYPE_CHECKING:
    from ingest.extract.sentences import Doc, Sentence

# Sentences that name one value of an axis and no other, for that value when keywords decided nothing.
EXCLUSIVE_SENTENCES = 2


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
