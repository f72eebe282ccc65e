"""`ingest fetch` end to end against the loopback arXiv: a table or JSON, failures recorded and retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.catalog.store import CatalogRoot
from ingest.cli import cli

PAPERS = ["2306.13649", "1503.02531", "2211.17192"]  # GKD (catalog), Hinton KD and speculative decoding (not)
ARGS = ["fetch", "--since", "2026-01-01", "--until", "2026-12-31", "--json"]


def fetch(root: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict | None, str]:
    result = CliRunner(env=env).invoke(cli, ["--root", str(root), *ARGS, *extra])
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result.exit_code, data, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root that does not exist yet (fetch creates it), with short timeouts for the fault tests."""
    path = tmp_path / "catalog"
    path.mkdir()
    (path / "ingest.yaml").write_text(
        "download:\n  timeout_seconds: 0.5\n  retries: 1\n  backoff_seconds: 0.01\n"
    )
    return path


def test_fetch_discovers_downloads_and_a_second_fetch_downloads_nothing(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.route_search(ids=PAPERS)
    code, data, _ = fetch(root, "--query", 'abs:"on-policy distillation"', "--max", "5")
    assert code == 0
    assert data is not None
    assert [(p["arxiv_id"], p["outcome"]) for p in data["papers"]] == [(i, "downloaded") for i in PAPERS]
    assert data["papers"][0]["title"].startswith("On-Policy Distillation of Language Models")
    assert Path(data["papers"][0]["pdf"]).read_bytes()[:5] == b"%PDF-"
    assert (root / "taxonomy.yaml").is_file()  # the root was created
    assert 'abs:"on-policy distillation"' in arxiv_mirror.api_requests()[0]["search_query"]
    downloads = len(arxiv_mirror.pdf_requests())
    assert downloads == 3

    code, data, _ = fetch(root, "--query", 'abs:"on-policy distillation"')
    assert code == 0
    assert data["downloads"] == 0
    assert {p["outcome"] for p in data["papers"]} == {"cached"}
    assert len(arxiv_mirror.pdf_requests()) == downloads
    assert CatalogRoot(root).read_state().watermark is None  # only `ingest run` moves the watermark


@pytest.mark.parametrize(
    ("fault", "options", "message"),
    [
        ("html", {}, "HTML page, not a PDF"),
        ("truncated", {}, "truncated"),
        ("empty", {}, "empty body"),
        ("status", {"status": 500}, r"failed after 2 tries \(HTTP 500\)"),
        ("slow", {"delay": 1.5}, "timed out after 0.5 s"),
    ],
)
def test_one_bad_paper_is_one_line_the_others_go_on_and_the_next_fetch_retries_it(
    arxiv_mirror, root: Path, fault: str, options: dict, message: str
) -> None:
    arxiv_mirror.route_search(ids=PAPERS)
    arxiv_mirror.fail_pdf("1503.02531", fault, **options)
    code, data, stderr = fetch(root)
    assert code == 0
    assert [p["outcome"] for p in data["papers"]] == ["downloaded", "failed", "downloaded"]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: 1503.02531: ")
    assert __import__("re").search(message, errors[0])
    failure = CatalogRoot(root).read_state().failures["1503.02531"]
    assert failure.stage == "download"
    assert failure.attempts == 1

    # The server recovers and the paper has left the window: the next fetch looks it up by id and retries it.
    arxiv_mirror.reset()
    code, data, stderr = fetch(root)
    assert code == 0
    assert "error:" not in stderr
    assert [(p["arxiv_id"], p["outcome"], p["retried"]) for p in data["papers"]] == [
        ("1503.02531", "downloaded", True)
    ]
    assert any(p.get("id_list") == "1503.02531" for p in arxiv_mirror.api_requests())
    assert CatalogRoot(root).read_state().failures == {}


def test_a_failure_that_fails_again_counts_its_attempts(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.route_search(ids=["1503.02531"])
    arxiv_mirror.fail_pdf("1503.02531", "html")
    fetch(root)
    fetch(root)
    assert CatalogRoot(root).read_state().failures["1503.02531"].attempts == 2


def test_the_arxiv_error_feed_exits_3_and_changes_nothing(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.route_search("error-400-idlist-abc.xml")
    code, data, stderr = fetch(root)
    assert code == 3
    assert data is None
    assert "incorrect id format for abc" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (root / "state.yaml").exists()
    assert arxiv_mirror.pdf_requests() == []


def test_an_unreachable_arxiv_exits_3(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.fail_api(503)
    code, _, stderr = fetch(root)
    assert code == 3
    assert "could not be reached (HTTP 503)" in stderr


def test_plain_output_without_json(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.route_search(ids=["1503.02531"])
    result = CliRunner().invoke(cli, ["--root", str(root), "fetch", "--since", "2026-01-01"])
    assert result.exit_code == 0
    assert "1503.02531v1\tnew\tdownloaded\tDistilling the Knowledge in a Neural Network" in result.stdout


def test_fetch_waits_for_no_one_while_a_run_holds_the_lock(arxiv_mirror, root: Path) -> None:
    from filelock import FileLock

    CatalogRoot(root).create()
    with FileLock(str(CatalogRoot(root).lock_path)):
        code, _, stderr = fetch(root, env={"INGEST_LOCK_WAIT": "0.2"})
    assert code == 2
    assert "holds the lock" in stderr
    assert arxiv_mirror.api_requests() == []


def test_a_recorded_failure_of_a_local_file_is_not_looked_up_on_arxiv(arxiv_mirror, root: Path) -> None:
    from datetime import UTC, datetime

    from ingest.models import Failure, RunState

    catalog = CatalogRoot(root).create()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    catalog.write_state(
        RunState(
            failures={"my paper.pdf": Failure(paper="my paper.pdf", stage="download", reason="x", at=at)}
        )
    )
    code, data, _ = fetch(root)
    assert code == 0
    assert data["papers"] == []
    assert all(not p.get("id_list") for p in arxiv_mirror.api_requests())
    assert "my paper.pdf" in CatalogRoot(root).read_state().failures


def test_papers_every_query_returns_are_counted_once(arxiv_mirror, root: Path) -> None:
    arxiv_mirror.route_search(ids=PAPERS)  # each of the config's queries answers the same three papers
    code, data, _ = fetch(root)
    assert code == 0
    queries = {r["search_query"] for r in arxiv_mirror.api_requests()}
    assert len(queries) > 1
    assert data["seen"] == 3
    assert len(data["papers"]) == 3
    result = CliRunner().invoke(cli, ["--root", str(root), *ARGS[:-1]])
    assert result.exit_code == 0
    assert "(3 seen, 0 known, 0 downloaded)" in result.stdout
