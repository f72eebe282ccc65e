"""A broken ingest.yaml or taxonomy.yaml is bad configuration: exit 2 with one short line; check lists it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ingest.catalog.store import CatalogRoot
from ingest.cli import cli
from ingest.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def ingest(root: CatalogRoot, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root.path), *args])


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    return CatalogRoot(tmp_path / "cat").create()


def _insert(path: Path, after: str, text: str) -> int:
    """Insert `text` after the line `after`; returns the 1-based line of the inserted text."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.rstrip() == after) + 1
    lines.insert(number, text)
    path.write_text("".join(lines), encoding="utf-8")
    return number + 1


def test_an_unknown_top_level_key_exits_2_and_lists_the_valid_keys(root: CatalogRoot) -> None:
    lines = root.config_path.read_text(encoding="utf-8")
    root.config_path.write_text(lines + "renderr: 1\n", encoding="utf-8")
    line = len(lines.splitlines()) + 1
    result = ingest(root, "render")
    assert result.exit_code == 2
    [message] = result.stderr.strip().splitlines()
    assert f"ingest.yaml:{line}: renderr: unknown key" in message
    assert "render, arxiv, download, read, extract, check" in message
    checked = ingest(root, "check")
    assert checked.exit_code == 1  # check found an error: reported as such, with the same line
    assert f"ingest.yaml:{line}: error: renderr: unknown key" in checked.stdout


def test_an_unknown_key_in_a_section_lists_that_sections_keys(root: CatalogRoot) -> None:
    line = _insert(root.config_path, "render:", "  outptu: x.md\n")
    with pytest.raises(ConfigError) as info:
        CatalogRoot(root.path).config  # noqa: B018 - loading is what is tested
    assert info.value.exit_code == 2
    assert info.value.line == line
    assert "render.outptu: unknown key; render takes output, begin_marker, end_marker" in str(info.value)


def test_a_duplicate_key_is_one_short_line_with_both_lines(root: CatalogRoot) -> None:
    text = root.config_path.read_text(encoding="utf-8")
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line == "render:")
    root.config_path.write_text(text + "render:\n  output: other.md\n", encoding="utf-8")
    result = ingest(root, "render")
    assert result.exit_code == 2
    [message] = result.stderr.strip().splitlines()
    second = len(text.splitlines()) + 1
    assert f"ingest.yaml:{second}: duplicate key 'render' (first at line {first})" in message
    assert len(message) < 200 + len(str(root.path))


def test_a_broken_taxonomy_exits_2(root: CatalogRoot) -> None:
    text = root.taxonomy_path.read_text(encoding="utf-8")
    root.taxonomy_path.write_text(text.replace("strictness_notes: false", "strictness_notes: sometimes", 1))
    result = ingest(root, "render")
    assert result.exit_code == 2
    assert "taxonomy.yaml:" in result.stderr
    assert ingest(root, "check").exit_code == 1


@pytest.mark.parametrize(("key", "cue"), [("citation", "[unclosed"), ("own_samples", "re:[unclosed")])
def test_a_cue_regex_that_does_not_compile_is_one_line_naming_the_list(
    root: CatalogRoot, key: str, cue: str
) -> None:
    text = root.taxonomy_path.read_text(encoding="utf-8")
    root.taxonomy_path.write_text(text.replace(f"  {key}: [", f"  {key}: ['{cue}', ", 1), encoding="utf-8")
    result = ingest(root, "render")
    assert result.exit_code == 2
    [message] = result.stderr.strip().splitlines()
    assert "taxonomy.yaml:" in message
    assert f"cues.{key}: bad regex '[unclosed'" in message


def test_an_axis_list_of_the_cues_that_names_no_axis_is_one_line(root: CatalogRoot) -> None:
    text = root.taxonomy_path.read_text(encoding="utf-8")
    root.taxonomy_path.write_text(text.replace("  core_axes: [", "  core_axes: [teacher_sauce, ", 1))
    result = ingest(root, "render")
    assert result.exit_code == 2
    [message] = result.stderr.strip().splitlines()
    assert "cues.core_axes: ['teacher_sauce'] are not axis ids" in message


@pytest.mark.parametrize("path", [REPO / "ingest" / "data" / "ingest.yaml", REPO / "ingest.yaml"])
def test_the_config_files_point_to_the_cli_reference(path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[1]
    assert "docs/CLI.md" in header
    assert "README" not in header
    assert "## ingest.yaml" in (REPO / "docs" / "CLI.md").read_text(encoding="utf-8")
