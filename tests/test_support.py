"""The support check on the loopback OpenAI-compatible server: unrelated quotes flagged, supporting not."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llm_server import answer

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.extract.heuristic import sentences
from ingest.extract.support import NEAR, SupportCheck, check_support, holds_cue, mentions
from ingest.jobs.pipeline import Chain, Pipeline, PipelineOptions
from ingest.models import Candidate, Entry, Extraction, FieldEvidence, Flag, PaperText, Quote, Scope
from ingest.taxonomy import Taxonomy, load_taxonomy

# The catalog's papers of the corpus: (file, arXiv id).
PAPERS = [
    ("gkd-2306.13649-iclr2024.pdf", "2306.13649"),
    ("hy-mt1.5-2512.24092-report.pdf", "2512.24092"),
    ("mimo-v2-flash-2601.02780v1.pdf", "2601.02780"),
    ("openclaw-rl-2603.10165.pdf", "2603.10165"),
    ("qwen3-2505.09388.pdf", "2505.09388"),
    ("step-audio-r1-2511.15848-report.pdf", "2511.15848"),
    ("falcon-2412.12639-aaai2025.pdf", "2412.12639"),
]
CUE_PICKED_FLAG_LIMIT = 0.05  # the circular test's bound (see its docstring)


def make_root(path: Path) -> CatalogRoot:
    root = CatalogRoot(path / "root", env=Env.from_mapping(os.environ)).create()
    root.config_path.write_text('extract:\n  cross_check: "none"\n  few_shot: 0\n', encoding="utf-8")
    return root


def _clean(paper: PaperText) -> list[str]:
    """Sentences fit to quote: not too long, no citation, so only the claim itself decides."""
    return [
        s.text
        for s in sentences(paper)
        if 40 <= len(s.text) <= 250 and not re.search(r"et al\.|\[\d|\(\w+,? \d{4}\)", s.text)
    ]


def _pages(paper: PaperText) -> dict[str, int]:
    return {s.text: s.page for s in sentences(paper)}


class Answers:
    """Answers for one paper: each field either quotes a sentence that holds its value's cue, or one that
    holds none of them (a real but unrelated sentence)."""

    def __init__(self, taxonomy: Taxonomy, paper: PaperText) -> None:
        self.taxonomy, self.paper = taxonomy, paper
        self.sents, self.page = _clean(paper), _pages(paper)
        self.used: set[str] = set()

    def quote(self, cues: list[str], *, support: bool) -> dict[str, Any] | None:
        for s in self.sents:
            # An unrelated sentence holds no cue, and neither do the few characters around it.
            at = self.paper.text.lower().find(s.lower())
            around = self.paper.text[max(0, at - NEAR) : at + len(s) + NEAR] if at >= 0 and not support else s
            if s in self.used or (holds_cue(around, cues) is not None) != support:
                continue
            self.used.add(s)
            return {"text": s, "page": self.page[s]}
        return None

    def pick(self, path: str, values: list[str], *, support: bool) -> tuple[str, dict[str, Any]] | None:
        """A value of the field and a quote for it (one that backs it, or one that does not)."""
        for value in values:
            cues = self.taxonomy.value_cues(path, value)
            q = self.quote(cues, support=support) if cues else None
            if q is not None:
                return value, q
        return None

    def arguments(self, *, support: bool) -> dict[str, Any]:
        tax, title = self.taxonomy, self.paper.title or ""
        name = title.split(":")[0].split()[0].strip(",.")

        def ev(quote: dict[str, Any], **value: Any) -> dict[str, Any]:
            return {**value, "quotes": [quote], "confidence": 0.9}

        identity = {"text": title, "page": 1} if support else None
        unrelated = {"name": name, "title": title, "org": "Institute of Unrelated Studies"}
        if support:
            out = {
                "name": ev(identity, value=name),
                "title": ev(identity, value=title),
                "org": {"value": None, "quotes": [], "confidence": 0.5},
            }
        else:
            out = {
                k: ev(self.quote([k for k in v.lower().split()], support=False), value=v)
                for k, v in unrelated.items()
            }
        section = self.pick("sections", [s.id for s in tax.catalog_sections], support=support)
        assert section is not None
        out["sections"] = ev(section[1], values=[section[0]])
        out["axes"] = {}
        for axis in tax.axes:
            got = self.pick(f"axes.{axis.id}", [v.id for v in axis.values], support=support)
            out["axes"][axis.id] = (
                ev(got[1], values=[got[0]])
                if got
                else {"values": ["unknown"], "quotes": [], "confidence": 0.5}
            )
        out["verdicts"] = {}
        for c in tax.criteria:
            got = self.pick(f"verdicts.{c.id}", [c.id], support=support)
            out["verdicts"][c.id] = (
                ev(got[1], value="yes") if got else {"value": "unknown", "quotes": [], "confidence": 0.5}
            )
        out["links"] = {"urls": [], "quotes": [], "confidence": 0.5}
        out["details"] = []
        out["scope"] = ev(out["sections"]["quotes"][0], verdict="in", reason="scripted")
        return out


def checked_fields(extraction: Extraction) -> dict[str, FieldEvidence]:
    """The fields that claim a value and quote something: the ones the support check judges."""
    return {p: ev for p, ev in extraction.entry.evidence.items() if ev.support is not None}


def run(tmp_path: Path, llm_server: Any, corpus_paper: Any, *, support: bool) -> list[Extraction]:
    root = make_root(tmp_path)
    out = []
    for file, arxiv_id in PAPERS:
        paper = corpus_paper(file, source=arxiv_id)
        llm_server.script(answer(Answers(root.taxonomy, paper).arguments(support=support)))
        candidate = Candidate(arxiv_id=arxiv_id, title=paper.title or file)
        out.append(Chain(Pipeline(root, PipelineOptions(backend="openai"))).extract(paper, candidate))
    return out


def test_unrelated_sentences_flag_every_field_unsupported(tmp_path, llm_server, corpus_paper):
    extractions = run(tmp_path, llm_server, corpus_paper, support=False)
    fields = [(x.paper, p, ev) for x in extractions for p, ev in checked_fields(x).items()]
    assert len(fields) >= 7 * 8
    not_flagged = [(paper, p, ev.support_note) for paper, p, ev in fields if Flag.unsupported not in ev.flags]
    print(f"unrelated answers: {len(fields) - len(not_flagged)} of {len(fields)} fields flagged unsupported")
    assert not_flagged == [], not_flagged
    # The flag costs confidence: the grounded but unrelated entry is never confident.
    assert all(x.confidence < 0.6 for x in extractions)
    assert all(ev.support_note for _, _, ev in fields)


def test_sentences_picked_by_the_checks_own_cues_pass_the_check(tmp_path, llm_server, corpus_paper):
    """Circular by construction: each quote is a sentence chosen BECAUSE it holds a cue of its value, so
    this shows only that the check finds the cues it looks for (and that nothing else in the chain, e.g. the
    reuse rule, flags such answers). It measures nothing about quotes a reader picks: see
    test_a_readers_quotes_flagged_share for that measurement."""
    extractions = run(tmp_path, llm_server, corpus_paper, support=True)
    fields = [(x.paper, p, ev) for x in extractions for p, ev in checked_fields(x).items()]
    assert len(fields) >= 7 * 8
    flagged = [(paper, p, ev.support_note) for paper, p, ev in fields if Flag.unsupported in ev.flags]
    share = len(flagged) / len(fields)
    print(f"cue-picked answers: {len(flagged)} of {len(fields)} fields flagged unsupported ({share:.1%})")
    assert share <= CUE_PICKED_FLAG_LIMIT, flagged


# --- the rules, one by one, on a real paper -----------------------------------------------------------------


@pytest.fixture
def gkd(corpus_paper: Any) -> PaperText:
    return corpus_paper("gkd-2306.13649-iclr2024.pdf", source="2306.13649")


def _one(taxonomy: Taxonomy, path: str, quote: Quote, **entry: Any) -> FieldEvidence:
    from ingest.extract.verify import verify

    data: dict[str, Any] = {"id": "x", "name": "X", "sections": ["white-box"], **entry}
    x = Extraction(
        paper="2306.13649",
        entry=Entry(**data, evidence={path: FieldEvidence(quotes=[quote], confidence=0.9)}),
        scope=Scope(verdict="in", reason="r"),
        backend="openai",
        prompt_hash="p",
    )
    return check_support(verify(x, PAPER[0]), PAPER[0], taxonomy).entry.evidence[path]


PAPER: list[PaperText] = []


def test_each_rule_names_what_is_missing(tmp_path, gkd):
    PAPER[:] = [gkd]
    tax = CatalogRoot(tmp_path / "root", env=Env.from_mapping(os.environ)).create().taxonomy
    refs = next(s for s in gkd.sections if s.kind == "references")
    ref_text = gkd.text[refs.start : refs.start + 200].split(". ")[1][:80]
    ev = _one(
        tax,
        "axes.teacher_source",
        Quote(text=ref_text, page=gkd.page_of(refs.start + 100)),
        axes={"teacher_source": ["external"]},
    )
    assert (ev.support, ev.support_note) == ("unsupported", "quoted from the references")

    plain = next(
        s
        for s in _clean(gkd)
        if holds_cue(s, tax.value_cues("axes.teacher_source", "privileged-context")) is None
    )
    ev = _one(
        tax,
        "axes.teacher_source",
        Quote(text=plain, page=_pages(gkd)[plain]),
        axes={"teacher_source": ["privileged-context"]},
    )
    assert ev.support == "unsupported"
    assert Flag.unsupported in ev.flags
    assert ev.support_note is not None
    assert ev.support_note.startswith("does not mention '")

    cited = next(
        s.text for s in sentences(gkd) if "et al." in s.text and not re.search(r"\b[Ww]e\b|\bour\b", s.text)
    )
    ev = _one(tax, "title", Quote(text=cited, page=_pages(gkd)[cited]), title=cited)
    assert (ev.support, ev.support_note) == ("unsupported", "the quote is about another paper")

    title = gkd.title or ""
    ev = _one(tax, "title", Quote(text=title, page=1), title=title)
    assert ev.support == "supported"
    assert Flag.unsupported not in ev.flags
    data = json.loads(ev.model_dump_json())
    assert data["support"] == "supported"


@pytest.mark.parametrize(
    ("org", "support"),
    [
        ("Google DeepMind (Agarwal et al.)", "supported"),  # the bracketed note is the list's, not the claim
        ("Google DeepMind", "supported"),
        ("Google Research (Agarwal et al.)", "weak"),  # half its words: "google" is there, "research" is not
        ("Tencent Hunyuan", "unsupported"),
    ],
)
def test_an_organisation_is_found_among_affiliation_markers_without_its_bracketed_note(org, support):
    # As a PDF prints page 1: the affiliation's marker digits glued to the names and to the organisation.
    quote = Quote(text="Rishabh Agarwal12 Nino Vieillard1 Olivier Bachem1 1Google DeepMind", page=1)
    ev = FieldEvidence(quotes=[quote], confidence=0.9)
    entry = Entry(id="x", name="X", org=org, sections=["white-box"], evidence={"org": ev})
    taxonomy = load_taxonomy(Path(__file__).resolve().parents[1] / "taxonomy.yaml")
    assert SupportCheck(taxonomy).field("org", ev, entry, None)[0] == support


@pytest.mark.parametrize(
    ("quote", "support"),
    [
        ("KL(\u03c0\u03b8 \u2225 \u03c0teacher) = Ex\u223c\u03c0\u03b8 [log \u03c0\u03b8]", "supported"),
        ("The loss is E(x,y)\u223cD [log p\u03b8(y|x)] over the dataset", "unsupported"),
    ],
)
def test_a_c1_verdict_is_backed_by_a_formula_over_the_students_own_samples(quote, support):
    ev = FieldEvidence(quotes=[Quote(text=quote, page=4)], confidence=0.9)
    verdicts = {"c1": {"value": "yes"}}
    entry = Entry(id="x", name="X", sections=["white-box"], verdicts=verdicts, evidence={"verdicts.c1": ev})
    taxonomy = load_taxonomy(Path(__file__).resolve().parents[1] / "taxonomy.yaml")
    assert SupportCheck(taxonomy).field("verdicts.c1", ev, entry, None)[0] == support


def test_review_show_and_check_annotations_show_the_support_result(tmp_path, llm_server, corpus_paper):
    from click.testing import CliRunner

    from ingest.cli import cli
    from ingest.review.propose import propose

    root = make_root(tmp_path)
    file, arxiv_id = PAPERS[0]
    paper = corpus_paper(file, source=arxiv_id)
    llm_server.script(answer(Answers(root.taxonomy, paper).arguments(support=False)))
    candidate = Candidate(arxiv_id=arxiv_id, title=paper.title or file)
    extraction = Chain(Pipeline(root, PipelineOptions(backend="openai"))).extract(paper, candidate)
    proposal = propose(root, extraction, run_id="test")
    assert proposal is not None

    shown = CliRunner().invoke(
        cli, ["--root", str(root.path), "review", "show", proposal.id], env={"COLUMNS": "400"}
    )
    assert shown.exit_code == 0, shown.output
    assert "exact · does not mention '" in shown.output

    check = CliRunner().invoke(cli, ["--root", str(root.path), "check", "--format", "github"])
    warnings = [line for line in check.output.splitlines() if line.startswith("::warning")]
    supported = [line for line in warnings if "support unsupported: does not mention" in line]
    assert len(supported) >= 8, check.output
    assert all("unsupported" in line for line in supported)


@given(
    st.text(alphabet="ab -\n0", max_size=40),
    st.lists(st.text(alphabet="ab -", max_size=6), max_size=4),
)
def test_one_scan_for_a_set_of_cues_finds_what_the_cues_one_by_one_find(text: str, cues: list[str]) -> None:
    assert mentions(text.lower(), cues) == (holds_cue(text, cues) is not None)


# --- a reader's quotes: the support check measured on quotes it did not choose ------------------------------

GOLD = Path(__file__).parent / "data" / "support-quotes.yaml"
# What the check flagged on the reader's quotes when this test was written (quoted fields of each half):
# a later change that flags more of them fails here. Lower these when the check improves.
# Tuning: 6 unsupported when first measured, 2 once its false alarms' cues and the text rule were fixed.
MEASURED_UNSUPPORTED = {"tuning": 1, "reporting": 4}  # of 36 and 25 quoted fields
MEASURED_WEAK = {"tuning": 2, "reporting": 1}


def gold_papers() -> list[dict[str, Any]]:
    import yaml

    papers: list[dict[str, Any]] = yaml.safe_load(GOLD.read_text(encoding="utf-8"))["papers"]
    return papers


def gold_arguments(fields: list[dict[str, Any]], taxonomy: Taxonomy, *, quoteless: bool) -> dict[str, Any]:
    """The extractor's answer giving each gold value with the reader's quote. A field the reader found no
    sentence for carries its value with no quote when `quoteless` (the schema refuses that: a re-ask), else
    `unknown` with no quote (the only quoteless answer the schema takes)."""

    def ev(f: dict[str, Any] | None, key: str, nothing: Any) -> dict[str, Any]:
        """`key: value` with the quote; `key: nothing` (null, no URL, unknown) with none for no gold value."""
        if f is None or (f["quote"] is None and not quoteless):
            return {key: nothing, "quotes": [], "confidence": 0.5}
        value = [f["value"]] if isinstance(nothing, list) else f["value"]
        quotes = [] if f["quote"] is None else [{"text": f["quote"], "page": f["page"]}]
        return {key: value, "quotes": quotes, "confidence": 0.9}

    by_path = {f["path"]: f for f in fields}
    out: dict[str, Any] = {k: ev(by_path.get(k), "value", None) for k in ("name", "title", "org")}
    out["links"] = ev(by_path.get("links"), "urls", [])
    out["sections"] = ev(by_path["sections"], "values", ["unknown"])
    out["axes"] = {a.id: ev(by_path.get(f"axes.{a.id}"), "values", ["unknown"]) for a in taxonomy.axes}
    out["verdicts"] = {}
    for c in taxonomy.criteria:
        got = ev(by_path.get(f"verdicts.{c.id}"), "value", "unknown")
        if got["value"] in ("partial", "no"):
            got["note"] = "only part of the student's own samples is trained on (the reader's gold)"
        out["verdicts"][c.id] = got
    out["details"] = []
    # The scope quote is not judged; it reuses C1's quote, so no gold quote reaches the reuse rule's three.
    c1 = by_path["verdicts.c1"]
    out["scope"] = {
        "verdict": "in",
        "reason": "the catalog lists it",
        "quotes": [{"text": c1["quote"], "page": c1["page"]}],
        "confidence": 0.9,
    }
    return out


def test_a_readers_quotes_flagged_share(tmp_path, llm_server, corpus_paper):
    """Issue 13's measurement without the circle: the 7 catalog papers answered with their gold values and
    the quotes a reader picked (tests/data/support-quotes.yaml, picked before looking at the check's words),
    through the real openai backend chain; the share of quoted fields flagged unsupported (and weak), per
    half and overall. Fields the reader found no sentence for are counted apart: they are no supporting
    answer, and the schema makes the model re-ask them into `unknown`, which the check does not judge."""
    root = make_root(tmp_path)
    rows: list[tuple[str, str, str, str, str | None]] = []  # (half, paper, path, support, note)
    quoteless: dict[str, int] = {"tuning": 0, "reporting": 0}
    for gold in gold_papers():
        half, arxiv_id, fields = gold["half"], gold["arxiv_id"], gold["fields"]
        paper = corpus_paper(gold["file"], source=arxiv_id)
        missing = [f for f in fields if f["quote"] is None]
        quoteless[half] += len(missing)
        script = [answer(gold_arguments(fields, root.taxonomy, quoteless=True))]
        if missing:
            script.append(answer(gold_arguments(fields, root.taxonomy, quoteless=False)))
        calls = llm_server.calls
        llm_server.script(*script)
        candidate = Candidate(arxiv_id=arxiv_id, title=paper.title or gold["file"])
        x = Chain(Pipeline(root, PipelineOptions(backend="openai"))).extract(paper, candidate)
        # A value without a quote is refused and re-asked: one more call, and the field is not judged.
        assert llm_server.calls - calls == len(script)
        assert llm_server.pending == 0
        judged = checked_fields(x)
        quoted = [f["path"] for f in fields if f["quote"] is not None]
        assert sorted(judged) == sorted(quoted), (arxiv_id, sorted(judged), sorted(quoted))
        for path in quoted:
            ev = judged[path]
            # Every reader's quote is in the paper as printed: what is measured is support, not grounding.
            assert all(q.match == "exact" for q in ev.quotes), (arxiv_id, path, ev.quotes)
            assert Flag.page_corrected not in ev.flags, (arxiv_id, path)
            assert all(len(q.text) <= 300 for q in ev.quotes), (arxiv_id, path)
            assert (Flag.unsupported in ev.flags) == (ev.support == "unsupported")
            rows.append((half, arxiv_id, path, ev.support or "", ev.support_note))

    def tally(half: str | None) -> dict[str, int]:
        got = Counter(r[3] for r in rows if half is None or r[0] == half)
        return {k: got[k] for k in ("unsupported", "weak", "supported")}

    print("\na reader's quotes (tests/data/support-quotes.yaml), judged by the support check:")
    for half in ("tuning", "reporting", None):
        t, n = tally(half), sum(tally(half).values())
        nulls = quoteless[half] if half else sum(quoteless.values())
        print(
            f"  {half or 'overall':9}: {n} quoted fields: unsupported {t['unsupported']} "
            f"({t['unsupported'] / n:.1%}), weak {t['weak']} ({t['weak'] / n:.1%}), supported "
            f"{t['supported']} ({t['supported'] / n:.1%}); {nulls} field(s) with no supporting sentence"
        )
    # The tuning half's flags by name, to learn from; the reporting half's only counted (held out).
    for half, arxiv_id, path, support, note in rows:
        if support != "supported" and half == "tuning":
            print(f"  [{half}] {arxiv_id} {path}: {support}: {note}")

    assert len(rows) >= 7 * 8
    for half in ("tuning", "reporting"):
        t = tally(half)
        assert t["unsupported"] <= MEASURED_UNSUPPORTED[half], (half, t)
        assert t["unsupported"] + t["weak"] <= MEASURED_UNSUPPORTED[half] + MEASURED_WEAK[half], (half, t)
