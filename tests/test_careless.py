"""A careless maintainer's catalog: the repository's own root copied, then edited, renamed and interrupted the
way people do; each time the tool says, in one line naming the file and line, what went wrong and what to do.

Through the CLI's entry point in this process (helpers_cli.ingest_here), except where the process itself is
the point (Ctrl-C: a real signal to a real `ingest` process)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers_cli import ingest_here

from ingest.yamlio import load_yaml

REPO = Path(__file__).resolve().parent.parent
ROOT_FILES = ("entries", "ingest.yaml", "taxonomy.yaml", "CATALOG.md")
# Tuning-half corpus papers (tests/data/corpus-truth.yaml): two updates of catalog entries and an exclusion.
TUNING = ("openclaw-rl-2603.10165.pdf", "hy-mt1.5-2512.24092-report.pdf", "kd-survey-2006.05525v4.pdf")

# `ingest` in a child that sends itself a real signal, SIGINT (what Ctrl-C sends) unless SIGNAL names another,
# at the first audit event once argv[1] exists, or, with argv[1] = "replace:NAME", when it is about to move a
# file onto NAME.
CTRL_C_AT = """
import os, signal, sys
from pathlib import Path
when, fired = sys.argv[1], []
sent = getattr(signal, os.environ.get("SIGNAL", "SIGINT"))
def hook(event, args):
    if fired or event == "os.kill":
        return
    if when.startswith("replace:"):
        due = event == "os.rename" and str(args[1]).endswith(when[len("replace:"):])
    else:
        due = Path(when).exists()
    if due:
        fired.append(1)
        os.kill(os.getpid(), sent)
