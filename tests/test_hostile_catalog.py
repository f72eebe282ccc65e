"""Issue 11's probes on the catalog and review side, each against the `ingest` command: the exit code, one
line naming the file and what to do, and nothing else changed on disk (a hash of every file of the root).

A real `ingest` process (cli) where the process is the point: a lock held by another process, a memory
limit, a read that would block, the umask a child inherits, a run and an add at once. The other probes call
the CLI's entry point in this process (helpers_cli.ingest_here): the same exit code, lines and files."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers_cli import ingest_here
from helpers_queue import extraction, new_root
from helpers_run import NEW, arxiv_ids_in_queue, paper_texts, responder, spawn, wait_for

from ingest.catalog.merge import fingerprint
from ingest.catalog.store import CatalogRoot
from ingest.review.propose import propose
from ingest.yamlio import load_yaml, write_yaml

LIST = Path(__file__).parent / "fixtures" / "awesomeopd-later" / "README.md"
LOCK = ".ingest.lock"  # empty whenever no one holds it; taking it creates it, so it is left out of the hash


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under the root (the lock left out): content hash and mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == LOCK or path.is_dir() or not (path.is_file() or path.is_symlink()):
            continue
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else os.readlink(path)
        out[rel] = (digest, stat.S_IMODE(info.st_mode))
    return out


def cli(
    root: Path, *args: str, timeout: float = 60, memory: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "ingest", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def one_line(stderr: str) -> str:
    """The error line: stderr holds it (and at most a hint line), never a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, stderr
    return lines[0]


