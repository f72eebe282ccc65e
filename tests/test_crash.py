"""Crash safety for real: `ingest` subprocesses killed by SIGKILL mid-download, mid-extraction, mid-approve.

After each kill the next command completes, `ingest check` validates the root, and no proposal, entry or
decision is lost or duplicated. Two runs at once: one works, the other exits 2 naming the lock file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers_queue import extraction, new_root
from helpers_run import (
    NEW,
    arxiv_ids_in_queue,
    invoke,
    kill,
    paper_texts,
    requests_about,
    responder,
    run_cli,
    spawn,
    wait_for,
)

from ingest.catalog.store import CatalogRoot
from ingest.review.decide import JOURNAL
from ingest.review.propose import propose

# `ingest` in a child that SIGKILLs itself at the first audit event (a file opened, renamed, removed) after
# the target file appeared or vanished: a kill right after one commit step, with no hook in the product.
KILL_AT = """
import os, signal, sys
from pathlib import Path
target, gone = Path(sys.argv[1]), sys.argv[2] == "gone"
def hook(event, args):
    if event != "os.kill" and target.exists() != gone:  # os.kill is audited too: no recursion
        os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
from ingest.cli import cli
cli(sys.argv[3:], prog_name="ingest")
"""

FIRST, SECOND = PAPERS = list(NEW)[:2]  # the two smallest: Hinton KD (9 pages) and NACA (11)
RUN = ("run", "--backend", "openai", "--model", "test-model", "--concurrency", "1")


def gated(answer: Any, paper: str, gate: threading.Event) -> Any:
    """`answer`, except that the extraction request for `paper` waits for `gate` (a paper in flight)."""

    def reply(request: dict[str, Any]) -> Any:
        if requests_about([request], paper):
            gate.wait(timeout=30)
        return answer(request)

    return reply


def assert_sound(root: CatalogRoot, papers: list[str]) -> None:
    """Each paper proposed exactly once, no journal left, and `ingest check` passes."""
    assert arxiv_ids_in_queue(root) == sorted(papers)
    assert not list(root.runs_dir.glob("*.journal.json"))
    check = invoke(root.path, "check")
    assert check.exit_code == 0, check.output


@pytest.fixture
def feed(arxiv_mirror, llm_server, tmp_path: Path) -> CatalogRoot:
    root = new_root(tmp_path / "cat")
    arxiv_mirror.route_search(arxiv_mirror.feed(PAPERS), match="on-policy distillation")
    return root


def test_a_run_killed_during_a_download_is_finished_by_the_next_run(
    feed: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    texts = paper_texts(arxiv_mirror.papers)
    llm_server.default = responder(feed.taxonomy, texts)
    arxiv_mirror.fail_pdf(SECOND, "slow", delay=8, times=1)
    proc = spawn(feed.path, *RUN)
    wait_for(lambda: any(SECOND in p for p in arxiv_mirror.pdf_requests()), what="the slow download")
    kill(proc)
    assert proc.returncode == -signal.SIGKILL
    assert arxiv_ids_in_queue(feed) == []  # killed before any extraction
    assert list(feed.runs_dir.glob("*.journal.json"))  # the interrupted run's journal is on disk
    paid = len(llm_server.requests)  # the screening calls

    done = invoke(feed.path, *RUN)
    assert done.exit_code == 0, done.output
    assert "resumed" in done.stdout
    assert sum(FIRST in p for p in arxiv_mirror.pdf_requests()) == 1  # the finished download is not repeated
    rerun = llm_server.requests[paid:]
    assert len(rerun) == len(PAPERS)  # one extraction per paper; the screening was not paid again
    assert_sound(feed, PAPERS)


def second_gated(answer: Any, gate: threading.Event) -> tuple[Any, list[str]]:
    """`answer`, except that extraction requests for any paper but the first one asked about wait for `gate`.

    The chain parses PDFs in parallel, so which paper reaches the LLM first is not fixed; `order` tells."""
    order: list[str] = []
    lock = threading.Lock()

    def reply(request: dict[str, Any]) -> Any:
        about = next((p for p in PAPERS if requests_about([request], p)), None)
        if about is not None:
            with lock:
                if about not in order:
                    order.append(about)
            if about != order[0]:
                gate.wait(timeout=30)
        return answer(request)

    return reply, order


def test_a_run_killed_during_extraction_does_not_pay_again_for_finished_papers(
    feed: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    texts = paper_texts(arxiv_mirror.papers)
    gate = threading.Event()
    llm_server.default, order = second_gated(responder(feed.taxonomy, texts), gate)
    proc = spawn(feed.path, *RUN)
    try:
        wait_for(lambda: len(order) == 2, what="the second extraction call in flight")
        done_first, in_flight = order
        wait_for(lambda: arxiv_ids_in_queue(feed) == [done_first], what="the first paper's proposal")
        kill(proc)
    finally:
        gate.set()
    assert arxiv_ids_in_queue(feed) == [done_first]
    paid = len(llm_server.requests)

    done = invoke(feed.path, *RUN)
    assert done.exit_code == 0, done.output
    rerun = llm_server.requests[paid:]
    assert requests_about(rerun, done_first) == 0
    assert requests_about(rerun, in_flight) == 1  # the call that was cut off is made again, once
    assert_sound(feed, PAPERS)
    assert invoke(feed.path, *RUN).exit_code == 0
    assert arxiv_ids_in_queue(feed) == sorted(PAPERS)  # a third run adds nothing


@pytest.mark.parametrize("kill_after", ["journal", "decision", "entry", "removal"])
def test_an_approve_killed_half_way_is_finished_by_the_next_command(tmp_path: Path, kill_after: str) -> None:
    root = new_root(tmp_path / "cat")
    proposal = propose(root, extraction(root.taxonomy), run_id="r1")
    assert proposal is not None
    assert proposal.entry is not None
    journal = root.path / JOURNAL / f"{proposal.id}.yaml"
    target, when = {
        "journal": (journal, "exists"),
        "decision": (root.decision_path(proposal.id), "exists"),
        "entry": (root.entry_path(proposal.entry.id), "exists"),
        "removal": (root.queue_dir / f"{proposal.id}.yaml", "gone"),  # before the render
    }[kill_after]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_AT,
            str(target),
            when,
            "--root",
            str(root.path),
            "review",
            "approve",
            proposal.id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == -signal.SIGKILL, done.stderr  # died right after the step, as a machine would
    assert journal.exists()  # killed mid-commit: the intent is on disk
    assert (root.queue_dir / f"{proposal.id}.yaml").exists() or kill_after in ("entry", "removal")

    listing = invoke(root.path, "review", "list", "--json")
    assert listing.exit_code == 0, listing.output
    assert proposal.id not in listing.stdout
    assert not journal.exists()
    assert root.read_entry(proposal.entry.id).name == "DPO"
    assert [d.id for d in root.decisions()] == [proposal.id]
    assert list(root.queue_dir.glob("*.yaml")) == []
    assert "DPO" in (root.path / "README.md").read_text()
    check = invoke(root.path, "check")
    assert check.exit_code == 0, check.output


def test_two_runs_at_once_one_works_the_other_exits_2_naming_the_lock(
    feed: CatalogRoot, arxiv_mirror, llm_server
) -> None:
    texts = paper_texts(arxiv_mirror.papers)
    gate = threading.Event()
    llm_server.default = gated(responder(feed.taxonomy, texts), FIRST, gate)
    first = spawn(feed.path, *RUN)
    try:
        wait_for(lambda: requests_about(llm_server.requests, FIRST) > 0, what="the first run at work")
        second = run_cli(feed.path, *RUN, env={"INGEST_LOCK_WAIT": "0.2"})
    finally:
        gate.set()
    assert second.returncode == 2
    assert str(feed.lock_path) in second.stderr
    assert "holds the lock" in second.stderr
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert_sound(feed, PAPERS)
