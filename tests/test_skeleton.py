"""The package's foundation: models, taxonomy and the root layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.catalog.store import CatalogRoot, bundled
from ingest.errors import CatalogError, UsageError
from ingest.models import Entry, split_arxiv_id
from ingest.taxonomy import load_taxonomy


def test_bundled_taxonomy_declares_twelve_sections_and_four_axes() -> None:
    taxonomy = load_taxonomy(bundled("taxonomy.yaml"))
    assert len(taxonomy.catalog_sections) == 12
    assert [a.id for a in taxonomy.axes] == [
        "teacher_source",
        "supervision_signal",
        "rollout_consumption",
        "pipeline_slot",
    ]
    assert taxonomy.section("iterative").parent == "opsd"
    assert "unknown" in taxonomy.axis("teacher_source").vocabulary


def test_a_new_root_gets_the_repository_taxonomy_with_every_cue() -> None:
    # The heuristic's word lists live in the taxonomy: a root made by `ingest init` gets no weaker copy.
    repository = Path(__file__).resolve().parent.parent / "taxonomy.yaml"
    if load_taxonomy(repository).catalog != load_taxonomy(bundled("taxonomy.yaml")).catalog:
        pytest.skip("the repository root holds another list's taxonomy (a fork): nothing to compare")
    assert bundled("taxonomy.yaml").read_bytes() == repository.read_bytes()


def test_create_root_then_write_and_read_an_entry(tmp_path: Path) -> None:
    root = CatalogRoot(tmp_path / "cat").create()
    entry = Entry(id="gkd", name="GKD", sections=["surveys"], date="2023.06")
    path = root.write_entry(entry)
    assert path == root.entries_dir / "gkd.yaml"
    assert root.read_entry("gkd") == entry
    assert not list(root.entries_dir.glob(".*.tmp"))


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", "Upper", ""])
def test_an_id_that_would_leave_the_folder_is_refused(tmp_path: Path, bad: str) -> None:
    root = CatalogRoot(tmp_path).create()
    with pytest.raises(UsageError):
        root.entry_path(bad)


def test_a_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    root = CatalogRoot(tmp_path).create()
    (root.entries_dir / "x.yaml").write_text("id: x\nname: [unclosed\nsections: [a]\n")
    with pytest.raises(CatalogError) as info:
        root.read_entry("x")
    assert info.value.file.endswith("x.yaml")
    assert info.value.line is not None


def test_versioned_arxiv_ids_split() -> None:
    assert split_arxiv_id("2306.13649v2") == ("2306.13649", 2)
    assert split_arxiv_id("2306.13649") == ("2306.13649", None)
    with pytest.raises(ValueError, match="not an arXiv id"):
        split_arxiv_id("abc")