@pytest.fixture(scope="module")
def imported_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The list imported by a real `ingest import-markdown`, once a module: each test gets a copy of it."""
    base = tmp_path_factory.mktemp("imported")
    # The session's own cache and home: this runs before the per-test environment is set.
    env = {"INGEST_CACHE_DIR": str(base / "cache"), "HOME": str(base / "home")}
    done = cli(base / "cat", "import-markdown", str(LIST), env=env)
    assert done.returncode == 0, done.stderr
    return base / "cat"


@pytest.fixture
def imported(imported_once: Path, tmp_path: Path) -> CatalogRoot:
    root = tmp_path / "cat"
    shutil.copytree(imported_once, root, symlinks=True)
    return CatalogRoot(root)


def approve_by_hand(root: CatalogRoot, entry_id: str, axes: dict[str, list[str]]) -> None:
    """An imported entry as an approved update leaves it: values, paper evidence, fields marked reviewed."""
    path = root.entry_path(entry_id)
    data = load_yaml(path)
    reviewed = {}
    for axis, value in axes.items():
        data["axes"][axis] = value
        data["evidence"][f"axes.{axis}"] = {
            "quotes": [{"text": "we sample from the student", "page": 2, "match": "exact"}],
            "confidence": 0.9,
        }
        reviewed[f"axes.{axis}"] = fingerprint(value)
    data["reviewed"] = reviewed  # as an approved update leaves an imported entry (its provenance stays)
    write_yaml(path, data)


# -- import never destroys review ----------------------------------------------------------------------------


def test_import_over_reviewed_entries_keeps_them_and_says_so(imported: CatalogRoot) -> None:
    approve_by_hand(imported, "bond", {"rollout_consumption": ["all"], "teacher_source": ["external"]})
    before = snapshot(imported.path)
    dry = ingest_here(imported.path, "import-markdown", "--dry-run", str(LIST))
    assert dry.returncode == 0, dry.stderr
    assert snapshot(imported.path) == before
    done = ingest_here(imported.path, "import-markdown", str(LIST))
    assert done.returncode == 0, done.stderr
    for out in (dry.stdout, done.stdout):
        assert "kept: bond axes.rollout_consumption: the list does not say" in out
        assert (
            "not reconciled: bond axes.teacher_source: "
            'the list says ["earlier-checkpoint"]; kept ["external"]' in out
        )
        assert "0 new, 0 field(s)" in out
        assert "1 kept, 1 not reconciled" in out
    assert snapshot(imported.path) == before  # the reviewed values and their evidence are all still there
    entry = imported.read_entry("bond")
    assert entry.axes["rollout_consumption"] == ["all"]
    assert entry.evidence["axes.teacher_source"].quotes


def test_import_takes_what_the_list_changed_and_overwrite_is_explicit(
    imported: CatalogRoot, tmp_path: Path
) -> None:
    approve_by_hand(imported, "bond", {"rollout_consumption": ["all"]})
    changed = tmp_path / "README.md"
    text = LIST.read_text(encoding="utf-8")
    assert "| 2024.07 |" in text
    changed.write_text(
        text.replace("Best-of-N Distillation", "Best-of-N Distillation, revised", 1), encoding="utf-8"
    )
    done = ingest_here(imported.path, "import-markdown", str(changed))
    assert done.returncode == 0, done.stderr
    entry = imported.read_entry("bond")
    assert entry.title == "Best-of-N Distillation, revised"  # never reviewed: the list's new value
    assert entry.axes["rollout_consumption"] == ["all"]  # reviewed: kept
    assert "changed: bond title: the list changed it" in done.stdout
    over = ingest_here(imported.path, "import-markdown", "--overwrite", str(LIST))
    assert over.returncode == 0, over.stderr
    assert imported.read_entry("bond").axes["rollout_consumption"] == ["unknown"]
    assert imported.read_entry("bond").reviewed == {}


def test_import_of_a_file_with_no_tables_leaves_no_folder(tmp_path: Path) -> None:
    prose = tmp_path / "notes.md"
    prose.write_text("# Notes\n\nJust prose, no table.\n", encoding="utf-8")
    root = tmp_path / "new-root"
    done = ingest_here(root, "import-markdown", str(prose))
    assert done.returncode == 2
    assert "no table matched a section" in one_line(done.stderr)
    assert not root.exists()


def test_import_of_a_file_with_no_tables_into_a_root_changes_nothing(
    imported: CatalogRoot, tmp_path: Path
) -> None:
    prose = tmp_path / "notes.md"
    prose.write_text("# Notes\n\nJust prose, no table.\n", encoding="utf-8")
    before = snapshot(imported.path)
    done = ingest_here(imported.path, "import-markdown", str(prose))
    assert done.returncode == 2
    assert "nothing was imported" in one_line(done.stderr)
    assert snapshot(imported.path) == before


# -- the loaders: one line for every bad file ----------------------------------------------------------------


@pytest.fixture
def queued(imported: CatalogRoot) -> tuple[CatalogRoot, str]:
    """The imported root with an update proposal for one of its entries (BOND, a new arXiv version)."""
    proposal = propose(
        imported,
        extraction(imported.taxonomy, paper="2407.14622", name="BOND", entry_id="bond", version=2),
        run_id="t1",
    )
    assert proposal is not None
    assert proposal.kind == "update"
    return imported, proposal.id


def set_first_change(root: CatalogRoot, proposal_id: str, value: str) -> None:
    path = root.proposal_path(proposal_id)
    text = path.read_text(encoding="utf-8")
    old = "  - field: axes.rollout_consumption\n    old:\n      - unknown\n    new:\n      - all\n"
    assert old in text
    path.write_text(
        text.replace(old, old.replace("new:\n      - all\n", f"new: {value}\n")), encoding="utf-8"
    )


@pytest.mark.parametrize(("value", "what"), [("{a: 1}", "not a dict"), ("[[all]]", "not this list")])
def test_a_mapping_or_nested_list_in_a_change_is_one_line_for_check_and_approve(
    queued: tuple[CatalogRoot, str], value: str, what: str
) -> None:
    root, proposal_id = queued
    set_first_change(root, proposal_id, value)
    before = snapshot(root.path)
    check = ingest_here(root.path, "check")
    assert check.returncode == 1
    assert "Traceback" not in check.stdout + check.stderr
    assert f"review_queue/{proposal_id}.yaml:85: error: " in check.stdout
    approve = ingest_here(root.path, "review", "approve", proposal_id)
    assert approve.returncode == 1
    line = one_line(approve.stderr)
    assert line.startswith(f"error: review_queue/{proposal_id}.yaml:8")
    assert what in approve.stderr
    assert snapshot(root.path) == before


@pytest.mark.parametrize(("value", "what"), [("{a: 1}", "not a dict"), ("[[external]]", "not a list")])
def test_a_mapping_or_nested_list_as_an_entry_axis_is_one_line_for_check(
    imported: CatalogRoot, value: str, what: str
) -> None:
    path = imported.entry_path("bond")
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  teacher_source:\n    - earlier-checkpoint\n", f"  teacher_source:\n    - {value}\n")
    )
    before = snapshot(imported.path)
    check = ingest_here(imported.path, "check")
    assert check.returncode == 1
    assert "Traceback" not in check.stdout + check.stderr
    assert (
        f"entries/bond.yaml:25: error: axes.teacher_source: values are words of its vocabulary, {what}"
        in check.stdout
    )
    assert snapshot(imported.path) == before


def alias_bomb() -> str:
    """Nine levels of nine-fold aliases in a flow mapping: ~350 bytes of text, 9**9 strings once expanded."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "{" + ", ".join(levels) + "}"


