"""A careless maintainer's catalog: the repository's own root copied, then edited, renamed and interrupted the
way people do; each time the tool says, in one line naming the file and line, what went wrong and what to do.

Through the CLI's entry point in this process (helpers_cli.ingest_here), except where the process itself is
the point (Ctrl-C: a real signal to a real `ingest` process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers_cli import ingest_here

REPO = Path(__file__).resolve().parent.parent
ROOT_FILES = ("entries", "ingest.yaml", "taxonomy.yaml", "CATALOG.md")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A copy of this repository's catalog root: its entries, settings, taxonomy and rendered list."""
    root = tmp_path / "cat"
    root.mkdir()
    for name in ROOT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line == text)


# -- a section renamed or removed while entries use it -------------------------------------------------------


def test_render_names_an_entry_whose_section_the_taxonomy_lost_instead_of_dropping_it_silently(
    catalog: Path,
) -> None:
    gkd = catalog / "entries" / "gkd.yaml"
    edit(gkd, "sections:\n  - surveys\n", "sections:\n  - old-surveys\n")
    done = ingest_here(catalog, "render")
    assert done.returncode == 0, done.stderr
    assert "GKD" not in done.stdout
    line = line_of(gkd, "  - old-surveys")
    assert done.stderr.strip().splitlines() == [
        f"warning: entries/gkd.yaml:{line}: section 'old-surveys' is not a catalog section of taxonomy.yaml, "
        "so GKD is left out of the list; move the entry to one of ['surveys', 'white-box', 'black-box', "
        "'opsd', 'iterative', 'opd-rl', 'reasoning', 'multimodal', 'agent', 'speculative-decoding', "
        "'frameworks', 'industrial'] or put the section back in taxonomy.yaml"
    ]
    assert "[GKD](" not in (catalog / "CATALOG.md").read_text(encoding="utf-8")
    # Said again on every render while it lasts, not only when the file changes.
    again = ingest_here(catalog, "render")
    assert "up to date" in again.stdout
    assert "entries/gkd.yaml" in again.stderr


def test_render_names_a_cross_listing_the_taxonomy_lost(catalog: Path) -> None:
    taxonomy = catalog / "taxonomy.yaml"
    entries = [
        p for p in (catalog / "entries").glob("*.yaml") if "  - agent\n" in p.read_text(encoding="utf-8")
    ]
    assert entries
    edit(taxonomy, "  - id: agent\n", "  - id: agents\n")  # the section renamed in the taxonomy only
    done = ingest_here(catalog, "render")
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: entries/")]
    assert len(warned) == len(entries)
    assert all("section 'agent' is not a catalog section of taxonomy.yaml" in line for line in warned)
