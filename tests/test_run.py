"""run and backfill: report, watermark, failures retried, LLM or arXiv down (exit 3), broken files, add."""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_queue import catalog_entry, new_root, root_files
from helpers_run import (
    NEW,
    arxiv_ids_in_queue,
    catalog_knows_v1,
    invoke,
    paper_texts,
    requests_about,
    responder,
)
from llm_server import error

from ingest.catalog.store import CatalogRoot
from ingest.models import Link, LinkKind

HINTON, NACA = list(NEW)[:2]
RUN = ("run", "--backend", "openai", "--model", "test-model", "--concurrency", "2")



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
    before = root_files(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    assert "arXiv" in result.stderr
    assert root_files(root) == before
    assert llm_server.calls == 0


def test_the_llm_endpoint_unreachable_exits_3_and_changes_nothing(
    root: CatalogRoot, arxiv_mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON]), match="on-policy distillation")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root.config_path.write_text("extract:\n  retries: 0\n")  # a refused connection needs no backoff here
    before = root_files(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    assert "LLM endpoint" in result.stderr
    assert root_files(root) == before
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
    root.write_entry(catalog_entry(tax, id="no-paper", name="No Paper", links=[]))  # no arXiv id to read
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
    # the report says how many stayed unknown in the catalog, and why
    assert report["still_unknown"] == {
        f"axes.{axis}": {"no arXiv id to read": 1, "proposed (waiting for review)": 1}
    }
    again = invoke(root.path, "backfill", "--field", f"axes.{axis}", "--backend", "openai", "--json")
    assert json.loads(again.stdout)["proposed"] == []  # already in the queue
    assert json.loads(again.stdout)["still_unknown"][f"axes.{axis}"]["an update was already queued"] == 1
    text = invoke(root.path, "backfill", "--field", f"axes.{axis}", "--backend", "openai")
    assert f"still unknown axes.{axis}: 2 (an update was already queued 1, no arXiv id to read 1)" in (
        text.stdout + text.stderr
    )


def test_backfill_with_a_limit_says_which_entries_it_left_for_later(root: CatalogRoot, arxiv_mirror) -> None:
    # Before: `backfill --limit 1` tried one entry and reported every other one as "the extractor found no
    # value", though nothing had read them.
    tax = root.taxonomy
    hy = "2512.24092"  # with GKD (catalog_entry's default): tuning-half corpus papers
    root.write_entry(catalog_entry(tax))
    link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{hy}", arxiv_id=hy)
    root.write_entry(
        catalog_entry(tax, id="hy-mt", name="HY-MT", title="HY-MT1.5 Technical Report", links=[link])
    )
    field = f"axes.{tax.axes[0].id}"
    result = invoke(
        root.path, "backfill", "--field", field, "--limit", "1", "--backend", "heuristic", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["extracted"] == 1
    counts = report["still_unknown"][field]
    assert counts["left for a later run (--limit)"] == 1
    assert counts.get("the extractor found no value", 0) + counts.get("proposed (waiting for review)", 0) == 1
    assert sum(counts.values()) == 2


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
    assert "--since" in result.stderr  # the CLI names the option to change
    assert not (root.path / "runs").exists()


# --- faults that are not a paper's: hand-broken files, the LLM endpoint down (DESIGN.md §7) -----------------

VIDEO = list(NEW)[2]


def test_a_hand_broken_proposal_is_warned_about_and_its_paper_not_proposed_again(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    root.queue_dir.mkdir()
    broken = root.queue_dir / "hinton-kd-1503.02531v1.yaml"
    text = f"id: hinton-kd-1503.02531v1\nkind: new\narxiv_id: '{HINTON}'\ntitle: [Distilling the Knowledge\n"
    broken.write_text(text)  # a reviewer's edit left an unclosed bracket: the YAML does not parse
    result = invoke(root.path, *RUN, "--json")
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "review_queue/hinton-kd-1503.02531v1.yaml:" in warning
    assert "ingest review edit hinton-kd-1503.02531v1" in warning
    assert "or delete it" in warning
    report = json.loads(result.stdout)
    assert report["warnings"] == [warning.removeprefix("warning: ")]
    markdown = (root.runs_dir / f"{report['run_id']}.md").read_text()
    assert "review_queue/hinton-kd-1503.02531v1.yaml" in markdown
    assert [p["paper"] for p in report["proposed"]] == [NACA]  # Hinton is held by the broken file
    assert broken.read_text() == text  # the reviewer's file is left as it is
    assert sorted(p.name for p in root.queue_dir.glob("*.yaml")) == sorted(
        [broken.name, f"{report['proposed'][0]['id']}.yaml"]
    )
    assert root.read_state().watermark is not None  # the run completed


def test_a_broken_entry_whose_arxiv_id_is_readable_is_warned_about_and_not_proposed(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    entry = catalog_entry(
        root.taxonomy,
        id="hinton-kd",
        name="Hinton KD",
        title="Distilling the Knowledge",
        links=[Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{HINTON}", arxiv_id=HINTON)],
    )
    path = root.write_entry(entry)
    path.write_text(path.read_text() + "stars: many\n")  # a field the schema does not know
    result = invoke(root.path, *RUN, "--json")
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "entries/hinton-kd.yaml:" in warning
    assert HINTON in warning
    report = json.loads(result.stdout)
    assert [p["paper"] for p in report["proposed"]] == [NACA]
    assert arxiv_ids_in_queue(root) == [NACA]


def test_a_broken_entry_that_names_no_paper_stops_the_run_before_anything_is_written(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON]), match="on-policy distillation")
    root.entries_dir.mkdir(exist_ok=True)
    (root.entries_dir / "mystery.yaml").write_text("id: mystery\nname: [unclosed\n")
    before = root_files(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 1, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "entries/mystery.yaml:" in error
    assert "proposed again" in error
    assert root_files(root) == before
    assert llm_server.calls == 0


# openai ships its own copy of httpx/httpcore (httpcore2); either logs each TCP connect it starts.
HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore2.connection")


def _llm_connects(caplog: pytest.LogCaptureFixture, port: int) -> int:
    """Connection attempts to the LLM port, as httpcore logs them (its debug trace of connect_tcp)."""
    return sum(
        1
        for r in caplog.records
        if r.name in HTTPCORE_LOGGERS
        and r.getMessage().startswith("connect_tcp.started")
        and f"port={port}" in r.getMessage()
    )


@pytest.fixture
def llm_down(root: CatalogRoot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> int:
    """OPENAI_BASE_URL at a closed port; 2 retries per call, no backoff; connection attempts logged."""
    port = closed_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root.config_path.write_text("extract:\n  retries: 2\n  backoff_seconds: 0\n")
    for name in HTTPCORE_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return port


def test_the_llm_endpoint_down_stops_the_run_after_one_papers_retries(
    root: CatalogRoot, arxiv_mirror, llm_down: int, caplog: pytest.LogCaptureFixture
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA, VIDEO]), match="on-policy distillation")
    before = root_files(root)
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"http://127.0.0.1:{llm_down}/v1" in error
    assert "3 paper(s) left undone" in error
    assert root_files(root) == before  # no proposal, no journal, no state
    assert not root.queue_dir.exists()
    assert root.read_state().watermark is None
    assert root.read_state().failures == {}
    # a refused connection is not retried (issue 11: fail fast); the breaker spares the other two papers
    assert _llm_connects(caplog, llm_down) == 1
    assert arxiv_mirror.pdf_requests() == []  # nothing was downloaded for a run that could not go on


def test_the_llm_endpoint_down_during_extraction_records_no_failure_and_keeps_the_window(
    root: CatalogRoot, arxiv_mirror, llm_down: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Updates skip screening, so the breaker trips inside the extraction pool (2 threads, 3 papers).
    catalog_knows_v1(root, [HINTON, NACA, VIDEO])
    newer = {arxiv_id: 9 for arxiv_id in (HINTON, NACA, VIDEO)}  # the catalog knows v1 of each
    arxiv_mirror.route_search(
        arxiv_mirror.feed([HINTON, NACA, VIDEO], versions=newer), match="on-policy distillation"
    )
    result = invoke(root.path, *RUN)
    assert result.exit_code == 3, result.output
    assert f"http://127.0.0.1:{llm_down}/v1" in result.stderr
    assert not root.queue_dir.exists() or not list(root.queue_dir.glob("*.yaml"))
    state = root.read_state()
    assert state.watermark is None
    assert state.failures == {}  # not the papers' fault: they are tried again next run
    assert not list(root.runs_dir.glob("*.journal.json"))  # nothing was done: nothing to resume
    # at most one try per worker thread (a refusal is not retried); without the breaker, one per paper
    assert 1 <= _llm_connects(caplog, llm_down) <= 2


def test_ingest_add_with_the_llm_endpoint_down_exits_3_quickly(
    root: CatalogRoot, arxiv_mirror, llm_down: int, caplog: pytest.LogCaptureFixture
) -> None:
    result = invoke(root.path, "add", HINTON, NACA, VIDEO, "--backend", "openai", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert all(f"127.0.0.1:{llm_down}" in line for line in errors)
    assert sum("not tried" in line for line in errors) == 2
    assert _llm_connects(caplog, llm_down) == 1  # one paper's call, not retried; the others fail at once
    assert not root.queue_dir.exists() or not list(root.queue_dir.glob("*.yaml"))


def test_one_paper_timing_out_is_its_failure_a_second_one_opens_the_breaker(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    llm_server.delay = 1.0  # every answer comes after the client has given up
    root.config_path.write_text("extract:\n  retries: 0\n  timeout_seconds: 0.2\n")
    result = invoke(root.path, "add", HINTON, NACA, VIDEO, "--backend", "openai", "--concurrency", "1")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert sum("timed out after 0.2 s" in line for line in errors) == 2  # the first two papers were asked
    assert sum("not tried" in line for line in errors) == 1  # the third was spared the wait
    assert llm_server.calls == 2
    assert result.exit_code in (1, 3)  # the first failure's code: a paper's (1) or the endpoint's (3)


def test_an_endpoint_that_answers_5xx_is_not_unreachable_the_run_completes(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([HINTON, NACA]), match="on-policy distillation")
    llm_server.default = lambda request: error(503)
    root.config_path.write_text("extract:\n  retries: 1\n  backoff_seconds: 0\n")
    result = invoke(root.path, *RUN, "--json")
    assert result.exit_code != 3, result.output
    report = json.loads(result.stdout)
    assert sorted(f["paper"] for f in report["failed"]) == [HINTON, NACA]
    assert all("HTTP 503" in f["reason"] for f in report["failed"])
    # every paper got its own tries: screening (2 calls each) and extraction (2 calls each)
    assert llm_server.calls == 8
    state = root.read_state()
    assert state.watermark is not None  # the run completed
    assert sorted(state.failures) == [HINTON, NACA]  # and the papers are retried next run