def test_an_alias_bomb_in_a_change_is_refused_with_bounded_memory(queued: tuple[CatalogRoot, str]) -> None:
    root, proposal_id = queued
    bomb = alias_bomb()
    assert 330 <= len(bomb) <= 400
    set_first_change(root, proposal_id, bomb)
    before = snapshot(root.path)
    # 1 GiB of address space: the interpreter and its libraries fit; expanding the bomb would not
    show = cli(root.path, "review", "show", proposal_id, memory=1 << 30, timeout=60)
    assert show.returncode == 1, show.stderr
    assert "Traceback" not in show.stderr
    assert "MemoryError" not in show.stderr
    assert f"review_queue/{proposal_id}.yaml:85: anchors and aliases (&, *) are not allowed" in show.stderr
    assert snapshot(root.path) == before


def test_a_named_pipe_at_an_entry_is_refused_not_read(imported: CatalogRoot) -> None:
    os.mkfifo(imported.entries_dir / "x.yaml")
    before = snapshot(imported.path)
    check = cli(imported.path, "check", timeout=30)  # a read of the pipe would block until the timeout
    assert check.returncode == 1
    assert "entries/x.yaml: error: is not a regular file" in check.stdout
    assert snapshot(imported.path) == before


def test_a_symlinked_entry_pointing_outside_the_root_is_not_read(
    imported: CatalogRoot, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("id: secret\nname: a file outside the root\nsections: [opd-rl]\n", encoding="utf-8")
    (imported.entries_dir / "secret.yaml").symlink_to(outside)
    before = snapshot(imported.path)
    check = ingest_here(imported.path, "check")
    assert check.returncode == 1
    assert f"entries/secret.yaml: error: resolves outside the catalog root (to {outside})" in check.stdout
    assert "a file outside the root" not in check.stdout
    render = ingest_here(imported.path, "render")
    assert render.returncode == 1
    assert "resolves outside the catalog root" in one_line(render.stderr)
    assert snapshot(imported.path) == before


# -- review edit never loses an edit -------------------------------------------------------------------------


def test_a_kept_edit_is_reopened_not_overwritten(queued: tuple[CatalogRoot, str], tmp_path: Path) -> None:
    root, proposal_id = queued
    seen = tmp_path / "seen.yaml"
    breaks = tmp_path / "break.sh"
    breaks.write_text('#!/bin/sh\nprintf "\\nbroken: [\\n" >> "$1"\n', encoding="utf-8")
    looks = tmp_path / "look.sh"
    looks.write_text(f'#!/bin/sh\ncp "$1" "{seen}"\n', encoding="utf-8")
    first = ingest_here(root.path, "review", "edit", proposal_id, env={"EDITOR": f"sh {breaks}"})
    assert first.returncode == 1
    assert "YAML syntax error" in first.stderr
    assert "reopened by the next `review edit`" in first.stderr
    kept = root.path / ".ingest-journal" / "edits" / f"{proposal_id}.yaml"
    assert kept.read_text(encoding="utf-8").endswith("broken: [\n")
    before = snapshot(root.path)
    second = ingest_here(root.path, "review", "edit", proposal_id, env={"EDITOR": f"sh {looks}"})
    assert seen.read_text(encoding="utf-8").endswith("broken: [\n")  # the editor got the kept edit back
    assert f"reopening your kept edit {kept}" in second.stderr
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    assert snapshot(root.path) == before  # the queue unchanged, the kept copy still as the reviewer left it


# -- one lock for every writer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("add", "1503.02531"),
        ("import-markdown", str(LIST)),
        ("backfill", "--backend", "heuristic"),
        ("review", "approve", "some-proposal"),
        ("review", "reject", "some-proposal", "--reason", "no"),
        ("render",),
    ],
    ids=lambda args: args[0] if args[0] != "review" else f"review-{args[1]}",
)
def test_every_writer_waits_for_the_lock_and_names_its_holder(
    imported: CatalogRoot, args: tuple[str, ...]
) -> None:
    before = snapshot(imported.path)
    with imported.lock("ingest run"):
        assert (imported.path / LOCK).read_text() == f"ingest run pid {os.getpid()}\n"
        done = cli(imported.path, *args, env={"INGEST_LOCK_WAIT": "0.2"})  # the default 5 s, shortened
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert (
        f"another ingest process (ingest run pid {os.getpid()}) holds the lock {imported.lock_path}" in line
    )
    assert f"if process {os.getpid()} is no longer running, the lock is stale" in done.stderr
    assert snapshot(imported.path) == before
    assert (imported.path / LOCK).read_text() == ""  # released: no holder named any more


