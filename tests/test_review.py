"""review: list, show, approve, reject and edit through the CLI; broken proposals are reported and refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers_queue import catalog_entry, extraction, new_root, root_files

from ingest.catalog.store import CatalogRoot, model_to_yaml_data, read_model
from ingest.cli import cli
from ingest.models import UNKNOWN, Decision, Flag
from ingest.review.decide import JOURNAL, recover
from ingest.review.propose import propose
from ingest.yamlio import write_yaml


def ingest(root: CatalogRoot, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root.path), *args], env=env, catch_exceptions=False)



@pytest.fixture
def queued(tmp_path: Path) -> CatalogRoot:
    """A root with one catalog entry and three proposals: a weak new one, a strong new one, an update."""
    root = new_root(tmp_path / "cat")
    tax = root.taxonomy
    root.write_entry(catalog_entry(tax, axes={tax.axes[0].id: [UNKNOWN]}))
    propose(
        root,
        extraction(
            tax, paper="2305.18290", name="DPO", confidence=0.35, flags=[Flag.low_confidence, Flag.ungrounded]
        ),
        run_id="r1",
    )
    propose(root, extraction(tax, paper="1707.06347", name="PPO", confidence=0.9), run_id="r1")
    propose(root, extraction(tax, paper="2306.13649", version=1, name="GKD"), run_id="r1")
    return root


def test_review_list_sorts_the_weakest_first(queued: CatalogRoot) -> None:
    result = ingest(queued, "review", "list", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    ids = [p["id"] for p in data["proposals"]]
    assert ids[0] == "dpo-2305.18290v2"
    assert data["proposals"][0]["flags"] == ["ungrounded", "low-confidence"]
    assert ids[-1] == "ppo-1707.06347v2"
    assert {p["kind"] for p in data["proposals"]} == {"new", "update"}
    assert data["problems"] == []


def test_review_show_prints_the_entry_with_each_fields_evidence_and_flags(queued: CatalogRoot) -> None:
    result = ingest(queued, "review", "show", "dpo-2305.18290v2")
    assert result.exit_code == 0
    axis = queued.taxonomy.axes[0]
    assert f"axes.{axis.id}" in result.stdout
    assert f'p.3 "we use {axis.values[0].id} supervision"' in result.stdout
    assert "ungrounded" in result.stdout
    assert "confidence 0.35" in result.stdout


def test_review_show_of_an_update_is_a_diff_against_the_entry(queued: CatalogRoot) -> None:
    update = next(p for p in queued.queue_dir.glob("update-*.yaml"))
    result = ingest(queued, "review", "show", update.stem)
    assert result.exit_code == 0
    axis = queued.taxonomy.axes[0]
    assert "updates entry gkd" in result.stdout
    assert f"  - ['{UNKNOWN}']" in result.stdout or f"  - - {UNKNOWN}" in result.stdout
    assert f"  + - {axis.values[0].id}" in result.stdout


def test_approve_writes_the_entry_removes_the_proposal_records_the_decision_and_renders(
    queued: CatalogRoot,
) -> None:
    result = ingest(queued, "review", "approve", "dpo-2305.18290v2", "--reviewer", "ana")
    assert result.exit_code == 0, result.output
    entry = queued.read_entry("dpo")
    assert entry.provenance is not None
    assert entry.provenance.by == "ana"
    assert entry.provenance.run_id == "r1"
    assert not (queued.queue_dir / "dpo-2305.18290v2.yaml").exists()
    decision = read_model(queued.decision_path("dpo-2305.18290v2"), Decision)
    assert (decision.action, decision.reviewer, decision.entry_id) == ("approved", "ana", "dpo")
    readme = (queued.path / "README.md").read_text()
    assert "DPO" in readme
    assert "GKD" in readme
    assert not list((queued.path / JOURNAL).glob("*.yaml"))


def test_approve_an_update_fills_the_unknown_axis_of_the_entry(queued: CatalogRoot) -> None:
    update = next(p for p in queued.queue_dir.glob("update-*.yaml"))
    assert ingest(queued, "review", "approve", update.stem).exit_code == 0
    entry = queued.read_entry("gkd")
    axis = queued.taxonomy.axes[0]
    assert entry.axes[axis.id] == [axis.values[0].id]
    assert entry.name == "GKD"
    assert entry.date == "2023.06"
    assert f"axes.{axis.id}" in entry.evidence


def test_approve_an_exclusion_records_it(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    proposal = propose(root, extraction(root.taxonomy, scope="out"), run_id="r1")
    assert proposal is not None
    assert ingest(root, "review", "approve", proposal.id).exit_code == 0
    [exclusion] = root.exclusions()
    assert exclusion.arxiv_id == "2305.18290"
    assert "no teacher" in exclusion.reason
    assert propose(root, extraction(root.taxonomy, version=5), run_id="r2") is None


def test_reject_records_the_reason_and_the_paper_is_not_proposed_again(queued: CatalogRoot) -> None:
    result = ingest(queued, "review", "reject", "ppo-1707.06347v2", "--reason", "RL, not distillation")
    assert result.exit_code == 0
    decision = read_model(queued.decision_path("ppo-1707.06347v2"), Decision)
    assert decision.action == "rejected"
    assert decision.reason == "RL, not distillation"
    assert not (queued.queue_dir / "ppo-1707.06347v2.yaml").exists()
    assert propose(queued, extraction(queued.taxonomy, paper="1707.06347", name="PPO"), run_id="r2") is None
    assert ingest(queued, "review", "reject", "dpo-2305.18290v2").exit_code == 2  # --reason is required


def _editor(tmp_path: Path, old: str, new: str) -> dict[str, str]:
    """A real editor program that replaces `old` by `new` in the file it is given."""
    script = tmp_path / "fake_editor.py"
    script.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
        f"p.write_text(p.read_text().replace({old!r}, {new!r}))\n"
    )
    return {"EDITOR": f"{sys.executable} {script}"}


def test_a_valid_edit_replaces_the_proposal_and_is_recorded_at_approval(
    queued: CatalogRoot, tmp_path: Path
) -> None:
    env = _editor(tmp_path, "name: DPO", "name: DPO (edited)")
    result = ingest(queued, "review", "edit", "dpo-2305.18290v2", env=env)
    assert result.exit_code == 0, result.output
    assert "edit accepted" in result.stdout
    assert ingest(queued, "review", "approve", "dpo-2305.18290v2").exit_code == 0
    assert queued.read_entry("dpo").name == "DPO (edited)"
    assert read_model(queued.decision_path("dpo-2305.18290v2"), Decision).edited


def test_an_invalid_edit_is_refused_with_file_and_line_and_the_queue_is_unchanged(
    queued: CatalogRoot, tmp_path: Path
) -> None:
    axis = queued.taxonomy.axes[0]
    before = root_files(queued)
    env = _editor(tmp_path, f"- {axis.values[0].id}", "- telepathy")
    result = ingest(queued, "review", "edit", "dpo-2305.18290v2", env=env)
    assert result.exit_code == 1
    assert "telepathy" in result.stderr
    assert f"axes.{axis.id}" in result.stderr
    assert "dpo-2305.18290v2.yaml:" in result.stderr  # file:line of the edited copy
    assert "your edit is kept at" in result.stderr
    kept = f"{JOURNAL}/edits/dpo-2305.18290v2.yaml"  # inside the root, where no queue scan looks
    after = root_files(queued)
    assert "telepathy" in after.pop(kept).decode()
    assert after == before


def _break(root: CatalogRoot) -> dict[str, int]:
    """Three hand-broken proposals; returns file name -> the line a reviewer must look at."""
    good = next(root.queue_dir.glob("ppo-*.yaml")).read_text()
    (root.queue_dir / "syntax.yaml").write_text(
        "id: syntax\nkind: new\n  title: misindented\nconfidence: 1\n"
    )
    axis = root.taxonomy.axes[0]
    bad_axis = (
        good.replace("id: ppo-1707.06347v2", "id: bad-axis")
        .replace("arxiv_id: '1707.06347'", "arxiv_id: '9999.00001'")
        .replace(f"- {axis.values[0].id}", "- telepathy", 1)
    )
    (root.queue_dir / "bad-axis.yaml").write_text(bad_axis)
    escape = good.replace("id: ppo-1707.06347v2", "id: ../../entries/evil").replace(
        "arxiv_id: '1707.06347'", "arxiv_id: '9999.00002'"
    )
    (root.queue_dir / "escape.yaml").write_text(escape)
    lines = bad_axis.splitlines()
    return {
        "syntax.yaml": 3,
        "bad-axis.yaml": next(i for i, t in enumerate(lines, 1) if "telepathy" in t),
        "escape.yaml": 1,
    }


def test_hand_broken_proposals_are_reported_with_file_and_line_and_refused(queued: CatalogRoot) -> None:
    where = _break(queued)
    result = ingest(queued, "review", "list", "--json")
    assert result.exit_code == 0
    problems = json.loads(result.stdout)["problems"]
    for name, line in where.items():
        assert any(p.startswith(f"review_queue/{name}:{line}:") for p in problems), (name, problems)
    assert any("telepathy" in p for p in problems)
    assert any("not a slug" in p for p in problems)
    check = CliRunner().invoke(cli, ["--root", str(queued.path), "check", "--format", "github"])
    for name, line in where.items():
        assert f"file=review_queue/{name},line={line}" in check.stdout, (name, check.stdout)
    before = root_files(queued)
    for name in where:
        refused = ingest(queued, "review", "approve", name.removesuffix(".yaml"))
        assert refused.exit_code == 1
        assert f"review_queue/{name}:{where[name]}" in refused.stderr
    assert root_files(queued) == before
    assert ingest(queued, "review", "approve", "../entries/gkd").exit_code == 2
    assert root_files(queued) == before


def test_a_decision_interrupted_after_its_journal_is_finished_by_the_next_command(
    queued: CatalogRoot,
) -> None:
    """The state a crash right after step 1 leaves (tests/test_crash.py makes it with a real kill -9)."""
    proposal_path = queued.queue_dir / "ppo-1707.06347v2.yaml"
    entry = queued.read_proposal("ppo-1707.06347v2").entry
    assert entry is not None
    decision = Decision(
        id="ppo-1707.06347v2",
        action="approved",
        kind="new",
        entry_id=entry.id,
        arxiv_id="1707.06347",
        version=2,
        title="PPO",
        reviewer="ana",
        at="2026-11-25T12:00:00Z",
    )  # type: ignore[arg-type]
    write_yaml(
        queued.path / JOURNAL / "ppo-1707.06347v2.yaml",
        {"decision": model_to_yaml_data(decision), "entry": model_to_yaml_data(entry)},
    )
    result = ingest(queued, "review", "list", "--json")
    assert result.exit_code == 0
    assert "ppo-1707.06347v2" not in [p["id"] for p in json.loads(result.stdout)["proposals"]]
    assert queued.read_entry(entry.id).name == "PPO"
    assert queued.decision_path("ppo-1707.06347v2").exists()
    assert not proposal_path.exists()
    assert recover(queued) == []


def test_an_approved_exclusion_and_entry_survive_a_second_approve_attempt(queued: CatalogRoot) -> None:
    assert ingest(queued, "review", "approve", "ppo-1707.06347v2").exit_code == 0
    again = ingest(queued, "review", "approve", "ppo-1707.06347v2")
    assert again.exit_code == 2
    assert "no proposal" in again.stderr
    assert len([d for d in queued.decisions() if d.id == "ppo-1707.06347v2"]) == 1
    assert queued.exclusions() == []


def test_a_broken_proposal_can_be_repaired_with_edit_and_then_approved(
    queued: CatalogRoot, tmp_path: Path
) -> None:
    _break(queued)
    axis = queued.taxonomy.axes[0]
    env = _editor(tmp_path, "- telepathy", f"- {axis.values[1].id}")
    result = ingest(queued, "review", "edit", "bad-axis", env=env)
    assert result.exit_code == 0, result.output
    problems = json.loads(ingest(queued, "review", "list", "--json").stdout)["problems"]
    assert not any("bad-axis" in p for p in problems)
    assert ingest(queued, "review", "approve", "bad-axis").exit_code == 0
    assert queued.read_entry("ppo").axes[axis.id] == [axis.values[1].id]


def test_an_update_for_a_new_arxiv_version_sets_the_version_of_the_entrys_arxiv_link(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    tax = root.taxonomy
    root.write_entry(catalog_entry(tax, axes={a.id: [a.values[0].id] for a in tax.axes}, paper_only=False))
    proposal = propose(root, extraction(tax, paper="2306.13649", version=3, name="GKD"), run_id="r1")
    assert proposal is not None
    assert proposal.kind == "update"
    shown = ingest(root, "review", "show", proposal.id)
    assert shown.exit_code == 0, shown.output
    assert "links" in shown.stdout
    assert "  + - kind: arxiv" in shown.stdout
    assert "version: 3" in shown.stdout  # the reviewer sees the link before and after
    assert ingest(root, "review", "approve", proposal.id).exit_code == 0
    entry = root.read_entry("gkd")
    [link] = [link for link in entry.links if link.arxiv_id == "2306.13649"]
    assert link.version == 3
    assert link.url == "https://arxiv.org/abs/2306.13649"  # the list keeps linking the latest version
    assert len(entry.links) == 1  # replaced, not added twice
    assert "https://arxiv.org/abs/2306.13649)" in (root.path / "README.md").read_text()
    assert ingest(root, "check").exit_code == 0
    # v3 is now what the catalog knows: the same version is not proposed again, a newer one is
    assert propose(root, extraction(tax, paper="2306.13649", version=3, name="GKD"), run_id="r2") is None
    again = propose(root, extraction(tax, paper="2306.13649", version=4, name="GKD"), run_id="r3")
    assert again is not None
    assert [c.old for c in again.changes if c.field == "links"] == [[link.model_dump(exclude_none=True)]]
