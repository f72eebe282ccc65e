"""review on real roots: update proposals for imported entries, a README without markers, broken rejects,
edits that change the title, and where the edit copy lives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers_queue import extraction, new_root, root_files

from ingest.catalog.store import CatalogRoot, model_to_yaml_data, read_model
from ingest.cli import cli
from ingest.models import Decision
from ingest.review.decide import JOURNAL
from ingest.review.propose import propose
from ingest.yamlio import write_yaml


def ingest(root: CatalogRoot, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root.path), *args], env=env)



@pytest.fixture(scope="module")
def imported_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real AwesomeOPD list imported once; each test copies it."""
    from conftest import SEED_LIST, need_shared

    need_shared(SEED_LIST)
    path = tmp_path_factory.mktemp("seed") / "root"
    result = CliRunner().invoke(cli, ["--root", str(path), "import-markdown", str(SEED_LIST)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def imported(imported_template: Path, tmp_path: Path) -> CatalogRoot:
    import shutil

    shutil.copytree(imported_template, tmp_path / "root")
    return CatalogRoot(tmp_path / "root")


def _update_for_gkd(root: CatalogRoot) -> str:
    gkd = next(e for e in root.iter_entries() if "2306.13649" in e.arxiv_ids)
    section = gkd.sections[0]
    assert root.taxonomy.section(section).detail_key in gkd.details[section]  # the list's label column
    proposal = propose(
        root,
        extraction(root.taxonomy, paper="2306.13649", version=1, name="GKD", entry_id=gkd.id),
        run_id="r1",
    )
    assert proposal is not None
    assert proposal.kind == "update"
    return proposal.id


def test_an_update_of_an_imported_entry_with_its_label_column_is_valid(imported: CatalogRoot) -> None:
    proposal_id = _update_for_gkd(imported)
    listed = ingest(imported, "review", "list", "--json")
    assert listed.exit_code == 0
    assert json.loads(listed.stdout)["problems"] == []
    assert ingest(imported, "review", "show", proposal_id).exit_code == 0
    approved = ingest(imported, "review", "approve", proposal_id)
    assert approved.exit_code == 0, approved.output
    assert ingest(imported, "check").exit_code == 0


def test_approve_into_a_readme_without_markers_is_refused_before_anything_is_written(
    imported: CatalogRoot,
) -> None:
    proposal_id = _update_for_gkd(imported)
    (imported.path / "README.md").write_text("# mine\n", encoding="utf-8")
    before = root_files(imported)
    refused = ingest(imported, "review", "approve", proposal_id)
    assert refused.exit_code == 2
    assert "nothing was approved" in refused.stderr
    assert "set render.output in ingest.yaml" in refused.stderr
    assert "--output" not in refused.stderr
    assert root_files(imported) == before
    listed = ingest(imported, "review", "list", "--json")
    assert listed.exit_code == 0
    assert [p["id"] for p in json.loads(listed.stdout)["proposals"]] == [proposal_id]


def test_an_interrupted_approval_is_finished_even_when_the_render_fails(imported: CatalogRoot) -> None:
    """The journal a crash after step 1 leaves, and a README without its markers: the queue stays usable."""
    proposal_id = _update_for_gkd(imported)
    proposal = imported.read_proposal(proposal_id)
    assert proposal.entry is not None
    decision = Decision(
        id=proposal_id, action="approved", kind="update", entry_id=proposal.target, at="2026-11-25T12:00:00Z"
    )  # type: ignore[arg-type]
    write_yaml(
        imported.path / JOURNAL / f"{proposal_id}.yaml",
        {"decision": model_to_yaml_data(decision), "entry": model_to_yaml_data(proposal.entry)},
    )
    (imported.path / "README.md").write_text("# mine\n", encoding="utf-8")
    listed = ingest(imported, "review", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert "warning: the catalog was not re-rendered" in listed.stderr
    assert not list((imported.path / JOURNAL).glob("*.yaml"))
    assert imported.decision_path(proposal_id).exists()
    assert not imported.proposal_path(proposal_id).exists()
    assert ingest(imported, "review", "list").exit_code == 0


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    root = new_root(tmp_path / "cat")
    propose(root, extraction(root.taxonomy, paper="1707.06347", name="PPO", confidence=0.9), run_id="r1")
    return root


def _broken_files(root: CatalogRoot) -> None:
    good = next(root.queue_dir.glob("ppo-*.yaml")).read_text()
    (root.queue_dir / "syntax-2401.00001v3.yaml").write_text(
        "id: syntax-2401.00001v3\narxiv_id: '2401.00001'\n  title: misindented\n"
    )
    axis = root.taxonomy.axes[0]
    bad = (
        good.replace("id: ppo-1707.06347v2", "id: bad-axis-2401.00002v1")
        .replace("arxiv_id: '1707.06347'", "arxiv_id: '2401.00002'")
        .replace("version: 2", "version: 1")
        .replace(f"- {axis.values[0].id}", "- telepathy", 1)
    )
    (root.queue_dir / "bad-axis-2401.00002v1.yaml").write_text(bad)


def test_a_broken_proposal_can_be_rejected_and_is_not_proposed_again(root: CatalogRoot) -> None:
    _broken_files(root)
    result = ingest(
        root, "review", "reject", "syntax-2401.00001v3", "bad-axis-2401.00002v1", "--reason", "junk"
    )
    assert result.exit_code == 0, result.output
    for proposal_id, arxiv_id, version in [
        ("syntax-2401.00001v3", "2401.00001", 3),
        ("bad-axis-2401.00002v1", "2401.00002", 1),
    ]:
        assert not root.proposal_path(proposal_id).exists()
        decision = read_model(root.decision_path(proposal_id), Decision)
        assert (decision.action, decision.arxiv_id, decision.version, decision.reason) == (
            "rejected",
            arxiv_id,
            version,
            "junk",
        )
    assert json.loads(ingest(root, "review", "list", "--json").stdout)["problems"] == []
    assert propose(root, extraction(root.taxonomy, paper="2401.00002", version=1), run_id="r2") is None
    assert not (root.path / JOURNAL / "syntax-2401.00001v3.yaml").exists()


def _editor(tmp_path: Path, old: str, new: str, *, fail: bool = False) -> dict[str, str]:
    """A real editor program: replaces `old` by `new`, notes the path it was given in edited.txt."""
    script = tmp_path / "fake_editor.py"
    script.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(tmp_path / 'edited.txt')!r}).write_text(str(p))\n"
        f"p.write_text(p.read_text().replace({old!r}, {new!r}))\n" + ("sys.exit(3)\n" if fail else "")
    )
    return {"EDITOR": f"{sys.executable} {script}"}


