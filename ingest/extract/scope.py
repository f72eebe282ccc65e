"""The heuristic's scope call: does the student generate the samples it is trained on (C1), and does a teacher
score those very samples (C2)? Asked of the paper's own sentences, never of its title alone.

A paper that merely distils (on teacher-written data) or only samples its own rollouts (RL) says one of the
two, rarely both in a sentence or in two neighbouring ones. Sentences about other work do not count: the
related work, the references, and a sentence that cites another paper without saying "we". Every rule is a cue
word of the taxonomy file (`cues.own_samples`, `cues.distillation`); none names a paper.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.extract.sentences import Doc, Sentence
from ingest.models import Scope
from ingest.taxonomy import Taxonomy

# Weighted sentences that say C1 and C2, for an `in` scope; fewer but some make a borderline paper.
IN_SCOPE_UNITS = 3.0
# C2 said in the neighbouring sentence rather than the same one: the pairing is less sure.
NEIGHBOUR_WEIGHT = 0.5
# Parts of a paper that describe other work.
ASIDE = frozenset({"related_work", "references"})
IN_CONFIDENCE, BORDERLINE_CONFIDENCE, OUT_CONFIDENCE = 0.5, 0.2, 0.3


@dataclass(frozen=True)
class OpdEvidence:
    """The sentences of a paper that say its student's own samples are distilled."""

    same: list[int]  # indices (in the Doc) of sentences that say C1 and C2 together
    neighbour: list[int]  # say C1, with C2 in the sentence right before or after
    distils: int  # sentences that mention distillation or a teacher at all

    @property
    def weight(self) -> float:
        return len(self.same) + NEIGHBOUR_WEIGHT * len(self.neighbour)

    @property
    def units(self) -> list[int]:
        return sorted(self.same + self.neighbour)


def own_sentence(doc: Doc, i: int) -> bool:
    """Whether sentence i speaks of the paper's own work: not the related work, not a citing sentence."""
    s = doc.sents[i]
    return s.kind not in ASIDE and not doc.cites(s.text)


def opd_evidence(doc: Doc, taxonomy: Taxonomy) -> OpdEvidence:
    """The C1 sentences of the paper's own text with C2 in them or right beside them (same page and part)."""
    cues = taxonomy.cues
    c1 = [i for i in doc.with_cues(cues.own_samples) if own_sentence(doc, i)]
    c2 = set(doc.with_cues(cues.distillation))
    same = [i for i in c1 if i in c2]
    neighbour = [
        i for i in c1 if i not in c2 and any(_beside(doc.sents, i, j) and j in c2 for j in (i - 1, i + 1))
    ]
    return OpdEvidence(same=same, neighbour=neighbour, distils=len(c2))


def _beside(sents: list[Sentence], i: int, j: int) -> bool:
    return 0 <= j < len(sents) and sents[j].page == sents[i].page and sents[j].kind == sents[i].kind


def scope_call(evidence: OpdEvidence) -> Scope:
    """In with enough C1-and-C2 sentences; a few make a borderline paper, which becomes an exclusion proposal
    that says "borderline": a reviewer looks at it, but it never arrives as new."""
    weight = evidence.weight
    n = len(evidence.same)
    said = f"{n} sentence{'' if n == 1 else 's'} say the student's own samples are distilled" + (
        f", {len(evidence.neighbour)} more beside a teacher sentence" if evidence.neighbour else ""
    )
    if weight >= IN_SCOPE_UNITS:
        return Scope(verdict="in", reason=f"heuristic: {said}", confidence=IN_CONFIDENCE)
    if weight > 0:
        return Scope(
            verdict="out",
            reason=f"heuristic: borderline, only {said}; read the paper before excluding it",
            confidence=BORDERLINE_CONFIDENCE,
        )
    distils = evidence.distils
    return Scope(
        verdict="out",
        reason="heuristic: no sentence of its own says a teacher supervises the student's own samples"
        + (f" ({distils} mention distillation or a teacher)" if distils else ""),
        confidence=OUT_CONFIDENCE,
    )
