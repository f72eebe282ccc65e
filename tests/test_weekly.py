"""The weekly loop against a dated loopback arXiv, through the real CLI: nothing lost, nothing twice.

The mirror filters `submittedDate` ranges, pages oldest first, and lists a paper only once it is announced,
so these runs see what a Monday run on GitHub sees.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers_queue import catalog_entry, new_root
from helpers_run import NEW, arxiv_ids_in_queue, invoke, paper_texts, queue_ids, responder

from ingest.catalog.store import CatalogRoot
from ingest.models import Link, LinkKind, RunRecord, RunState

HINTON, NACA, VIDEO = list(NEW)
RUN = ("run", "--backend", "openai", "--model", "test-model", "--concurrency", "2")
MONDAY = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


def day(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def committed_files(root: CatalogRoot) -> dict[str, bytes]:
    """What the weekly workflow could commit: everything but runs/ (git-ignored) and the local cache."""
    return {
        str(p.relative_to(root.path)): p.read_bytes()
        for p in sorted(root.path.rglob("*"))
        if p.is_file()
        and not {".ingest-cache", "runs"} & set(p.relative_to(root.path).parts)
        and p.name != ".ingest.lock"
    }


@pytest.fixture
def root(tmp_path: Path, arxiv_mirror, llm_server) -> CatalogRoot:
    root = new_root(tmp_path / "cat")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    return root


def test_a_late_announced_paper_is_found_by_the_next_run(root: CatalogRoot, arxiv_mirror) -> None:
    arxiv_mirror.list_paper(HINTON, submitted=MONDAY - timedelta(days=3))
    # Submitted six hours before the first run's end, but arXiv lists it only after that run.
    arxiv_mirror.list_paper(NACA, submitted=MONDAY - timedelta(hours=6), announced=False)
    first = invoke(root.path, *RUN, "--until", day(MONDAY), "--json")
    assert first.exit_code == 0, first.output
    assert arxiv_ids_in_queue(root) == [HINTON]
    assert root.read_state().watermark == MONDAY

    arxiv_mirror.announce(NACA)
    arxiv_mirror.log.clear()
    second = invoke(root.path, *RUN, "--until", day(MONDAY + timedelta(days=7)), "--json")
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    # The window reaches back arxiv.overlap_days (3) before the watermark: the late paper falls into it.
    assert report["since"].startswith("2026-03-06T06:00")
    assert "submittedDate:[202603060600 TO 202603160600]" in arxiv_mirror.api_requests()[0]["search_query"]
    assert [p["paper"] for p in report["proposed"]] == [NACA]
    assert HINTON in report["skipped_known"]  # seen again in the overlap, and known: no second proposal
    assert arxiv_ids_in_queue(root) == sorted([HINTON, NACA])


def test_a_capped_run_then_a_normal_run_find_every_paper_exactly_once(
    root: CatalogRoot, arxiv_mirror
) -> None:
    for n, paper in enumerate([HINTON, NACA, VIDEO]):
        arxiv_mirror.list_paper(paper, submitted=MONDAY - timedelta(days=5 - n))
    capped = invoke(root.path, *RUN, "--until", day(MONDAY), "--max", "2")
    assert capped.exit_code == 0, capped.output
    assert "the cap of 2 candidates stopped discovery (3 found)" in capped.stderr
    assert arxiv_ids_in_queue(root) == sorted([HINTON, NACA])  # the two submitted first
    # The watermark stays where the cap stopped (the first paper left out), not at the window's end.
    assert root.read_state().watermark == MONDAY - timedelta(days=3)
    [report] = [json.loads(p.read_text()) for p in root.runs_dir.glob("*.json")]
    assert "cap of 2" in report["capped"]
    assert "cap of 2" in (root.runs_dir / f"{report['run_id']}.md").read_text()

    normal = invoke(root.path, *RUN, "--until", day(MONDAY + timedelta(days=7)), "--json")
    assert normal.exit_code == 0, normal.output
    assert [p["paper"] for p in json.loads(normal.stdout)["proposed"]] == [VIDEO]
    assert arxiv_ids_in_queue(root) == sorted([HINTON, NACA, VIDEO])
    assert len(queue_ids(root)) == 3  # each paper once
    assert root.read_state().watermark == MONDAY + timedelta(days=7)


def test_a_new_version_of_an_old_catalog_paper_becomes_one_update(root: CatalogRoot, arxiv_mirror) -> None:
    link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{HINTON}v1", arxiv_id=HINTON)
    root.write_entry(
        catalog_entry(root.taxonomy, id="hinton-kd", name="KD", title="Distilling", links=[link])
    )
    # v1 from 2015, far outside any weekly window; v2 appeared two days before this run.
    arxiv_mirror.list_paper(
        HINTON, submitted=datetime(2015, 3, 9, tzinfo=UTC), updated=MONDAY - timedelta(days=2), version=2
    )
    result = invoke(root.path, *RUN, "--until", day(MONDAY), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(p["kind"], p["paper"]) for p in report["proposed"]] == [("update", HINTON)]
    assert report["version_checked"] == 1
    assert report["queries"]
    assert all(n == 0 for n in report["queries"].values())
    id_lists = [r["id_list"] for r in arxiv_mirror.api_requests() if r.get("id_list")]
    assert id_lists == [HINTON]  # one batched call for the catalog's ids
    [proposal_id] = queue_ids(root)
    proposal = root.read_proposal(proposal_id)
    assert (proposal.kind, proposal.target, proposal.version) == ("update", "hinton-kd", 2)

    again = invoke(root.path, *RUN, "--until", day(MONDAY + timedelta(days=7)), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["proposed"] == []
    assert queue_ids(root) == [proposal_id]  # exactly one update


def test_a_run_with_nothing_new_commits_nothing_and_says_so(root: CatalogRoot, arxiv_mirror) -> None:
    arxiv_mirror.list_paper(HINTON, submitted=MONDAY - timedelta(days=2))
    first = invoke(root.path, *RUN, "--until", day(MONDAY), "--json")
    assert first.exit_code == 0, first.output
    before = committed_files(root)
    assert "state.yaml" in before

    second = invoke(root.path, *RUN, "--until", day(MONDAY + timedelta(days=7)))
    assert second.exit_code == 0, second.output
    assert "Nothing new: arXiv listed 6 results for 6 queries" in second.stdout
    assert "state.yaml is unchanged, so there is nothing to commit" in second.stdout
    assert committed_files(root) == before  # no proposal, no state.yaml change
    assert len(list(root.runs_dir.glob("*.json"))) == 2  # the report still goes to runs/ (git-ignored)


def test_health_warns_loudly_in_github_actions(
    root: CatalogRoot, arxiv_mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    # The last run that committed got results, four weeks ago; arXiv now answers nothing at all.
    root.write_state(
        RunState(
            watermark=MONDAY - timedelta(days=28),
            last_run="20260209T060000Z",
            history=[RunRecord(run_id="20260209T060000Z", found=12, new=2, proposed=2)],
        )
    )
    result = invoke(root.path, *RUN, "--until", day(MONDAY))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2
    assert (
        "arXiv listed no result for any of the 6 queries, though run 20260209T060000Z got 12" in warnings[0]
    )
    assert "no new paper for 4 windows in a row" in warnings[1]
    text = summary.read_text()
    assert "2026-02-06 → 2026-03-09" in text  # the window, from the watermark less the overlap
    assert 'abs:"on-policy distillation"' in text
    assert "| 0 |" in text
    assert "[!WARNING]" in text
    assert "**Nothing new: arXiv listed 0 results for 6 queries" in text
    assert "proposed=0\ncommitted=false\n" in outputs.read_text()
