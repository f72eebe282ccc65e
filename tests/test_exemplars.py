"""The few-shot pool: bounded per section, deterministic, chosen from at a constant cost, kept in the cache
as JSON and rebuilt when the entries change."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.extract.exemplars import (
    PER_SECTION,
    SETTLE_NS,
    ExemplarPool,
    choose_examples,
    example_text,
    load_pool,
)
from ingest.jobs.pipeline import EntriesRead, Pipeline
from ingest.models import Candidate, Entry, Link, LinkKind, Verdict

PAPER = Candidate(arxiv_id="2306.13649", title="On-Policy Distillation of Language Models")


def entry(
    i: int, section: str, *, title: str | None = None, arxiv: str | None = None, full: bool = True
) -> Entry:
    aid = arxiv or f"2501.{10000 + i:05d}"
    return Entry(
        id=f"e-{i:05d}",
        name=f"M{i}",
        title=title or f"Method {i} for something else entirely",
        org="Lab" if full else None,
        sections=[section],
        links=[Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}", arxiv_id=aid)],
        axes={"signal": ["logits"]} if full else {},
        verdicts={"c1": Verdict(value="yes")} if full else {},
    )


def test_the_pool_holds_the_best_filled_entries_of_each_section_whatever_the_catalog_size():
    many = [entry(i, ("white-box", "black-box", "surveys")[i % 3], full=i % 7 == 0) for i in range(3000)]
    pool = ExemplarPool.build(many)
    assert len(pool) == 3 * PER_SECTION  # bounded: 3,000 entries, 18 members
    ids = [m.entry.id for m in pool.members]
    assert all(int(i.split("-")[1]) % 7 == 0 for i in ids)  # only well-filled entries are members
    assert ids == [m.entry.id for m in ExemplarPool.build(reversed(many)).members]  # order does not matter
    # The lowest ids win a tie: deterministic across runs.
    white = sorted(i for i in ids if int(i.split("-")[1]) % 3 == 0)
    assert white == [f"e-{n:05d}" for n in range(0, 3000, 21)][:PER_SECTION]
    assert all(m.entry.evidence == {} and m.tokens > 0 for m in pool.members)


def test_choice_prefers_the_section_and_the_title_never_the_paper_and_keeps_the_budget():
    entries = [
        entry(1, "surveys", title=PAPER.title, arxiv=PAPER.arxiv_id),  # the paper itself
        entry(2, "white-box", title="MiniLLM: Knowledge Distillation of Large Language Models"),
        entry(3, "speculative-decoding", title="DistillSpec: Speculative Decoding via Distillation"),
        entry(4, "industrial", title="Qwen3 Technical Report"),
    ]
    pool = ExemplarPool.build(entries)
    chosen = pool.choose(PAPER, k=2, section_hint="speculative-decoding")
    assert [e.id for e in chosen] == ["e-00003", "e-00002"]
    assert all(e.id != "e-00001" for e in pool.choose(PAPER, k=4))
    one = min(m.tokens for m in pool.members)
    assert pool.choose(PAPER, k=3, budget_tokens=one - 1) == []
    within = pool.choose(PAPER, k=3, budget_tokens=2 * one + 5)
    assert 1 <= len(within) <= 2
    assert sum(len(example_text(e)) for e in within) > 0
    # The list form (callers with entries in hand) is the same choice.
    assert choose_examples(entries, PAPER, k=2, section_hint="speculative-decoding") == chosen
    assert pool.choose(PAPER, k=0) == []
    assert ExemplarPool().choose(PAPER, k=2) == []


def _aged(folder: Path, seconds: float = 60) -> None:
    """Files and folder as written a minute ago (a pool read right after a write is not saved)."""
    past = time.time() - seconds
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (past, past))


def _root(tmp_path: Path, count: int) -> CatalogRoot:
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping({})).create()
    for i in range(count):
        root.write_entry(entry(i, ("white-box", "black-box")[i % 2]))
    _aged(root.entries_dir)
    return root


class Reads:
    """A read of the root's entries that counts how often the pool needed one."""

    def __init__(self, root: CatalogRoot) -> None:
        self.root, self.count = root, 0

    def __call__(self) -> tuple[Iterable[Entry], int]:
        self.count += 1
        return list(self.root.entries().values()), time.time_ns()


def test_the_pool_is_kept_as_json_and_read_again_only_when_an_entry_changes(tmp_path):
    root = _root(tmp_path, 30)
    reads = Reads(root)
    first = load_pool(root.entries_dir, root.cache_dir, reads)
    saved = root.cache_dir / "fewshot" / "pool.json"
    assert reads.count == 1
    assert saved.is_file()
    assert json.loads(saved.read_text(encoding="utf-8"))["version"] == 1  # JSON, no pickle
    again = load_pool(root.entries_dir, root.cache_dir, reads)
    assert reads.count == 1  # from the cache: the entries were not read
    assert [m.entry for m in again.members] == [m.entry for m in first.members]

    # A member rewritten in place (the folder's mtime unchanged) is seen by its own identity.
    member = root.entry_path(first.members[0].entry.id)
    folder_times = os.stat(root.entries_dir)
    member.write_text(member.read_text(encoding="utf-8").replace("M0", "Renamed"), encoding="utf-8")
    os.utime(root.entries_dir, ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    _aged(root.entries_dir, 30)
    renamed = load_pool(root.entries_dir, root.cache_dir, reads)
    assert reads.count == 2
    assert "Renamed" in {m.entry.name for m in renamed.members}

    # A new entry (a create changes the folder) makes the next load read the entries again.
    root.write_entry(entry(99, "surveys"))
    _aged(root.entries_dir)
    grown = load_pool(root.entries_dir, root.cache_dir, reads)
    assert reads.count == 3
    assert "e-00099" in {m.entry.id for m in grown.members}

    saved.write_text("{not json", encoding="utf-8")  # a damaged cache is ignored and written again
    assert len(load_pool(root.entries_dir, root.cache_dir, reads)) == len(grown)
    assert reads.count == 4
    load_pool(root.entries_dir, root.cache_dir, reads)
    assert reads.count == 4  # and saved again


def test_a_pool_read_right_after_a_change_is_used_but_not_saved(tmp_path):
    root = _root(tmp_path, 4)
    root.write_entry(entry(50, "surveys"))  # written now: within SETTLE_NS of the read
    reads = Reads(root)
    pool = load_pool(root.entries_dir, root.cache_dir, reads)
    assert "e-00050" in {m.entry.id for m in pool.members}
    assert not (root.cache_dir / "fewshot" / "pool.json").exists()
    assert SETTLE_NS >= 1_000_000_000  # coarse file times: a same-tick change could otherwise be missed


def test_the_chain_builds_the_pool_from_the_entries_the_command_read(tmp_path):
    root = _root(tmp_path, 6)
    pipeline = Pipeline(root)
    extra = entry(77, "surveys", title="Only in the snapshot")
    given = [*root.entries().values(), extra]
    pipeline.entries_read = EntriesRead(lambda: given, time.time_ns())
    pool = pipeline.chain.examples
    assert "e-00077" in {m.entry.id for m in pool.members}  # the command's snapshot, not a second read
    assert pipeline.chain.examples is pool  # loaded once a run


def test_no_pool_is_read_when_few_shot_is_off(tmp_path):
    root = _root(tmp_path, 3)
    root.config_path.write_text("extract:\n  few_shot: 0\n", encoding="utf-8")
    assert len(Pipeline(root).chain.examples) == 0
    assert not (root.cache_dir / "fewshot").exists()
