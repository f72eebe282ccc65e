"""Builders for the review-queue tests: extractions as extract → score would return them."""

from __future__ import annotations

from typing import Any

from ingest.catalog.store import CatalogRoot
from ingest.models import Entry, Extraction, FieldEvidence, Flag, Link, LinkKind, Quote, Scope, Usage, slugify
from ingest.taxonomy import Taxonomy


def extraction(
    taxonomy: Taxonomy,
    *,
    paper: str = "2305.18290",
    version: int = 2,
    name: str = "DPO",
    title: str = "Direct Preference Optimization",
    confidence: float = 0.8,
    axes: dict[str, list[str]] | None = None,
    scope: str = "in",
    flags: list[Flag] | None = None,
    links: list[Link] | None = None,
    entry_id: str | None = None,
) -> Extraction:
    """A scored extraction of one paper; every axis has evidence with a quote and a page."""
    axes = axes if axes is not None else {a.id: [a.values[0].id] for a in taxonomy.axes}
    evidence = {
        f"axes.{axis}": FieldEvidence(
            quotes=[Quote(text=f"we use {values[0]} supervision", page=3, match="exact")],
            confidence=confidence,
            flags=list(flags or []),
        )
        for axis, values in axes.items()
    }
    evidence["name"] = FieldEvidence(quotes=[Quote(text=name, page=1, match="exact")], confidence=0.95)
    section = taxonomy.catalog_sections[1].id
    entry = Entry(
        id=entry_id or slugify(name),
        name=name,
        title=title,
        date="2023.05",
        links=links
        if links is not None
        else [Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{paper}", arxiv_id=paper)],
        sections=[section],
        axes=axes,
        evidence=evidence,
    )
    return Extraction(
        paper=paper,
        version=version,
        entry=entry,
        scope=Scope(
            verdict=scope,
            reason="students learn on their own samples"
            if scope != "out"
            else "a preference-optimisation method; no teacher supervises student samples",
            confidence=0.8,
        ),
        backend="openai",
        model="test-model",
        prompt_hash="p1234",
        input_hash="i5678",
        usage=Usage(calls=1, prompt_tokens=1200, completion_tokens=300, cost_usd=0.00036),
        flags=list(flags or []),
        confidence=confidence,
    )


def catalog_entry(taxonomy: Taxonomy, **fields: Any) -> Entry:
    """An imported-style entry: links and sections, no axes."""
    data: dict[str, Any] = {
        "id": "gkd",
        "name": "GKD",
        "title": "On-Policy Distillation of Language Models",
        "date": "2023.06",
        "links": [Link(kind=LinkKind.arxiv, url="https://arxiv.org/abs/2306.13649", arxiv_id="2306.13649")],
        "sections": [taxonomy.catalog_sections[1].id],
        "paper_only": True,
    }
    data.update(fields)
    return Entry(**data)


def new_root(path: Any) -> CatalogRoot:
    return CatalogRoot(path).create()


def root_files(root: CatalogRoot) -> dict[str, bytes]:
    """Every file of the root but the caches and the lock: what "nothing changed" is checked against."""
    return {
        str(p.relative_to(root.path)): p.read_bytes()
        for p in sorted(root.path.rglob("*"))
        if p.is_file() and not p.is_symlink() and ".ingest-cache" not in p.parts and p.name != ".ingest.lock"
    }
