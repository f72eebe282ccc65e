"""The docs keep up with the code: help texts, README.md, docs/CLI.md and the config descriptions."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from ingest.cli import cli
from ingest.cli.reference import OUTPUT, commands, config_keys, render

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    (path, command) for path, command in commands(cli, click.Context(cli, info_name="ingest"), "ingest")
]


def test_the_command_list_is_complete() -> None:
    paths = [path for path, _ in COMMANDS]
    assert "ingest review approve" in paths
    assert "ingest check" in paths
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_and_option_has_help(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"`{path}` has no help text: give its function a docstring"
    ctx = click.Context(command, info_name=path.split()[-1])
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"`{path} {param.opts[0]}` has no help text"
    if not isinstance(command, click.Group):
        assert "exit" in (command.help or "").lower(), f"`{path} --help` does not say its exit codes"


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_every_command_is_in_the_readme(path: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # `ingest review list`, or with the global option between: `ingest --root DIR review list`.
    words = path.split()[1:]
    pattern = r"\bingest(?: --root \S+)? " + r" ".join(map(re.escape, words)) + r"\b"
    assert re.search(pattern, readme), f"README.md does not mention `{path}`: add it to the command table"


def test_docs_cli_md_is_generated_from_the_current_commands() -> None:
    assert OUTPUT == REPO / "docs" / "CLI.md"
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    assert current == render(cli), "docs/CLI.md is stale: run `python -m ingest.cli.reference` and commit it"


def test_every_config_key_has_a_description() -> None:
    keys = config_keys()
    assert ("check.min_confidence", "`0.6`", "fields below this are flagged") in keys
    missing = [key for key, _, text in keys if not text.strip()]
    assert not missing, f"ingest.yaml keys without a Field description in ingest/config.py: {missing}"


def test_every_config_key_is_in_the_reference_and_the_bundled_file() -> None:
    reference = OUTPUT.read_text(encoding="utf-8")
    bundled = (REPO / "ingest" / "data" / "ingest.yaml").read_text(encoding="utf-8")
    # the repository's own, which says "these are the defaults" to whoever forks it
    ours = (REPO / "ingest.yaml").read_text(encoding="utf-8")
    for key, _, _ in config_keys():
        assert f"| `{key}` |" in reference, key
        assert re.search(rf"^\s*{re.escape(key.split('.')[-1])}:", bundled, re.M), f"{key} not in ingest.yaml"
        assert re.search(rf"^\s*{re.escape(key.split('.')[-1])}:", ours, re.M), f"{key} not in ./ingest.yaml"


DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_every_module_a_doc_names_exists(doc: Path) -> None:
    # A reader follows `ingest/jobs/run.py` to the code; a path left behind by a move sends them nowhere.
    named = set(re.findall(r"`((?:ingest|tests|bench)/[\w/.-]+\.(?:py|md|yaml|yml|json))`", doc.read_text()))
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"{doc.name} names files that do not exist: {missing}"



def test_every_readme_section_the_workflows_point_to_exists() -> None:
    # The workflows' messages send a maintainer to a README section by its title ("README: Add a paper").
    headings = {m.strip() for m in re.findall(r"^#+ (.+)$", (REPO / "README.md").read_text(), re.M)}
    cited: set[str] = set()
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        cited |= set(re.findall(r"README[:,] \"?([A-Z][\w ]+?)\"?\)", workflow.read_text()))
    assert cited, "no workflow points to a README section any more: drop this test"
    assert not cited - headings, f"README.md has no section {sorted(cited - headings)}"


def test_the_readmes_install_command_installs_every_library_the_tests_import() -> None:
    # README: `pip install -e ".[test]"`, then `pytest`. A library the tests import that neither the
    # package nor its `test` extra requires fails the collection on a fresh checkout.
    import ast
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {
        re.split(r"[<>=!\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-")
        for spec in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    ours = {p.stem for p in (REPO / "tests").glob("*.py")} | {"ingest", "bench", "conftest"}
    imported: set[str] = set()
    for path in [*(REPO / "tests").glob("*.py"), *(REPO / "bench").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = sorted(imported - ours - set(sys.stdlib_module_names))
    dists = packages_distributions()
    missing = {
        module: dists.get(module)
        for module in third_party
        if not {d.lower().replace("_", "-") for d in dists.get(module, [module])} & declared
    }
    assert not missing, f"tests/ or bench/ import these; add them to pyproject.toml's test extra: {missing}"


def test_every_environment_variable_is_in_the_readme() -> None:
    from ingest.env import Env

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [v for v in Env.variables().values() if f"`{v}`" not in readme]
    assert not missing, f"README.md's Environment paragraph lacks {missing}"
