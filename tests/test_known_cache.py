"""The known-papers index from the keyed cache: unchanged entry files are not read, every change is seen.

Each `_known` call is a new command as far as the index goes (clear_cache: only the disk cache is left).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
from pathlib import Path

from helpers_queue import catalog_entry, new_root

from ingest.catalog.cachekey import cache_key, forget_keys
from ingest.catalog.known import KnownPapers
from ingest.catalog.knowncache import FEW, HEADER, cache_path
from ingest.catalog.records import clear_cache
from ingest.catalog.store import CatalogRoot
from ingest.models import Candidate, Entry, Link, LinkKind


def _entry(root: CatalogRoot, i: int, **fields: object) -> Entry:
    aid = f"2306.1364{i}"
    link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}v2", arxiv_id=aid)
    values: dict[str, object] = {"id": f"e{i}", "name": f"E{i}", "title": f"Paper number {i}"}
    values["links"] = [link]
    return catalog_entry(root.taxonomy, **{**values, **fields})


def _known(root: CatalogRoot) -> KnownPapers:
    clear_cache()
    return KnownPapers.from_root(root)


def _status(known: KnownPapers, arxiv_id: str, title: str = "Unrelated", version: int = 1) -> str:
    return known.classify(Candidate(arxiv_id=arxiv_id, version=version, title=title))[0]


def _keep_identity(path: Path, text: str) -> None:
    """Rewrite a file in place with text of the same size and give it back its mtime: inode, size and mtime
    are as before, so only a reader of the file's bytes can tell."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    with path.open("r+", encoding="utf-8") as fh:
        fh.write(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_ino == before.st_ino


def test_an_unchanged_entry_file_is_not_read_again(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(3):
        root.write_entry(_entry(root, i, links=[]) if i == 2 else _entry(root, i))
    first = _known(root)
    assert first.ids["2306.13640"].version == 2  # the version its URL names
    assert first.entry_by_title("Number 2 paper", has_arxiv=True) is not None  # idless: matched by title
    assert cache_path(root).is_file()
    # Same identity, other bytes: the second command takes the facts from the cache, never the file.
    path = root.entries_dir / "e0.yaml"
    _keep_identity(path, path.read_text(encoding="utf-8").replace("2306.13640", "2306.99990"))
    second = _known(root)
    assert _status(second, "2306.13640") == "known"
    assert "2306.99990" not in second.ids
    assert second.source is not None
    assert second.source.loaded is None  # no Entry model was built for the index
    # What propose asks: the one entry it would update, read from its own file (now: the edited bytes).
    e1 = second.by_arxiv["2306.13641"]
    assert e1.id == "e1"
    assert "2306.13641" in second.by_arxiv
    assert second.by_arxiv.get("2511.00001") is None
    found = second.entry_by_title("Number 2 paper", has_arxiv=True)
    assert found is not None
    assert found.id == "e2"
    assert second.source.loaded is None  # still no full read


def test_an_edited_arxiv_id_or_title_is_seen_by_the_next_command(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(3):
        root.write_entry(_entry(root, i))
    root.write_entry(_entry(root, 5, links=[], title="Rollouts of the student, scored by a teacher"))
    known = _known(root)
    assert _status(known, "2306.13641") == "known"
    assert _status(known, "2501.00001", "Rollouts of the student, scored by a teacher") == "known"

    # Hand edits in place: e1's arXiv id (and its title, so the size differs: an edit within the file
    # system's clock tick keeps the mtime), and the idless entry's title.
    e1 = root.entries_dir / "e1.yaml"
    text = e1.read_text(encoding="utf-8").replace("2306.13641", "2402.01234")
    e1.write_text(text.replace("Paper number 1", "Paper number one"), encoding="utf-8")
    e5 = root.entries_dir / "e5.yaml"
    old = "Rollouts of the student, scored by a teacher"
    e5.write_text(
        e5.read_text(encoding="utf-8").replace(old, "Reward models for long documents"), encoding="utf-8"
    )
    known = _known(root)
    assert _status(known, "2306.13641") == "new"
    assert _status(known, "2402.01234", version=3) == "update"  # its URL names v2
    assert known.ids["2402.01234"].entry_id == "e1"
    assert _status(known, "2501.00001", old) == "new"
    assert _status(known, "2501.00001", "Reward models for long documents") == "known"
    assert _status(known, "2306.13640") == "known"  # the unchanged ones still come from the cache
    assert known.by_arxiv["2402.01234"].id == "e1"  # the models, read on demand, agree


def test_a_deleted_entry_is_no_longer_known_and_an_added_one_is(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(3):
        root.write_entry(_entry(root, i))
    assert _status(_known(root), "2306.13642") == "known"
    (root.entries_dir / "e2.yaml").unlink()
    root.write_entry(_entry(root, 7))
    known = _known(root)
    assert _status(known, "2306.13642") == "new"
    assert "e2" not in known.taken_entry_ids
    assert _status(known, "2306.13647") == "known"
    assert set(known.entries) == {"e0", "e1", "e7"}
    facts = json.loads(cache_path(root).read_bytes().partition(b"\n")[2])["facts"]
    assert sorted(key.split("|")[0] for key in facts) == ["e0.yaml", "e1.yaml", "e7.yaml"]


def test_a_broken_entry_is_read_every_time_and_its_paper_stays_known(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(2):
        root.write_entry(_entry(root, i))
    path = root.entries_dir / "e1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: E1", "name: [not, a, name]"))
    for _ in range(2):
        known = _known(root)
        assert _status(known, "2306.13641") == "known"
        assert "2306.13641" in known.broken_arxiv
        assert known.source is not None
        assert [b.path.name for b in known.source.broken] == ["e1.yaml"]
    path.write_text(path.read_text(encoding="utf-8").replace("name: [not, a, name]", "name: E1"))
    known = _known(root)
    assert known.broken_arxiv == set()
    assert known.ids["2306.13641"].where == "entry"


def _forge(root: CatalogRoot, key: bytes, edit: dict[str, object]) -> None:
    """The facts cache with `edit` merged into its facts, signed with `key`."""
    document = json.loads(cache_path(root).read_bytes().partition(b"\n")[2])
    document["facts"] = {**document["facts"], **edit}
    body = json.dumps(document).encode()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    cache_path(root).write_bytes(HEADER + mac + b"\n" + body)


def test_a_forged_damaged_or_copied_facts_cache_is_ignored(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    root.write_entry(_entry(root, 0))
    _known(root)
    real = cache_path(root).read_bytes()
    (ident,) = json.loads(real.partition(b"\n")[2])["facts"]
    # Another paper under the file's identity, signed without the cache's key: ignored whole.
    _forge(root, b"x" * 32, {ident: ["e0", "forged", [["2511.00001", None]]]})
    known = _known(root)
    assert "2511.00001" not in known.ids
    assert _status(known, "2306.13640") == "known"
    # Damaged: the body edited under the right header.
    cache_path(root).write_bytes(real.replace(b"2306.13640", b"2511.00001"))
    known = _known(root)
    assert "2511.00001" not in known.ids
    assert _status(known, "2306.13640") == "known"
    # Written under another root's key (copied from it), naming this root's file by its very identity:
    # the key tells.
    other = new_root(tmp_path / "other")
    other.write_entry(_entry(other, 0, links=[]))
    _known(other)
    (ident,) = json.loads(cache_path(other).read_bytes().partition(b"\n")[2])["facts"]
    shutil.copy(cache_path(root), cache_path(other))
    theirs = cache_key(root.cache_dir)
    assert theirs is not None
    assert theirs != cache_key(other.cache_dir)
    _forge(other, theirs, {ident: ["e0", "paper number 0", [["2306.13640", 2]]]})
    forget_keys()
    known = _known(other)
    assert "2306.13640" not in known.ids
    assert "e0" in known.taken_entry_ids


def test_many_changed_files_are_read_through_the_record_cache_with_the_same_index(tmp_path: Path) -> None:
    """More changed files than FEW (a first run, a bulk edit): the whole folder is read at once; the index
    is the one a rerun then takes from the cache."""
    root = new_root(tmp_path / "cat")
    entries = [
        _entry(root, 0, id=f"e{i:03d}", links=[], title=f"Study {i} of rollouts") for i in range(FEW + 5)
    ]
    for i, entry in enumerate(entries[:-1]):
        link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/2401.{i:05d}", arxiv_id=f"2401.{i:05d}")
        root.write_entry(entry.model_copy(update={"links": [link]}))
    root.write_entry(entries[-1])  # one without an arXiv id: known by its title only
    cold = _known(root)
    assert cold.source is not None
    assert cold.source.loaded is not None  # read as models, and kept
    warm = _known(root)
    assert warm.source is not None
    assert warm.source.loaded is None
    assert warm.ids == cold.ids
    assert warm.taken_entry_ids == cold.taken_entry_ids
    assert warm.titles.keys == cold.titles.keys
    assert _status(warm, "2401.00007") == "known"
    assert _status(warm, "2502.00001", f"Study {FEW + 4} of rollouts") == "known"
    assert _status(warm, "2502.00001", "A survey of reward models") == "new"
