"""A disk cache of LLM answers (diskcache under <cache>/llm), keyed by backend + model + prompt hash + input
hash.

A rerun over the same papers with the same prompt and model finds every answer here and makes no call.
diskcache is safe across threads and processes, so concurrent extractions share one cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diskcache import Cache


def cache_key(
    backend: str, model: str | None, prompt_hash: str, input_hash: str, kind: str = "extract"
) -> str:
    return "|".join((kind, backend, model or "-", prompt_hash, input_hash))


class LLMCache:
    """Stored answers as JSON-able dicts; a missing or unreadable value is a miss, never an error."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = Path(cache_dir) / "llm"
        self._cache = Cache(str(self.path))

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._cache.get(key)
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._cache.set(key, value)

    def close(self) -> None:
        self._cache.close()
