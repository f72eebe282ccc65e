"""An LLM endpoint that refuses the key (HTTP 401/403) stops a run at once: a wrong key is one message, not
one failure per paper, and the papers wait for the next run instead of being recorded as failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_queue import new_root, root_files
from helpers_run import NEW, catalog_knows_v1, invoke
from llm_server import error

from ingest.catalog.store import CatalogRoot

PAPERS = list(NEW)[:3]
RUN = ("run", "--backend", "openai", "--model", "test-model", "--concurrency", "2")


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    return new_root(tmp_path / "cat")


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_refused_key_at_screening_stops_the_run_with_exit_2_and_changes_nothing(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed(PAPERS), match="on-policy distillation")
    llm_server.default = error(401, message="invalid api key")
    before = root_files(root)

    result = invoke(root.path, *RUN)

    assert result.exit_code == 2, result.output
    [line] = error_lines(result.stderr)
    assert "HTTP 401" in line
    assert "3 paper(s) left undone" in line
    assert "OPENAI_API_KEY" in line
    assert llm_server.calls == 1  # the first screen; the other two were not asked
    assert arxiv_mirror.pdf_requests() == []  # nothing downloaded for a run that cannot go on
    assert root_files(root) == before
    state = root.read_state()
    assert state.watermark is None
    assert state.failures == {}


def test_a_refused_key_during_extraction_records_no_failure_and_asks_once_per_thread(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    # Updates skip screening, so the refusal comes inside the extraction pool (2 threads, 3 papers).
    catalog_knows_v1(root, PAPERS)
    newer = dict.fromkeys(PAPERS, 9)  # the catalog knows v1 of each
    arxiv_mirror.route_search(arxiv_mirror.feed(PAPERS, versions=newer), match="on-policy distillation")
    llm_server.default = error(403, message="model not allowed for this key")

    result = invoke(root.path, *RUN)

    assert result.exit_code == 2, result.output
    [line] = error_lines(result.stderr)
    assert "HTTP 403" in line
    assert "left undone" in line
    assert 1 <= llm_server.calls <= 2  # at most one refusal per worker thread; the breaker spares the rest
    assert not root.queue_dir.exists() or not list(root.queue_dir.glob("*.yaml"))
    state = root.read_state()
    assert state.failures == {}  # not the papers' fault: the next run with a good key does them
    assert state.watermark is None
    assert not list(root.runs_dir.glob("*.journal.json"))  # nothing was done: nothing to resume


def test_add_with_a_refused_key_asks_once_and_names_every_paper(
    root: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    llm_server.default = error(401, message="invalid api key")
    result = invoke(root.path, "add", *PAPERS, "--backend", "openai", "--concurrency", "1")

    assert result.exit_code == 2, result.output
    lines = error_lines(result.stderr)
    assert len(lines) == 3
    assert all("HTTP 401" in line for line in lines)
    assert {p for p in PAPERS if any(p in line for line in lines)} == set(PAPERS)
    assert llm_server.calls == 1
    assert not root.queue_dir.exists() or not list(root.queue_dir.glob("*.yaml"))


# --- a command that creates the root and then fails leaves no root behind -----------------------------------


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


@pytest.mark.parametrize("command", ["fetch", "run"])
def test_fetch_or_run_into_a_missing_root_with_arxiv_down_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("INGEST_ARXIV_URL", f"http://127.0.0.1:{closed_port()}/api/query")
    monkeypatch.setenv("INGEST_ARXIV_DELAY", "0")
    missing = tmp_path / "new" / "catalog"
    args = ["--since", "2026-01-01"] + (["--backend", "heuristic"] if command == "run" else [])

    result = invoke(missing, command, *args)

    assert result.exit_code == 3, result.output
    assert "nothing was changed" in result.stderr
    assert not (tmp_path / "new").exists()  # the folders it made for the root are gone too


def test_add_into_a_missing_root_with_a_refused_key_leaves_no_folder(
    tmp_path: Path, arxiv_mirror, llm_server
) -> None:
    llm_server.default = error(401, message="invalid api key")
    missing = tmp_path / "catalog"
    result = invoke(missing, "add", PAPERS[0], "--backend", "openai")

    assert result.exit_code == 2, result.output
    assert not missing.exists()


def test_a_new_root_that_received_work_is_kept_when_the_run_then_stops(
    tmp_path: Path, arxiv_mirror, llm_server
) -> None:
    # Two screens and the first extraction are answered, then the key is refused: the first paper's proposal
    # was paid for, so the new root stays, with the journal that lets the next run resume.
    from helpers_run import paper_texts, responder

    arxiv_mirror.route_search(arxiv_mirror.feed(PAPERS[:2]), match="on-policy distillation")
    good = responder(new_root(tmp_path / "scratch").taxonomy, paper_texts(arxiv_mirror.papers))
    seen: list[object] = []

    def refused_from_the_fourth_call(request):  # type: ignore[no-untyped-def]
        seen.append(request)
        return good(request) if len(seen) <= 3 else error(401, message="key revoked")

    llm_server.default = refused_from_the_fourth_call
    missing = tmp_path / "catalog"
    result = invoke(missing, "run", "--backend", "openai", "--concurrency", "1")

    assert result.exit_code == 2, result.output
    assert "1 paper(s) left undone" in result.stderr
    assert "resumes this run" in result.stderr
    assert len(list((missing / "review_queue").glob("*.yaml"))) == 1
    assert len(list((missing / "runs").glob("*.journal.json"))) == 1