sys.addaudithook(hook)
from ingest.cli import cli
cli(sys.argv[2:], prog_name="ingest")
"""


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


@pytest.mark.parametrize("moved", ["entries/gkd.yml", "entries/old/gkd.yaml"])
def test_an_entry_renamed_to_yml_or_moved_into_a_subfolder_is_named_not_dropped_silently(
    catalog: Path, moved: str
) -> None:
    assert ingest_here(catalog, "check").returncode == 0  # the check remembered for an unchanged root
    target = catalog / moved
    target.parent.mkdir(exist_ok=True)
    (catalog / "entries" / "gkd.yaml").rename(target)
    shown = "entries/gkd.yml" if moved.endswith(".yml") else "entries/old"
    what = (
        "not read: only files named *.yaml are; rename it to gkd.yaml"
        if moved.endswith(".yml")
        else "a folder: only the .yaml files directly in entries/ are read; move its files up"
    )
    check = ingest_here(catalog, "check")
    assert f"{shown}: warning: {what} [not-read]" in check.stdout
    render = ingest_here(catalog, "render")
    assert render.returncode == 0
    assert render.stderr.strip().splitlines() == [f"warning: {shown}: {what}; its entry is not in the list"]


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


def test_an_axis_value_renamed_in_one_place_of_the_taxonomy_points_at_the_place_still_using_it(
    catalog: Path,
) -> None:
    taxonomy = catalog / "taxonomy.yaml"
    edit(taxonomy, "      - id: external\n", "      - id: outside-teacher\n")
    data = load_yaml(taxonomy)
    first = next(i["id"] for i in data["implications"] if "external" in i["axes"].get("teacher_source", []))
    lines = taxonomy.read_text(encoding="utf-8").splitlines()
    implication = next(n for n, text in enumerate(lines, 1) if f"id: {first}" in text)
    render = ingest_here(catalog, "render")
    assert render.returncode == 2
    (line,) = render.stderr.strip().splitlines()
    assert line.startswith(f"error: {taxonomy}:{implication}: taxonomy: implication ")
    assert "['external'] not values of axis teacher_source" in line
    assert "Value error" not in line
    assert line.endswith("(an id renamed in one place must be renamed everywhere taxonomy.yaml uses it)")
    # Renamed everywhere in the taxonomy: each entry still using the old value is named by check.
    text = taxonomy.read_text(encoding="utf-8")
    taxonomy.write_text(text.replace("teacher_source: [external]", "teacher_source: [outside-teacher]"))
    check = ingest_here(catalog, "check")
    assert check.returncode == 1
    gkd = catalog / "entries" / "gkd.yaml"
    at = line_of(gkd, "    - external")
    assert (
        f"entries/gkd.yaml:{at}: error: axes.teacher_source: 'external' is not in its vocabulary"
        in check.stdout
    )


# -- Ctrl-C -------------------------------------------------------------------------------------------------


def ctrl_c_at(root: Path, when: str, *args: str, sent: str = "SIGINT") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CTRL_C_AT, when, "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SIGNAL": sent},
    )


def queued(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "review_queue").glob("*.yaml"))


def test_ctrl_c_in_a_batch_approve_says_what_it_approved_and_what_is_still_queued(
    catalog: Path, pdfs: Path
) -> None:
    added = ingest_here(catalog, "add", "--backend", "heuristic", *(str(pdfs / name) for name in TUNING))
    assert added.returncode == 0, added.stderr
    ids = queued(catalog)
    assert len(ids) == 3
    first, second, third = ids
    done = ctrl_c_at(catalog, str(catalog / "decisions" / f"{second}.yaml"), "review", "approve", *ids)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: interrupted (Ctrl-C): approved 2 of 3 ({first}, {second}); still in the queue: {third} "
        f"(run `ingest review approve {third}` to finish)"
    ]
    assert queued(catalog) == [third]
    assert sorted(p.stem for p in (catalog / "decisions").glob("*.yaml")) == [first, second]
    assert not list((catalog / ".ingest-journal").glob("*.yaml"))
    check = ingest_here(catalog, "check")
    assert check.returncode == 0, check.stdout  # the two approvals are rendered: the list is in sync
    again = ingest_here(catalog, "review", "approve", third)
    assert again.returncode == 0, again.stderr
    assert queued(catalog) == []


def test_ctrl_c_in_render_leaves_the_old_list_whole_and_says_so(catalog: Path) -> None:
    listed = catalog / "CATALOG.md"
    edit(catalog / "entries" / "gkd.yaml", "name: GKD\n", "name: GKD renamed\n")
    before = hashlib.sha256(listed.read_bytes()).hexdigest()
    done = ctrl_c_at(catalog, "replace:CATALOG.md", "render")
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: interrupted (Ctrl-C): every file ingest writes is replaced whole, so what it finished is "
        "kept and nothing is half-written (run the command again to finish)"
    ]
    assert hashlib.sha256(listed.read_bytes()).hexdigest() == before
    assert [p.name for p in catalog.iterdir() if p.name.startswith(".CATALOG.md.")] == []
    assert ingest_here(catalog, "render").returncode == 0
    assert "GKD renamed" in listed.read_text(encoding="utf-8")


# -- the rendered list edited by hand ----------------------------------------------------------------------


def test_render_says_it_replaced_a_hand_edit_between_the_markers_and_keeps_the_old_file(
    catalog: Path, tmp_path: Path
) -> None:
    listed = catalog / "CATALOG.md"
    assert ingest_here(catalog, "render").returncode == 0  # ingest now knows what it wrote
    edit(listed, "| [GKD](", "| [GKD, our favourite](")
    edited = listed.read_text(encoding="utf-8")
    line = next(i for i, text in enumerate(edited.splitlines(), 1) if "GKD, our favourite" in text)
    done = ingest_here(catalog, "render")
    assert done.returncode == 0, done.stderr
    kept = Path(os.environ["INGEST_CACHE_DIR"]) / "replaced" / "CATALOG.md"
    assert done.stderr.strip().splitlines() == [
        f"warning: CATALOG.md:{line}: the catalog between the markers was edited by hand since ingest last "
        f"rendered it, and render replaced the edit (the old file is kept at {kept}); "
        "make the change in entries/ (or outside the markers, which render keeps)"
    ]
    assert "GKD, our favourite" not in listed.read_text(encoding="utf-8")
    assert kept.read_text(encoding="utf-8") == edited  # nothing lost
    assert ingest_here(catalog, "render").stderr == ""  # said once, for the edit it replaced


def test_render_after_an_entry_changed_is_not_taken_for_a_hand_edit(catalog: Path) -> None:
    assert ingest_here(catalog, "render").returncode == 0
    edit(catalog / "entries" / "gkd.yaml", "name: GKD\n", "name: GKD renamed\n")
    assert ingest_here(catalog, "check").returncode == 1  # out of sync: check renders, writes nothing
    done = ingest_here(catalog, "render")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "GKD renamed" in (catalog / "CATALOG.md").read_text(encoding="utf-8")


# -- hand edits a parser words obscurely ---------------------------------------------------------------------


CONFLICT = "<<<<<<< HEAD\nname: GKD\n=======\nname: GKD (ICLR 2024)\n>>>>>>> their-branch\n"
CONFLICT_LINE = (
    "a merge conflict is left in the file (a <<<<<<< or >>>>>>> line) (keep the side you want and delete "
    "the <<<<<<<, ======= and >>>>>>> lines)"
)
TAB_LINE = "a tab indents this line; YAML indents with spaces only (replace the tab with spaces)"


def test_a_merge_conflict_left_in_an_entry_is_named_with_its_line(catalog: Path) -> None:
    gkd = catalog / "entries" / "gkd.yaml"
    edit(gkd, "name: GKD\n", CONFLICT)
    before = (catalog / "CATALOG.md").read_bytes()
    check = ingest_here(catalog, "check")
    assert check.returncode == 1
    assert "entries/gkd.yaml:2: error: a merge conflict is left in the file" in check.stdout
    render = ingest_here(catalog, "render")
    assert render.returncode == 1
    assert render.stderr.strip() == f"error: {gkd}:2: {CONFLICT_LINE}"
    assert (catalog / "CATALOG.md").read_bytes() == before


def test_a_merge_conflict_left_in_ingest_yaml_is_named_with_its_line(catalog: Path) -> None:
    settings = catalog / "ingest.yaml"
    edit(
        settings, "  max_reasks: 2\n", "<<<<<<< HEAD\n  max_reasks: 2\n=======\n  max_reasks: 3\n>>>>>>> b\n"
    )
    line = line_of(settings, "<<<<<<< HEAD")
    render = ingest_here(catalog, "render")
    assert render.returncode == 2
    assert render.stderr.strip() == f"error: {settings}:{line}: {CONFLICT_LINE}"


def test_a_tab_in_an_entrys_indentation_is_named_as_a_tab(catalog: Path) -> None:
    gkd = catalog / "entries" / "gkd.yaml"
    edit(gkd, "\n  surveys: 6\n", "\n\tsurveys: 6\n")
    line = line_of(gkd, "\tsurveys: 6")
    check = ingest_here(catalog, "check")
    assert check.returncode == 1
    assert (
        f"entries/gkd.yaml:{line}: error: a tab indents this line; YAML indents with spaces only"
        in check.stdout
    )
    render = ingest_here(catalog, "render")
    assert render.stderr.strip() == f"error: {gkd}:{line}: {TAB_LINE}"


def test_a_tab_in_a_queued_proposal_is_named_by_review(catalog: Path, pdfs: Path) -> None:
    added = ingest_here(catalog, "add", "--backend", "heuristic", str(pdfs / TUNING[0]))
    assert added.returncode == 0, added.stderr
    (proposal,) = (catalog / "review_queue").glob("*.yaml")
    text = proposal.read_text(encoding="utf-8")
    lines = text.split("\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith("  ") and not ln.startswith("   "))
    lines[i] = "\t" + lines[i][2:]
    proposal.write_text("\n".join(lines), encoding="utf-8")
    shown = ingest_here(catalog, "review", "show", proposal.stem)
    assert shown.returncode == 1
    assert f"review_queue/{proposal.name}:{i + 1}: a tab indents this line" in shown.stderr + shown.stdout


def test_approving_an_update_keeps_the_comments_a_maintainer_wrote_in_the_entry(
    queued_catalog: tuple[Path, list[str]],
) -> None:
    catalog, ids = queued_catalog
    update = next(i for i in ids if i.startswith("update-openclaw-rl-"))
    entry = catalog / "entries" / "openclaw-rl.yaml"
    plain = catalog.parent / "plain"
    shutil.copytree(catalog, plain)
    commented = "# checked by hand against the v2 PDF\nname: OpenClaw-RL  # the list's name\n"
    edit(entry, "name: OpenClaw-RL\n", commented)
    assert ingest_here(catalog, "review", "approve", update).returncode == 0
    assert ingest_here(plain, "review", "approve", update).returncode == 0
    text = entry.read_text(encoding="utf-8")
    assert commented in text
    # Otherwise the very text an entry without comments gets: the comments are all that differs.
    without = text.replace("# checked by hand against the v2 PDF\n", "").replace("  # the list's name", "")
    assert without == (plain / "entries" / "openclaw-rl.yaml").read_text(encoding="utf-8")
    assert ingest_here(catalog, "check").returncode == 0


def test_add_of_a_paper_whose_entry_file_is_broken_names_that_file(catalog: Path, pdfs: Path) -> None:
    copy = catalog / "entries" / "openclaw-copy.yaml"
    shutil.copy(catalog / "entries" / "openclaw-rl.yaml", copy)  # a copy made in an editor, its id unchanged
    (catalog / "entries" / "openclaw-rl.yaml").unlink()
    done = ingest_here(catalog, "add", "--backend", "heuristic", str(pdfs / TUNING[0]))
    assert done.returncode == 0, done.stderr
    assert (
        "not proposed 2603.10165: entries/openclaw-copy.yaml, which does not load, names it: mend that file "
        "first (`ingest check` shows how)"
    ) in done.stdout + done.stderr
    check = ingest_here(catalog, "check")
    assert (
        "entries/openclaw-copy.yaml:1: error: entry id 'openclaw-rl' does not match the file name"
        in check.stdout
    )


# -- a read-only folder, a full disk -----------------------------------------------------------------------


def mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Makes a folder read-only for this process: a read-only bind mount as root (root writes through any
    mode bits), mode 0555 otherwise; undone after the test."""
    undo: list[Callable[[], object]] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            folder.chmod(0o555)
            undo.append(lambda: folder.chmod(0o755))
        elif mount("--bind", str(folder), str(folder)):
            # lazy: the folder is unmounted even if a process of the test still has a file open in it
            undo.append(lambda: subprocess.run(["umount", "-l", str(folder)], check=False))
            if not mount("-o", "remount,ro,bind", str(folder)):
                pytest.skip("root without the right to remount read-only (a container without CAP_SYS_ADMIN)")
        else:
            pytest.skip("root without the right to bind-mount (a container without CAP_SYS_ADMIN)")
        assert not os.access(folder, os.W_OK)

    yield make
    for step in reversed(undo):
        step()


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".ingest.lock"
    }


