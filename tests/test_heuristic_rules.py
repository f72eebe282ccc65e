"""The heuristic's scope and placement rules on short synthetic sentences (no paper's text): what counts as
the student's own samples being distilled, what does not, and where the body's evidence files a paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract.facts import section_implied
from ingest.extract.heuristic import HeuristicBackend
from ingest.extract.identity import affiliation
from ingest.extract.placement import place
from ingest.extract.scope import opd_evidence, scope_call
from ingest.extract.sentences import Doc, Sentence
from ingest.extract.support import SupportCheck
from ingest.models import UNKNOWN, Entry, FieldEvidence, PaperText, Quote
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
    # the package's copy of AwesomeOPD's taxonomy (the repository root's, until a fork writes its own list's)
    return load_taxonomy(REPO / "ingest" / "data" / "taxonomy.yaml")


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


@pytest.mark.parametrize(
    "texts",
    [
        # what the method is set against: the C1-and-C2 words sit in the clause "unlike"/"rather than" opens
        [
            "Unlike on-policy distillation from a teacher, we train the policy with a verifiable reward.",
            "Rather than distilling the student's own samples, we fine-tune on the reference solutions.",
            "Compared with on-policy distillation, our RL method needs no teacher model at all.",
        ],
        # what it does without: "without a teacher" names no supervisor
        [
            "The policy learns from its own rollouts without a teacher or any distillation loss.",
            "We sample on-policy responses and score them without a reward model or teacher.",
            "Our model improves on its self-generated outputs, w/o distillation from a larger model.",
        ],
    ],
    ids=["set-against", "without"],
)
def test_a_clause_about_what_the_method_is_not_says_nothing_of_it(taxonomy, texts):
    evidence = opd_evidence(doc_of(taxonomy, texts), taxonomy)
    assert evidence.weight == 0
    assert scope_call(evidence).verdict == "out"


def test_the_rest_of_a_sentence_after_an_aside_clause_still_counts(taxonomy):
    texts = [
        "Instead of a fixed dataset, we train the student on its self-generated outputs with teacher help.",
        "Unlike SFT, the student generates responses and the teacher scores every token of them.",
        f"Our student{CURLY}s responses, rather than the teacher{CURLY}s, are distilled with a reverse KL.",
    ]
    assert opd_evidence(doc_of(taxonomy, texts), taxonomy).same == [0, 1, 2]


def test_c1_written_as_a_formula_counts_and_a_fixed_distributions_sample_does_not(taxonomy):
    # As PDFs print a loss: the expectation is over the policy's (the student's) own samples.
    formulas = [
        "Our loss is KL(\u03c0\u03b8 \u2225 \u03c0teacher) = Ex\u223c\u03c0\u03b8 "
        "[log \u03c0\u03b8(y|x) \u2212 log \u03c0teacher(y|x)] on each token.",
        "We minimise E y \u223c p \u03b8 S (\u00b7|x) of the divergence between teacher and student.",
        "We distill with the reverse KL, where y\u223cpS(\u00b7|x) is sampled token by token.",
    ]
    assert opd_evidence(doc_of(taxonomy, formulas), taxonomy).same == [0, 1, 2]
    # Samples of a fixed distribution or a dataset, beside a teacher: off-policy distillation.
    fixed = [
        "We distill the teacher with E(x,y)\u223cD [log p(y|x)] on its outputs.",
        "To sample x \u223c p(x) from the teacher, we instead sample x \u223c q(x) and distill it.",
    ]
    assert opd_evidence(doc_of(taxonomy, fixed), taxonomy).weight == 0


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


# --- technical-detail columns (extract/details.py, taxonomy cues.details) ---------------------------------

ALL_COLUMNS = [
    "Loss / Divergence",
    "Data",
    "Teacher Access",
    "Granularity",
    "Inner RL",
    "Teacher Role",
    "Stage(s) using OPD",
    "Feedback Signal",
    "Privileged Context (Teacher)",
    "Modality",
    "Domain",
    "On-/Off-policy",
    "Drafter type",
    "Backbone",
    "Multi-GPU",
]


def details_of(taxonomy: Taxonomy, texts: list[str], kind: str = "method") -> dict[str, str]:
    from ingest.extract.details import detail_columns

    found = detail_columns(doc_of(taxonomy, texts, kind), ALL_COLUMNS, taxonomy)
    return {column: value for column, (value, _) in found.items()}


@pytest.mark.parametrize(
    ("texts", "column", "value"),
    [
        (
            ["We minimise the reverse KL between the student and the teacher on the student's samples."],
            "Loss / Divergence",
            "Reverse KL",
        ),
        # the divergence most sentences name wins
        (
            [
                "Our objective is the forward KL from the teacher to the student.",
                "We compute the forward KL on every response the student writes.",
                "The reverse KL is reported only as a diagnostic of our runs.",
            ],
            "Loss / Divergence",
            "Forward KL",
        ),
        (
            ["We use the generalized JSD with a coefficient of 0.5 as our divergence."],
            "Loss / Divergence",
            "Generalized JSD",
        ),
        # no named direction: a KL said of the teacher is a KL, a cross-entropy of the distillation one too
        (
            ["We add a KL divergence term that pulls the student toward the teacher."],
            "Loss / Divergence",
            "KL",
        ),
        (
            ["The distillation loss is the cross-entropy on the teacher's answer tokens."],
            "Loss / Divergence",
            "Cross-entropy",
        ),
        (
            ["The teacher's logits on each sampled prefix supervise the student."],
            "Teacher Access",
            "White-box",
        ),
        (
            ["We query the teacher through an API and see only the generated text of the teacher."],
            "Teacher Access",
            "Black-box",
        ),
        (["The teacher scores every token of the student's response."], "Granularity", "Token"),
        (
            ["A sequence-level reward from the teacher judges each full answer of the student."],
            "Granularity",
            "Sequence",
        ),
        (
            ["The student trains on a mixture of on-policy and off-policy data from the teacher."],
            "Data",
            "Mixed",
        ),
        (
            ["The student learns from its student-generated outputs under the teacher."],
            "Data",
            "Student rollouts",
        ),
        (["We combine GRPO with the distillation signal of the teacher."], "Inner RL", "GRPO"),
        (
            ["On-policy distillation runs after supervised fine-tuning in our pipeline."],
            "Stage(s) using OPD",
            "Post-training",
        ),
        (
            ["The teacher is the same model conditioned on the reference answer to the question."],
            "Privileged Context (Teacher)",
            "Ground-truth answer",
        ),
        (
            ["The drafter is trained on the drafter's own proposals, scored by the target model."],
            "On-/Off-policy",
            "On-policy",
        ),
    ],
    ids=[
        "reverse-kl",
        "most-stated",
        "gjsd",
        "kl-fallback",
        "cross-entropy-fallback",
        "white-box",
        "black-box",
        "token",
        "sequence",
        "mixed-data",
        "student-data",
        "grpo",
        "post-training",
        "privileged-answer",
        "drafter-on-policy",
    ],
)
def test_a_detail_stated_by_the_papers_own_sentence_is_filled(taxonomy, texts, column, value):
    assert details_of(taxonomy, texts).get(column) == value


@pytest.mark.parametrize(
    ("texts", "kind", "column"),
    [
        # about other work: a citing sentence, the related work
        (
            ["Prior work [4] minimises the reverse KL between student and teacher."],
            "method",
            "Loss / Divergence",
        ),
        (["Smith et al. use the teacher's logits on every token."], "method", "Teacher Access"),
        (
            ["MiniLLM minimises the reverse KL between student and teacher."],
            "related_work",
            "Loss / Divergence",
        ),
        # put in the future
        (["In future work we will try the reverse KL to the teacher."], "method", "Loss / Divergence"),
        # a word of the value without the words that make it a detail of the distillation
        (
            ["We monitor the KL divergence of the policy to its reference model."],
            "method",
            "Loss / Divergence",
        ),
        (
            ["The attention logits of each head are scaled by the square root of the dimension."],
            "method",
            "Teacher Access",
        ),
        (["Multi-token prediction adds token-level parallelism to decoding."], "method", "Granularity"),
        (
            ["The policy performs on-policy rollouts in every environment with a verifier reward."],
            "method",
            "Data",
        ),
        (["We apply post-training quantization to the released weights."], "method", "Stage(s) using OPD"),
        # "reinforcement learning" is no REINFORCE estimator
        (["We train the model with reinforcement learning on math problems."], "method", "Inner RL"),
        # one mention of a modality or a domain is no statement of it
        (["One image of the appendix shows the training curve."], "method", "Modality"),
        (["We also report GSM8K accuracy."], "method", "Domain"),
    ],
    ids=[
        "citing",
        "et-al",
        "related-work",
        "future-work",
        "kl-without-teacher",
        "attention-logits",
        "token-parallelism",
        "rl-rollouts",
        "quantization",
        "reinforcement-learning",
        "one-image",
        "one-benchmark",
    ],
)
def test_a_detail_is_left_unknown_unless_the_papers_own_sentence_states_it(taxonomy, texts, kind, column):
    assert column not in details_of(taxonomy, texts, kind)


def test_a_mix_of_data_outranks_the_students_own_samples(taxonomy):
    texts = [
        "The student learns from its student-generated outputs under the teacher.",
        "Each batch is a mixture of on-policy and off-policy data with a fixed student data fraction.",
    ]
    assert details_of(taxonomy, texts)["Data"] == "Mixed"


def test_the_heuristic_fills_each_sections_details_and_its_quotes_support_them(taxonomy):
    from ingest.extract.heuristic import HeuristicBackend
    from ingest.extract.support import check_support
    from ingest.extract.verify import verify
    from ingest.models import Candidate

    page = " ".join(
        [
            *OPD,
            "We minimise the reverse KL between the student and the teacher on every sampled response.",
            "The teacher's logits on each prefix give the student a dense signal.",
            "Every token of the student's rollout receives the teacher's token-level distribution.",
            # a paper says its choices more than once: the details need not share the other fields' quotes
            "Our loss is the reverse KL, computed in closed form over the vocabulary.",
            "Its gradient is taken per token and averaged over the batch.",
            "The reverse KL keeps the student on the modes of the teacher, as Section 4 shows.",
            "Only student-generated responses enter the training batches.",
        ]
    )
    paper = PaperText(source="test", pages=[page], title="A Method")
    raw = HeuristicBackend(taxonomy).extract(paper, Candidate(title="A Method"), examples=[])
    ex = check_support(verify(raw, paper), paper, taxonomy)
    details = ex.entry.details[ex.entry.primary_section]
    assert details.get("Loss / Divergence") == "Reverse KL"
    assert details.get("Granularity") == "Token"
    assert ex.entry.evidence["details.white-box.Loss / Divergence"].support == "supported"
    paths = [p for p in ex.entry.evidence if p.startswith("details.")]
    assert len(paths) >= 3
    for path in paths:
        ev = ex.entry.evidence[path]
        # Every quote states its value; in a paper this short a sentence may also back two other fields.
        assert ev.quotes, path
        assert ev.support == "supported" or ev.support_note.startswith("the same quote backs"), path


def test_a_detail_quote_without_the_values_words_is_unsupported(taxonomy):
    from ingest.models import Entry, FieldEvidence, Quote

    entry = Entry(
        id="x",
        name="X",
        title="X",
        sections=["surveys"],
        details={"surveys": {"Teacher Access": "White-box"}},
    )
    check = SupportCheck(taxonomy)
    said = FieldEvidence(
        quotes=[Quote(text="We read the teacher's logits at every step.", page=1)], confidence=0.3
    )
    unrelated = FieldEvidence(
        quotes=[Quote(text="We evaluate on four summarisation benchmarks.", page=1)], confidence=0.3
    )
    path = "details.surveys.Teacher Access"
    assert check.field(path, said, entry, None)[0] == "supported"
    assert check.field(path, unrelated, entry, None) == ("unsupported", "does not mention 'White-box'")


def test_a_sentence_that_sets_the_method_against_another_states_no_detail(taxonomy):
    texts = ["Unlike GRPO, our update needs no group of samples per prompt from the teacher."]
    assert "Inner RL" not in details_of(taxonomy, texts)
    texts = ["We use the reverse KL to the teacher rather than the forward KL of prior distillation."]
    assert "Loss / Divergence" not in details_of(taxonomy, texts)


def test_a_domain_among_several_is_no_statement_of_it(taxonomy):
    math = ["We evaluate the student on GSM8K.", "AIME scores of the student rise.", "MATH500 also rises."]
    summaries = ["We distill on XSum summarization.", "Summarization improves on XSum.", "XSum again."]
    assert details_of(taxonomy, math)["Domain"] == "Math reasoning"
    assert "Domain" not in details_of(taxonomy, math + summaries)


def test_the_teacher_role_most_sentences_give_is_written_only_when_most_give_it(taxonomy):
    domain = [
        "Domain-specific teachers each supervise the student on their own field.",
        "The multiple teachers are trained with RL before the distillation.",
    ]
    assert details_of(taxonomy, domain).get("Teacher Role") == "Multi-domain teachers"
    mixed = [domain[0], "A judge model scores each answer.", "A larger teacher scores each token."]
    assert "Teacher Role" not in details_of(taxonomy, mixed)


def implied(
    taxonomy: Taxonomy, doc: Doc, placing: list[Sentence], axes: dict[str, list[str]], evidence: dict
) -> None:
    """The heuristic's implied axes for a paper placed in speculative-decoding, titled "Drafting"."""
    HeuristicBackend(taxonomy)._implied_axes(doc, placing, "Drafting", "speculative-decoding", axes, evidence)


