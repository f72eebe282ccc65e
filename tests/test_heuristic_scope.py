"""The heuristic's scope asks C1 and C2 together; a borderline paper becomes an exclusion, never `new`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.extract.heuristic import HeuristicBackend
from ingest.models import Candidate
from ingest.paper.read import read_pdf
from ingest.review.propose import propose

INTRO = [
    "A Study of Training Small Language Models",
    "Abstract. We train a small language model for math word problems and report its accuracy on benchmarks.",
    "1 Introduction. Large models are expensive to serve, so smaller models are attractive in practice.",
]
# Says C1 (the student's own samples) and C2 (a teacher supervises them) in one sentence.
BOTH = "The student generates on-policy samples and the teacher scores every token of them with a reverse KL."
# Distillation on the teacher's own outputs (off-policy): C2 without C1.
TEACHER_DATA = "We distill the teacher into the student by fine-tuning on responses the teacher wrote."
# RL on the model's own samples: C1 without C2.
OWN_RL = "The policy is trained with a reward on its own rollouts sampled during training."


def paper_pdf(path: Path, body: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    for line in [*INTRO, *body]:
        pdf.multi_cell(0, 6, line)
        pdf.ln(2)
    pdf.output(str(path))
    return path


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    return CatalogRoot(tmp_path / "root", env=Env.from_mapping(os.environ)).create()


def scope_of(root: CatalogRoot, tmp_path: Path, body: list[str]) -> tuple[str, str, Candidate]:
    pdf = paper_pdf(tmp_path / "paper.pdf", body)
    candidate = Candidate(arxiv_id="2501.00001", title=INTRO[0], local_pdf=str(pdf))
    x = HeuristicBackend(root.taxonomy).extract(read_pdf(pdf, source="2501.00001"), candidate, examples=[])
    return x.scope.verdict, x.scope.reason, candidate


@pytest.mark.parametrize(
    ("body", "verdict", "says"),
    [
        (
            [BOTH, BOTH.replace("every token", "each token"), BOTH.replace("scores", "grades")],
            "in",
            "3 sentences",
        ),
        ([BOTH, TEACHER_DATA, OWN_RL], "out", "borderline"),
        ([TEACHER_DATA, TEACHER_DATA.replace("wrote", "generated"), OWN_RL, OWN_RL], "out", "no sentence"),
    ],
    ids=["c1-and-c2", "one-sentence-borderline", "distils-or-samples-but-never-both"],
)
def test_scope_asks_whether_the_students_own_samples_are_distilled(root, tmp_path, body, verdict, says):
    got, reason, _ = scope_of(root, tmp_path, body)
    assert got == verdict
    assert says in reason


def test_a_borderline_paper_is_proposed_as_an_exclusion_that_says_borderline(root, tmp_path):
    pdf = paper_pdf(tmp_path / "paper.pdf", [BOTH, TEACHER_DATA, OWN_RL])
    candidate = Candidate(arxiv_id="2501.00001", title=INTRO[0], local_pdf=str(pdf))
    x = HeuristicBackend(root.taxonomy).extract(read_pdf(pdf, source="2501.00001"), candidate, examples=[])
    proposal = propose(root, x, run_id="test")
    assert proposal is not None
    assert proposal.kind == "exclude"
    assert proposal.exclusion is not None
    assert "borderline" in proposal.exclusion.reason
