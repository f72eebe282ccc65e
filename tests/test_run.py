"""run and backfill: report, watermark, failures retried, services unreachable (exit 3), add proposes."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_queue import catalog_entry, new_root
from helpers_run import NEW, arxiv_ids_in_queue, invoke, paper_texts, requests_about, responder

from ingest.models import Link, LinkKind
from ingest.store import CatalogRoot

HINTON, NACA = list(NEW)[:2]
RUN = ("run", "--backend", "openai", "--model", "test-model", "--concurrency", "2")


def snapshot(root: CatalogRoot) -> dict[str, bytes]:
    return {
        str(p.relative_to(root.path)): p.read_bytes()
        for p in sorted(root.path.rglob("*"))
        if p.is_file() and ".ingest-cache" not in p.parts and p.name != ".ingest.lock"
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    return new_root(tmp_path / "cat")


def test_a_run_writes_its_report_as_json_and_markdown_and_moves_the_watermark(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers), low=NACA)
    result = invoke(root.path, *RUN, "--since", "2026-01-01", "--until", "2030-01-01")
    assert result.exit_code == 0, result.output
    assert "proposed" in result.stdout
    assert "report: runs/" in result.stdout
    [json_path] = root.runs_dir.glob("*.json")
    report = json.loads(json_path.read_text())
    assert report["counts"]["proposed"] == 2
    assert report["counts"]["downloaded"] == 2
    assert report["counts"]["extracted"] == 2
    assert report["counts"]["failed"] == 0
    assert report["usage"]["prompt_tokens"] > 0
    assert report["backend"] == "openai"
    assert report["model"] == "test-model"
    low = next(p for p in report["proposed"] if p["paper"] == NACA)
    assert low["id"] in report["flagged"]
    markdown = json_path.with_suffix(".md").read_text()
    assert markdown.startswith(f"## ingest run `{report['run_id']}`")
    assert "2026-01-01 → 2030-01-01" in markdown
    strong = next(p["id"] for p in report["proposed"] if p["paper"] == HINTON)
    assert markdown.index(low["id"]) < markdown.index(strong)
    state = root.read_state()
    assert state.watermark == datetime(2030, 1, 1, tzinfo=UTC)
    assert state.last_run == report["run_id"]


def test_a_failed_download_is_reported_recorded_and_retried_by_the_next_run(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    arxiv_mirror.fail_pdf(NACA, "html", times=4)  # every try of this run gets arXiv's captcha page
    first = invoke(root.path, *RUN, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    [failure] = report["failed"]
    assert failure["paper"] == NACA
    assert failure["stage"] == "download"
    assert "HTML" in failure["reason"] or "html" in failure["reason"]
    assert NACA in root.read_state().failures
    assert arxiv_ids_in_queue(root) == [HINTON]

    arxiv_mirror.reset()  # the window moved on (arXiv lists nothing new) and the PDF host is well again
    second = invoke(root.path, *RUN, "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["retried"] == 1
    assert arxiv_ids_in_queue(root) == sorted([HINTON, NACA])
    assert root.read_state().failures == {}


def test_arxiv_unreachable_exits_3_and_changes_nothing(
    root: CatalogRoot, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_ARXIV_URL", f"http://127.0.0.1:{closed_port()}/api/query")
    before = snapshot(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    assert "arXiv" in result.stderr
    assert snapshot(root) == before
    assert llm_server.calls == 0


def test_the_llm_endpoint_unreachable_exits_3_and_changes_nothing(
    root: CatalogRoot, arxiv_mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON]), match="on-policy distillation")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root.config_path.write_text("extract:\n  retries: 0\n")  # a refused connection needs no backoff here
    before = snapshot(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    assert "LLM endpoint" in result.stderr
    assert snapshot(root) == before
    assert root.read_state().watermark is None


def test_backfill_proposes_updates_for_entries_with_unknown_axes(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    tax = root.taxonomy
    root.write_entry(
        catalog_entry(
            tax,
            id="hinton-kd",
            name="Hinton KD",
            title="Distilling the Knowledge",
            links=[Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{HINTON}", arxiv_id=HINTON)],
        )
    )
    root.write_entry(
        catalog_entry(tax, id="done", name="Done", links=[], axes={a.id: [a.values[0].id] for a in tax.axes})
    )
    llm_server.default = responder(tax, paper_texts(arxiv_mirror.papers))
    axis = tax.axes[0].id
    result = invoke(root.path, "backfill", "--field", f"axes.{axis}", "--backend", "openai", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [proposed] = report["proposed"]
    proposal = root.read_proposal(proposed["id"])
    assert proposal.kind == "update"
    assert proposal.target == "hinton-kd"
    assert [c.field for c in proposal.changes] == [f"axes.{axis}"]
    assert requests_about(llm_server.requests, HINTON) == 1
    again = invoke(root.path, "backfill", "--field", f"axes.{axis}", "--backend", "openai", "--json")
    assert json.loads(again.stdout)["proposed"] == []  # already in the queue


def test_ingest_add_proposes_what_it_extracts(root: CatalogRoot, arxiv_mirror, llm_server) -> None:
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    result = invoke(root.path, "add", HINTON, "--backend", "openai", "--model", "test-model")
    assert result.exit_code == 0, result.output
    assert "proposed hinton-kd-1503.02531v1 (new)" in result.stderr
    assert arxiv_ids_in_queue(root) == [HINTON]
    again = invoke(root.path, "add", HINTON, "--backend", "openai", "--model", "test-model")
    assert again.exit_code == 0
    assert "proposed" not in again.stderr
    assert arxiv_ids_in_queue(root) == [HINTON]


def test_the_heuristic_backend_runs_offline_and_labels_its_proposals(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON]), match="on-policy distillation")
    result = invoke(root.path, "run", "--backend", "heuristic", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["backend"] == "heuristic"
    assert llm_server.calls == 0
    for item in report["proposed"]:
        proposal = root.read_proposal(item["id"])
        assert proposal.provenance.backend == "heuristic"
        assert "heuristic" in item["flags"] or proposal.kind == "exclude"


def test_an_empty_window_is_a_usage_error(root: CatalogRoot) -> None:
    result = invoke(
        root.path, "run", "--backend", "heuristic", "--since", "2026-02-01", "--until", "2026-01-01"
    )
    assert result.exit_code == 2
    assert "window is empty" in result.stderr
