"""ingest eval: the metrics on hand-made gold/predicted pairs then the command on real PDFs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import PDFS, SEED_LIST, need_shared
from llm_server import LLMServer, ValidAnswers

from ingest.catalog.store import CatalogRoot, bundled
from ingest.cli import cli
from ingest.evaluate.metrics import EvalReport, FieldScore, calibration, compare, diff_reports, prf, summarise
from ingest.evaluate.run import FILE_ARXIV_RE
from ingest.models import (
    Entry,
    Extraction,
    FieldEvidence,
    Flag,
    Link,
    LinkKind,
    MatchKind,
    Quote,
    Scope,
    Usage,
)
from ingest.paper.read import read_cached
from ingest.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(bundled("taxonomy.yaml"))


def _ev(confidence: float, *matches: MatchKind, flags: tuple[Flag, ...] = ()) -> FieldEvidence:
    quotes = [Quote(text=f"a sentence from the paper {i}", page=1, match=m) for i, m in enumerate(matches)]
    return FieldEvidence(quotes=quotes, confidence=confidence, flags=list(flags))


def gold_entry() -> Entry:
    return Entry(
        id="gkd",
        name="GKD",
        sections=["white-box", "reasoning"],
        links=[Link(kind=LinkKind.code, url="https://github.com/google/gkd/tree/main/src")],
        axes={
            "teacher_source": ["external"],
            "supervision_signal": ["logits", "top-k"],
            "rollout_consumption": ["unknown"],
        },
        verdicts={"c1": {"value": "yes"}, "c2": {"value": "partial"}},
        details={"white-box": {"Loss / Divergence": "Reverse KL", "Granularity": "Token"}},
    )


def predicted(**usage: float) -> Extraction:
    entry = Entry(
        id="gkd-x",
        name="GKD",
        sections=["white-box", "opsd", "agent"],
        links=[Link(kind=LinkKind.code, url="https://github.com/Google/GKD")],
        axes={
            "teacher_source": ["external"],
            "supervision_signal": ["logits", "feature"],
            "rollout_consumption": ["all"],
            "pipeline_slot": ["unknown"],
        },
        verdicts={"c1": {"value": "yes"}, "c2": {"value": "yes"}},
        details={"white-box": {"Loss / Divergence": "reverse KL divergence"}},
        evidence={
            "sections": _ev(0.9, MatchKind.exact, MatchKind.fuzzy),
            "axes.teacher_source": _ev(0.3, MatchKind.not_found, flags=(Flag.ungrounded,)),
            "axes.supervision_signal": _ev(0.7, MatchKind.exact, flags=(Flag.heuristic,)),
            "verdicts.c1": _ev(0.85, MatchKind.exact),
            "verdicts.c2": _ev(0.1, MatchKind.unchecked, flags=(Flag.low_confidence, Flag.disagreement)),
            "links": _ev(0.5),
            "details.white-box.Loss / Divergence": _ev(0.6, MatchKind.exact),
        },
    )
    return Extraction(
        paper="2306.13649",
        entry=entry,
        scope=Scope(verdict="in", reason="OPD"),
        backend="test",
        prompt_hash="abc",
        usage=Usage(**usage),
        confidence=0.1,
    )


def test_precision_recall_f1_of_sets() -> None:
    assert prf(1, 2, 1) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 0, 2) == (0.0, 0.0, 0.0)  # nothing predicted for a known gold scores 0, not undefined


def test_compare_scores_every_field_of_a_known_case(taxonomy: Taxonomy) -> None:
    scores = compare(gold_entry(), predicted(), taxonomy)
    by = {f.field: f for f in scores.fields}
    assert by["primary_section"].score == 1.0
    assert (by["sections"].tp, by["sections"].fp, by["sections"].fn) == (1, 2, 1)
    assert by["sections"].score == pytest.approx(0.4)
    assert by["verdicts.c1"].score == 1.0
    assert by["verdicts.c2"].score == 0.0
    assert by["verdicts.c2"].predicted == ["yes"]
    assert by["axes.teacher_source"].score == 1.0
    assert by["axes.supervision_signal"].score == pytest.approx(0.5)
    assert by["links.code"].score == 1.0  # same repository, other case and a sub-folder link
    assert by["details"].score == pytest.approx(0.5)  # one of the two gold columns matched
    # unknown gold is not counted, whatever the prediction says
    assert "axes.rollout_consumption" not in by
    assert "axes.pipeline_slot" not in by
    assert scores.skipped["axes.rollout_consumption"] == "gold axis is unknown"
    # confidence comes from the evidence of the same field
    assert by["sections"].confidence == 0.9
    assert by["primary_section"].confidence == 0.9
    assert by["details"].confidence == 0.6
    # grounding and flags: 7 quotes, 1 unchecked, 5 exact or fuzzy; the heuristic label is not a problem flag
    assert (scores.quotes, scores.quotes_grounded, scores.quotes_unchecked) == (7, 5, 1)
    assert (scores.evidence_fields, scores.flagged_fields) == (7, 2)
    assert scores.flag_counts == {"ungrounded": 1, "low-confidence": 1, "disagreement": 1}


def test_a_row_label_the_extraction_leaves_out_is_scored_as_the_list_shows_it(taxonomy: Taxonomy) -> None:
    gold = gold_entry()
    gold.details["white-box"] = {"Method": "GKD (Agarwal)", "Loss / Divergence": "Reverse KL"}
    by = {f.field: f for f in compare(gold, predicted(), taxonomy).fields}
    assert by["details"].score == 1.0  # the list labels the row with the entry's name, "GKD"
    assert "Method: GKD" in by["details"].predicted
    elsewhere = predicted()
    elsewhere.entry.sections = ["opsd"]  # filed in another section, the row is not in this table at all
    by = {f.field: f for f in compare(gold, elsewhere, taxonomy).fields}
    assert by["details"].score == 0.5


def test_calibration_buckets_hold_the_fields_by_confidence(taxonomy: Taxonomy) -> None:
    scores = compare(gold_entry(), predicted(), taxonomy)
    buckets = calibration(scores.fields)
    assert [b.n for b in buckets] == [1, 1, 1, 2, 3]
    assert [b.accuracy for b in buckets] == pytest.approx([0.0, 1.0, 1.0, 0.5, (1 + 0.4 + 1) / 3])
    edge = [
        FieldScore(field="x", kind="exact", gold=["a"], predicted=["a"], score=1, confidence=c)
        for c in (0.2, 1.0, 0.0)
    ]
    assert [b.n for b in calibration(edge)] == [1, 1, 0, 0, 1]


def test_summarise_micro_averages_and_notes_fields_never_counted(taxonomy: Taxonomy) -> None:
    first = compare(
        gold_entry(), predicted(prompt_tokens=1000, completion_tokens=200, calls=1, cost_usd=0.002), taxonomy
    )
    gold2 = gold_entry().model_copy(update={"axes": {}, "sections": ["white-box"], "verdicts": {}})
    second = compare(
        gold2, predicted(prompt_tokens=3000, completion_tokens=400, calls=1, cost_usd=0.004), taxonomy
    )
    report = summarise([first, second], backend="test")
    sections = report.field("sections")
    assert sections is not None
    assert sections.n == 2
    # micro: tp 1+1, fp 2+2, fn 1+0
    assert (sections.precision, sections.recall) == pytest.approx((2 / 6, 2 / 3))
    teacher = report.field("axes.teacher_source")
    assert teacher is not None
    assert (teacher.n, teacher.skipped) == (1, 1)
    assert report.field("axes.pipeline_slot") is None
    assert any(n.startswith("axes.pipeline_slot not counted") and "all 2 entries" in n for n in report.notes)
    assert report.verdict_papers == 1
    assert report.verdict_agreement == 0.0
    assert report.grounding_rate == pytest.approx(10 / 12)  # unchecked quotes are left out
    assert report.flagged_share == pytest.approx(4 / 14)
    assert report.tokens_per_paper == 2300
    assert report.cost_per_paper == pytest.approx(0.003)


def test_a_report_survives_json_and_compare_prints_the_change(taxonomy: Taxonomy, tmp_path: Path) -> None:
    old = summarise([compare(gold_entry(), predicted(), taxonomy)])
    better = predicted()
    better.entry.verdicts["c2"] = better.entry.verdicts["c2"].model_copy(update={"value": "partial"})
    new = summarise([compare(gold_entry(), better, taxonomy)])
    path = tmp_path / "old.json"
    path.write_text(old.model_dump_json())
    again = type(old).model_validate_json(path.read_text())
    deltas = {d.metric: d for d in diff_reports(again, new)}
    assert deltas["verdicts.c2 (accuracy)"].change == 1.0
    assert deltas["sections (F1)"].change == 0.0
    assert deltas["verdict_agreement"].old == 0.0
    assert deltas["verdict_agreement"].new == 1.0
    assert json.loads(path.read_text())["papers"] == 1


# --- the command on the real list and the real PDFs ---------------------------------------------------

# The four catalog papers of issue 5 (MANIFEST.md files 1-4): GKD, Falcon, HY-MT1.5, Step-Audio-R1.
CATALOG_PDFS = (
    "gkd-2306.13649-iclr2024.pdf",
    "falcon-2412.12639-aaai2025.pdf",
    "hy-mt1.5-2512.24092-report.pdf",
    "step-audio-r1-2511.15848-report.pdf",
)


@pytest.fixture(scope="module")
def eval_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A root imported from the real list, and a folder that links the four catalog PDFs of the corpus."""
    need_shared(SEED_LIST)
    base = tmp_path_factory.mktemp("eval")
    result = CliRunner().invoke(cli, ["--root", str(base / "root"), "import-markdown", str(SEED_LIST)])
    assert result.exit_code == 0, result.output
    folder = base / "pdfs"
    folder.mkdir()
    for name in CATALOG_PDFS:
        (folder / name).symlink_to(PDFS / name)
    return base / "root", folder