def test_an_unknown_axis_takes_the_value_its_section_implies_quoted_where_the_paper_names_it(taxonomy):
    texts = [
        "We distill the draft model on its own drafts to raise the acceptance rate of speculative decoding.",
        "The target model stays frozen and is queried once per block of drafted tokens.",
    ]
    doc = doc_of(taxonomy, texts)
    axes = {a.id: [UNKNOWN] for a in taxonomy.axes} | {"rollout_consumption": ["all"]}
    evidence: dict[str, FieldEvidence] = {}
    implied(taxonomy, doc, doc.sents[:1], axes, evidence)
    # The taxonomy: the target model teaches the drafter, for speed. A known axis keeps its value.
    assert axes["teacher_source"] == ["external"]
    assert axes["pipeline_slot"] == ["compression"]
    assert axes["rollout_consumption"] == ["all"]
    ev = evidence["axes.teacher_source"]
    assert "specdec-target-teaches-for-speed" in (ev.note or "")
    assert [q.text for q in ev.quotes] == [texts[1]]  # the sentence that names the target model
    assert ev.confidence <= 0.5
    entry = Entry(id="x", name="X", sections=["speculative-decoding"], axes=axes, evidence=evidence)
    assert SupportCheck(taxonomy).field("axes.teacher_source", ev, entry, None)[0] == "supported"


