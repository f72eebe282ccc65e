"""Axis values for the heuristic backend beyond the keyword counts: the value the paper's sentences name alone
(a teacher named only by its role), and the values the taxonomy implies for the section it is placed in. Its
organisation and code are in identity.py, the detail columns in details.py.

Every rule is cue words from the taxonomy file; none names a paper.
"""

from __future__ import annotations

import re
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


def section_implied(taxonomy: Taxonomy, section_id: str, text: str) -> dict[str, tuple[list[str], list[str]]]:
    """Axis id -> (values, implication ids) that the taxonomy's `implications` give every entry filed in
    `section_id`: what the list would say of the paper once it sits there (render writes the section, import
    reads these values back from it). Only rules of a section alone count (a heading or a cell is the list's,
    not the paper's); a rule whose `unless` matches `text` (the paper's title and placing sentences) does not
    fire; on each axis only the fired rules of the highest priority count, and their values are joined."""
    fired: dict[str, list[tuple[int, list[str], str]]] = {}
    for rule in taxonomy.implications:
        if rule.section != section_id or rule.heading or rule.column:
            continue
        if rule.unless and re.search(rule.unless, text, re.IGNORECASE):
            continue
        for axis_id, values in rule.axes.items():
            fired.setdefault(axis_id, []).append((rule.rank, values, rule.id))
    out: dict[str, tuple[list[str], list[str]]] = {}
    for axis_id, hits in fired.items():
        top = max(rank for rank, _, _ in hits)
        joined: list[str] = []
        ids: list[str] = []
        for rank, vals, rule_id in hits:
            if rank == top:
                joined += [v for v in vals if v not in joined]
                ids.append(rule_id)
        out[axis_id] = (joined, ids)
    return out
