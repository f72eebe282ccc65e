"""The catalog layer: one rule set, the record loader's limits, one known-papers index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import ingest_here
from helpers_queue import catalog_entry, extraction, new_root, root_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalog.known import KnownPapers, Snapshot, title_key
from ingest.catalog.queue import load_proposal
from ingest.catalog.records import read_record
from ingest.catalog.store import CatalogRoot
from ingest.check.run import check_root
from ingest.errors import CatalogError
from ingest.models import Candidate
from ingest.review.propose import propose
from ingest.yamlio import MAX_DEPTH, MAX_FILE_BYTES, dumps_yaml, load_yaml, write_yaml

REPO = Path(__file__).resolve().parents[1]
EXCLUDED = "not-opd"


def ingest(root: CatalogRoot, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as a user runs it (a hang fails the test instead of stalling it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--root", str(root.path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def here(root: CatalogRoot, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI through its entry point in this process: for the refusals that cannot hang or blow up the
    process (a pipe, nesting and an alias bomb keep their own process above)."""
    return ingest_here(root.path, *args, env={"NO_COLOR": "1", "COLUMNS": "200"})



def with_exclusions_section(root: CatalogRoot) -> CatalogRoot:
    """The root's taxonomy with one more section whose role is `exclusions` (papers judged out of scope)."""
    data = load_yaml(root.taxonomy_path)
    data["sections"].append({"id": EXCLUDED, "heading": "Not on-policy distillation", "role": "exclusions"})
    write_yaml(root.taxonomy_path, data)
    return CatalogRoot(root.path)


# -- one rule set --


def test_review_refuses_an_entry_in_an_exclusions_section_as_check_does(tmp_path: Path) -> None:
    root = with_exclusions_section(new_root(tmp_path / "cat"))
    tax = root.taxonomy
    made = extraction(tax, paper="2305.18290", name="DPO")
    made.entry.sections = [tax.catalog_sections[1].id, EXCLUDED]
    proposal = propose(root, made, run_id="r1")
    assert proposal is not None
    checked = here(root, "check")
    assert checked.returncode == 1
    assert f"review_queue/{proposal.id}.yaml" in checked.stdout
    assert f"sections: '{EXCLUDED}' lists exclusions" in checked.stdout
    before = root_files(root)
    approved = here(root, "review", "approve", proposal.id)
    assert approved.returncode == 1, approved.stdout + approved.stderr
    lines = [line for line in approved.stderr.splitlines() if EXCLUDED in line]
    assert lines
    assert f"review_queue/{proposal.id}.yaml:" in lines[0]
    assert "Traceback" not in approved.stderr
    assert root_files(root) == before  # nothing approved, nothing written
    # the same section in an entry file: check rejects it too
    root.write_entry(catalog_entry(tax, sections=[EXCLUDED]))
    assert any(p.code == "unknown-section" and p.file == "entries/gkd.yaml" for p in check_root(root).errors)


SECTIONS = ["white-box", "black-box", "surveys", EXCLUDED, "alchemy"]
AXIS_VALUES: list[Any] = ["external", "unknown", "telepathy", {"a": 1}, [["external"]], 3]
entries = st.fixed_dictionaries(
    {
        "sections": st.lists(st.sampled_from(SECTIONS), min_size=1, max_size=3, unique=True),
        "axes": st.dictionaries(
            st.sampled_from(["teacher_source", "mood"]),
            st.one_of(st.lists(st.sampled_from(AXIS_VALUES[:3]), max_size=2), st.sampled_from(AXIS_VALUES)),
            max_size=2,
        ),
        "details": st.dictionaries(
            st.sampled_from(["white-box", "nowhere", EXCLUDED]),
            st.dictionaries(st.sampled_from(["Data", "Flavour"]), st.just("x"), max_size=2),
            max_size=2,
        ),
        "verdicts": st.dictionaries(st.sampled_from(["c1", "c3"]), st.just({"value": "yes"}), max_size=2),
    }
)


