"""End to end through the CLI: a root imported from the real list, arXiv and the LLM on loopback.

run proposes the new papers and none already listed → approve one → reject one → a second run proposes nothing
and calls the LLM 0 times → check passes and warns about the low-confidence proposal that is left.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from helpers_run import KNOWN, NEW, arxiv_ids_in_queue, paper_texts, responder

from ingest.catalog.store import CatalogRoot, read_model
from ingest.cli import cli
from ingest.models import Decision


def ingest(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)


def test_run_review_and_check_end_to_end(tmp_path: Path, seed_list: Path, arxiv_mirror, llm_server) -> None:
    path = tmp_path / "catalog"
    imported = ingest(path, "import-markdown", str(seed_list))
    assert imported.exit_code == 0, imported.output
    root = CatalogRoot(path)
    assert any(KNOWN in e.arxiv_ids for e in root.iter_entries())
    entries_before = len(list(root.entries_dir.glob("*.yaml")))

    low = "2503.21776"
    arxiv_mirror.route_search(arxiv_mirror.feed([KNOWN, *NEW]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers), low=low)

    first = ingest(
        path, "run", "--backend", "openai", "--model", "test-model", "--concurrency", "3", "--json"
    )
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["counts"]["found"] == 4
    assert report["skipped_known"] == [KNOWN]
    assert sorted(p["paper"] for p in report["proposed"]) == sorted(NEW)
    assert arxiv_ids_in_queue(root) == sorted(NEW)
    assert report["usage"]["calls"] > 0
    assert report["usage"]["prompt_tokens"] > 0
    assert set(report["stage_seconds"]) >= {"discover", "screen", "extract"}
    run_id = report["run_id"]
    assert (path / "runs" / f"{run_id}.json").is_file()
    markdown = (path / "runs" / f"{run_id}.md").read_text()
    assert markdown.startswith(f"## ingest run `{run_id}`")
    assert "| found | skipped as known |" in markdown
    assert all(p in markdown for p in NEW)
    assert root.read_state().watermark is not None

    listing = json.loads(ingest(path, "review", "list", "--json").stdout)["proposals"]
    assert listing[0]["arxiv_id"] == low  # the weakest first
    by_paper = {p["arxiv_id"]: p["id"] for p in listing}

    approved = ingest(path, "review", "approve", by_paper["1503.02531"], "--reviewer", "ana")
    assert approved.exit_code == 0, approved.output
    rejected = ingest(path, "review", "reject", by_paper["2505.14464"], "--reason", "off-policy data only")
    assert rejected.exit_code == 0, rejected.output
    assert len(list(root.entries_dir.glob("*.yaml"))) == entries_before + 1
    assert any("1503.02531" in e.arxiv_ids for e in root.iter_entries())
    decisions = [read_model(p, Decision) for p in root.decisions_dir.glob("*.yaml")]
    actions = {d.arxiv_id: d.action for d in decisions}
    assert actions == {"1503.02531": "approved", "2505.14464": "rejected"}
    assert "Hinton KD" in (path / "README.md").read_text()

    calls_before = llm_server.calls
    second = ingest(path, "run", "--backend", "openai", "--model", "test-model", "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["proposed"] == []
    assert sorted(again["skipped_known"]) == sorted([KNOWN, *NEW])
    assert llm_server.calls == calls_before  # 0 LLM calls
    assert again["usage"]["calls"] == 0
    assert arxiv_ids_in_queue(root) == [low]

    check = ingest(path, "check", "--format", "github")
    assert check.exit_code == 0, check.output
    warnings = [line for line in check.stdout.splitlines() if line.startswith("::warning")]
    assert any(f"file=review_queue/{by_paper[low]}.yaml,line=" in w for w in warnings), check.stdout
    assert not [line for line in check.stdout.splitlines() if line.startswith("::error")]

    # A new arXiv version of the rejected paper brings it back, marked as such; the rest stays known.
    arxiv_mirror.reset()
    arxiv_mirror.route_search(
        arxiv_mirror.feed([KNOWN, *NEW], versions={"2505.14464": 2}), match="on-policy distillation"
    )
    third = ingest(path, "run", "--backend", "openai", "--model", "test-model", "--json")
    assert third.exit_code == 0, third.output
    [back] = json.loads(third.stdout)["proposed"]
    assert back["paper"] == "2505.14464"
    proposal = root.read_proposal(back["id"])
    assert proposal.version == 2
    assert proposal.resubmission_of == by_paper["2505.14464"]