def test_an_implication_whose_unless_the_paper_meets_does_not_fire(taxonomy):
    # White-box implies an external teacher, unless the entry is self-distillation; the logits still follow.
    assert section_implied(taxonomy, "white-box", "Self-distillation on the student's own outputs") == {
        "supervision_signal": (["logits"], ["white-box-logits"]),
    }
    fired = section_implied(taxonomy, "white-box", "On-policy distillation from a larger model")
    assert fired["teacher_source"] == (["external"], ["white-box-is-external-logits"])
    assert section_implied(taxonomy, "reasoning", "anything") == {}


def test_an_implied_value_no_sentence_of_the_paper_names_stays_unknown(taxonomy):
    doc = doc_of(taxonomy, ["We distill the draft model on its own drafts to raise the acceptance rate."])
    axes = {a.id: [UNKNOWN] for a in taxonomy.axes}
    evidence: dict[str, FieldEvidence] = {}
    implied(taxonomy, doc, doc.sents, axes, evidence)
    assert axes["teacher_source"] == [UNKNOWN]  # nothing says who teaches: no quote would back "external"
    assert "axes.teacher_source" not in evidence
    assert axes["pipeline_slot"] == ["compression"]  # "draft" is a cue of compression: the sentence says it


def test_an_implied_value_is_quoted_from_a_sentence_no_other_field_quotes(taxonomy):
    texts = [
        "We distill the draft model from the target model on its own drafts for faster decoding.",
        "The target model stays frozen and is queried once per block of drafted tokens.",
    ]
    doc = doc_of(taxonomy, texts)
    axes = {a.id: [UNKNOWN] for a in taxonomy.axes}
    quoted = FieldEvidence(quotes=[Quote(text=texts[0], page=1)], confidence=0.3)
    evidence: dict[str, FieldEvidence] = {"sections": quoted, "verdicts.c1": quoted}
    implied(taxonomy, doc, doc.sents[:1], axes, evidence)
    assert [q.text for q in evidence["axes.teacher_source"].quotes] == [texts[1]]


