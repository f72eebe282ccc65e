"""The layer rules of docs/ARCHITECTURE.md, checked on the source: who may import what.

The layers, the forbidden imports and the absence of cycles are import-linter contracts in pyproject.toml
(`lint-imports`); the rules import-linter cannot say (click only in the CLI, no private names across modules,
the CLI's command table) are checked here on the syntax tree.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ingest"


def imports(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved inside `ingest`)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_models_import_nothing_from_ingest() -> None:
    for path in sorted((PACKAGE / "models").glob("*.py")):
        outside = {n for n in imports(path) if n.startswith("ingest") and not n.startswith("ingest.models")}
        assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if "cli" not in p.relative_to(PACKAGE).parts],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_cli_imports_click(path: Path) -> None:
    assert not {n for n in imports(path) if n == "click" or n.startswith("click.")}, f"{path} imports click"


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] in ("markdown", "check")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_render_and_check_never_reach_the_llm(path: Path) -> None:
    banned = ("openai", "instructor", "ingest.extract", "ingest.jobs")
    bad = {n for n in imports(path) if n.startswith(banned)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_import_linter_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency (pip install -e '.[test]')"
    done = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_imported_from_another_module(path: Path) -> None:
    bad = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ingest")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert not bad, f"{path} imports private names {bad}"


def test_the_cli_command_table_matches_the_commands() -> None:
    from ingest.cli import COMMANDS, cli

    ctx = click.Context(cli, info_name="ingest")
    for name, (_module, short_help) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=200) == short_help, name


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if "cli" not in p.relative_to(PACKAGE).parts],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_cli_reads_the_environment(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reads = [
        f"os.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "environb", "putenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]
    reads += [n for n in imports(path) if n.startswith("pydantic_settings")]
    assert not reads, f"{path} reads the environment ({reads}): take the setting from the caller"


EVERY_SOURCE = [
    *SOURCES,
    *sorted(PACKAGE.parent.glob("tests/*.py")),
    *sorted(PACKAGE.parent.glob("bench/*.py")),
]


@pytest.mark.parametrize(
    "path",
    EVERY_SOURCE,
    ids=lambda p: str(p.relative_to(PACKAGE.parent)),
)
def test_no_private_name_is_imported_across_modules(path: Path) -> None:
    """A leading underscore means "this module's own": another module that needs it needs a public name."""
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ingest"))
        or (isinstance(node, ast.ImportFrom) and node.level)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, f"{path.name} imports private names {private}"