@pytest.fixture(scope="module")
def rules_root(tmp_path_factory: pytest.TempPathFactory) -> CatalogRoot:
    return with_exclusions_section(new_root(tmp_path_factory.mktemp("rules") / "cat"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=entries)
def test_review_accepts_exactly_what_check_accepts(rules_root: CatalogRoot, entry: dict[str, Any]) -> None:
    path = rules_root.queue_dir / "prop.yaml"
    data = {"id": "prop", "kind": "new", "title": "A paper", "entry": {"id": "p", "name": "P", **entry}}
    path.parent.mkdir(exist_ok=True)
    path.write_text(dumps_yaml(data), encoding="utf-8")
    try:
        load_proposal(path, rules_root.taxonomy)
        review_accepts = True
    except CatalogError:
        review_accepts = False
    check_accepts = not [p for p in check_root(rules_root).errors if p.file == "review_queue/prop.yaml"]
    assert review_accepts == check_accepts, entry


# -- the loader's limits --

BOMB = """id: bomb
kind: update
title: Bomb
target: gkd
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
changes:
  - field: axes.teacher_source
    new: [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""


@pytest.fixture
def catalog(tmp_path: Path) -> CatalogRoot:
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy))
    return root


def one_line_refusal(result: subprocess.CompletedProcess[str], file: str, message: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode in (1, 2), out
    assert "Traceback" not in out
    hits = [line for line in out.splitlines() if file in line and message in line]
    assert hits, out  # one line per problem (a value can break the schema and a rule at once), no traceback


def test_an_alias_bomb_is_refused_before_it_is_expanded(catalog: CatalogRoot) -> None:
    assert len(BOMB.encode()) < 400
    (catalog.queue_dir).mkdir(exist_ok=True)
    (catalog.queue_dir / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    record = read_record(catalog.queue_dir / "bomb.yaml")
    assert record.error is not None
    assert record.error.line == 5
    for args in (("review", "show", "bomb"), ("check",)):
        one_line_refusal(ingest(catalog, *args), "bomb.yaml", "anchors and aliases (&, *) are not allowed")


def test_nesting_deeper_than_the_limit_is_refused(catalog: CatalogRoot) -> None:
    (catalog.entries_dir / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    (catalog.entries_dir / "deep2.yaml").write_text("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    result = ingest(catalog, "check")
    one_line_refusal(result, "entries/deep.yaml", f"nested deeper than {MAX_DEPTH} levels")
    one_line_refusal(result, "entries/deep2.yaml", f"nested deeper than {MAX_DEPTH} levels")


def test_a_file_over_the_size_limit_is_refused(catalog: CatalogRoot) -> None:
    (catalog.entries_dir / "big.yaml").write_text("id: big\nnotes: " + "x" * MAX_FILE_BYTES + "\n")
    one_line_refusal(here(catalog, "check"), "entries/big.yaml", f"larger than {MAX_FILE_BYTES} bytes")


def test_a_named_pipe_is_refused_without_blocking(catalog: CatalogRoot) -> None:
    os.mkfifo(catalog.entries_dir / "x.yaml")
    one_line_refusal(ingest(catalog, "check", timeout=60), "entries/x.yaml", "is not a regular file")


def test_a_symlink_out_of_the_root_is_refused(catalog: CatalogRoot, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: x\nname: Secret\nsections:\n  - white-box\n")
    (catalog.entries_dir / "x.yaml").symlink_to(outside)
    one_line_refusal(here(catalog, "check"), "entries/x.yaml", "resolves outside the catalog root")


@pytest.mark.parametrize("value", ["{a: 1}", "[[external]]"])
def test_an_axis_value_of_the_wrong_shape_is_one_line_in_check_and_review(
    catalog: CatalogRoot, value: str
) -> None:
    catalog.queue_dir.mkdir(exist_ok=True)
    text = (
        "id: odd\nkind: update\ntitle: Odd\ntarget: gkd\n"
        f"changes:\n  - field: axes.teacher_source\n    new: {value}\n"
    )
    (catalog.queue_dir / "odd.yaml").write_text(text)
    before = root_files(catalog)
    one_line_refusal(here(catalog, "check"), "review_queue/odd.yaml:7", "changes.")
    one_line_refusal(here(catalog, "review", "approve", "odd"), "review_queue/odd.yaml:7", "changes.")
    assert root_files(catalog) == before


def test_an_entrys_axis_written_as_a_mapping_is_an_error_not_a_crash(catalog: CatalogRoot) -> None:
    (catalog.entries_dir / "map.yaml").write_text(
        "id: map\nname: M\nsections:\n  - white-box\naxes:\n  teacher_source: {a: 1}\n"
    )
    report = check_root(catalog)
    assert {(p.file, p.line) for p in report.errors} >= {("entries/map.yaml", 6)}


# -- the known-papers index --


def test_one_title_rule_for_discover_and_propose(catalog: CatalogRoot) -> None:
    tax = catalog.taxonomy
    catalog.write_entry(
        catalog_entry(tax, id="kd-noid", title="Knowledge Distillation: On-Policy, For Students!", links=[])
    )
    known = KnownPapers.from_root(catalog)
    assert title_key("Knowledge Distillation: On-Policy, For Students!") == (
        "knowledge distillation on policy for students"
    )
    reordered = "For Students: Knowledge Distillation On-Policy"
    candidate = Candidate(arxiv_id="2501.00001", version=1, title=reordered)
    assert known.classify(candidate)[0] == "known"
    entry = known.entry_by_title(reordered, has_arxiv=True)
    assert entry is not None
    assert entry.id == "kd-noid"
    assert known.classify(Candidate(arxiv_id="2501.00002", version=1, title="Something else"))[0] == "new"


def test_the_snapshot_reads_each_folder_once_and_feeds_the_index(catalog: CatalogRoot) -> None:
    tax = catalog.taxonomy
    propose(catalog, extraction(tax, paper="2305.18290", name="DPO"), run_id="r1")
    snapshot = Snapshot.read(catalog)
    known = KnownPapers.from_snapshot(snapshot, catalog.config.arxiv.title_match_threshold)
    assert set(known.entries) == {"gkd"}
    assert "2305.18290" in known.queued
    assert known.ids["2305.18290"].where == "queue"
    assert known.ids["2306.13649"].where == "entry"