def _extract(taxonomy: Taxonomy, texts: list[str]):
    from ingest.extract.heuristic import HeuristicBackend
    from ingest.extract.support import check_support
    from ingest.extract.verify import verify
    from ingest.models import Candidate

    paper = PaperText(source="test", pages=[" ".join(texts)], title="A Method")
    raw = HeuristicBackend(taxonomy).extract(paper, Candidate(title="A Method"), examples=[])
    return check_support(verify(raw, paper), paper, taxonomy)


def test_c1_and_c2_are_read_as_the_scope_call_reads_them_and_quoted_from_its_sentences(taxonomy):
    texts = [
        *OPD,
        "We sample on-policy rollouts from the student for every prompt.",
        "The teacher is a larger model of the same family.",
    ]
    ex = _extract(taxonomy, texts)
    assert ex.scope.verdict == "in"
    assert {c: v.value for c, v in ex.entry.verdicts.items()} == {"c1": "yes", "c2": "yes"}
    c1, c2 = (ex.entry.evidence[f"verdicts.{c}"] for c in ("c1", "c2"))
    assert {q.text for q in c2.quotes} <= set(OPD)  # the sentences that say both
    assert c1.quotes[0].text == texts[3]  # C1 alone first: C2 quotes the others
    for ev in (c1, c2):  # in a paper this short, a sentence may also back two other fields
        assert ev.support == "supported" or (ev.support_note or "").startswith("the same quote backs")


