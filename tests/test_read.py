"""read: the real GKD paper into pages, sections, title and a context; every kind of bad PDF as a clear
ReadError; titles of real corpus PDFs from their page-1 layout."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from rapidfuzz import fuzz

from ingest.errors import ReadError
from ingest.models import PaperText
from ingest.paper.read import (
    count_tokens,
    find_spaceless,
    first_page,
    locate,
    normalise,
    read_cached,
    read_pdf,
    select_context,
)
from ingest.paper.readers import read_many
from ingest.paper.title import metadata_title

GKD_FILE = "gkd-2306.13649-iclr2024.pdf"
HINTON_FILE = "hinton-kd-1503.02531v1.pdf"


@pytest.fixture(scope="session")
def text_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("text-cache")


@pytest.fixture(scope="session")
def gkd(text_cache: Path) -> PaperText:
    """GKD parsed once per session (pypdf takes about half a second for it)."""
    from conftest import PDFS, need_shared

    return read_cached(need_shared(PDFS) / GKD_FILE, text_cache, source="2306.13649")


def test_gkd_reads_into_its_18_pages_with_its_sections(gkd: PaperText) -> None:
    assert len(gkd.pages) == 18
    assert gkd.flags == []
    kinds = [(s.kind, s.page) for s in gkd.sections]
    assert kinds == [
        ("front", 1),
        ("abstract", 1),
        ("introduction", 1),
        ("method", 2),
        ("method", 3),
        ("experiments", 5),
        ("related_work", 9),
        ("conclusion", 9),
        ("references", 10),
        ("appendix", 13),
    ]
    method = [s.title for s in gkd.sections if s.kind == "method"]
    assert method == ["2 PRELIMINARIES", "3 DISTILLATION FOR AUTO-REGRESSIVE SEQUENCE MODELS"]
    assert gkd.sections[-1].end == len(gkd.text)


def test_a_copied_sentence_traces_back_to_its_page(gkd: PaperText) -> None:
    # As a reader copies it from the PDF: with the "ﬁ" ligature and a line break.
    quote = "Instead of solely relying on a ﬁxed set\nof output sequences, GKD trains the student"
    span = locate(gkd, quote)
    assert span is not None
    assert gkd.page_of(span[0]) == 1
    assert (
        gkd.text[span[0] : span[1]]
        == "Instead of solely relying on a fixed set of output sequences, GKD trains the student"
    )
    span = locate(
        gkd,
        "where α∈ [0, 1] controls the strength of the distillation loss compared to the RL objective",  # noqa: RUF001 - the paper's own alpha
    )
    assert span is not None
    assert gkd.page_of(span[0]) == 5
    assert locate(gkd, "a sentence that the paper never wrote") is None


def test_page_text_is_normalised(gkd: PaperText) -> None:
    assert "ﬁ" not in gkd.text
    assert "\n" not in gkd.pages[1]
    assert "  " not in gkd.pages[1]
    # "auto-\nregressive" at a line end: the paper writes the hyphenated form, so the hyphen stays.
    assert "auto- regressive" not in gkd.text
    assert "Current distillation methods for auto-regressive" in gkd.text
    assert normalise("distri-\nbution  of the ﬁne   tuned\tmodel") == "distribution of the fine tuned model"


def test_the_arxiv_side_stamp_is_removed(pdfs: Path, text_cache: Path) -> None:
    hinton = read_cached(pdfs / HINTON_FILE, text_cache)
    assert "arXiv:1503.02531v1" not in hinton.text
    assert "[stat.ML]" not in hinton.text
    assert "Distilling the Knowledge in a Neural Network" in hinton.pages[0]
    assert normalise("before arXiv:2306.13649v3  [cs.LG]  17 Jan 2024 after") == "before after"


def test_context_fits_the_budget_favours_the_abstract_and_leaves_out_references(gkd: PaperText) -> None:
    passages = select_context(gkd, 3000)
    assert sum(p.tokens for p in passages) <= 3000
    assert passages[0].section == "abstract"
    assert passages[0].page == 1
    assert all(p.section != "references" for p in passages)
    refs = next(s for s in gkd.sections if s.kind == "references")
    reference = "Reincarnating reinforcement learning: Reusing prior computation"
    assert reference in gkd.text[refs.start : refs.end]
    assert not any(reference in p.text for p in passages)
    assert {"method", "experiments"} <= {p.section for p in passages}
    for p in passages:  # every passage is the paper's own text on the page it names
        assert p.text[:60] in gkd.pages[p.page - 1]
    assert sum(p.tokens for p in passages) / count_tokens(gkd.text) < 0.4


def test_count_tokens_follows_its_rule() -> None:
    assert count_tokens("") == 0
    assert count_tokens("the KL loss") == 3
    assert count_tokens("distillation") == 2  # 12 letters: two 6-character pieces
    assert count_tokens("p(y|x) = 0.5") == 10  # every symbol and digit run counts
    assert 15 <= count_tokens("Knowledge distillation is widely used for compressing a teacher model.") <= 20
    assert count_tokens("a_b\x1f c") == 4  # an underscore is a symbol, \x1f whitespace (free)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF), max_size=200))
def test_every_shortcut_counts_as_the_general_rule_does(text: str) -> None:
    # The shortcuts (ASCII, no CJK) against the general rule: a symbol or a CJK character set apart costs
    # one token more, and takes the text down the next path.
    assert count_tokens(text) == count_tokens(f"{text} \u00a9") - 1 == count_tokens(f"{text} \u65e5") - 1
    assert count_tokens("\u65e5\u672c\u8a9e na\u00efve \u03b1+\u03b2") == 7  # CJK per character


@given(st.text(alphabet="ab \n\t\u00a0", max_size=60), st.text(alphabet="ab ", min_size=1, max_size=8))
def test_a_quote_is_found_whatever_the_spaces(text: str, needle: str) -> None:
    span = find_spaceless(text, needle)
    bare = "".join(needle.split())
    squeezed = "".join(text.split())
    if not bare or bare not in squeezed:
        assert span is None
        return
    assert span is not None
    start, end = span
    assert "".join(text[start:end].split()) == bare
    assert not text[start].isspace()
    assert not text[end - 1].isspace()
    assert len("".join(text[:start].split())) == squeezed.find(bare)  # the first place it is


def test_a_passage_costs_what_its_text_costs(gkd: PaperText) -> None:
    passages = select_context(gkd, 100_000)
    assert len(passages) > 20
    assert all(p.tokens == count_tokens(p.text) for p in passages)


def test_a_rerun_parses_nothing(pdfs: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    first = read_cached(pdfs / HINTON_FILE, tmp_path / "c", source="a")
    parse = time.perf_counter() - start
    start = time.perf_counter()
    again = read_cached(pdfs / HINTON_FILE, tmp_path / "c", source="b")
    assert time.perf_counter() - start < parse / 4
    assert again.pages == first.pages
    assert again.source == "b"
    assert (tmp_path / "c" / "text").is_dir()


def test_read_many_in_processes_keeps_order_and_failures(
    pdfs: Path, text_cache: Path, gkd: PaperText, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"")
    out = read_many(
        [(pdfs / GKD_FILE, "2306.13649"), (bad, "2401.00001"), (pdfs / HINTON_FILE, "1503.02531")],
        text_cache,
        workers=2,
    )
    assert isinstance(out[0], PaperText)
    assert out[0].pages == gkd.pages
    assert isinstance(out[1], ReadError)
    assert out[1].paper == "2401.00001"
    assert isinstance(out[2], PaperText)
    assert out[2].source == "1503.02531"


# --- titles from page 1 ------------------------------------------------------------------------------------

# (file, title in ../shared/corpus/pdfs/MANIFEST.md): date lines, ICLR small caps, an arXiv URL as /Title,
# a page wrapped in one form XObject (PPO), a file named after the paper (Revisual-R1).
MANIFEST_TITLES = [
    (GKD_FILE, "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes"),
    (
        "dpo-2305.18290v2.pdf",
        "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
    ),
    ("ppo-1707.06347v2.pdf", "Proximal Policy Optimization Algorithms"),
    (HINTON_FILE, "Distilling the Knowledge in a Neural Network"),
    ("qwen3-2505.09388.pdf", "Qwen3 Technical Report"),
    ("hy-mt1.5-2512.24092-report.pdf", "HY-MT1.5 Technical Report"),
    ("dasd-2601.09088.pdf", "Distribution-Aligned Sequence Distillation for Superior Long-CoT Reasoning"),
    (
        "revisual-r1-2506.04207.pdf",
        "Advancing Multimodal Reasoning: From Optimized Cold Start to Staged Reinforcement Learning",
    ),
]


@pytest.mark.parametrize(("pdf", "title"), MANIFEST_TITLES, ids=[t[0].split("-")[0] for t in MANIFEST_TITLES])
def test_the_title_is_the_large_print_at_the_top_of_page_one(pdfs: Path, pdf: str, title: str) -> None:
    page = first_page(pdfs / pdf)  # page 1 only: fast, and the same layout reading read_pdf does
    assert page.title is not None
    assert fuzz.ratio(page.title.casefold(), title.casefold()) >= 90, page.title
    assert page.title in page.text  # quoted as page 1 prints it


def test_the_parsed_paper_carries_its_title_grounded_on_page_one(
    gkd: PaperText, pdfs: Path, text_cache: Path
) -> None:
    hinton = read_cached(pdfs / HINTON_FILE, text_cache)
    assert hinton.title == "Distilling the Knowledge in a Neural Network"
    # GKD's /Title is empty and its title small caps: the page's own spelling, found on page 1.
    assert gkd.title == "ON-POLICY DISTILLATION OF LANGUAGE MODELS: LEARNING FROM SELF-GENERATED MISTAKES"
    for paper in (gkd, hinton):
        span = locate(paper, paper.title or "")
        assert span is not None
        assert paper.page_of(span[0]) == 1


def test_metadata_counts_only_when_it_looks_like_a_title() -> None:
    assert metadata_title("https:/arxiv.org/pdf/2305.18290") is None  # DPO's, printed from Safari
    assert metadata_title("Microsoft Word - draft3.docx") is None
    assert metadata_title("untitled") is None
    assert metadata_title("main.pdf") is None
    assert metadata_title("") is None
    assert metadata_title(None) is None
    assert (
        metadata_title("Mind-Paced Speaking:  A Dual-Brain Approach")
        == "Mind-Paced Speaking: A Dual-Brain Approach"
    )


def _plain_pdf(path: Path, lines: list[str], *, title: str | None, big_first: bool = False) -> Path:
    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    pdf.add_page()
    for i, line in enumerate(lines):
        pdf.set_font("helvetica", size=20 if big_first and i == 0 else 11)
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


BODY = [
    f"Sentence {i} says that the student samples its own rollouts and the teacher scores them."
    for i in range(8)
]


def test_without_a_large_title_the_metadata_title_is_used_when_page_one_prints_it(tmp_path: Path) -> None:
    lines = ["Student Rollouts for Small Models", *BODY]
    plain = read_pdf(_plain_pdf(tmp_path / "a.pdf", lines, title="Student Rollouts for Small Models"))
    assert plain.title == "Student Rollouts for Small Models"
    # One size for everything and no usable /Title: no title rather than the first paragraph.
    assert read_pdf(_plain_pdf(tmp_path / "b.pdf", lines, title="untitled")).title is None
    assert (
        read_pdf(_plain_pdf(tmp_path / "c.pdf", lines, title="A Title the Page Never Prints")).title is None
    )
    # A large first line wins over a /Title that is a file name.
    big = read_pdf(_plain_pdf(tmp_path / "d.pdf", lines, title="paper_v3.pdf", big_first=True))
    assert big.title == "Student Rollouts for Small Models"


# --- bad input: each a real file made here ---------------------------------------------------------------


def _text_pdf(path: Path, pages: int = 1, image_page: bool = False) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Page {i + 1} says the student samples its own rollouts.")
    if image_page:
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


def _assert_read_error(path: Path, message: str) -> None:
    with pytest.raises(ReadError, match=message) as info:
        read_pdf(path, source="2401.00001")
    text = str(info.value)
    assert text.startswith("2401.00001: ")
    assert path.name in text
    assert "\n" not in text


def test_truncated_pdf(pdfs: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pdf"
    data = (pdfs / HINTON_FILE).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _assert_read_error(cut, "truncated")


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=_text_pdf(tmp_path / "plain.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    assert PdfReader(locked).is_encrypted
    _assert_read_error(locked, "encrypted and needs a password")


def test_encrypted_pdf_with_an_empty_user_password_reads(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=_text_pdf(tmp_path / "plain.pdf"))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    opened = tmp_path / "opened.pdf"
    writer.write(opened)
    assert "student samples its own rollouts" in read_pdf(opened).pages[0]


def test_pdf_without_a_text_layer(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    _assert_read_error(path, "no text layer")


def test_pages_without_text_are_flagged(tmp_path: Path) -> None:
    paper = read_pdf(_text_pdf(tmp_path / "mixed.pdf", pages=2, image_page=True))
    assert paper.flags == ["pages-without-text:1"]
    assert len(paper.pages) == 3


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    _assert_read_error(path, "empty")


def test_html_saved_as_pdf(tmp_path: Path) -> None:
    path = tmp_path / "page.pdf"
    path.write_text("<!DOCTYPE html><html><body>Just a moment...</body></html>")
    _assert_read_error(path, "not a PDF")


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    _assert_read_error(path, "corrupt|no pages")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="does not exist"):
        read_cached(tmp_path / "nope.pdf", tmp_path / "c", source="2401.00001")


# --- the whole corpus, read by the default engine (PDFium) -----------------------------------------------

# The number of each corpus PDF's last numbered top-level section: pypdf found the same sections on all 26.
LAST_SECTION = {
    "dasd": 9, "deepdistill": 5, "deepseek": 5, "dpo": 7, "em": 8, "falcon": 5, "gkd": 6, "hinton": 8,
    "hy": 5, "infigui": 5, "instructgpt": 5, "kd": 9, "mimo-7b": 4, "mimo-v2": 6, "mind": 6, "not": 5,
    "offline": 5, "openclaw": 7, "openvlthinker": 5, "ppo": 8, "qwen3": 6, "revisual": 7, "speculative": 6,
    "step": 8, "video": 5, "vision": 5,
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(corpus_text_cache: Path) -> list[tuple[Any, PaperText]]:
    """All 26 corpus PDFs with their MANIFEST rows, read in two processes into the session's text cache."""
    from arxiv_mirror import corpus_papers
    from conftest import PDFS, need_shared

    rows = sorted(corpus_papers(need_shared(PDFS)).values(), key=lambda p: p.number)
    texts = read_many([(row.file, row.arxiv_id) for row in rows], corpus_text_cache, workers=2)
    assert all(isinstance(t, PaperText) for t in texts), [t for t in texts if not isinstance(t, PaperText)]
    return [(row, text) for row, text in zip(rows, texts, strict=True)]


