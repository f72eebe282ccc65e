"""The heuristic's scope and placement rules on short synthetic sentences (no paper's text): what counts as
the student's own samples being distilled, what does not, and where the body's evidence files a paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract.identity import affiliation
from ingest.extract.placement import place
from ingest.extract.scope import opd_evidence, scope_call
from ingest.extract.sentences import Doc, Sentence
from ingest.extract.support import SupportCheck
from ingest.models import PaperText
from ingest.taxonomy import Taxonomy, load_taxonomy

REPO = Path(__file__).resolve().parents[1]
CURLY = "\u2019"  # the apostrophe PDFs print

# C1 and C2 in one sentence, each said in a different way.
OPD = [
    "We train the student on its self-generated outputs while the teacher scores every token.",
    "In our method the student generates responses and the teacher provides a reverse KL signal on them.",
    f"Our student{CURLY}s responses are distilled from the larger model token by token.",
]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(REPO / "taxonomy.yaml")


def doc_of(taxonomy: Taxonomy, texts: list[str], kind: str = "method") -> Doc:
    sents = [Sentence(page=1, text=t, front=False, kind=kind) for t in texts]
    return Doc(sents, SupportCheck(taxonomy).about_another_paper)


def test_three_own_sentences_that_say_c1_and_c2_make_the_paper_in_scope(taxonomy):
    evidence = opd_evidence(doc_of(taxonomy, OPD), taxonomy)
    assert evidence.same == [0, 1, 2]
    scope = scope_call(evidence)
    assert scope.verdict == "in"
    assert "3 sentences" in scope.reason


def test_c2_in_the_next_sentence_counts_half(taxonomy):
    texts = [
        "We let the student generate rollouts for every prompt of the training set.",
        "A larger teacher then scores each of these tokens with its log-probabilities.",
    ]
    evidence = opd_evidence(doc_of(taxonomy, texts), taxonomy)
    assert (evidence.same, evidence.neighbour) == ([], [0])
    assert evidence.weight == pytest.approx(0.5)
    assert scope_call(evidence).verdict == "out"
    assert "borderline" in scope_call(evidence).reason


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        # about other work: a citing sentence, and the related-work section
        (
            [
                OPD[0].replace("We train", "Smith et al. [12] train"),
                OPD[1].replace("In our method", "In [3],"),
                f"Prior work [7] distills the student{CURLY}s responses from a larger teacher.",
            ],
            "method",
        ),
        (OPD, "related_work"),
        # put in the future: what the paper does not do
        ([f"In future work, {t[0].lower()}{t[1:]}" for t in OPD], "method"),
        # the RL sense of on-policy with a distilled model's name: no teacher supervises anything
        (
            [
                "We run on-policy GRPO on DeepSeek-R1-Distill-Qwen-7B with a rule-based reward.",
                "On-policy rollouts of R1-Distill-Llama-8B are scored by the verifier only.",
                "The on-policy samples of Qwen-2.5-Distilled-7B are filtered by correctness.",
            ],
            "method",
        ),
    ],
    ids=["citing-sentences", "related-work", "future-work", "model-names"],
)
def test_sentences_that_do_not_describe_this_papers_method_count_for_nothing(taxonomy, texts, kind):
    evidence = opd_evidence(doc_of(taxonomy, texts, kind), taxonomy)
    assert evidence.weight == 0
    assert scope_call(evidence).verdict == "out"


def test_the_paper_must_say_it_distils_its_students_samples_itself(taxonomy):
    # Three C1-and-C2 sentences, all in the introduction, none saying "we": a description, not a method.
    texts = [
        t.replace("We train", "One trains").replace("In our method", "Typically,").replace("Our", "A")
        for t in OPD
    ]
    evidence = opd_evidence(doc_of(taxonomy, texts, "introduction"), taxonomy)
    assert evidence.weight == 3
    assert not evidence.done_here
    scope = scope_call(evidence)
    assert scope.verdict == "out"
    assert "borderline" in scope.reason
    assert "method" in scope.reason


def test_the_distillation_sentences_place_the_paper_not_its_title(taxonomy):
    body = [
        "The same model acts as the teacher when conditioned on the privileged reference answer.",
        "We distill the student's own samples with self-distillation from the privileged teacher.",
        "The student generates rollouts and the privileged teacher scores them per token.",
        "We evaluate on math benchmarks such as GSM8K and AIME.",
    ]
    doc = doc_of(taxonomy, body)
    placed = place(doc, opd_evidence(doc, taxonomy), "Faster Reasoning for Math Problems", taxonomy)
    assert placed.sections == ["opsd"]
    assert placed.hits[0].text in body[:3]


def test_a_title_that_names_a_kind_of_document_places_it_there(taxonomy):
    doc = doc_of(taxonomy, OPD)
    placed = place(doc, opd_evidence(doc, taxonomy), "Model-X Technical Report", taxonomy)
    assert placed.sections == ["industrial"]
    assert "technical report" in placed.note


def test_a_second_section_only_on_a_near_tie(taxonomy):
    white_box = [
        "We train the student on its self-generated outputs with the teacher logits and a reverse KL loss.",
        "The student generates responses and we match the teacher logits on every token of them.",
    ]
    agent = "We deploy the agent in a tool-use environment and evaluate it over multi-turn episodes."
    sents = [Sentence(page=1, text=t, front=False, kind="method") for t in white_box]
    apart = Doc([*sents, Sentence(page=2, text=agent, front=False, kind="experiments")])
    assert place(apart, opd_evidence(apart, taxonomy), "A Method", taxonomy).sections == ["white-box"]
    # The agent sentence right beside the distillation's sentences weighs as much: a near tie, cross-listed.
    tied = [*white_box, agent.replace("We deploy", "The student generates actions as"), agent]
    doc = doc_of(taxonomy, tied)
    placed = place(doc, opd_evidence(doc, taxonomy), "A Method", taxonomy)
    assert set(placed.sections) == {"white-box", "agent"}


@pytest.mark.parametrize(
    ("page", "org"),
    [
        (
            "Model-Z Technical Report Core-Lab Acme research@acme.example Abstract We present a model.",
            "Core-Lab Acme",
        ),
        # an author list is no organisation
        ("Model-Z Technical Report Ann Lee1, Bo Chen2 and Cy Dee Abstract We present a model.", None),
    ],
    ids=["team-line", "author-list"],
)
def test_a_reports_team_line_is_its_organisation(taxonomy, page, org):
    paper = PaperText(source="test", pages=[page], title="Model-Z Technical Report")
    assert affiliation(paper, "Model-Z Technical Report", taxonomy.cues) == org
