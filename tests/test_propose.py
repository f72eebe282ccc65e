"""propose: new, update and exclude; the same paper never twice; a rejected paper only with a new version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from helpers_queue import catalog_entry, extraction, new_root

from ingest.catalog.store import read_model
from ingest.models import UNKNOWN, Candidate, Decision, Exclusion, Flag, Link, LinkKind, Proposal, Scope
from ingest.review.propose import propose, propose_exclusion
from ingest.yamlio import load_yaml


def test_a_new_paper_becomes_a_new_proposal_with_evidence_flags_and_provenance(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    ext = extraction(root.taxonomy, confidence=0.45, flags=[Flag.low_confidence])
    proposal = propose(root, ext, run_id="20261125T000000Z")
    assert proposal is not None
    path = root.queue_dir / f"{proposal.id}.yaml"
    assert path.is_file()
    on_disk = read_model(path, Proposal)
    assert on_disk.kind == "new"
    assert on_disk.arxiv_id == "2305.18290"
    assert on_disk.version == 2
    assert on_disk.entry is not None
    assert on_disk.entry.name == "DPO"
    axis = root.taxonomy.axes[0].id
    assert on_disk.entry.evidence[f"axes.{axis}"].quotes[0].page == 3
    assert on_disk.confidence == 0.45
    assert Flag.low_confidence in on_disk.flags
    prov = on_disk.provenance
    assert (prov.run_id, prov.backend, prov.model, prov.prompt_hash) == (
        "20261125T000000Z",
        "openai",
        "test-model",
        "p1234",
    )
    assert (prov.prompt_tokens, prov.completion_tokens, prov.cost_usd) == (1200, 300, 0.00036)


def test_proposal_ids_are_stable_slugs(tmp_path: Path) -> None:
    a = propose(new_root(tmp_path / "a"), extraction(new_root(tmp_path / "a").taxonomy), run_id="r1")
    b = propose(new_root(tmp_path / "b"), extraction(new_root(tmp_path / "b").taxonomy), run_id="r2")
    assert a is not None
    assert b is not None
    assert a.id == b.id == "dpo-2305.18290v2"


def test_the_same_paper_is_never_proposed_twice(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    assert propose(root, extraction(root.taxonomy), run_id="r1") is not None
    assert propose(root, extraction(root.taxonomy), run_id="r2") is None
    assert propose(root, extraction(root.taxonomy, version=3, name="DPO again"), run_id="r3") is None
    assert len(list(root.queue_dir.glob("*.yaml"))) == 1


def test_a_paper_in_the_catalog_gets_an_update_that_only_fills_unknowns(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    tax = root.taxonomy
    first, second = tax.axes[0], tax.axes[1]
    root.write_entry(catalog_entry(tax, axes={first.id: [first.values[1].id], second.id: [UNKNOWN]}))
    ext = extraction(
        tax,
        paper="2306.13649",
        version=2,
        name="GKD",
        entry_id="gkd-new",
        axes={first.id: [first.values[0].id], second.id: [second.values[2].id]},
    )
    proposal = propose(root, ext, run_id="r1")
    assert proposal is not None
    assert proposal.kind == "update"
    assert proposal.target == "gkd"
    fields = {c.field: c for c in proposal.changes}
    assert f"axes.{second.id}" in fields
    assert fields[f"axes.{second.id}"].old == [UNKNOWN]
    assert fields[f"axes.{second.id}"].new == [second.values[2].id]
    assert f"axes.{first.id}" not in fields  # the curator's value stays
    assert proposal.entry is not None
    assert proposal.entry.axes[first.id] == [first.values[1].id]
    # v2 of a paper the catalog knew as v1: recorded on the entry's arXiv link, whose url stays version-less
    [arxiv_link] = fields["links"].new
    assert arxiv_link["arxiv_id"] == "2306.13649"
    assert arxiv_link["version"] == 2
    assert arxiv_link["url"] == fields["links"].old[0]["url"]
    assert [link.version for link in proposal.entry.links if link.arxiv_id] == [2]


def test_an_update_adds_a_released_code_link(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    tax = root.taxonomy
    entry = catalog_entry(tax, axes={a.id: [a.values[0].id] for a in tax.axes})
    root.write_entry(entry)
    code = Link(kind=LinkKind.code, url="https://github.com/google/gkd")
    ext = extraction(tax, paper="2306.13649", version=1, name="GKD", links=[*entry.links, code])
    proposal = propose(root, ext, run_id="r1")
    assert proposal is not None
    assert {c.field for c in proposal.changes} == {"links", "paper_only"}
    assert propose(root, extraction(tax, paper="2306.13649", version=1, name="GKD"), run_id="r2") is None


def test_nothing_new_about_a_known_paper_proposes_nothing(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    tax = root.taxonomy
    root.write_entry(catalog_entry(tax, axes={a.id: [a.values[0].id] for a in tax.axes}, paper_only=False))
    assert propose(root, extraction(tax, paper="2306.13649", version=1, name="GKD"), run_id="r1") is None
    assert not list(root.queue_dir.glob("*.yaml"))


def _rejected(root_path: Path, version: int) -> Decision:
    return Decision(
        id="dpo-2305.18290v2",
        action="rejected",
        kind="new",
        arxiv_id="2305.18290",
        version=version,
        title="DPO",
        reason="not OPD",
        reviewer="ana",
        at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_a_rejected_paper_comes_back_only_with_a_newer_version(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    root.write_decision(_rejected(tmp_path, 2))
    assert propose(root, extraction(root.taxonomy, version=2), run_id="r1") is None
    again = propose(root, extraction(root.taxonomy, version=3), run_id="r2")
    assert again is not None
    assert again.resubmission_of == "dpo-2305.18290v2"
    assert again.id == "dpo-2305.18290v3"


def test_an_excluded_paper_is_not_proposed(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    root.write_exclusion(Exclusion(id="dpo", title="DPO", arxiv_id="2305.18290", reason="offline preference"))
    assert propose(root, extraction(root.taxonomy), run_id="r1") is None


def test_an_out_of_scope_paper_becomes_an_exclude_proposal_with_its_reason(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    proposal = propose(root, extraction(root.taxonomy, scope="out"), run_id="r1")
    assert proposal is not None
    assert proposal.kind == "exclude"
    assert proposal.exclusion is not None
    assert "no teacher supervises" in proposal.exclusion.reason
    data = load_yaml(root.queue_dir / f"{proposal.id}.yaml")
    assert data["kind"] == "exclude"
    assert data["exclusion"]["arxiv_id"] == "2305.18290"


def test_propose_exclusion_from_a_screened_candidate(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    candidate = Candidate(arxiv_id="1707.06347", version=2, title="Proximal Policy Optimization Algorithms")
    scope = Scope(verdict="out", reason="reinforcement learning without a teacher", confidence=0.9)
    proposal = propose_exclusion(root, candidate, scope, run_id="r1")
    assert proposal is not None
    assert proposal.id.startswith("exclude-")
    assert proposal.confidence == 0.9
    assert propose_exclusion(root, candidate, scope, run_id="r2") is None


def test_two_papers_whose_names_clash_get_distinct_entry_ids(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    tax = root.taxonomy
    a = propose(root, extraction(tax, paper="2305.18290", name="Distill"), run_id="r1")
    b = propose(root, extraction(tax, paper="1503.02531", version=1, name="Distill"), run_id="r1")
    assert a is not None
    assert b is not None
    assert a.entry is not None
    assert b.entry is not None
    assert a.entry.id != b.entry.id
    assert a.id != b.id


def test_a_paper_is_not_taken_for_an_entry_with_another_arxiv_id_and_the_same_title(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    root.write_entry(catalog_entry(root.taxonomy, title="Direct Preference Optimization"))  # arXiv 2306.13649
    proposal = propose(root, extraction(root.taxonomy, paper="2305.18290"), run_id="r1")
    assert proposal is not None
    assert proposal.kind == "new"


def test_a_paper_matches_an_entry_listed_without_arxiv_id_by_title(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    root.write_entry(catalog_entry(root.taxonomy, id="dpo", title="Direct Preference Optimization", links=[]))
    proposal = propose(root, extraction(root.taxonomy, paper="2305.18290"), run_id="r1")
    assert proposal is not None
    assert proposal.kind == "update"
    assert proposal.target == "dpo"


def test_a_paper_held_by_a_broken_entry_or_proposal_is_not_proposed(tmp_path: Path) -> None:
    root = new_root(tmp_path)
    tax = root.taxonomy
    path = root.write_entry(catalog_entry(tax))
    path.write_text(path.read_text().replace("sections:", "sections: [oops\n"))  # no longer parses
    assert propose(root, extraction(tax, paper="2306.13649", version=2, name="GKD"), run_id="r1") is None
    root.queue_dir.mkdir()
    (root.queue_dir / "dpo-2305.18290v2.yaml").write_text("id: dpo-2305.18290v2\narxiv_id: 2305.18290\n: :\n")
    assert propose(root, extraction(tax), run_id="r1") is None
    out = Scope(verdict="out", reason="not distillation", confidence=0.9)
    assert (
        propose_exclusion(root, Candidate(arxiv_id="2306.13649", version=2, title="GKD"), out, run_id="r1")
        is None
    )
    assert sorted(p.name for p in root.queue_dir.glob("*.yaml")) == ["dpo-2305.18290v2.yaml"]
