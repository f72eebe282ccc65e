"""Shared fixtures: the real corpus in ../shared, and an environment that points every path at tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INGEST_SHARED", REPO.parent / "shared"))
SEED_LIST = SHARED / "corpus" / "awesomeopd" / "README.md"
PDFS = SHARED / "corpus" / "pdfs"
ARXIV_API = SHARED / "corpus" / "arxiv-api"


def need_shared(path: Path = SHARED) -> Path:
    """Skip (with the reason) without the corpus, as in a user's clone; fail in CI, which has it, unless CI
    says it has none (INGEST_REQUIRE_CORPUS=0: a fork without the corpus, .github/workflows/ci.yml)."""
    if not path.exists():
        reason = f"needs the test corpus at {path} (the repository's ../shared folder)"
        if os.environ.get("CI") and os.environ.get("INGEST_REQUIRE_CORPUS", "1") != "0":
            pytest.fail(f"CI must have the corpus: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture
def shared() -> Path:
    return need_shared()


@pytest.fixture
def seed_list() -> Path:
    return need_shared(SEED_LIST)


@pytest.fixture
def pdfs() -> Path:
    return need_shared(PDFS)


@pytest.fixture
def arxiv_api() -> Path:
    return need_shared(ARXIV_API)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches a real root, the home folder, a real key or the internet."""
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "INGEST_MODEL",
        "INGEST_ARXIV_URL",
        "INGEST_ARXIV_PDF_URL",
        "INGEST_ROOT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_ACTIONS",
        "EDITOR",
        "VISUAL",
    ):
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("INGEST_CACHE_DIR", str(cache))
    monkeypatch.setenv("INGEST_ARXIV_DELAY", "0")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # Anything that tries the real network fails fast instead of hanging on this offline machine.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


# Loopback servers shared by the stage tests and the end-to-end tests.
pytest_plugins = ["arxiv_mirror", "llm_server"]
