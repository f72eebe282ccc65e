"""Few-shot examples at a constant cost: a small pool of the best-filled approved entries, a few per section.

The pool is built once from the catalog's entries (the run's snapshot when it has one) and kept in the cache
as JSON (never pickle), keyed by the identity of the entries folder (inode and mtime, which every create,
delete and atomic replace changes) and of each member's file. So a run loads a few dozen entries whatever the
size of the catalog, and each paper's choice scans only the pool.

A hand edit that rewrites a file in place leaves the folder's mtime alone: it is seen at once when the file is
a member (its own identity is checked), and otherwise at the next change to the folder. A pool is not saved
when the folder or a member changed within SETTLE_NS of the read it was built from (file times are coarse:
a change in the same tick could otherwise go unseen).
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rapidfuzz import fuzz, process

from ingest.models import NOT_APPLICABLE, UNKNOWN, Candidate, Entry
from ingest.paper.tokens import count_tokens

EXAMPLE_TOKENS = 1200  # budget of all few-shot examples together
PER_SECTION = 6  # pool members listed under each section (an entry in two sections may serve both)
VERSION = 1
SETTLE_NS = 2_000_000_000
SECTION_BONUS, AXES_BONUS = 60, 20
_SPECIAL = {UNKNOWN, NOT_APPLICABLE}


def example_text(entry: Entry) -> str:
    """An approved entry as the compact JSON shown to the model (facts only, no evidence or prose)."""
    data = {
        "name": entry.name,
        "title": entry.title,
        "org": entry.org,
        "sections": entry.sections,
        "axes": entry.axes,
        "verdicts": {k: v.model_dump(exclude_none=True) for k, v in entry.verdicts.items()},
        "details": {
            s: {c: v for c, v in cols.items() if c.lower() != "notes"} for s, cols in entry.details.items()
        },
    }
    return json.dumps({k: v for k, v in data.items() if v}, ensure_ascii=False)


def filled(entry: Entry) -> int:
    """How much an entry shows as an example: known axis values, verdicts, detail cells, title and org."""
    # Plain loops: the pool is rebuilt from every entry of the catalog (20,000 at scale) when one changed.
    count = (entry.title is not None) + (entry.org is not None)
    for values in entry.axes.values():
        for value in values:
            if value not in _SPECIAL:
                count += 1
    for verdict in entry.verdicts.values():
        if verdict.value != UNKNOWN:
            count += 1
    for cells in entry.details.values():
        count += len(cells)
    return count


def _shown(entry: Entry) -> Entry:
    # What example_text shows and choose compares: the evidence, reviews and provenance stay in the catalog.
    return entry.model_copy(update={"evidence": {}, "reviewed": {}, "provenance": None, "notes": None})


@dataclass(frozen=True)
class Exemplar:
    """A pool member: the entry as shown, its lowered title, and what its example costs in tokens."""

    entry: Entry
    title: str
    tokens: int

    @classmethod
    def of(cls, entry: Entry) -> Exemplar:
        shown = _shown(entry)
        return cls(shown, (shown.title or shown.name).lower(), count_tokens(example_text(shown)))


class ExemplarPool:
    """The entries few-shot examples are chosen from; see the module docstring."""

    def __init__(self, members: Sequence[Exemplar] = ()) -> None:
        self.members = sorted(members, key=lambda m: m.entry.id)

    def __len__(self) -> int:
        return len(self.members)

    @classmethod
    def build(cls, entries: Iterable[Entry], per_section: int = PER_SECTION) -> ExemplarPool:
        """The `per_section` best-filled entries of each section (ties by id): deterministic."""
        every = list(entries)
        by_section: dict[str, list[tuple[int, str, int]]] = {}
        for index, entry in enumerate(every):
            key = (-filled(entry), entry.id, index)
            for section in entry.sections or [""]:
                by_section.setdefault(section, []).append(key)
        chosen: dict[str, Entry] = {}
        for keys in by_section.values():
            for _, entry_id, index in heapq.nsmallest(per_section, keys):
                chosen[entry_id] = every[index]
        return cls([Exemplar.of(e) for e in chosen.values()])

    def choose(
        self,
        candidate: Candidate,
        *,
        k: int,
        section_hint: str | None = None,
        budget_tokens: int = EXAMPLE_TOKENS,
    ) -> list[Entry]:
        """Up to k members close to the paper (same section as the hint, similar title), in budget; never the
        paper itself."""
        if k <= 0 or not self.members:
            return []
        # Title similarity of every member in one rapidfuzz call.
        scores = process.extract(
            candidate.title.lower(),
            [m.title for m in self.members],
            scorer=fuzz.token_set_ratio,
            processor=None,
            limit=None,
        )
        title_score = {index: score for _, score, index in scores}

        def closeness(i: int) -> float:
            e = self.members[i].entry
            bonus = (SECTION_BONUS if section_hint and section_hint in e.sections else 0) + (
                AXES_BONUS if e.axes else 0
            )
            return title_score.get(i, 0.0) + bonus

        ranked = sorted(range(len(self.members)), key=lambda i: (-closeness(i), self.members[i].entry.id))
        chosen: list[Entry] = []
        used = 0
        for member in (self.members[i] for i in ranked):
            if candidate.arxiv_id and candidate.arxiv_id in member.entry.arxiv_ids:
                continue  # the paper itself must not be its own example
            if used + member.tokens > budget_tokens:
                continue
            chosen.append(member.entry)
            used += member.tokens
            if len(chosen) == k:
                break
        return chosen


def choose_examples(
    entries: Sequence[Entry] | ExemplarPool,
    candidate: Candidate,
    *,
    k: int,
    section_hint: str | None = None,
    budget_tokens: int = EXAMPLE_TOKENS,
) -> list[Entry]:
    """Up to k approved entries close to the paper, in budget: from the pool (or a pool of `entries`)."""
    pool = entries if isinstance(entries, ExemplarPool) else ExemplarPool.build(entries)
    return pool.choose(candidate, k=k, section_hint=section_hint, budget_tokens=budget_tokens)


# -- the pool kept between commands --------------------------------------------------------------------------
def _identity(path: Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_ino, info.st_mtime_ns, info.st_size]


def _folder_identity(folder: Path) -> list[int] | None:
    # A folder's size says nothing reliable (it does not shrink): inode and mtime only.
    found = _identity(folder)
    return found[:2] if found else None


def _cached(path: Path, folder: Path, folder_id: list[int]) -> ExemplarPool | None:
    """The saved pool when the folder and every member are as they were; None otherwise (or unreadable)."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != VERSION or data.get("folder") != folder_id:
            return None
        members = []
        for item in data["members"]:
            if _identity(folder / f"{item['id']}.yaml") != item["file"]:
                return None
            entry = Entry.model_validate(item["entry"])
            members.append(Exemplar(entry, str(item["title"]), int(item["tokens"])))
        return ExemplarPool(members)
    except (OSError, ValueError, KeyError, TypeError, RecursionError, ValidationError):
        return None  # missing, damaged or from another version: built again


