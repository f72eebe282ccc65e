"""`ingest check` of an unchanged root gives the kept report without loading the models; any change, a fresh
edit, another threshold or a tampered memo means a full check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.catalog.store import CatalogRoot
from ingest.check.memo import FILE, checked, recall
from ingest.check.run import check_root
from ingest.config import Env
from ingest.markdown.render import render_root
from ingest.models import Entry

REPO = Path(__file__).resolve().parents[1]


def age(path: Path, seconds: float = 30) -> None:
    """Every file and folder of the root (its cache aside) as if written `seconds` ago."""
    past = time.time() - seconds
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".ingest-cache")]
        for name in [*files, *dirs]:
            os.utime(os.path.join(folder, name), (past, past))
    os.utime(path, (past, past))


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    root = CatalogRoot(tmp_path / "cat", env=Env.from_mapping(os.environ)).create()
    root.write_entry(Entry(id="gkd", name="GKD", sections=["white-box"], date="2023.06"))
    render_root(root)
    age(root.path)
    return root


def same(a: object, b: object) -> bool:
    return vars(a) == vars(b)


def test_an_unchanged_root_gives_the_kept_report(root: CatalogRoot) -> None:
    assert recall(root, None) is None
    first = checked(root)
    assert first.counts["entries"] == 1
    assert (root.cache_dir / FILE).is_file()
    kept = recall(root, None)
    assert kept is not None
    assert same(kept, check_root(root))
    assert recall(root, 0.99) is None  # another threshold: another report


def test_any_change_to_what_check_reads_is_a_full_check(root: CatalogRoot) -> None:
    checked(root)
    assert recall(root, None) is not None
    (root.entries_dir / "broken.yaml").write_text("id: broken\nname: [unclosed\n", encoding="utf-8")
    assert recall(root, None) is None
    report = checked(root)
    assert [p.code for p in report.errors] == ["yaml-syntax"]
    age(root.path)
    assert recall(root, None) is None  # the fresh edit was not kept; this check keeps it
    assert [p.code for p in checked(root).errors] == ["yaml-syntax"]
    assert recall(root, None) is not None
    text = root.config_path.read_text(encoding="utf-8")
    root.config_path.write_text(text + "\n", encoding="utf-8")
    assert recall(root, None) is None


def test_a_change_to_the_rendered_catalog_is_seen(root: CatalogRoot) -> None:
    checked(root)
    output = next(root.path.glob("*.md"))
    text = output.read_text(encoding="utf-8")
    output.write_text(text.replace("GKD", "GKX"), encoding="utf-8")
    report = checked(root)
    assert [p.code for p in report.errors] == ["render-out-of-sync"]


def test_a_tampered_memo_is_ignored(root: CatalogRoot) -> None:
    (root.entries_dir / "broken.yaml").write_text("id: broken\nname: [unclosed\n", encoding="utf-8")
    age(root.path)
    assert checked(root).errors
    path = root.cache_dir / FILE
    memo = json.loads(path.read_text(encoding="utf-8"))
    body = json.loads(memo["body"])
    body["problems"] = []
    memo["body"] = json.dumps(body)
    path.write_text(json.dumps(memo), encoding="utf-8")
    assert recall(root, None) is None
    assert checked(root).errors


def test_a_kept_check_imports_no_model_as_a_whole_process(root: CatalogRoot) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-X", "importtime", "-m", "ingest", "--root", str(root.path), "check"]
    runs = [subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
    assert "checked 1 entries" in runs[1].stdout
    assert "pydantic" in runs[0].stderr  # the first check validated
    assert "pydantic" not in runs[1].stderr
    assert "ingest.models.catalog" not in runs[1].stderr  # nor the models (the ids helper is plain Python)
