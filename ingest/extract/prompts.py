"""The extractor's prompts: prompt files (the root's copy wins), field guidance generated from the taxonomy,
few-shot examples from approved entries, and the paper passed as delimited data, never as instructions.

A prompt is identified by `prompt_hash`: the sha256 of the system and task templates plus the generated
guidance, so editing a prompt file or the taxonomy changes the hash that every result records.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ingest.catalog.store import CatalogRoot, bundled

# The few-shot names live in exemplars.py; re-exported here, where callers import them from.
from ingest.extract.exemplars import EXAMPLE_TOKENS as EXAMPLE_TOKENS
from ingest.extract.exemplars import choose_examples as choose_examples
from ingest.extract.exemplars import example_text
from ingest.models import NOT_APPLICABLE, UNKNOWN, Candidate, Entry, PaperText, Passage
from ingest.taxonomy import Taxonomy

PROMPT_FILES = ("system.md", "task.md", "screen.md")
# Anything that looks like a tag (ours are <paper>, <passage>, <metadata>) is escaped inside the data, so a
# paper cannot close the data block and speak as the prompt.
_TAG = re.compile(r"<(/?\s*[A-Za-z_][\w:-]*[^<>]{0,200})>")


def load_prompt(name: str, prompts_dir: Path | None = None) -> str:
    """A prompt file: the root's prompts/<name> when present, else the bundled one."""
    if prompts_dir is not None and (prompts_dir / name).is_file():
        return (prompts_dir / name).read_text(encoding="utf-8")
    return bundled("prompts").joinpath(name).read_text(encoding="utf-8")


def digest(*parts: str, length: int = 16) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


def escape_data(text: str) -> str:
    """Escape tag-like text and stray angle brackets of a tag inside paper data."""
    return _TAG.sub(lambda m: f"&lt;{m.group(1)}&gt;", text)


def _attr(value: str) -> str:
    return escape_data(value).replace('"', "&quot;")


def field_guidance(taxonomy: Taxonomy) -> str:
    """Per-field guidance written from the taxonomy file (another catalog's taxonomy, another guidance)."""
    out = [
        "- name: the short name the catalog lists the resource under (an acronym or model name).",
        "- title: the paper's full title. org: the authors' main organisation(s).",
        "- links: code repositories or project pages whose URL is printed in the paper (empty when none).",
        f"- sections: one or more of the section ids below, primary first. Special axis values: "
        f"`{NOT_APPLICABLE}` (does not apply) and `{UNKNOWN}` (the paper does not say).",
    ]
    for s in taxonomy.catalog_sections:
        cols = ", ".join(f"`{c}`" for c in s.detail_names(keep_prose=False))
        line = f"  - `{s.id}`: {s.anchor_text}. {s.description}"
        out.append(line + (f" Detail columns: {cols}." if cols else ""))
    out.append("- axes (several values allowed per axis):")
    for axis in taxonomy.axes:
        out.append(f"  - `{axis.id}` ({axis.label}: {axis.description}):")
        for v in axis.values:
            out.append(f"    - `{v.id}`: {v.label}" + (f", {v.description}" if v.description else ""))
    values = "/".join(taxonomy.verdict_values)
    out.append(f"- verdicts ({values}, or unknown); anything short of `yes` needs a strictness note:")
    for c in taxonomy.criteria:
        out.append(f"  - `{c.id}` ({c.label}): {c.description}")
    out.append("- details: cells of the primary section's detail columns, each a short label with its quote.")
    out.append("- scope: `in`, `borderline` or `out` of the catalog, with a one-sentence reason.")
    return "\n".join(out)


def paper_block(candidate: Candidate, passages: list[Passage], *, abstract_only: bool = False) -> str:
    """The paper as delimited data: <paper id=…><metadata>…</metadata><passage page=N>…</passage>…</paper>."""
    lines = [f'<paper id="{_attr(candidate.key)}">']
    lines.append(f"<metadata>title: {escape_data(candidate.title)}")
    if candidate.authors:
        lines.append(f"authors: {escape_data(', '.join(candidate.authors[:12]))}")
    if abstract_only or not passages:
        lines.append(f"abstract: {escape_data(candidate.abstract)}")
    lines.append("</metadata>")
    for p in passages:
        lines.append(f'<passage page="{p.page}" section="{_attr(p.section)}">{escape_data(p.text)}</passage>')
    lines.append("</paper>")
    return "\n".join(lines)


@dataclass(frozen=True)
class Prompt:
    """A rendered request: the messages, the hash of the prompt templates, the hash of the data."""

    messages: list[dict[str, str]]
    prompt_hash: str
    input_hash: str


def _substitute(template: str, **values: str) -> str:
    return Template(template).safe_substitute(**values)


def _catalog_values(taxonomy: Taxonomy) -> dict[str, str]:
    return {
        "catalog": taxonomy.catalog,
        "catalog_description": taxonomy.description,
        "scope_keywords": ", ".join(taxonomy.scope_keywords),
    }


def prompt_hash(taxonomy: Taxonomy, prompts_dir: Path | None = None) -> str:
    """The content hash of the extraction prompt: the templates, the guidance and the catalog's own words."""
    return digest(
        load_prompt("system.md", prompts_dir),
        load_prompt("task.md", prompts_dir),
        field_guidance(taxonomy),
        *_catalog_values(taxonomy).values(),
        length=12,
    )


def extraction_prompt(
    taxonomy: Taxonomy,
    candidate: Candidate,
    paper: PaperText,
    *,
    examples: list[Entry],
    context_tokens: int,
    prompts_dir: Path | None = None,
) -> Prompt:
    """The messages that ask for one paper's extraction."""
    from ingest.paper.read import select_context

    keywords = [k for a in taxonomy.axes for v in a.values for k in v.keywords] + taxonomy.scope_keywords
    passages = select_context(paper, context_tokens, keywords=keywords)
    data = paper_block(candidate, passages)
    shots = "\n".join(example_text(e) for e in examples) or "(none yet)"
    system = _substitute(load_prompt("system.md", prompts_dir), **_catalog_values(taxonomy))
    task = _substitute(
        load_prompt("task.md", prompts_dir), guidance=field_guidance(taxonomy), examples=shots, paper=data
    )
    return Prompt(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": task}],
        prompt_hash=prompt_hash(taxonomy, prompts_dir),
        input_hash=digest(data, shots),
    )


def screen_prompt(taxonomy: Taxonomy, candidate: Candidate, prompts_dir: Path | None = None) -> Prompt:
    """The messages of the cheap title + abstract scope decision."""
    template = load_prompt("screen.md", prompts_dir)
    data = paper_block(candidate, [], abstract_only=True)
    text = _substitute(template, paper=data, **_catalog_values(taxonomy))
    return Prompt(
        messages=[{"role": "user", "content": text}],
        # The catalog's description and scope phrases are part of the prompt: a taxonomy change re-screens.
        prompt_hash=digest(template, *_catalog_values(taxonomy).values(), length=12),
        input_hash=digest(data),
    )


def root_prompts_dir(root: CatalogRoot) -> Path | None:
    return root.prompts_dir if root.prompts_dir.is_dir() else None
