"""The layer rules of docs/ARCHITECTURE.md, checked on the source: who may import what."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ingest"


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
    assert not {name for name in imports(PACKAGE / "models.py") if name.startswith("ingest")}


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