def test_an_edit_of_the_entry_title_is_the_proposals_title(root: CatalogRoot, tmp_path: Path) -> None:
    [path] = root.queue_dir.glob("ppo-*.yaml")
    old = root.read_proposal(path.stem).title
    env = _editor(tmp_path, f"  title: {old}", "  title: Proximal Policy Optimization (edited)")
    result = ingest(root, "review", "edit", path.stem, env=env)
    assert result.exit_code == 0, result.output
    proposal = root.read_proposal(path.stem)
    assert proposal.entry is not None
    assert proposal.entry.title == "Proximal Policy Optimization (edited)"
    assert proposal.title == "Proximal Policy Optimization (edited)"
    listed = json.loads(ingest(root, "review", "list", "--json").stdout)["proposals"]
    assert listed[0]["title"] == "Proximal Policy Optimization (edited)"
    assert not (root.path / JOURNAL / "edits").exists()


def test_the_edit_copy_lives_in_the_root_and_is_removed_unless_kept(
    root: CatalogRoot, tmp_path: Path
) -> None:
    [path] = root.queue_dir.glob("ppo-*.yaml")
    kept = root.path / JOURNAL / "edits" / path.name
    before = root_files(root)
    failed = ingest(
        root, "review", "edit", path.stem, env=_editor(tmp_path, "name: PPO", "name: X", fail=True)
    )
    assert failed.exit_code == 2
    assert Path((tmp_path / "edited.txt").read_text()) == kept  # the editor worked inside the root
    assert not kept.exists()  # and its copy is gone when the editor fails
    assert root_files(root) == before
    axis = root.taxonomy.axes[0]
    env = _editor(tmp_path, f"- {axis.values[0].id}", "- telepathy")
    invalid = ingest(root, "review", "edit", path.stem, env=env)
    assert invalid.exit_code == 1
    assert f"your edit is kept at {kept}" in " ".join(invalid.stderr.split())
    assert "telepathy" in kept.read_text()
    assert json.loads(ingest(root, "review", "list", "--json").stdout)["problems"] == []
    assert ingest(root, "check").exit_code == 0