def _key(file: Path) -> str:
    return next(k for k in sorted(LAST_SECTION, key=len, reverse=True) if file.name.startswith(k))


def test_all_26_corpus_titles_are_found_and_grounded_on_page_one(corpus: list[tuple[Any, PaperText]]) -> None:
    assert len(corpus) == 26
    wrong = [
        (row.file.name, paper.title)
        for row, paper in corpus
        if paper.title is None or fuzz.ratio(paper.title.casefold(), row.title.casefold()) < 90
    ]
    assert wrong == []
    for _, paper in corpus:
        span = locate(paper, paper.title or "")
        assert span is not None, paper.source
        assert paper.page_of(span[0]) == 1, paper.source


def test_the_sections_of_every_corpus_pdf(corpus: list[tuple[Any, PaperText]]) -> None:
    for row, paper in corpus:
        numbers = [int(s.title.split()[0]) for s in paper.sections if s.title[:1].isdigit()]
        kinds = {s.kind for s in paper.sections}
        assert numbers == list(range(1, LAST_SECTION[_key(row.file)] + 1)), (row.file.name, numbers)
        assert "references" in kinds, row.file.name
        assert "introduction" in kinds or row.file.name.startswith("revisual"), row.file.name
    qwen3 = next(paper for row, paper in corpus if row.file.name.startswith("qwen3"))
    # PDFium puts a figure label ("Stage 1") on the heading's line; the heading stands alone.
    assert ("method", "4 Post-training") in [(s.kind, s.title) for s in qwen3.sections]


