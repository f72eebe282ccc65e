"""The offline heuristic backend on the corpus's four catalog papers: grounded quotes, honest confidence."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.catalog.store import CatalogRoot
from ingest.config import ArxivConfig
from ingest.extract.heuristic import HEURISTIC_CAP, HeuristicBackend, sentences
from ingest.extract.score import score
from ingest.extract.verify import verify
from ingest.models import Candidate, Flag, MatchKind
from ingest.paper.discover import resolve_ref

# (file, arXiv id, title as arXiv lists it, primary section in ../shared/corpus/awesomeopd/README.md)
CATALOG_PAPERS = [
    (
        "gkd-2306.13649-iclr2024.pdf",
        "2306.13649",
        "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes",
        "surveys",
    ),
    (
        "falcon-2412.12639-aaai2025.pdf",
        "2412.12639",
        "Falcon: Faster and Parallel Inference of Large Language Models through Enhanced Semi-Autoregressive "
        "Drafting and Custom-Designed Decoding Tree",
        "speculative-decoding",
    ),
    ("hy-mt1.5-2512.24092-report.pdf", "2512.24092", "HY-MT1.5 Technical Report", "industrial"),
    ("step-audio-r1-2511.15848-report.pdf", "2511.15848", "Step-Audio-R1 Technical Report", "multimodal"),
]


@pytest.fixture
def root(tmp_path) -> CatalogRoot:
    return CatalogRoot(tmp_path / "root").create()


@pytest.mark.parametrize(
    ("pdf", "arxiv_id", "title", "catalog_section"),
    CATALOG_PAPERS,
    ids=[p[0].split("-")[0] for p in CATALOG_PAPERS],
)
def test_heuristic_on_catalog_papers_is_grounded_and_capped(
    root, corpus_paper: Any, pdf, arxiv_id, title, catalog_section
):
    paper = corpus_paper(pdf, source=arxiv_id)
    candidate = Candidate(arxiv_id=arxiv_id, title=title)
    raw = HeuristicBackend(root.taxonomy).extract(paper, candidate, examples=[])
    ex = score(
        verify(raw, paper),
        taxonomy=root.taxonomy,
        cross_check=None,
        min_confidence=root.config.check.min_confidence,
    )

    quotes = [q for ev in ex.entry.evidence.values() for q in ev.quotes]
    assert quotes, "the heuristic quotes the paper"
    assert all(q.match == MatchKind.exact for q in quotes), [q.text for q in quotes if q.match != "exact"]
    assert all(q.cited_page is None for q in quotes)  # it cites the page it took the sentence from
    assert ex.confidence <= HEURISTIC_CAP
    assert all(
        ev.confidence <= HEURISTIC_CAP and Flag.heuristic in ev.flags for ev in ex.entry.evidence.values()
    )
    assert ex.backend == "heuristic"
    assert Flag.heuristic in ex.flags
    assert ex.entry.provenance.backend == "heuristic"
    assert set(ex.entry.sections) <= set(root.taxonomy.section_ids)
    for axis in root.taxonomy.axes:
        assert set(ex.entry.axes[axis.id]) <= set(axis.vocabulary)
    print(
        f"\n{arxiv_id}: heuristic primary section {ex.entry.primary_section!r}, catalog {catalog_section!r}; "
        f"name {ex.entry.name!r}, confidence {ex.confidence}"
    )


def test_heuristic_quotes_are_sentences_of_the_page_they_cite(corpus_paper: Any):
    paper = corpus_paper("falcon-2412.12639-aaai2025.pdf", source="2412.12639")
    for s in sentences(paper)[:200]:
        assert s.text in paper.pages[s.page - 1]


def test_heuristic_finds_the_code_link_and_the_screen_verdicts(root, corpus_paper: Any):
    paper = corpus_paper("falcon-2412.12639-aaai2025.pdf", source="2412.12639")
    backend = HeuristicBackend(root.taxonomy)
    ex = backend.extract(paper, Candidate(arxiv_id="2412.12639", title=CATALOG_PAPERS[1][2]), examples=[])
    assert "https://github.com/Bestpay-inc/Falcon" in ex.entry.code_urls
    opd = Candidate(
        title="On-Policy Distillation for Reasoning",
        abstract="A student learns from student "
        "rollouts with reverse KL to a teacher (on-policy distillation).",
    )
    off = Candidate(
        title="Proximal Policy Optimization Algorithms",
        abstract="We propose a new family of policy gradient methods for reinforcement learning.",
    )
    assert backend.screen(opd).verdict == "in"
    assert backend.screen(off).verdict == "out"


def test_a_local_pdf_is_titled_and_named_from_its_first_page(root, corpus_paper: Any, pdfs):
    # DPO's /Title is the arXiv URL it was printed from: the title comes from page 1, not the file name.
    candidate = resolve_ref(str(pdfs / "dpo-2305.18290v2.pdf"), ArxivConfig())
    assert candidate.title == "Direct Preference Optimization: Your Language Model is Secretly a Reward Model"
    assert (candidate.arxiv_id, candidate.version) == ("2305.18290", 2)
    paper = corpus_paper("dpo-2305.18290v2.pdf", source=candidate.key)
    ex = HeuristicBackend(root.taxonomy).extract(paper, candidate, examples=[])
    assert ex.entry.title == candidate.title
    assert [(q.text, q.page) for q in ex.entry.evidence["title"].quotes] == [(candidate.title, 1)]
    assert ex.entry.name == "DPO"  # the paper's own "(DPO)" for "Direct Preference Optimization"
    assert ex.entry.evidence["name"].quotes


def test_a_set_of_cues_is_found_in_one_scan_exactly_where_each_sentence_holds_one(root, corpus_paper: Any):
    from ingest.extract.sentences import Doc
    from ingest.extract.support import mentions

    tax = root.taxonomy
    sets = [cues for group in tax.cues.details for cues in group.values.values()]
    sets += [tax.value_cues(f"axes.{a.id}", v.id) for a in tax.axes for v in a.values]
    for pdf, arxiv_id, _, _ in CATALOG_PAPERS[:2]:
        doc = Doc(sentences(corpus_paper(pdf, source=arxiv_id)))
        found = 0
        for cues in sets:
            expected = {i for i, s in enumerate(doc.sents) if mentions(s.low, cues)}
            assert doc.naming(cues) == expected, cues
            found += len(expected)
        assert found > 50  # the cue words are there to be found in these papers
