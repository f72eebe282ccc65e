"""The parsed-record cache kept between commands: used when a file is unchanged, never when it changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers_queue import catalog_entry, new_root

from ingest.catalog.diskcache import HEADER
from ingest.catalog.records import DiskCache, clear_cache, read_records
from ingest.check.run import check_root


def _cache_file(root_cache: Path) -> Path:
    return root_cache / "records" / "entries.json"


def _cached(root_cache: Path) -> dict[str, Any]:
    """The cache's JSON, after its digest line."""
    head, _, body = _cache_file(root_cache).read_bytes().partition(b"\n")
    assert head.startswith(HEADER)
    document: dict[str, Any] = json.loads(body)
    return document


def test_a_second_read_takes_unchanged_files_from_the_cache_and_rereads_changed_ones(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    for i in range(3):
        root.write_entry(catalog_entry(root.taxonomy, id=f"e{i}", name=f"E{i}", title=f"Paper {i}"))
    first = {r.path.name: r.data for r in read_records(root.entries_dir, root.cache_dir)}
    stored = _cached(root.cache_dir)["records"]
    assert sorted(k.split("|")[0] for k in stored) == ["e0.yaml", "e1.yaml", "e2.yaml"]

    clear_cache()  # a new command: only the disk cache is left
    again = read_records(root.entries_dir, root.cache_dir)
    assert all(r.from_cache for r in again)
    assert {r.path.name: r.data for r in again} == first

    root.write_entry(catalog_entry(root.taxonomy, id="e1", name="E1 renamed", title="Paper 1"))
    (root.entries_dir / "e2.yaml").unlink()
    clear_cache()
    third = {r.path.name: r for r in read_records(root.entries_dir, root.cache_dir)}
    assert set(third) == {"e0.yaml", "e1.yaml"}
    assert third["e0.yaml"].from_cache
    assert not third["e1.yaml"].from_cache
    assert third["e1.yaml"].data["name"] == "E1 renamed"
    stored = _cached(root.cache_dir)["records"]
    assert sorted(k.split("|")[0] for k in stored) == ["e0.yaml", "e1.yaml"]  # a deleted file drops out


def test_a_cached_record_still_reports_its_line(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy, id="good", name="Good", title="A paper"))
    bad = root.entries_dir / "good.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("name: Good", "name: [not, a, name]"))
    messages = []
    for _ in range(2):  # the first check parses and caches the file; the second reads it from the cache
        clear_cache()
        report = check_root(root)
        messages.append([(p.file, p.line, p.message) for p in report.problems if p.severity == "error"])
    assert messages[0] == messages[1] == [("entries/good.yaml", 2, "name: Input should be a valid string")]


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    root = new_root(tmp_path / "cat")
    root.write_entry(catalog_entry(root.taxonomy, id="e0", name="E0", title="Paper"))
    read_records(root.entries_dir, root.cache_dir)
    _cache_file(root.cache_dir).write_text("{not json", encoding="utf-8")
    clear_cache()
    records = read_records(root.entries_dir, root.cache_dir)
    assert records[0].data["name"] == "E0"
    assert not records[0].from_cache
    assert _cached(root.cache_dir)["version"] == DiskCache.VERSION


def test_two_reads_in_one_command_keep_the_cache_whole(tmp_path: Path) -> None:
    """The second read of a folder in one process comes from memory; the disk cache must keep its files."""
    root = new_root(tmp_path / "cat")
    for i in range(2):
        root.write_entry(catalog_entry(root.taxonomy, id=f"e{i}", name=f"E{i}", title=f"Paper {i}"))
    clear_cache()
    read_records(root.entries_dir, root.cache_dir)
    read_records(root.entries_dir, root.cache_dir)
    assert len(_cached(root.cache_dir)["records"]) == 2


def test_the_fast_taxonomy_reader_reads_what_ruamel_reads(tmp_path: Path) -> None:
    """The root's taxonomy comes through libyaml (YAML 1.2 rules); it must equal ruamel's reading."""
    import shutil

    from ingest.catalog.store import CatalogRoot
    from ingest.taxonomy import load_taxonomy

    repo = Path(__file__).resolve().parents[1]
    sources = [repo / "taxonomy.yaml", *sorted(repo.glob("tests/fixtures/*/taxonomy.yaml"))]
    for i, source in enumerate(sources):
        root = CatalogRoot(tmp_path / f"r{i}")
        root.path.mkdir()
        shutil.copy(source, root.taxonomy_path)
        assert root.taxonomy == load_taxonomy(source), source