@pytest.fixture
def queued_catalog(catalog: Path, pdfs: Path) -> tuple[Path, list[str]]:
    added = ingest_here(catalog, "add", "--backend", "heuristic", *(str(pdfs / name) for name in TUNING))
    assert added.returncode == 0, added.stderr
    return catalog, queued(catalog)


def test_approve_into_a_read_only_entries_folder_is_refused_before_anything_is_written(
    queued_catalog: tuple[Path, list[str]], read_only: Callable[[Path], None]
) -> None:
    catalog, ids = queued_catalog
    read_only(catalog / "entries")
    before = snapshot(catalog)
    done = ingest_here(catalog, "review", "approve", *ids)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: entries/ cannot be written (read-only or no write permission); nothing was decided "
        "(make entries/ writable, then run the command again)"
    )
    assert snapshot(catalog) == before
    excluded = [i for i in ids if i.startswith("exclude-")]
    assert excluded  # an exclusion writes no entry: it goes through
    assert ingest_here(catalog, "review", "approve", *excluded).returncode == 0


def test_review_list_reads_on_when_a_read_only_folder_keeps_it_from_finishing_a_decision(
    queued_catalog: tuple[Path, list[str]], read_only: Callable[[Path], None]
) -> None:
    catalog, ids = queued_catalog
    update = next(i for i in ids if i.startswith("update-"))
    journal = catalog / ".ingest-journal" / f"{update}.yaml"
    killed = ctrl_c_at(catalog, str(journal), "review", "approve", update, sent="SIGKILL")
    assert killed.returncode == -9  # died at its commit point, as a machine would
    assert journal.exists()
    read_only(catalog / "entries")
    listed = ingest_here(catalog, "review", "list")
    assert listed.returncode == 0
    (warning,) = listed.stderr.strip().splitlines()
    assert warning.startswith("warning: an interrupted decision could not be finished (")
    assert "Read-only file system" in warning or "Permission denied" in warning
    assert warning.endswith("); the next command that can write the root finishes it")
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()[1:]) == ids
    assert journal.exists()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1.2 MB tmpfs, to be filled: a full disk for real."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not mount("-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(disk)):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); a full disk cannot be made otherwise")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path, leave_kib: int) -> Path:
    free = shutil.disk_usage(disk).free // 1024
    filler = disk / "filler"
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave_kib) * 1024)
    return filler


@pytest.mark.parametrize("leave_kib", [0, 60])
def test_approve_on_a_full_disk_names_the_file_and_the_next_command_finishes_it(
    queued_catalog: tuple[Path, list[str]], tiny_disk: Path, leave_kib: int
) -> None:
    catalog, ids = queued_catalog
    root = tiny_disk / "cat"
    shutil.copytree(catalog, root, ignore=shutil.ignore_patterns(".ingest-cache"))
    filler = fill(tiny_disk, leave_kib)
    done = ingest_here(root, "review", "approve", *ids)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {root}/")
    assert line.endswith(
        ": No space left on device (free space on that disk, then run the command again: what it finished "
        "is kept)"
    )
    assert not list(root.rglob("*.tmp"))  # no temporary file left behind
    filler.unlink()
    listed = ingest_here(root, "review", "list")
    assert listed.returncode == 0, listed.stderr
    rest = queued(root)  # what the full disk stopped before its commit point (none once every journal was)
    if rest:
        assert ingest_here(root, "review", "approve", *rest).returncode == 0
    assert queued(root) == []
    check = ingest_here(root, "check")
    assert check.returncode == 0, check.stdout
    assert sorted(p.stem for p in (root / "decisions").glob("*.yaml")) == ids
