"""Issue 11's probes on the catalog and review side, each run as a real `ingest` process: the exit code, one
line naming the file and what to do, and nothing else changed on disk (a hash of every file of the root)."""

from __future__ import annotations

import hashlib
import os
import resource
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers_queue import extraction, new_root
from helpers_run import NEW, arxiv_ids_in_queue, paper_texts, requests_about, responder, spawn, wait_for

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
    root: Path, *args: str, timeout: float = 60, memory: int | None = None
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
        env={**os.environ, "COLUMNS": "200"},
    )


def one_line(stderr: str) -> str:
    """The error line: stderr holds it (and at most a hint line), never a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, stderr
    return lines[0]


@pytest.fixture
def imported(tmp_path: Path) -> CatalogRoot:
    root = tmp_path / "cat"
    done = cli(root, "import-markdown", str(LIST))
    assert done.returncode == 0, done.stderr
    return CatalogRoot(root)


def approve_by_hand(root: CatalogRoot, entry_id: str, axes: dict[str, list[str]]) -> None:
    """An imported entry as an approved update leaves it: values set, paper evidence, fields marked reviewed."""
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


# -- import never destroys review --------------------------------------------------------------------------


def test_import_over_reviewed_entries_keeps_them_and_says_so(imported: CatalogRoot) -> None:
    approve_by_hand(imported, "bond", {"rollout_consumption": ["all"], "teacher_source": ["external"]})
    before = snapshot(imported.path)
    dry = cli(imported.path, "import-markdown", "--dry-run", str(LIST))
    assert dry.returncode == 0, dry.stderr
    assert snapshot(imported.path) == before
    done = cli(imported.path, "import-markdown", str(LIST))
    assert done.returncode == 0, done.stderr
    for out in (dry.stdout, done.stdout):
        assert "kept: bond axes.rollout_consumption: the list does not say" in out
        assert 'not reconciled: bond axes.teacher_source: the list says ["earlier-checkpoint"]; kept ["external"]' in out
        assert "0 new, 0 field(s)" in out and "1 kept, 1 not reconciled" in out
    assert snapshot(imported.path) == before  # the reviewed values and their evidence are all still there
    entry = imported.read_entry("bond")
    assert entry.axes["rollout_consumption"] == ["all"] and entry.evidence["axes.teacher_source"].quotes


def test_import_takes_what_the_list_changed_and_overwrite_is_explicit(imported: CatalogRoot, tmp_path: Path) -> None:
    approve_by_hand(imported, "bond", {"rollout_consumption": ["all"]})
    changed = tmp_path / "README.md"
    text = LIST.read_text(encoding="utf-8")
    assert "| 2024.07 |" in text
    changed.write_text(text.replace("Best-of-N Distillation", "Best-of-N Distillation, revised", 1), encoding="utf-8")
    done = cli(imported.path, "import-markdown", str(changed))
    assert done.returncode == 0, done.stderr
    entry = imported.read_entry("bond")
    assert entry.title == "Best-of-N Distillation, revised"  # never reviewed: the list's new value
    assert entry.axes["rollout_consumption"] == ["all"]  # reviewed: kept
    assert "changed: bond title: the list changed it" in done.stdout
    over = cli(imported.path, "import-markdown", "--overwrite", str(LIST))
    assert over.returncode == 0, over.stderr
    assert imported.read_entry("bond").axes["rollout_consumption"] == ["unknown"]
    assert imported.read_entry("bond").reviewed == {}


def test_import_of_a_file_with_no_tables_leaves_no_folder(tmp_path: Path) -> None:
    prose = tmp_path / "notes.md"
    prose.write_text("# Notes\n\nJust prose, no table.\n", encoding="utf-8")
    root = tmp_path / "new-root"
    done = cli(root, "import-markdown", str(prose))
    assert done.returncode == 2
    assert "no table matched a section" in one_line(done.stderr)
    assert not root.exists()


def test_import_of_a_file_with_no_tables_into_a_root_changes_nothing(imported: CatalogRoot, tmp_path: Path) -> None:
    prose = tmp_path / "notes.md"
    prose.write_text("# Notes\n\nJust prose, no table.\n", encoding="utf-8")
    before = snapshot(imported.path)
    done = cli(imported.path, "import-markdown", str(prose))
    assert done.returncode == 2
    assert "nothing was imported" in one_line(done.stderr)
    assert snapshot(imported.path) == before
