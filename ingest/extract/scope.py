"""The heuristic's scope call: does the student generate the samples it is trained on (C1), and does a teacher
score those very samples (C2)? Asked of the paper's own sentences, never of its title alone.

A paper that merely distils (on teacher-written data) or only samples its own rollouts (RL) says one of the
two, rarely both in a sentence or in two neighbouring ones. Sentences about other work do not count: the
related work, the references, a sentence that cites another paper without saying "we", and one that puts the
method in the future ("we leave ... to future work"). A model's name ("R1-Distill-Qwen-7B") says nothing about
the method: an RL paper that trains a distilled model on-policy is not distilling. Nor does a clause that
says what the method is not or is set against ("unlike on-policy distillation, we ...", "without a teacher"):
it is read past, up to its comma. And the paper must say it does this itself: one such sentence is in its
method or says "we". Every rule is a cue word of the taxonomy file (`cues.own_samples`, `cues.distillation`,
`cues.not_done`, `cues.aside`) or a pattern of wording; none names a paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.extract.sentences import Doc, Sentence, cue_group
from ingest.extract.support import FIRST_PERSON
from ingest.models import Scope
from ingest.taxonomy import ScopeSide, Taxonomy

# Weighted sentences that say C1 and C2, for an `in` scope; fewer but some make a borderline paper.
IN_SCOPE_UNITS = 3.0
# C2 said in the neighbouring sentence rather than the same one: the pairing is less sure.
NEIGHBOUR_WEIGHT = 0.5
# Parts of a paper that describe other work.
ASIDE = frozenset({"related_work", "references"})
IN_CONFIDENCE, BORDERLINE_CONFIDENCE, OUT_CONFIDENCE = 0.5, 0.2, 0.3
# Where a paper describes what it does itself.
OWN_PARTS = frozenset({"method", "abstract"})
# A model's name: a token holding a hyphen and a digit ("DeepSeek-R1-Distill-Qwen-7B", "Model-v1-Distilled").
_MODEL_NAME = re.compile(r"(?<!\S)(?=\S*\d)\S*-\S+")
# Where an aside clause ends: its comma, semicolon, colon or bracket (else the sentence's end).
_CLAUSE_END = re.compile(r"[,;:()\[\]]")


@dataclass(frozen=True)
class OpdEvidence:
    """The sentences of a paper that say its student's own samples are distilled."""

    same: list[int]  # indices (in the Doc) of sentences that say C1 and C2 together
    neighbour: list[int]  # say C1, with C2 in the sentence right before or after
    distils: int  # sentences that mention distillation or a teacher at all
    done_here: bool = True  # one of them is in the method (or abstract) or says "we"
    # the paper's own sentences that say C1, with C2 or without
    samples: list[int] = field(default_factory=list)

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
    not_done = set(doc.with_cues(cues.not_done))
    said = _Said(cues.aside)
    generates = _group(cues.own_samples)
    c1 = [
        i
        for i in doc.with_cues(cues.own_samples)
        if own_sentence(doc, i) and i not in not_done and generates.search(said(doc.sents[i].low))
    ]
    supervises = _group(cues.distillation)
    c2 = {
        i for i in doc.with_cues(cues.distillation) if supervises.search(said(doc.sents[i].low, names=True))
    }
    same = [i for i in c1 if i in c2]
    # C2 beside C1 only when the C1 sentence names the student: "the policy samples its own rollouts" next
    # to "we distill on the teacher's answers" is RL after off-policy distillation, not OPD.
    learner = set(doc.with_cues(cues.learner))
    neighbour = [
        i
        for i in c1
        if i not in c2 and i in learner and any(_beside(doc.sents, i, j) and j in c2 for j in (i - 1, i + 1))
    ]
    done_here = any(
        doc.sents[i].kind in OWN_PARTS or FIRST_PERSON.search(doc.sents[i].text) for i in same + neighbour
    )
    return OpdEvidence(same=same, neighbour=neighbour, distils=len(c2), done_here=done_here, samples=c1)


def _group(cues: list[str]) -> re.Pattern[str]:
    return cue_group(tuple(sorted(c for c in cues if c.strip())))


class _Said:
    """A sentence's lowered text without its aside clauses (and, for C2, without models' names)."""

    def __init__(self, aside: list[str]) -> None:
        self.opens = _group(aside) if any(c.strip() for c in aside) else None

    def __call__(self, low: str, *, names: bool = False) -> str:
        if names:
            low = _MODEL_NAME.sub(" ", low)
        if self.opens is None:
            return low
        kept, pos = [], 0
        for m in self.opens.finditer(low):
            if m.start() < pos:
                continue  # inside a clause already cut
            kept.append(low[pos : m.start()])
            end = _CLAUSE_END.search(low, m.end())
            pos = end.start() if end else len(low)
        kept.append(low[pos:])
        return " ".join(kept)


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
    if weight >= IN_SCOPE_UNITS and evidence.done_here:
        return Scope(verdict="in", reason=f"heuristic: {said}", confidence=IN_CONFIDENCE)
    if weight >= IN_SCOPE_UNITS:
        said += ", none of them in its method or saying 'we'"
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


def verdict_of(side: ScopeSide, evidence: OpdEvidence, doc: Doc) -> tuple[str, list[int], float, str]:
    """A criterion's verdict as the scope call read it, with the sentences that back it, their weight and a
    note: C1 (`own_samples`) from the paper's own sentences that say the student samples what it learns from;
    C2 (`supervised`) from those that also say a teacher supervises those samples. With none, "unknown": a
    rule that finds no sentence cannot tell that the paper does not do it."""
    if side == "own_samples":
        # Those that say C1 alone first: C2's quotes are the others, and one sentence backing many fields
        # backs them weakly (support check).
        said = [i for i in evidence.samples if i not in evidence.same] + evidence.same
        weight = float(len(said))
        what = "say the student learns from its own samples"
    else:
        said, weight = evidence.same + evidence.neighbour, evidence.weight
        what = "say a teacher supervises the student's own samples"
    here = any(doc.sents[i].kind in OWN_PARTS or FIRST_PERSON.search(doc.sents[i].text) for i in said)
    n = len(said)
    note = f"heuristic: {n} sentence{'' if n == 1 else 's'} of its own {what}"
    if weight >= IN_SCOPE_UNITS and here:
        return "yes", said, weight, note
    if said:
        return "partial", said, weight, note + ("" if here else ", none in its method or saying 'we'")
    return "unknown", [], 0.0, f"heuristic: no sentence of its own {what}"


def core_indices(doc: Doc, evidence: OpdEvidence) -> set[int]:
    """The sentences that describe the distillation (C1 with C2), and their neighbours on the same page."""
    near: set[int] = set()
    sents = doc.sents
    for i in evidence.units:
        near |= {j for j in (i - 1, i, i + 1) if 0 <= j < len(sents) and sents[j].page == sents[i].page}
    return near
