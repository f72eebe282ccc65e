"""The heuristic on the corpus PDFs it was not tuned on: the truth file, the fixed split, and a floor."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from conftest import PDFS, need_shared

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.evaluate.metrics import EvalReport
from ingest.evaluate.run import evaluate, find_pdfs
from ingest.evaluate.truth import load_truth
from ingest.jobs.pipeline import PipelineOptions

REPO = Path(__file__).resolve().parent.parent
TRUTH = REPO / "tests" / "data" / "corpus-truth.yaml"

# Measured on the reporting half (README, "How good is it?"); a change that scores lower fails here.
# teacher_source is scored wherever the catalog states it: since the import infers the axes from the list
# (issue 14), that is 3 papers of the reporting half (Falcon, Qwen3, Step-Audio-R1), of which the heuristic
# gets 1 right. Support measured 0.90 after the scope/placement rework (issue 13, part 3), 0.94 once the
# detail columns were filled from the paper's own sentences, 0.947 with the aside clauses and the implied axes
# (VERSION 10); details (the mean share of the gold's detail columns matched, the row label included) 0.08.
FLOOR = {
    "scope": 0.75,
    "primary_section": 0.66,
    "teacher_source": 0.33,
    "verdicts": 0.5,  # C1 and C2 together: 67% and 33% when set (VERSION 11)
    "support": 0.96,
    "details": 0.33,
}


def test_the_truth_file_covers_every_corpus_pdf_and_agrees_with_the_catalog():
    truth = load_truth(TRUTH)
    files = {p.file for p in truth.papers}
    assert files == {p.name for p in need_shared(PDFS).glob("*.pdf")}
    assert len(files) == 26
    catalog = {a for e in CatalogRoot(REPO).entries().values() for a in e.arxiv_ids}
    for p in truth.papers:
        assert p.in_scope == (p.arxiv_id in catalog), p.file
        assert p.reason.strip()
        assert (p.section is not None) == p.in_scope, p.file
    # Stratified: each half holds papers in scope and papers out of it.
    halves = Counter((p.half, p.in_scope) for p in truth.papers)
    assert all(halves[(h, s)] >= 3 for h in ("tuning", "reporting") for s in (True, False))
    assert set(find_pdfs(PDFS)) == {p.arxiv_id for p in truth.papers}


def _root(tmp_path: Path) -> CatalogRoot:
    """A fresh root holding the repository's entries (the gold); no exclusion: the truth file names them."""
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping(os.environ)).create()
    for entry in CatalogRoot(REPO).entries().values():
        root.write_entry(entry)
    return root


def headline(report: EvalReport) -> dict[str, float | None]:
    primary, teacher = report.field("primary_section"), report.field("axes.teacher_source")
    details = report.field("details")
    verdicts = [f for f in (report.field("verdicts.c1"), report.field("verdicts.c2")) if f and f.n]
    agree = sum((f.accuracy or 0.0) * f.n for f in verdicts)
    return {
        "verdicts": agree / sum(f.n for f in verdicts) if verdicts else None,
        "scope": report.scope_accuracy,
        "primary_section": primary.accuracy if primary else None,
        "teacher_source": teacher.accuracy if teacher else None,
        "support": report.support_rate,
        "details": details.accuracy if details else None,
    }


@pytest.mark.parametrize("half", ["reporting"])
def test_heuristic_on_the_reporting_half_stays_above_its_floor(tmp_path, half):
    need_shared(PDFS)
    options = PipelineOptions(backend="heuristic")
    report = evaluate(_root(tmp_path), options, pdfs=PDFS, truth=TRUTH, half=half)
    truth = [p for p in load_truth(TRUTH).papers if p.half == half]
    assert report.papers == len(truth)
    assert report.negatives == sum(not p.in_scope for p in truth)
    assert report.scope_precision is not None
    assert report.scope_recall is not None
    got = headline(report)
    print(f"{half} half: {got}")
    for metric, floor in FLOOR.items():
        value = got[metric]
        assert value is not None, metric
        assert value >= floor, f"{metric} {value:.2f} fell below its floor {floor:.2f}"