def test_an_rl_paper_says_c1_but_no_teacher_supervises_its_samples(taxonomy):
    texts = [
        "We sample on-policy rollouts from the policy and score them with a rule-based reward.",
        "Our policy learns from its own responses with GRPO.",
        "Each of its own samples is scored by the verifier.",
    ]
    ex = _extract(taxonomy, texts)
    assert ex.scope.verdict == "out"
    assert ex.entry.verdicts["c1"].value == "yes"  # the policy does learn from its own samples
    assert ex.entry.verdicts["c2"].value == "unknown"  # nothing says it is absent either: the rule can't tell
    assert ex.entry.evidence["verdicts.c2"].quotes == []
    assert "no sentence of its own" in (ex.entry.evidence["verdicts.c2"].note or "")


def test_the_distillations_own_sentences_name_its_signal_over_the_rest_of_the_paper(taxonomy):
    texts = [
        *OPD,
        "Each token of the student's rollout gets the teacher's logits as its target.",
        # an RL paper names its reward everywhere else
        *[f"Section {n}: the sequence-level reward of the outcome reward model is shown." for n in range(5)],
    ]
    ex = _extract(taxonomy, texts)
    assert ex.entry.axes["supervision_signal"] == ["logits"]
    ev = ex.entry.evidence["axes.supervision_signal"]
    assert ev.quotes[0].text in texts[:4]  # a sentence of the distillation, not a reward sentence
    assert ev.support == "supported" or (ev.support_note or "").startswith("the same quote backs")


def test_the_stage_of_the_distillation_is_read_where_the_paper_speaks_of_distillation(taxonomy):
    texts = [
        *OPD,
        "After SFT, we distill the 7B teacher into the 1.8B model on its own outputs.",
        "The next chapter turns to deployment.",
        # a report's chapter on quantization compresses the models, without any distillation
        *[f"Weight quantization variant {n} can compress the small model further." for n in range(4)],
    ]
    ex = _extract(taxonomy, texts)
    assert ex.entry.axes["pipeline_slot"] == ["inter-stage"]
    assert ex.entry.evidence["axes.pipeline_slot"].quotes[0].text == texts[3]


def test_a_regex_cue_is_matched_by_every_finder_of_the_heuristic(taxonomy):
    # Cue lists feed the sentence index two ways (whole-word keywords, and cues at a word's start); a 're:'
    # cue is a regex in both, never a literal string that silently finds nothing.
    texts = ["The loss is E x\u223c\u03c0\u03b8 [log q].", "Nothing to see here at all, really."]
    doc = doc_of(taxonomy, texts)
    cue = "re:[\u223c~]\\s*\u03c0\\s*\u03b8"
    assert doc.indices([cue]) == [0]
    assert doc.with_cues([cue]) == [0]
    assert [s.text for s in doc.hits([cue, "nothing"])] == [s.text for s in doc.sents]