def test_a_writer_waits_out_a_lock_released_within_its_wait(imported: CatalogRoot) -> None:
    with imported.lock("ingest run"):
        waiting = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--root", str(imported.path), "render"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "INGEST_LOCK_WAIT": "60"},
        )
        time.sleep(2.0)  # long enough for the render to start and meet the lock
        assert waiting.poll() is None  # it waits: it cannot have rendered while the lock is held
    _out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert (imported.path / LOCK).read_text() == ""


def test_a_bad_lock_wait_is_named(imported: CatalogRoot) -> None:
    done = ingest_here(imported.path, "render", env={"INGEST_LOCK_WAIT": "soon"})
    assert done.returncode == 2
    assert "INGEST_LOCK_WAIT" in one_line(done.stderr)


def test_a_run_and_an_add_at_once_never_duplicate_a_proposal(
    arxiv_mirror, llm_server, tmp_path: Path
) -> None:
    root = new_root(tmp_path / "cat")
    papers = list(NEW)[:2]
    arxiv_mirror.route_search(arxiv_mirror.feed(papers), match="on-policy distillation")
    texts = paper_texts(arxiv_mirror.papers)
    gate = threading.Event()
    answer = responder(root.taxonomy, texts)

    def gated(request: dict[str, object]) -> object:
        # Every answer waits until the add is over: the run holds the lock but writes nothing meanwhile, so
        # the root's files before and after the add can be compared.
        gate.wait(timeout=60)
        return answer(request)

    llm_server.default = gated
    options = ("--backend", "openai", "--model", "test-model")
    run = spawn(root.path, "run", *options, "--concurrency", "1")
    try:
        wait_for(lambda: len(llm_server.requests) > 0, what="the run at work")
        before = snapshot(root.path)
        add = cli(root.path, "add", papers[0], *options, env={"INGEST_LOCK_WAIT": "0.2"})
        assert snapshot(root.path) == before
    finally:
        gate.set()
        _out, err = run.communicate(timeout=120)  # always waited for: a failed check leaves no process behind
    assert add.returncode == 2
    assert f"(ingest run pid {run.pid}) holds the lock" in one_line(add.stderr)
    assert run.returncode == 0, err
    assert arxiv_ids_in_queue(root) == sorted(papers)
    # After the run: the paper is queued, so it is neither extracted (no LLM call) nor proposed twice.
    calls = len(llm_server.requests)
    again = ingest_here(root.path, "add", papers[0], *options)  # the run is over: no process needed
    assert again.returncode == 0, again.stderr
    assert f"not extracted {papers[0]}: already in the review queue as " in again.stderr
    assert len(llm_server.requests) == calls
    assert arxiv_ids_in_queue(root) == sorted(papers)


# -- files people can read -----------------------------------------------------------------------------------


def test_written_files_keep_their_mode_and_new_ones_follow_the_umask(queued: tuple[CatalogRoot, str]) -> None:
    root, proposal_id = queued
    entry = root.entry_path("bond")
    os.chmod(entry, 0o640)
    old_umask = os.umask(0o022)  # the child inherits it
    try:
        approve = cli(root.path, "review", "approve", proposal_id)
    finally:
        os.umask(old_umask)
    assert approve.returncode == 0, approve.stderr
    assert stat.S_IMODE(entry.stat().st_mode) == 0o640  # replaced, mode kept
    readme = root.path / "README.md"
    decision = root.decision_path(proposal_id)
    assert stat.S_IMODE(readme.stat().st_mode) == 0o644  # new: what the umask gives, not mkstemp's 0600
    assert stat.S_IMODE(decision.stat().st_mode) == 0o644
    os.chmod(readme, 0o664)
    render = cli(root.path, "render", "--output", str(readme))
    assert render.returncode == 0, render.stderr
    assert stat.S_IMODE(readme.stat().st_mode) == 0o664


