"""The review queue on disk: load every proposal, reporting each broken one with its file and line.

A proposal is valid when it passes the schema (models.Proposal) and the taxonomy (sections, axes and their
vocabularies, criteria and detail columns of this root), its id matches its file name, and the entry it
carries would be a valid catalog entry. Review refuses to act on anything else.

scan_queue and scan_entries never raise on a hand-broken file: they keep what can still be read of it (its
arXiv ids, its title, even from YAML that does not parse), so the weekly run goes on without proposing that
paper again. Only an entry that names no paper at all is fatal for a run (`Broken.identified`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.catalog.diskcache import bulk
from ingest.catalog.records import (
    Record,
    id_mismatch,
    read_entry,
    read_record,
    read_records,
    record_from_text,
)
from ingest.catalog.rules import taxonomy_errors
from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, InvalidFile
from ingest.models import ARXIV_ID_RE

if TYPE_CHECKING:  # loaded when a file is validated: an empty queue needs no model and no taxonomy
    from ingest.models import Entry, Proposal
    from ingest.taxonomy import Taxonomy


def proposal_problems(record: Record, proposal: Proposal, taxonomy: Taxonomy) -> list[CatalogError]:
    """Errors a valid schema still allows: a wrong file name, values outside this root's taxonomy (the rules
    `ingest check` applies, so review never accepts what check rejects)."""
    errors: list[CatalogError] = []
    if proposal.id != record.path.stem:
        errors.append(id_mismatch(record, proposal.id, "proposal"))
    errors.extend(taxonomy_errors(record, taxonomy))
    return errors


def load_proposal_text(text: str, path: Path, taxonomy: Taxonomy) -> Proposal:
    """Parse and fully validate a proposal's YAML (a reviewer's edited copy); raises InvalidFile listing every
    problem."""
    return load_proposal(path, taxonomy, record_from_text(text, path))


def load_proposal(path: Path, taxonomy: Taxonomy, record: Record | None = None) -> Proposal:
    """Load one proposal file with every check of this module."""
    from ingest.models import Proposal

    record = record or read_record(path)
    proposal = record.validate(Proposal)
    problems = proposal_problems(record, proposal, taxonomy)
    if problems:
        raise InvalidFile(problems)
    return proposal


@dataclass
class Broken:
    """A record that does not load, its first problem, and the paper it still names (arXiv ids, title)."""

    path: Path
    problem: CatalogError
    arxiv_ids: set[str] = field(default_factory=set)
    title: str | None = None

    @property
    def identified(self) -> bool:
        return bool(self.arxiv_ids or self.title)


@dataclass
class Queue:
    """The valid proposals of a root, and one error per problem in the broken ones."""

    proposals: list[Proposal] = field(default_factory=list)
    problems: list[CatalogError] = field(default_factory=list)
    broken: list[Path] = field(default_factory=list)
    raw_arxiv_ids: set[str] = field(default_factory=set)
    broken_files: list[Broken] = field(default_factory=list)

    def weakest_first(self) -> list[Proposal]:
        """Lowest confidence first; among equals, the one with more flags."""
        return sorted(self.proposals, key=lambda p: (p.confidence, -len(p.flags), p.id))


# What a file that does not parse still says: `arxiv_id: 2306.13649`, an arXiv URL, a top-level `title:`.
_ID_LINE = re.compile(r"^\s*-?\s*arxiv_id:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
_ID_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})")
_TITLE_LINE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)


def raw_arxiv_id(record: Record) -> str | None:
    """The arXiv id of a broken proposal: a broken file still blocks a re-proposal."""
    data = record.data
    value = data.get("arxiv_id") if isinstance(data, dict) else None
    if isinstance(value, str) and ARXIV_ID_RE.match(value):
        return value
    # Not parsed, or unquoted (YAML reads `arxiv_id: 2305.18290` as the float 2305.1829): read the text.
    ids = sorted(_text_ids(record))
    return ids[0] if ids else None


def _text_ids(record: Record) -> set[str]:
    text = record.source() or ""  # nothing when the file was refused
    found = {m.group(1) for m in _ID_LINE.finditer(text)} | {m.group(1) for m in _ID_URL.finditer(text)}
    return {i for i in found if ARXIV_ID_RE.match(i)}


def _raw_paper(record: Record) -> tuple[set[str], str | None]:
    """The arXiv ids and title a broken entry still names, from its data or, failing that, its text."""
    data = record.data
    if not isinstance(data, dict):
        found = _TITLE_LINE.search(record.source() or "")
        title = found.group(1).strip("'\"") if found else None
        return _text_ids(record), title or None
    ids: set[str] = set()
    links = data.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        value = link.get("arxiv_id")
        if isinstance(value, str) and ARXIV_ID_RE.match(value):
            ids.add(value)
        url = link.get("url")
        hit = _ID_URL.search(url) if isinstance(url, str) else None
        if hit and ARXIV_ID_RE.match(hit.group(1)):
            ids.add(hit.group(1))
    if not ids:  # e.g. an unquoted id that YAML read as a number
        ids = _text_ids(record)
    title = data.get("title")
    return ids, str(title) if title else None


@dataclass
class EntryScan:
    """The valid entries of a root, and the broken entry files with the papers they still name."""

    entries: list[Entry] = field(default_factory=list)
    broken: list[Broken] = field(default_factory=list)

    def require_identified(self) -> None:
        """A broken entry that names no paper could be proposed again as new: stop (exit 1) naming it."""
        for broken in self.broken:
            if not broken.identified:
                raise CatalogError(
                    broken.path,
                    f"{broken.problem.detail}; no arXiv id or title can be read from it, so its paper could "
                    "be proposed again",
                    line=broken.problem.line,
                    hint="fix the file (`ingest check` lists its problems) or delete it, then run again",
                )


def scan_entries(root: CatalogRoot) -> EntryScan:
    """Every entry in entries/, valid or not; never raises on a broken file."""
    return scan_entry_records(read_records(root.entries_dir, root.cache_dir))


def scan_entry_records(records: Sequence[Record]) -> EntryScan:
    """These entry records, valid or not (scan_entries, for some files of the folder); never raises."""
    scan = EntryScan()
    with bulk():
        for record in records:
            try:
                entry = read_entry(record)
            except CatalogError as exc:
                ids, title = _raw_paper(record)
                scan.broken.append(Broken(record.path, exc, ids, title))
            else:
                scan.entries.append(entry)
    return scan


def scan_queue(root: CatalogRoot, taxonomy: Taxonomy | None = None) -> Queue:
    """Every proposal in review_queue/, valid or not; never raises on a broken file."""
    queue = Queue()
    for path in CatalogRoot.files(root.queue_dir):
        record = read_record(path)
        taxonomy = taxonomy or root.taxonomy  # read at the first file: an empty queue needs none
        try:
            queue.proposals.append(load_proposal(path, taxonomy, record))
        except InvalidFile as exc:
            queue.problems.extend(exc.problems)
            queue.broken.append(path)
            first: CatalogError = exc
        except CatalogError as exc:
            queue.problems.append(exc)
            queue.broken.append(path)
            first = exc
        else:
            continue
        raw = raw_arxiv_id(record)
        if raw:
            queue.raw_arxiv_ids.add(raw)
        title = record.data.get("title") if isinstance(record.data, dict) else None
        queue.broken_files.append(Broken(path, first, {raw} if raw else set(), str(title) if title else None))
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
