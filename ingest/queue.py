"""The review queue on disk: load every proposal, reporting each broken one with its file and line.

A proposal is valid when it passes the schema (models.Proposal) and the taxonomy (sections, axes and their
vocabularies, criteria and detail columns of this root), its id matches its file name, and the entry it
carries would be a valid catalog entry. Review refuses to act on anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .check_load import Record, read_record
from .errors import CatalogError
from .models import Entry, Proposal
from .store import CatalogRoot, InvalidFile, validation_error
from .taxonomy import Taxonomy
from .yamlio import line_of, loads_yaml


def entry_taxonomy_problems(entry: Entry, taxonomy: Taxonomy) -> list[tuple[list[str | int], str]]:
    """(location inside the entry, message) for every value the taxonomy does not know."""
    problems: list[tuple[list[str | int], str]] = []
    sections = taxonomy.section_ids
    for i, section in enumerate(entry.sections):
        if section not in sections:
            problems.append((["sections", i], f"unknown section {section!r}; use one of {sections}"))
    axis_ids = [a.id for a in taxonomy.axes]
    for axis_id, values in entry.axes.items():
        if axis_id not in axis_ids:
            problems.append((["axes", axis_id], f"unknown axis {axis_id!r}; use one of {axis_ids}"))
            continue
        vocabulary = taxonomy.axis(axis_id).vocabulary
        for i, value in enumerate(values):
            if value not in vocabulary:
                problems.append(
                    (
                        ["axes", axis_id, i],
                        f"{value!r} is not a value of axis {axis_id}; use one of {vocabulary}",
                    )
                )
    criteria = [c.id for c in taxonomy.criteria]
    for criterion in entry.verdicts:
        if criterion not in criteria:
            problems.append(
                (["verdicts", criterion], f"unknown criterion {criterion!r}; use one of {criteria}")
            )
    for section_id, columns in entry.details.items():
        if section_id not in sections:
            problems.append((["details", section_id], f"unknown section {section_id!r} in details"))
            continue
        names = taxonomy.section(section_id).detail_names()
        for column in columns:
            if column not in names:
                problems.append(
                    (
                        ["details", section_id, column],
                        f"section {section_id} has no detail column {column!r}; use one of {names}",
                    )
                )
    return problems


def proposal_problems(
    path: Path, line: Callable[[list[str | int]], int | None], proposal: Proposal, taxonomy: Taxonomy
) -> list[CatalogError]:
    """Errors a valid schema still allows: a wrong file name, values outside this root's taxonomy."""
    errors: list[CatalogError] = []
    if proposal.id != path.stem:
        errors.append(
            CatalogError(
                path,
                f"id {proposal.id!r} does not match the file name {path.name}",
                line=line(["id"]),
                hint="rename the file or fix the id",
            )
        )
    if proposal.entry is not None:
        for loc, message in entry_taxonomy_problems(proposal.entry, taxonomy):
            errors.append(
                CatalogError(path, f"entry.{'.'.join(map(str, loc))}: {message}", line=line(["entry", *loc]))
            )
    return errors


def load_proposal_text(text: str, path: Path, taxonomy: Taxonomy) -> Proposal:
    """Parse and fully validate a proposal's YAML; raises InvalidFile listing every problem."""
    data = loads_yaml(text, path)
    if data is None:
        raise CatalogError(path, "the file is empty", hint="delete it or fill it in")
    try:
        proposal = Proposal.model_validate(data)
    except ValidationError as exc:
        raise InvalidFile(validation_error(path, data, exc)) from exc
    problems = proposal_problems(path, lambda loc: line_of(data, loc), proposal, taxonomy)
    if problems:
        raise InvalidFile(problems)
    return proposal


def load_proposal(path: Path, taxonomy: Taxonomy, record: Record | None = None) -> Proposal:
    """Load one proposal file with every check of this module (libyaml first; ruamel only for lines)."""
    record = record or read_record(path)
    proposal = record.validate(Proposal)
    problems = proposal_problems(path, record.line, proposal, taxonomy)
    if problems:
        raise InvalidFile(problems)
    return proposal


@dataclass
class Queue:
    """The valid proposals of a root, and one error per problem in the broken ones."""

    proposals: list[Proposal] = field(default_factory=list)
    problems: list[CatalogError] = field(default_factory=list)
    broken: list[Path] = field(default_factory=list)
    raw_arxiv_ids: set[str] = field(default_factory=set)

    def weakest_first(self) -> list[Proposal]:
        """Lowest confidence first; among equals, the one with more flags."""
        return sorted(self.proposals, key=lambda p: (p.confidence, -len(p.flags), p.id))


def _raw_arxiv_id(record: Record) -> str | None:
    """The arXiv id of a broken proposal whose YAML parses: a broken file still blocks a re-proposal."""
    data = record.data
    value = data.get("arxiv_id") if isinstance(data, dict) else None
    return str(value) if value else None


def scan_queue(root: CatalogRoot, taxonomy: Taxonomy | None = None) -> Queue:
    """Every proposal in review_queue/, valid or not; never raises on a broken file."""
    taxonomy = taxonomy or root.taxonomy
    queue = Queue()
    for path in CatalogRoot.files(root.queue_dir):
        record = read_record(path)
        try:
            queue.proposals.append(load_proposal(path, taxonomy, record))
        except InvalidFile as exc:
            queue.problems.extend(exc.problems)
            queue.broken.append(path)
        except CatalogError as exc:
            queue.problems.append(exc)
            queue.broken.append(path)
        else:
            continue
        raw = _raw_arxiv_id(record)
        if raw:
            queue.raw_arxiv_ids.add(raw)
    return queue


def describe(problems: Sequence[CatalogError], root: CatalogRoot) -> list[str]:
    """`file:line: message` lines with paths relative to the root, as a reviewer reads them."""
    out = []
    for p in problems:
        try:
            rel = Path(p.file).resolve().relative_to(root.path)
        except ValueError:
            rel = Path(p.file)
        where = f"{rel}:{p.line}" if p.line else str(rel)
        out.append(f"{where}: {p.detail}")
    return out
