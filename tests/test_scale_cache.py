"""What check and the readers take from the cache at scale: a verified cache only, and never a stale answer.

The record cache holds validity marks and line trees under the cache's key; the rendered-catalog digest lets
check skip a render. Each is checked here for: a changed file read again, a forged or copied cache ignored,
and line numbers that follow an edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

from helpers_queue import catalog_entry, new_root

from ingest.catalog.cachekey import cache_key, forget_keys
from ingest.catalog.diskcache import HEADER
from ingest.catalog.records import clear_cache, read_records
from ingest.catalog.store import CatalogRoot
from ingest.check.run import check_root
from ingest.markdown.render import marker_span, render_root
from ingest.markdown.rendered import FILE, block_digest, known_render
from ingest.models import Entry, FieldEvidence, Link, LinkKind


def _entry(root: CatalogRoot, i: int, **fields: object) -> Entry:
    """A valid entry of its own paper (entries sharing an arXiv id are an error of their own)."""
    aid = f"2306.1364{i}"
    link = Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}", arxiv_id=aid)
    values: dict[str, object] = {"id": f"e{i}", "name": f"E{i}", "title": f"Paper {i}", "links": [link]}
    return catalog_entry(root.taxonomy, **{**values, **fields})


def _entries_cache(root: CatalogRoot) -> Path:
    return root.cache_dir / "records" / "entries.json"


def _errors(root: CatalogRoot) -> list[tuple[str, int | None, str]]:
    clear_cache()  # a new command: only the disk cache is left
    report = check_root(root)
    return [(p.file, p.line, p.code) for p in report.problems if p.severity == "error"]


def _warnings(root: CatalogRoot) -> list[tuple[str, int | None, str]]:
    clear_cache()
    report = check_root(root)
    return [(p.file, p.line, p.code) for p in report.problems if p.severity == "warning"]


def _forge(root: CatalogRoot, edit: dict[str, object]) -> None:
    """Rewrite the entries cache with `edit` merged in, under a digest made with a key that is not the
    cache's (what a cache copied from elsewhere, or written by someone without the key, looks like)."""
    _head, _, body = _entries_cache(root).read_bytes().partition(b"\n")
    document = json.loads(body)
    for name, value in edit.items():
        document[name] = value
    new = json.dumps(document).encode()
    mac = hmac.new(b"x" * 32, new, hashlib.sha256).hexdigest().encode()
    _entries_cache(root).write_bytes(HEADER + mac + b"\n" + new)


def test_an_unchanged_valid_file_is_known_valid_and_a_changed_one_is_not(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(2):
        root.write_entry(_entry(root, i))
    assert _errors(root) == []  # validates both and marks them in the cache
    clear_cache()
    records = read_records(root.entries_dir, root.cache_dir)
    assert all(r.from_cache and r.known_valid(Entry) for r in records)

    bad = root.entries_dir / "e1.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("name: E1", "name: [not, a, name]"))
    clear_cache()
    by_name = {r.path.name: r for r in read_records(root.entries_dir, root.cache_dir)}
    assert by_name["e0.yaml"].known_valid(Entry)
    assert not by_name["e1.yaml"].known_valid(Entry)
    assert _errors(root) == [("entries/e1.yaml", 2, "schema")]
    assert _errors(root) == [("entries/e1.yaml", 2, "schema")]  # the same from the cache


def test_a_forged_validity_mark_is_ignored_and_the_file_still_fails(tmp_path: Path) -> None:
    """Invalid data marked valid in a cache whose digest does not verify: the whole cache is ignored."""
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy, id="e0", name="E0", title="Paper"))
    path = root.entries_dir / "e0.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: E0", "name: [not, a, name]"))
    assert _errors(root) == [("entries/e0.yaml", 2, "schema")]
    key = next(iter(json.loads(_entries_cache(root).read_bytes().partition(b"\n")[2])["records"]))
    _forge(root, {"valid": {key: ["Entry"]}})
    clear_cache()
    records = read_records(root.entries_dir, root.cache_dir)
    assert not records[0].from_cache
    assert not records[0].known_valid(Entry)
    assert _errors(root) == [("entries/e0.yaml", 2, "schema")]