@pytest.fixture(scope="module")
def read_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module, so each PDF is parsed once across the tests below."""
    return tmp_path_factory.mktemp("eval-cache")


def run_eval(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), "eval", *args])


def check_harness(report: EvalReport, root: Path) -> None:
    """What a user would check by hand: each paper is scored against its own entry, and the totals add up."""
    entries = CatalogRoot(root).entries()
    for paper in report.per_paper:
        gold = entries[paper.entry_id]
        assert paper.paper in gold.arxiv_ids
        primary = paper.get("primary_section")
        assert primary is not None
        assert primary.gold == [gold.primary_section]
        assert primary.score == float(primary.predicted == primary.gold)
        sections = paper.get("sections")
        assert sections is not None
        assert sections.gold == sorted(gold.sections)
        assert sections.tp == len(set(sections.gold) & set(sections.predicted))
    again = summarise(report.per_paper)
    assert [f.model_dump() for f in again.fields] == [f.model_dump() for f in report.fields]
    assert again.calibration == report.calibration
    assert sum(b.n for b in report.calibration) == sum(
        1 for p in report.per_paper for f in p.fields if f.confidence is not None
    )


def test_eval_with_the_heuristic_backend_on_four_catalog_papers(
    eval_root: tuple[Path, Path], read_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, folder = eval_root
    monkeypatch.setenv("INGEST_CACHE_DIR", str(read_cache))
    out = tmp_path / "heuristic.json"
    result = run_eval(root, "--backend", "heuristic", "--pdfs", str(folder), "--output", str(out))
    assert result.exit_code == 0, result.output
    print(result.stdout)  # the numbers, for whoever runs pytest -s
    assert "primary_section" in result.stdout
    assert "Calibration" in result.stdout
    report = EvalReport.model_validate_json(out.read_text())
    # the import infers the teacher source from the list for 3 of the 4 papers: eval scores it there
    teacher = next(f for f in report.fields if f.field == "axes.teacher_source")
    assert (teacher.n, teacher.skipped) == (3, 1)
    assert report.papers == 4
    assert not report.failures
    assert {p.paper for p in report.per_paper} == {"2306.13649", "2412.12639", "2512.24092", "2511.15848"}
    assert report.backend == "heuristic"
    assert report.tokens_per_paper == 0
    assert report.calls_per_paper == 0
    assert report.grounding_rate is not None
    assert 0 <= report.grounding_rate <= 1
    assert all(f.confidence is None or f.confidence <= 0.5 for p in report.per_paper for f in p.fields)
    check_harness(report, root)

    # The same run again, compared with the first: the heuristic backend is deterministic, so nothing moves.
    again = run_eval(root, "--backend", "heuristic", "--pdfs", str(folder), "--json", "--compare", str(out))
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["compare"]
    assert all(d["change"] in (0, None) for d in data["compare"])
    assert any(d["metric"] == "primary_section (accuracy)" for d in data["compare"])


def test_eval_limit_and_clear_errors(
    eval_root: tuple[Path, Path], read_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, folder = eval_root
    monkeypatch.setenv("INGEST_CACHE_DIR", str(read_cache))
    one = run_eval(root, "--backend", "heuristic", "--pdfs", str(folder), "--limit", "1", "--json")
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["papers"] == 1

    empty = tmp_path / "none"
    empty.mkdir()
    nothing = run_eval(root, "--backend", "heuristic", "--pdfs", str(empty))
    assert nothing.exit_code == 2
    assert "no catalog entry has its PDF" in nothing.stderr

    # Without --pdfs, the PDFs that fetch/run downloaded into the cache are used (download.py's pdf-files/).
    cache = tmp_path / "cache"
    (cache / "pdf-files").mkdir(parents=True)
    (cache / "pdf-files" / "2306.13649v1.pdf").symlink_to(PDFS / CATALOG_PDFS[0])
    monkeypatch.setenv("INGEST_CACHE_DIR", str(cache))
    cached = run_eval(root, "--backend", "heuristic", "--json")
    assert cached.exit_code == 0, cached.output
    assert [p["paper"] for p in json.loads(cached.stdout)["per_paper"]] == ["2306.13649"]

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    refused = run_eval(root, "--backend", "heuristic", "--pdfs", str(folder), "--compare", str(bad))
    assert refused.exit_code == 2
    assert "bad.json: not an ingest eval JSON report" in refused.stderr

    # A truth file that is missing or wrong, given by --truth or by ingest.yaml: one line with file and line.
    truth = tmp_path / "truth.yaml"
    truth.write_text("papers:\n- file: a.pdf\n  arxiv_id: '2306.13649'\n  in_scope: true\n", encoding="utf-8")
    expected = {str(truth): f"{truth}:2: papers.0.title: Field required", "missing": "truth file not found"}
    for path, said in expected.items():
        wrong = run_eval(root, "--backend", "heuristic", "--pdfs", str(folder), "--truth", path)
        assert wrong.exit_code == 2, wrong.output
        [line] = [x for x in wrong.stderr.splitlines() if x.strip()]
        assert line.startswith("error: "), line
        assert said in line, line


def test_eval_with_the_openai_backend_on_the_loopback_server(
    eval_root: tuple[Path, Path],
    read_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    llm_server: LLMServer,
) -> None:
    root, folder = eval_root
    monkeypatch.setenv("INGEST_CACHE_DIR", str(read_cache))
    catalog = CatalogRoot(root)
    papers = {}
    for name in CATALOG_PDFS:
        papers[_arxiv_id(name)] = read_cached(folder / name, read_cache, source=_arxiv_id(name))
    # Every answer files the paper under the first section, with each axis's first value and "yes" verdicts.
    first = catalog.taxonomy.catalog_sections[0].id
    llm_server.default = ValidAnswers(catalog.taxonomy, papers, section=first)
    out = tmp_path / "openai.json"
    result = run_eval(root, "--backend", "openai", "--pdfs", str(folder), "--output", str(out))
    assert result.exit_code == 0, result.output
    print(result.stdout)  # the numbers, for whoever runs pytest -s
    report = EvalReport.model_validate_json(out.read_text())
    assert report.papers == 4
    assert not report.failures
    assert report.backend == "openai"
    check_harness(report, root)

    # The scripted answers make the expected scores known in advance.
    entries = {p.entry_id: catalog.entries()[p.entry_id] for p in report.per_paper}
    first_section = catalog.taxonomy.catalog_sections[0].id
    primary = report.field("primary_section")
    assert primary is not None
    assert primary.accuracy == pytest.approx(
        sum(e.primary_section == first_section for e in entries.values()) / 4
    )
    for criterion in catalog.taxonomy.criteria:
        known = [
            e.verdicts[criterion.id].value
            for e in entries.values()
            if criterion.id in e.verdicts and e.verdicts[criterion.id].value != "unknown"
        ]
        field = report.field(f"verdicts.{criterion.id}")
        if known:
            assert field is not None
            assert field.accuracy == pytest.approx(sum(v == "yes" for v in known) / len(known))
    # One call per paper, with the usage the server reported (1,200 prompt + 300 completion tokens).
    assert llm_server.calls == 4
    assert report.calls_per_paper == 1
    assert report.tokens_per_paper == 1500
    price = catalog.config.extract.prices[catalog.config.extract.model]
    cost = (1200 * price.input_per_mtok + 300 * price.output_per_mtok) / 1e6
    assert report.cost_per_paper == pytest.approx(cost)
    assert report.grounding_rate == 1.0  # every scripted quote is a real sentence of its paper


def _arxiv_id(file_name: str) -> str:
    match = FILE_ARXIV_RE.search(file_name)
    assert match is not None
    return match.group(1)
