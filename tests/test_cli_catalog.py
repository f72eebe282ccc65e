"""The catalog commands through the real `ingest` entry point: import-markdown, render, check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SEED_LIST, need_shared

from ingest.catalog.store import CatalogRoot
from ingest.cli import cli
from ingest.models import Entry, FieldEvidence, Flag


def ingest(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """The real list imported once through the CLI into a root that did not exist."""
    root = tmp_path_factory.mktemp("cli") / "catalog"
    result = CliRunner().invoke(cli, ["--root", str(root), "import-markdown", str(need_shared(SEED_LIST))])
    return root, result


@pytest.fixture
def root(imported: tuple[Path, Result], tmp_path: Path) -> Path:
    copy = tmp_path / "root"
    shutil.copytree(imported[0], copy)
    return copy


def test_import_markdown_creates_the_root_and_reports_rows_and_problems(
    imported: tuple[Path, Result],
) -> None:
    root, result = imported
    assert result.exit_code == 0, result.output
    assert (root / "taxonomy.yaml").exists()
    assert (root / "ingest.yaml").exists()
    assert len(list((root / "entries").glob("*.yaml"))) == int(
        re.search(r"imported (\d+) entries", result.stdout)[1]
    )
    assert "113 table rows" in result.stdout
    assert "white-box: 17 rows" in result.stdout
    for line in result.stderr.splitlines():  # what it could not place: FILE:LINE: message
        assert re.match(r"^.*README\.md:\d+: \S", line), line


def test_import_then_check_exits_0_and_render_brings_the_catalog_in_sync(root: Path) -> None:
    first = ingest(root, "check")
    assert first.exit_code == 0, first.output
    assert "README.md: info: README.md does not exist" in first.stdout
    rendered = ingest(root, "render")
    assert rendered.exit_code == 0
    assert rendered.stdout == "wrote README.md: a new file (109 entries)\n"
    again = ingest(root, "render")
    assert again.stdout == "README.md is up to date (109 entries)\n"
    clean = ingest(root, "check")
    assert clean.exit_code == 0
    assert clean.stdout.strip().splitlines() == [clean.stdout.strip()]  # the summary line only
    assert ": 0 errors, 0 warnings" in clean.stdout


def test_render_to_stdout_prints_the_document(root: Path) -> None:
    result = ingest(root, "render", "--output", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("# AwesomeOPD\n")
    assert result.stdout.count("| [G-OPD](https://github.com/RUCBM/G-OPD) |") == 2  # white-box and reasoning
    assert not (root / "README.md").exists()


def test_render_refuses_a_readme_without_markers(root: Path) -> None:
    (root / "README.md").write_text("# Mine\n")
    result = ingest(root, "render")
    assert result.exit_code == 2
    assert "no <!-- ingest:catalog:begin -->" in result.stderr
    assert "markers" in result.stderr
    assert (root / "README.md").read_text() == "# Mine\n"


def break_root(root: Path) -> None:
    entries = root / "entries"
    (entries / "zz-syntax.yaml").write_text("id: zz-syntax\nname: [oops\n")
    (entries / "zz-section.yaml").write_text("id: zz-section\nname: S\nsections:\n  - alchemy\n")
    (entries / "zz-axis.yaml").write_text(
        "id: zz-axis\nname: A\nsections:\n  - opsd\naxes:\n  teacher_source:\n    - oracle\n"
    )
    (entries / "zz-dupe.yaml").write_text(
        "id: zz-dupe\nname: D\nsections:\n  - opsd\nlinks:\n  - kind: arxiv\n"
        "    url: https://arxiv.org/abs/2306.13649\n    arxiv_id: '2306.13649'\n"
    )
    (entries / "zz-escape.yaml").write_text("id: ../x\nname: E\nsections:\n  - opsd\n")
    (root / "review_queue").mkdir(exist_ok=True)
    (root / "review_queue" / "zz-prop.yaml").write_text(
        "id: zz-prop\nkind: new\ntitle: P\nentry:\n  id: zz-prop\n  name: P\n  sections:\n    - opsd\n"
        "  axes:\n    rollout_consumption:\n      - most\n"
    )


EXPECTED = {
    "entries/zz-syntax.yaml:3",
    "entries/zz-section.yaml:4",
    "entries/zz-axis.yaml:7",
    "entries/zz-dupe.yaml:8",
    "entries/zz-escape.yaml:1",
    "review_queue/zz-prop.yaml:11",
}


def test_check_on_a_broken_root_exits_1_with_one_line_per_problem(root: Path) -> None:
    ingest(root, "render")
    break_root(root)
    result = ingest(root, "check")
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert {line.split(": error: ")[0] for line in errors} == EXPECTED
    assert len(errors) == len(EXPECTED)
    assert "6 errors" in result.stdout.splitlines()[-1]


def test_check_github_format_annotates_and_writes_the_step_summary(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(root, "render")
    break_root(root)
    catalog = CatalogRoot(root)
    weak = catalog.read_entry("gkd").model_copy(
        update={"evidence": {"org": FieldEvidence(confidence=0.3, flags=[Flag.ungrounded])}}
    )
    path = catalog.write_entry(Entry.model_validate(weak.model_dump()))
    org_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("org:"))
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = ingest(root, "check", "--format", "github")
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert {
        re.match(r"::error file=([^,]+),line=(\d+),", line).expand(r"\1:\2") for line in errors
    } == EXPECTED
    assert (
        f"::warning file=entries/gkd.yaml,line={org_line},title=ingest check (ungrounded)::org: "
        in result.stdout
    )
    text = summary.read_text()
    assert text.startswith("earlier step\n## ingest check")
    assert "| `entries/gkd.yaml` | " + str(org_line) + " | org | ungrounded, low-confidence | 0.30 |" in text


def test_strict_turns_warnings_into_exit_1_and_json_lists_them(root: Path) -> None:
    ingest(root, "render")
    catalog = CatalogRoot(root)
    entry = catalog.read_entry("gkd")
    catalog.write_entry(entry.model_copy(update={"evidence": {"title": FieldEvidence(confidence=0.55)}}))
    assert ingest(root, "check").exit_code == 0
    assert ingest(root, "check", "--strict").exit_code == 1
    assert ingest(root, "check", "--strict", "--min-confidence", "0.5").exit_code == 0
    data = json.loads(ingest(root, "check", "--format", "json").stdout)
    assert [(p["file"], p["field"], p["severity"], p["code"]) for p in data["problems"]] == [
        ("entries/gkd.yaml", "title", "warning", "low-confidence")
    ]
    assert data["counts"]["warnings"] == 1
    assert data["exit_code"] == 0
    assert json.loads(ingest(root, "check", "--format", "json", "--strict").stdout)["exit_code"] == 1


def test_check_outside_a_root_is_bad_usage(tmp_path: Path) -> None:
    result = ingest(tmp_path / "nowhere", "check")
    assert result.exit_code == 2
    assert "not a catalog root" in result.stderr
    assert ingest(tmp_path, "check", "--format", "yaml").exit_code == 2


def test_the_installed_console_script_runs_check(root: Path) -> None:
    exe = Path(sys.executable).with_name("ingest")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ingest"]
    done = subprocess.run(
        [*command, "--root", str(root), "check", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [p["code"] for p in json.loads(done.stdout)["problems"]] == ["render-skipped"]


def test_import_markdown_prints_what_it_could_not_place_with_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "small.md"
    source.write_text(
        "# My list\n\n## 🧪 Alchemy\n\n| Resource | Date |\n| --- | --- |\n"
        "| [X](https://x.org) | 2024.01 |\n\n"
        "## 🔬 OPD with Larger External Teachers — White-Box\n\n"
        "| Resource | 🌟 Stars | Date | Org | Paper Link | Title / Notes |\n| - | - | - | - | - | - |\n"
        "| [GKD](https://arxiv.org/abs/2306.13649) | — | 2023.06 | DeepMind | — | GKD |\n"
        "| [Bad](https://x.org) | — | 2023.06 |\n",
        encoding="utf-8",
    )
    root = tmp_path / "new-root"
    result = ingest(root, "import-markdown", str(source))
    assert result.exit_code == 0
    assert f"{source}:3: " in result.stderr  # the unknown heading
    assert f"{source}:14: " in result.stderr  # the short row: read with its missing cells empty (GFM)
    assert "imported 2 entries and 0 exclusions" in result.stdout
    assert (root / "entries" / "gkd.yaml").exists()
    assert (root / "entries" / "bad.yaml").exists()


def test_annotations_name_files_from_the_repository_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "entries" / "zz-section.yaml").write_text("id: zz-section\nname: S\nsections:\n  - alchemy\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(root.parent))  # the root is a subfolder of the repository
    result = ingest(root, "check", "--format", "github")
    assert f"::error file={root.name}/entries/zz-section.yaml,line=4," in result.stdout
