"""The public API of `import ingest`: pinned names, a cheap import, and a script that uses nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fpdf import FPDF

import ingest

REPO = Path(__file__).resolve().parents[1]

PUBLIC = [
    "AddResult",
    "Candidate",
    "CatalogError",
    "CatalogRoot",
    "CheckReport",
    "Config",
    "ConfigError",
    "Decision",
    "Entry",
    "Env",
    "Exclusion",
    "Extraction",
    "IngestError",
    "LockedError",
    "PaperError",
    "PaperOutcome",
    "Pipeline",
    "PipelineOptions",
    "Proposal",
    "RunReport",
    "ServiceError",
    "UsageError",
    "add",
    "approve",
    "backfill",
    "check_root",
    "edit",
    "evaluate_root",
    "open_root",
    "recover",
    "reject",
    "render",
    "run",
]


def python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert ingest.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(ingest, name) is not None, name


def test_import_ingest_loads_no_heavy_library() -> None:
    done = python(
        "import sys, ingest; heavy = {'pydantic', 'openai', 'instructor', 'pypdf', 'rich', 'ruamel'}; "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# What a command must not import (start-up, issue 10), each for the reason that it is not needed there.
NEVER = ("openai", "instructor", "pypdf", "pypdfium2", "httpx", "rapidfuzz", "ruamel", "rich", "markdown_it")
# `--help` and `review list` on an empty queue read no record: no validation library, no model, no taxonomy.
NO_MODELS = ("pydantic", "ingest.models.catalog", "ingest.taxonomy", "ingest.config")

# Runs the CLI's own entry point with the arguments given, then names the modules above that got imported.
CLI_IMPORTS = """
import sys
from ingest.cli import main
watched = sys.argv[1].split(",")
sys.argv = ["ingest", *sys.argv[2:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, f"exit {exc.code}"
print("loaded", sorted(m for m in watched if m in sys.modules))
"""


def cli_imports(cache: Path, watched: tuple[str, ...], *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CLI_IMPORTS, ",".join(watched), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "INGEST_CACHE_DIR": str(cache)},
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded "), done.stdout
    return [name.strip("'") for name in last.removeprefix("loaded [").removesuffix("]").split(", ") if name]


def test_help_and_an_empty_queue_import_no_model_and_no_heavy_library(tmp_path: Path) -> None:
    root = ingest.open_root(tmp_path / "root", create=True)
    watched = NEVER + NO_MODELS
    assert cli_imports(tmp_path / "cache", watched, "--help") == []
    assert cli_imports(tmp_path / "cache", watched, "--root", str(root.path), "review", "list") == []


def test_check_imports_only_what_validating_needs(tmp_path: Path) -> None:
    """The repository's own catalog (its cache in tmp_path): check validates with pydantic, and needs nothing
    of the list above; checked again unchanged, it gives the kept report and needs not even pydantic."""
    assert cli_imports(tmp_path / "cache", (*NEVER, "pydantic"), "check") == ["pydantic"]
    assert cli_imports(tmp_path / "cache", (*NEVER, "pydantic", *NO_MODELS), "check") == []


# The offline commands, one after the other in one process (one interpreter start for all): after each, the
# LLM client and the HTTP client must still be unloaded. The heuristic `add` of a local PDF asks no service.
OFFLINE = """
import json, sys
from pathlib import Path
from ingest.cli import main

root, listing, pdf, other = sys.argv[1:5]
def ingest(*args):
    sys.argv = ["ingest", "--root", root, *args]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, f"{args}: exit {exc.code}"
    loaded = sorted(m for m in ("openai", "instructor", "httpx") if m in sys.modules)
    print("after", args[0], args[1] if len(args) > 1 and not args[1].startswith("/") else "", loaded)
def queued():
    return sorted(p.stem for p in (Path(root) / "review_queue").glob("*.yaml"))

ingest("import-markdown", listing)
ingest("render")
ingest("check")
ingest("add", "--backend", "heuristic", pdf)
[first] = queued()
ingest("review", "list")
ingest("review", "show", first)
ingest("review", "approve", first)
ingest("add", "--backend", "heuristic", other)
[second] = queued()
ingest("review", "reject", second, "--reason", "not this list")
ingest("render")
ingest("check")
"""


def test_the_offline_commands_never_import_the_llm_client(tmp_path: Path) -> None:
    """import, render, check, a heuristic add and the review commands need no LLM or HTTP client: `openai`
    alone costs 1 to 2.5 s of CPU to import (its pydantic types), more than most of these commands' work."""
    listing = REPO / "tests" / "fixtures" / "awesomeopd-later" / "README.md"
    pdf = _paper(tmp_path / "paper.pdf")
    other = _paper(tmp_path / "other.pdf", title="Teacher Hints: Distilling Reasoning Traces On Policy")
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE, str(tmp_path / "cat"), str(listing), str(pdf), str(other)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "INGEST_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    after = [line for line in done.stdout.splitlines() if line.startswith("after ")]
    assert len(after) == 11, done.stdout
    assert all(line.endswith(" []") for line in after), "\n".join(after)


TITLE = "Student Rollouts: On-Policy Distillation of Small Language Models"


def _paper(path: Path, title: str = TITLE) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=18)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(
        0,
        6,
        " ".join(
            "We propose on-policy distillation where the student samples its own outputs and the teacher "
            "scores them with a reverse KL divergence on every token." for _ in range(8)
        ),
    )
    pdf.output(str(path))
    return path


SCRIPT = """
import sys
import ingest

root = ingest.open_root(sys.argv[1], environ={"INGEST_CACHE_DIR": sys.argv[3]}, create=True)
result = ingest.add(root, [sys.argv[2]], ingest.PipelineOptions(backend="heuristic"))
assert result.exit_code == 0, result.failures
assert len(result.proposals) == 1, result.proposals
decisions = ingest.approve(root, [result.proposals[0].id], reviewer="script")
assert len(decisions) == 1
entries = root.entries()
assert len(entries) == 1
ingest.render(root)
report = ingest.check_root(root)
assert not report.errors, [str(p) for p in report.errors]
try:
    ingest.open_root(sys.argv[1] + "-missing")
except ingest.UsageError as exc:
    assert exc.exit_code == 2
else:
    raise AssertionError("a missing root must be a UsageError")
print("ok", sorted(entries))
"""


def test_a_script_adds_approves_renders_and_checks_through_the_public_api(tmp_path: Path) -> None:
    pdf = _paper(tmp_path / "paper.pdf")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "cat"), str(pdf), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok [")
    assert (tmp_path / "cat" / "README.md").is_file()
    assert (tmp_path / "cache").is_dir()  # the cache dir came from the settings the script passed


NO_OP_RUN = """
import os, sys
import ingest

from ingest.models import Entry, Link, LinkKind

root = ingest.open_root(sys.argv[1], environ=os.environ, create=True)
options = ingest.PipelineOptions(backend="openai", model="m")
section = root.taxonomy.catalog_sections[0].id
for i in range(3):  # entries to index: their ids, titles and versions, not their models (knowncache.py)
    aid = f"2306.1364{i}"
    link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}v2", arxiv_id=aid)
    root.write_entry(Entry(id=f"e{i}", name=f"E{i}", title=f"Paper {i}", links=[link], sections=[section]))
for _ in range(2):  # a first run that finds nothing, then its rerun
    report = ingest.run(root, options)
    assert report.candidates == 0 and not report.proposed, report
    assert report.backend == "openai" and report.model == "m"
    assert report.version_checked == 3, report.version_checked
# nothing found: no LLM client, no PDF reader, no fuzzy matching, not even the screening rules
watched = ("openai", "instructor", "pypdf", "pypdfium2", "rapidfuzz", "ingest.extract.screen")
loaded = sorted(m for m in watched if m in sys.modules)
print("loaded", loaded)
"""


def test_a_run_with_nothing_to_do_builds_no_backend(arxiv_mirror, tmp_path: Path) -> None:
    arxiv_mirror.route_search(arxiv_mirror.feed([]))
    done = subprocess.run(
        [sys.executable, "-c", NO_OP_RUN, str(tmp_path / "cat")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        # The key is set: the openai backend is chosen, yet never built (nor its client imported).
        env={**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "k"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded []"


RUN_SCRIPT = """
import json, os, sys
import ingest

def main():
    root = ingest.open_root(sys.argv[1], environ=os.environ, create=True)
    report = ingest.run(root, ingest.PipelineOptions(backend="heuristic"))
    print(json.dumps({"proposed": len(report.proposed), "failed": [f.reason for f in report.failed]}))

"""


def test_a_script_that_runs_ingest_needs_the_main_guard_and_is_told_so(arxiv_mirror, tmp_path: Path) -> None:
    # The PDF readers are processes that import the script's module, as every multiprocessing child does;
    # without the guard, each one ran the script again and died at the root's lock, and every paper failed
    # with "BrokenProcessPool: A process in the process pool was terminated abruptly ...".
    from datetime import UTC, datetime, timedelta

    for paper in ("2306.13649", "2512.24092"):  # tuning-half corpus papers: two, so the readers are used
        arxiv_mirror.list_paper(paper, submitted=datetime.now(UTC) - timedelta(days=2))
    env = {**os.environ, "PYTHONPATH": str(REPO), "INGEST_LOCK_WAIT": "0"}
    outputs = {}
    for name, tail in (("guarded", 'if __name__ == "__main__":\n    main()\n'), ("bare", "main()\n")):
        if name == "bare":  # a third paper: one may reach the readers after the pool broke (its submit fails)
            arxiv_mirror.list_paper("2603.10165", submitted=datetime.now(UTC) - timedelta(days=2))
        script = tmp_path / f"{name}.py"
        script.write_text(RUN_SCRIPT + tail)
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={**env, "INGEST_CACHE_DIR": str(tmp_path / name / ".ingest-cache")},  # no text parsed before
        )
        assert done.returncode == 0, done.stderr
        outputs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    assert outputs["guarded"] == {"proposed": 2, "failed": []}
    bare = outputs["bare"]
    assert bare["proposed"] == 0
    assert len(bare["failed"]) >= 2  # the third may be screened out before it is read
    for reason in bare["failed"]:
        assert "reader process ended abruptly" in reason
        assert 'if __name__ == "__main__":' in reason