def _save(path: Path, pool: ExemplarPool, folder: Path, folder_id: list[int], read_at_ns: int) -> None:
    settled = read_at_ns - SETTLE_NS
    members = []
    for m in pool.members:
        file_id = _identity(folder / f"{m.entry.id}.yaml")
        if file_id is None or file_id[1] >= settled:
            return  # a member changed around the read: the next run builds the pool again
        members.append(
            {
                "id": m.entry.id,
                "file": file_id,
                "title": m.title,
                "tokens": m.tokens,
                "entry": m.entry.model_dump(mode="json", exclude_defaults=True),
            }
        )
    if folder_id[1] >= settled or _folder_identity(folder) != folder_id:
        return
    data = {"version": VERSION, "folder": folder_id, "members": members}
    from ingest.yamlio import atomic_write_bytes  # here: loading a saved pool never needs the YAML writer

    try:
        atomic_write_bytes(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except OSError:
        pass  # a read-only cache only costs speed


def load_pool(
    entries_dir: Path, cache_dir: Path, read: Callable[[], tuple[Iterable[Entry], int]]
) -> ExemplarPool:
    """The pool of the entries in `entries_dir`: from the cache when unchanged, else built from `read()`
    (called only then: the entries, and the wall-clock time in ns at which their read began) and saved for
    the next command."""
    folder_id = _folder_identity(entries_dir)
    if folder_id is None:
        return ExemplarPool()
    path = cache_dir / "fewshot" / "pool.json"
    pool = _cached(path, entries_dir, folder_id)
    if pool is not None:
        return pool
    entries, read_at_ns = read()
    pool = ExemplarPool.build(entries)
    _save(path, pool, entries_dir, folder_id, read_at_ns)
    return pool