def test_a_new_root_ignores_its_cache_journals_and_lock(imported: CatalogRoot) -> None:
    lines = (imported.path / ".gitignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".ingest-cache/", ".ingest-journal/", ".ingest.lock", "runs/"):
        assert pattern in lines
    git = subprocess.run(["git", "init", "-q", str(imported.path)], capture_output=True, text=True)
    if git.returncode != 0:
        pytest.skip("git is not available")
    (imported.path / ".ingest-cache").mkdir()
    (imported.path / ".ingest-cache" / "x").write_text("cached")
    (imported.path / "runs").mkdir()
    (imported.path / "runs" / "20260101T000000Z.journal.json").write_text("{}")
    status = subprocess.run(
        ["git", "-C", str(imported.path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "entries/bond.yaml" in status.stdout
    for hidden in (".ingest-cache", ".ingest.lock", "journal.json"):
        assert hidden not in status.stdout


# -- reviewed means quiet ------------------------------------------------------------------------------------


def test_check_strict_passes_on_a_fully_reviewed_catalog_and_flags_a_change_since(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    proposal = propose(root, extraction(root.taxonomy, confidence=0.3), run_id="t1")
    assert proposal is not None
    strict = ingest_here(root.path, "check", "--strict")
    assert strict.returncode == 1
    assert "low-confidence" in strict.stdout
    approve = ingest_here(root.path, "review", "approve", proposal.id)
    assert approve.returncode == 0, approve.stderr
    entry = root.read_entry(proposal.entry.id if proposal.entry else "")
    assert entry.reviewed
    assert all(entry.evidence[p].confidence < 0.5 for p in entry.evidence if p.startswith("axes."))
    strict = ingest_here(root.path, "check", "--strict")
    assert strict.returncode == 0, strict.stdout
    assert "0 errors, 0 warnings" in strict.stdout
    # a field changed by hand after the review is no longer quiet
    path = root.entry_path(entry.id)
    data = load_yaml(path)
    axis = next(iter(data["axes"]))
    other = next(v.id for v in root.taxonomy.axis(axis).values if [v.id] != data["axes"][axis])
    data["axes"][axis] = [other]
    write_yaml(path, data)
    strict = ingest_here(root.path, "check", "--strict")
    assert strict.returncode == 1
    assert f"axes.{axis}" in strict.stdout
    assert "low-confidence" in strict.stdout


def test_check_strict_passes_after_approving_a_real_heuristic_extraction(tmp_path: Path, pdfs: Path) -> None:
    # Before: the approved entry kept the extraction's `scope` evidence (the heuristic's 0.5), which names no
    # field a reviewer could have approved, so `check --strict` failed on every approved heuristic paper.
    root = new_root(tmp_path / "cat")
    local = tmp_path / "2306.13649v3.pdf"  # a tuning-half corpus paper
    shutil.copyfile(pdfs / "gkd-2306.13649-iclr2024.pdf", local)
    add = cli(root.path, "add", str(local), "--backend", "heuristic")
    assert add.returncode == 0, add.stderr
    [proposal_id] = [p.stem for p in root.queue_dir.glob("*.yaml")]
    proposed = root.read_proposal(proposal_id).entry
    assert proposed is not None
    assert "scope" in proposed.evidence
    approve = cli(root.path, "review", "approve", proposal_id, "--reviewer", "ana")
    assert approve.returncode == 0, approve.stderr
    strict = cli(root.path, "check", "--strict")
    assert strict.returncode == 0, strict.stdout
    assert "0 errors, 0 warnings" in strict.stdout


def test_a_lock_file_left_by_a_killed_process_does_not_block(imported: CatalogRoot) -> None:
    # what `kill -9` leaves: the file still names its holder, but the kernel freed the flock with the process
    (imported.path / LOCK).write_text("ingest run pid 999999\n", encoding="utf-8")
    done = ingest_here(imported.path, "render")
    assert done.returncode == 0, done.stderr
    assert (imported.path / LOCK).read_text(encoding="utf-8") == ""
