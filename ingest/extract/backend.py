"""Extraction backends behind one protocol, and the choice between them.

`openai`: instructor over any OpenAI-compatible server (extract/openai.py). `heuristic`: offline keyword
rules from the taxonomy file, low confidence, labelled as such (extract/heuristic.py). `auto` (the default)
is openai when OPENAI_API_KEY is set and heuristic otherwise, so the quickstart works offline.
"""

from __future__ import annotations

from typing import Protocol

from ingest.catalog.store import CatalogRoot
from ingest.errors import UsageError
from ingest.models import Candidate, Entry, Extraction, PaperText, Scope

BACKENDS = ("auto", "openai", "heuristic")
NEEDS_KEY = "the openai backend needs OPENAI_API_KEY"


class Backend(Protocol):
    """What the pipeline asks of an extractor."""

    name: str
    model: str | None

    def extract(self, paper: PaperText, candidate: Candidate, *, examples: list[Entry]) -> Extraction:
        """The paper described for the catalog, every field with its quotes and the extractor's confidence."""
        ...

    def screen(self, candidate: Candidate) -> Scope:
        """A scope decision from the title and abstract alone."""
        ...


def backend_name(name: str | None, root: CatalogRoot) -> str:
    """The backend `name` stands for: auto/None follows the config, then the presence of OPENAI_API_KEY.

    Checked without building anything: an unknown name, or openai without a key, is a UsageError here."""
    chosen = name or root.config.extract.backend
    if chosen not in BACKENDS:
        raise UsageError(f"unknown backend {chosen!r}", hint=f"use one of {', '.join(BACKENDS)}")
    if chosen == "auto":
        return "openai" if root.env.openai_api_key else "heuristic"
    if chosen == "openai" and not root.env.openai_api_key:
        raise UsageError(NEEDS_KEY, hint="set it, or use --backend heuristic")
    return chosen


def make_backend(name: str | None, root: CatalogRoot, *, model: str | None = None) -> Backend:
    """The backend called `name` ("auto"/None: openai when OPENAI_API_KEY is set, else heuristic)."""
    chosen = backend_name(name, root)
    if chosen == "openai":
        from ingest.extract.openai import OpenAIBackend

        return OpenAIBackend(root, model=model)
    from ingest.extract.heuristic import HeuristicBackend

    return HeuristicBackend(root.taxonomy)
