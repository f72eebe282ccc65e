"""The negatives of an evaluation, and an optional truth file that fixes the gold of a set of PDFs.

Negatives are the papers the catalog keeps out: its exclusions and its rejected proposals. Only their scope
call is scored. A truth file (tests/data/corpus-truth.yaml) lists PDFs with the facts a curator decided:
in scope or not, the primary section, the teacher source where the catalog states it, and a half (tuning or
reporting) so that rules tuned on one half are reported on the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, ConfigError
from ingest.models import Candidate, Entry
from ingest.yamlio import line_of, load_yaml

Half = Literal["tuning", "reporting"]


class TruthPaper(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    arxiv_id: str
    title: str
    in_scope: bool
    section: str | None = None
    teacher_source: list[str] = Field(default_factory=list, description="accepted values; empty: not stated")
    half: Half
    reason: str


class Truth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    papers: list[TruthPaper]

    def get(self, arxiv_id: str) -> TruthPaper | None:
        return next((p for p in self.papers if p.arxiv_id == arxiv_id), None)


def load_truth(path: Path) -> Truth:
    """The truth file at `path` (given by --truth or by evaluate.truth in ingest.yaml); a problem is one
    line with the file and, where known, the line (exit 2: bad usage)."""
    hint = "fix the truth file, or give another with --truth (format: tests/data/corpus-truth.yaml)"
    if not path.is_file():
        raise ConfigError(path, "truth file not found", hint=hint)
    try:
        data = load_yaml(path)
    except CatalogError as exc:
        raise ConfigError(exc.file, exc.detail, line=exc.line, hint=hint) from exc
    try:
        return Truth.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        where = ".".join(map(str, loc)) or "truth"
        raise ConfigError(path, f"{where}: {err['msg']}", line=line_of(data, loc), hint=hint) from exc


def negative_targets(
    root: CatalogRoot, available: dict[str, tuple[Path, int | None]]
) -> list[tuple[str, Candidate]]:
    """(exclusion or decision id, candidate) of each excluded or rejected paper whose PDF is at hand."""
    out: dict[str, tuple[str, Candidate]] = {}
    kept_out: list[tuple[str, str | None, str | None]] = [
        (x.id, x.arxiv_id, x.title) for x in root.exclusions()
    ]
    kept_out += [(d.id, d.arxiv_id, d.title) for d in root.decisions() if d.action == "rejected"]
    for ident, arxiv_id, title in kept_out:
        if arxiv_id and arxiv_id in available and arxiv_id not in out:
            path, version = available[arxiv_id]
            candidate = Candidate(
                arxiv_id=arxiv_id, version=version or 1, title=title or path.stem, local_pdf=str(path)
            )
            out[arxiv_id] = (ident, candidate)
    return [out[k] for k in sorted(out)]


def apply_truth(
    truth: Truth,
    half: Half | None,
    positives: list[tuple[Entry, Candidate]],
    negatives: list[tuple[str, Candidate]],
    available: dict[str, tuple[Path, int | None]],
) -> tuple[list[tuple[Entry, Candidate]], list[tuple[str, Candidate]], list[str]]:
    """The targets the truth file lists (in `half` when given), its facts written into the gold entries;
    papers it calls out of scope become negatives even when the catalog has no exclusion for them."""
    notes: list[str] = []
    wanted = {p.arxiv_id: p for p in truth.papers if half is None or p.half == half}
    pos: list[tuple[Entry, Candidate]] = []
    for entry, candidate in positives:
        fact = wanted.get(candidate.arxiv_id or "")
        if fact is None:
            continue
        # The paper's title as printed: the catalog's title column often holds a note instead.
        candidate = candidate.model_copy(update={"title": fact.title})
        if not fact.in_scope:
            negatives = [*negatives, (entry.id, candidate)]
            continue
        update: dict[str, object] = {}
        if fact.section:
            update["sections"] = [fact.section, *[s for s in entry.sections if s != fact.section]]
        if fact.teacher_source:
            update["axes"] = {**entry.axes, "teacher_source": fact.teacher_source}
        pos.append((entry.model_copy(update=update), candidate))
    neg = [
        (i, c.model_copy(update={"title": wanted[c.arxiv_id].title}))
        for i, c in negatives
        if c.arxiv_id in wanted and not wanted[c.arxiv_id].in_scope
    ]
    seen = {c.arxiv_id for _, c in pos} | {c.arxiv_id for _, c in neg}
    for arxiv_id, fact in wanted.items():
        if arxiv_id in seen:
            continue
        if arxiv_id not in available:
            notes.append(f"{fact.file}: no PDF named by {arxiv_id} at hand, not counted")
        elif fact.in_scope:
            notes.append(f"{fact.file}: in scope but no catalog entry holds {arxiv_id}, not counted")
        else:
            path, version = available[arxiv_id]
            neg.append(
                (
                    arxiv_id,
                    Candidate(arxiv_id=arxiv_id, version=version or 1, title=path.stem, local_pdf=str(path)),
                )
            )
    return pos, neg, notes
