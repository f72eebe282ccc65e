"""The command line as a user meets it: wrong usage is one line and exit 2, plain output off a terminal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import PDFS
from helpers_queue import catalog_entry, extraction, new_root
from helpers_run import NEW, paper_texts, responder
from llm_server import share_text_cache

from ingest.catalog.store import CatalogRoot
from ingest.cli import cli
from ingest.models import Flag, Link, LinkKind
from ingest.review.propose import propose

FALCON = "falcon-2412.12639-aaai2025.pdf"


def ingest(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env, catch_exceptions=False)


def ingest_process(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The program in its own process: what a user's shell shows, tracebacks and logging included."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def queued(tmp_path: Path) -> CatalogRoot:
    """A root with one catalog entry and a weak, flagged `new` proposal."""
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy))
    propose(
        root,
        extraction(root.taxonomy, paper="2305.18290", name="DPO", confidence=0.35, flags=[Flag.ungrounded]),
        run_id="r1",
    )
    return root


# --- wrong usage: exit 2, one line, no traceback ---------------------------------------------------------


def test_a_root_below_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = ingest_process(tmp_path / "afile" / "sub", "add", "2306.13649")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert "afile/sub: Not a directory" in line


def test_render_into_a_folder_is_bad_usage(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    result = ingest(root.path, "render", "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
    assert list(tmp_path.glob("*.md")) == []


def test_importing_a_file_with_no_catalog_table_exits_2_and_says_why(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n\nNo tables here.\n")
    result = ingest(tmp_path / "cat", "import-markdown", str(notes))
    assert result.exit_code == 2
    assert result.stdout == ""  # no "imported 0 entries into cat": there is no root cat
    assert not (tmp_path / "cat").exists()
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"error: {notes}: no table matched a section of taxonomy.yaml; nothing was imported"
    )


@pytest.mark.parametrize("command", ["fetch", "run"])
def test_an_empty_window_is_refused_before_anything_is_fetched(tmp_path: Path, command: str) -> None:
    root = tmp_path / "cat"
    result = ingest(root, command, "--since", "2026-11-20", "--until", "2026-11-01")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--since': 2026-11-20 00:00 is not before --until 2026-11-01 00:00"
        in result.stderr
    )
    assert not root.exists()  # refused before the root was created


def test_fetch_and_run_take_the_same_date_forms(tmp_path: Path) -> None:
    for command in ("fetch", "run"):
        for since in ("2026-11-01", "2026-11-01T10:30", "2026-11-01T10:30:00", "2026-11-01T10:30:00Z"):
            result = ingest(tmp_path / "cat", command, "--since", since, "--until", "2026-10-01")
            assert "is not before --until" in result.stderr, (command, since, result.stderr)
        assert "--since DATE" in ingest(tmp_path, command, "--help").stdout


def test_backfill_names_the_fields_it_accepts(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    result = ingest(root.path, "backfill", "--field", "axes.teacher_sourc")
    assert result.exit_code == 2
    assert "Invalid value for '--field': 'axes.teacher_sourc' is no field backfill fills" in result.stderr
    for axis in root.taxonomy.axes:
        assert f"axes.{axis.id}" in result.stderr


def test_a_bad_ref_is_named_once(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pdf"
    result = ingest(tmp_path / "cat", "add", str(missing))
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.count(str(missing)) == 1, line


def test_the_editor_failing_or_missing_is_one_line_and_exit_2(queued: CatalogRoot) -> None:
    before = queued.proposal_path("dpo-2305.18290v2").read_bytes()
    failing = {"EDITOR": f"{sys.executable} -c 'import sys; sys.exit(3)'"}
    result = ingest(queued.path, "review", "edit", "dpo-2305.18290v2", env=failing)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: editing dpo-2305.18290v2 failed")
    assert "the proposal is unchanged" in line

    # No EDITOR and no terminal (CI, a pipe): refused instead of starting vi on nothing.
    result = ingest(queued.path, "review", "edit", "dpo-2305.18290v2")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no editor: set EDITOR (or VISUAL)")
    assert queued.proposal_path("dpo-2305.18290v2").read_bytes() == before


# --- output a reviewer reads -----------------------------------------------------------------------------


def test_review_list_off_a_terminal_is_one_plain_line_per_proposal(queued: CatalogRoot) -> None:
    result = ingest(queued.path, "review", "list")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "review queue: 1 proposal(s)",
        "dpo-2305.18290v2\tnew\t0.35\tungrounded\t" + queued.read_proposal("dpo-2305.18290v2").title,
    ]
    assert "\x1b[" not in result.stdout


def test_an_empty_queue_says_so(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    result = ingest(root.path, "review", "list")
    assert result.stdout == "review queue: empty\n"


def test_review_show_spells_values_as_yaml_and_has_json(queued: CatalogRoot) -> None:
    shown = ingest(queued.path, "review", "show", "dpo-2305.18290v2")
    assert shown.exit_code == 0
    assert "None" not in shown.stdout
    assert "True" not in shown.stdout
    data = json.loads(ingest(queued.path, "review", "show", "dpo-2305.18290v2", "--json").stdout)
    assert data["proposal"]["id"] == "dpo-2305.18290v2"
    name = next(row for row in data["rows"] if row["field"] == "name")
    assert (name["new"], name["status"]) == ("DPO", "added")


def test_the_run_summary_shows_each_proposals_flags(tmp_path: Path, arxiv_mirror, llm_server) -> None:
    hinton, naca = list(NEW)[:2]
    root = new_root(tmp_path / "cat")
    arxiv_mirror.route_search(arxiv_mirror.feed([hinton, naca]), match="on-policy distillation")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers), low=naca)
    result = ingest(root.path, "run", "--backend", "openai", "--since", "2026-01-01", "--until", "2030-01-01")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("run ")  # the counts on one plain line
    assert "extracted 2, proposed 2" in lines[0]
    weak = next(line for line in lines if line.startswith("proposed ") and naca in line)
    assert weak.endswith("]")  # the flags, not swallowed as rich markup
    assert "low-confidence" in weak
    assert "next: `ingest review list`" in lines


def test_an_unreachable_llm_is_one_line_without_library_logging(
    tmp_path: Path, corpus_paper, corpus_text_cache
) -> None:
    corpus_paper(FALCON)
    cache = tmp_path / "proc-cache"
    share_text_cache(corpus_text_cache, cache)
    root = tmp_path / "cat"
    root.mkdir()
    (root / "ingest.yaml").write_text("extract:\n  retries: 0\n", encoding="utf-8")
    env = {
        "OPENAI_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
        "OPENAI_API_KEY": "k",
        "INGEST_CACHE_DIR": str(cache),
        "CI": "true",
    }
    result = ingest_process(root, "add", "--backend", "openai", str(PDFS / FALCON), env=env)
    assert result.returncode == 3, result.stderr
    assert "API call failed" not in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "could not reach the LLM endpoint" in errors[0]
    assert "\x1b[" not in result.stdout + result.stderr  # CI: no colour codes


def test_approving_a_broken_proposal_says_how_to_repair_it(queued: CatalogRoot) -> None:
    path = queued.proposal_path("dpo-2305.18290v2")
    path.write_text(path.read_text().replace("kind: paper", "kind: papr", 1))
    result = ingest(queued.path, "review", "approve", "dpo-2305.18290v2")
    assert result.exit_code == 1
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: review_queue/dpo-2305.18290v2.yaml:")
    assert "entry.kind" in error
    assert hint == "  (repair it with `ingest review edit dpo-2305.18290v2`, then run again)"
    assert path.exists()


def test_import_markdown_json_is_alone_on_stdout(tmp_path: Path) -> None:
    later = Path(__file__).parent / "fixtures" / "awesomeopd-later"
    root = tmp_path / "cat"
    root.mkdir()
    (root / "taxonomy.yaml").write_bytes((later / "taxonomy.yaml").read_bytes())
    result = ingest(root, "import-markdown", "--json", str(later / "README.md"))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["entries"] == len(list((root / "entries").glob("*.yaml")))
    assert data["exclusions"] > 0  # this taxonomy has a section for the list's "not OPD" works
    assert sum(data["rows_by_section"].values()) >= data["entries"]
    assert data["problems"] == []


def test_a_backfill_whose_every_paper_failed_exits_1(tmp_path: Path, arxiv_mirror) -> None:
    root = new_root(tmp_path / "cat")
    gone = "2510.07842"  # not in the mirror: arXiv has no such paper
    root.write_entry(
        catalog_entry(
            root.taxonomy,
            links=[Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{gone}", arxiv_id=gone)],
        )
    )
    arxiv_mirror.route_search(ids=list(NEW)[:1])
    result = ingest(root.path, "backfill", "--backend", "heuristic")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("backfill-")
    assert lines[0].endswith("downloaded 0, extracted 0, proposed 0, flagged 0, failed 1")
    assert any(line.startswith(f"failed {gone} (lookup): ") for line in lines)


@pytest.mark.parametrize(
    ("args", "message", "help_of"),
    [
        (["run", "--since", "yesterday"], "Invalid value for '--since': 'yesterday'", "ingest run"),
        (["nosuch"], "No such command 'nosuch'", "ingest"),
        (["review", "approve"], "Missing argument 'PROPOSAL_IDS...'", "ingest review approve"),
        (["check", "--format", "xml"], "Invalid value for '--format': 'xml'", "ingest check"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read(
    tmp_path: Path, args: list[str], message: str, help_of: str
) -> None:
    # click's own form was three lines ("Usage: ...", "Try 'ingest run --help' for help.", "Error: ...").
    done = ingest_process(tmp_path, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {message}")
    assert line.endswith(f"(see `{help_of} --help`)")


def test_a_bad_option_of_ingest_itself_is_one_line_too(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "--root", str(a_file), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: Invalid value for '--root'")
    assert line.endswith("(see `ingest --help`)")