def test_pdfium_line_end_hyphens_follow_the_hyphen_rules(corpus: list[tuple[Any, PaperText]]) -> None:
    assert normalise("de\ufffeployment and self\ufffe\r\nplay") == "deployment and selfplay"
    assert all("\ufffe" not in paper.text for _, paper in corpus)
    hinton = next(paper for row, paper in corpus if row.file.name.startswith("hinton"))
    assert "allow deployment to a large number of users" in hinton.text  # "de\ufffeployment" in PDFium's text


def test_the_heuristic_quotes_on_the_whole_corpus_are_all_grounded(
    corpus: list[tuple[Any, PaperText]], tmp_path: Path
) -> None:
    from ingest.catalog.store import CatalogRoot
    from ingest.extract.heuristic import HeuristicBackend
    from ingest.extract.verify import verify
    from ingest.models import Candidate, MatchKind

    backend = HeuristicBackend(CatalogRoot(tmp_path / "root").create().taxonomy)
    total, ungrounded = 0, []
    for row, paper in corpus:
        raw = backend.extract(paper, Candidate(arxiv_id=row.arxiv_id, title=row.title), examples=[])
        quotes = [q for ev in verify(raw, paper).entry.evidence.values() for q in ev.quotes]
        total += len(quotes)
        ungrounded += [(row.file.name, q.text) for q in quotes if q.match != MatchKind.exact]
    assert total > 26
    assert ungrounded == []


def test_the_pypdf_engine_reads_too_and_is_cached_apart(pdfs: Path, tmp_path: Path) -> None:
    by_pdfium = read_cached(pdfs / HINTON_FILE, tmp_path / "c")
    by_pypdf = read_cached(pdfs / HINTON_FILE, tmp_path / "c", engine="pypdf")
    assert by_pypdf.title == by_pdfium.title == "Distilling the Knowledge in a Neural Network"
    assert [s.title for s in by_pypdf.sections] == [s.title for s in by_pdfium.sections]
    assert by_pypdf.pages != by_pdfium.pages  # two readers, two cache entries
    assert len(by_pypdf.pages) == len(by_pdfium.pages) == 9