def test_a_cache_copied_from_another_root_is_ignored(tmp_path: Path) -> None:
    first, second = new_root(tmp_path / "a"), new_root(tmp_path / "b")
    for root, name in ((first, "Right"), (second, "Other")):
        root.write_entry(catalog_entry(root.taxonomy, id="e0", name=name, title="Paper"))
        assert _errors(root) == []
    # Same file name and, by chance, an identity the other cache could also hold: only the key tells.
    shutil.copy(_entries_cache(second), _entries_cache(first))
    clear_cache()
    forget_keys()
    records = read_records(first.entries_dir, first.cache_dir)
    assert not records[0].from_cache
    assert records[0].data["name"] == "Right"
    assert cache_key(first.cache_dir) != cache_key(second.cache_dir)


def test_flagged_lines_come_from_the_cache_and_follow_an_edit(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    entry = catalog_entry(
        root.taxonomy, id="e0", name="E0", title="Paper", evidence={"title": FieldEvidence(confidence=0.2)}
    )
    root.write_entry(entry)
    path = root.entries_dir / "e0.yaml"
    title_line = path.read_text(encoding="utf-8").splitlines().index("title: Paper") + 1
    first = _warnings(root)
    assert first == [("entries/e0.yaml", title_line, "low-confidence")]
    cached = json.loads(_entries_cache(root).read_bytes().partition(b"\n")[2])
    assert list(cached["lines"]) == list(cached["records"])  # the flagged record's lines were kept
    assert _warnings(root) == first  # the second check reads them from the cache

    path.write_text("# a comment\n# and another\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert _warnings(root) == [("entries/e0.yaml", title_line + 2, "low-confidence")]
    # A forged line tree (digest not verifying) is ignored: the lines come from the file.
    records = json.loads(_entries_cache(root).read_bytes().partition(b"\n")[2])["records"]
    _forge(root, {"lines": {k: {"n": 1, "m": {"title": [99, {"n": 99}]}} for k in records}})
    assert _warnings(root) == [("entries/e0.yaml", title_line + 2, "low-confidence")]


def test_check_trusts_a_remembered_render_only_for_the_same_files_and_block(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(3):
        root.write_entry(_entry(root, i))
    render_root(root)
    assert (root.cache_dir / "records" / FILE).is_file()
    assert _errors(root) == []

    readme = root.path / root.config.render.output
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("Paper 1", "Paper one"), encoding="utf-8")  # the list edited by hand
    assert [code for _, _, code in _errors(root)] == ["render-out-of-sync"]
    readme.write_text(text, encoding="utf-8")
    assert _errors(root) == []

    # An entry changed after the render: its identity differs, so check renders and finds the difference.
    root.write_entry(_entry(root, 2, name="E2 renamed"))
    assert [code for _, _, code in _errors(root)] == ["render-out-of-sync"]


def test_a_forged_render_digest_is_ignored(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy, id="e0", name="E0", title="Paper"))
    render_root(root)
    readme = root.path / root.config.render.output
    readme.write_text(readme.read_text(encoding="utf-8").replace("Paper", "Forged"), encoding="utf-8")
    stored = root.cache_dir / "records" / FILE
    document = json.loads(stored.read_bytes())
    # Claim that these inputs render to the edited block, without the cache's key.
    text = readme.read_text(encoding="utf-8")
    span = marker_span(text, root.config.render)
    assert span is not None
    document["block"] = block_digest(text[span[0] : span[1]])
    stored.write_text(json.dumps(document), encoding="utf-8")
    assert known_render(root.cache_dir, document["inputs"]) is None
    assert [code for _, _, code in _errors(root)] == ["render-out-of-sync"]
