"""What the known-papers index needs of each entry file, kept between commands in the keyed cache.

A no-op weekly run needs of an entry only its id, its title and the arXiv ids (with the version they name) of
its links. Those facts are kept by file identity (name, inode, mtime, size; as the record cache keeps parsed
data) in one signed file of the root's cache (diskcache.load_signed: a damaged, copied or forged file is
ignored whole). An unchanged file is then only listed and stat'ed, never read, parsed or validated; an added
or edited one is read and validated as before, and its facts join the cache; a deleted one drops out. The
facts of a file are taken only from an entry that validated under the current model code (the cache carries
the models' digest) and the current facts rule (FACTS_VERSION). As for the record cache, an edit in place
that keeps the size, within one tick of the file system's clock, goes unseen until the file changes again.

The Entry models themselves are read only when a command asks for them (EntryIndex.entries): proposing a
paper, the few-shot pool, a backfill.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.catalog.diskcache import bulk, load_signed, models_stamp, save_signed
from ingest.catalog.queue import Broken, EntryScan, scan_entries, scan_entry_records
from ingest.catalog.records import Record, read_entry, read_record, read_records
from ingest.errors import CatalogError

if TYPE_CHECKING:
    from ingest.catalog.store import CatalogRoot
    from ingest.models import Entry

HEADER = b"ingest-known-v2 "
FACTS_VERSION = 2  # bump when entry_facts or the title keys change: cached facts are then rebuilt
# Beyond this many changed files, reading the whole folder through the record cache is cheaper than
# parsing each changed file on its own (and refreshes that cache too).
FEW = 200

ID_IN_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf)/(?P<id>[a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v(?P<v>\d+))?"
)
_NON_WORD = re.compile(r"[^\w]+")

# One valid entry as the index knows it, as JSON keeps it (lists, so a cached item is used as loaded):
# [entry id, fuzzy title key, [[arXiv id, the highest version the link names (URL vN, `version`) or None]]]
EntryFacts = list[Any]


def title_key(title: str | None) -> str:
    """A title as compared across the root: lower case, letters and digits, single spaces."""
    return " ".join(_NON_WORD.sub(" ", (title or "").lower()).split())


def fuzzy_key(title: str | None) -> str:
    """title_key with its words sorted: plain ratio over two such keys is rapidfuzz's token_sort_ratio."""
    return " ".join(sorted(title_key(title).split()))


def entry_facts(entry: Entry) -> EntryFacts:
    links = []
    for link in entry.links:
        if not link.arxiv_id:
            continue
        m = ID_IN_URL.search(link.url)
        named = [int(m.group("v"))] if m and m.group("v") else []
        named += [link.version] if link.version else []
        links.append([link.arxiv_id, max(named) if named else None])
    return [entry.id, fuzzy_key(entry.title), links]


@dataclass
class EntryIndex:
    """The entries folder as the index reads it: the facts of each valid entry (file-name order), the broken
    files with the papers they still name, and the Entry models on demand."""

    facts: list[EntryFacts]
    broken: list[Broken]
    load: Callable[[], list[Entry]] = field(default=list, repr=False)
    loaded: list[Entry] | None = field(default=None, repr=False)
    folder: Path | None = field(default=None, repr=False)

    def entry(self, entry_id: str) -> Entry | None:
        """One valid entry by id: from the models read already, else its own file, read and validated now
        (proposing one paper needs the entry it updates, not the 20,000 others)."""
        if self.loaded is not None:
            return next((e for e in self.loaded if e.id == entry_id), None)  # KnownPapers keeps a dict
        if self.folder is None or "/" in entry_id or entry_id.startswith("."):
            return None
        try:
            return read_entry(read_record(self.folder / f"{entry_id}.yaml", self.folder.parent))
        except CatalogError:
            return None

    @property
    def entries(self) -> list[Entry]:
        """Every valid entry as a model, read (through the record cache) at the first call only."""
        if self.loaded is None:
            self.loaded = self.load()
        return self.loaded

    def require_identified(self) -> None:
        EntryScan(broken=self.broken).require_identified()


def cache_path(root: CatalogRoot) -> Path:
    return root.cache_dir / "records" / "entries.known.json"


def _cached(path: Path) -> dict[str, Any]:
    document = load_signed(path, HEADER)
    if not (
        isinstance(document, dict)
        and document.get("version") == FACTS_VERSION
        and document.get("models") == models_stamp()
        and isinstance(document.get("facts"), dict)
    ):
        return {}
    # The file verified under this cache's key, so this code wrote it: its items have the shape written.
    facts: dict[str, Any] = document["facts"]
    return facts


def read_entry_index(root: CatalogRoot) -> EntryIndex:
    """The entries folder's index facts: unchanged files from the cache, the others read and validated."""
    folder = root.entries_dir
    try:
        # Plain names and one stat each relative to the open folder: at 20,000 files, DirEntry objects,
        # Paths and full-path lookups are most of what a no-op run would still spend here.
        names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml") and not n.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return EntryIndex([], [])
    within = Path(os.path.abspath(folder)).parent.resolve()
    inside = folder.resolve().is_relative_to(within)
    path = cache_path(root)
    cached = _cached(path) if inside else {}
    found: list[EntryFacts | None] = []  # by name: the cached facts, or None for a file to read
    idents: list[str | None] = []
    changed: list[int] = []
    with bulk(), _stat_in(folder) as lstat:
        for i, name in enumerate(names):
            try:
                info = lstat(name)
            except OSError:  # gone since listed: read_record says so
                found.append(None)
                idents.append(None)
                changed.append(i)
                continue
            key = f"{name}|{info.st_ino}|{info.st_mtime_ns}|{info.st_size}"
            facts = cached.get(key) if stat.S_ISREG(info.st_mode) else None
            if facts.__class__ is not list:
                facts = None
                changed.append(i)
            found.append(facts)
            idents.append(key)

    def load() -> list[Entry]:
        return scan_entries(root).entries

    stale = len(names) - len(changed) != len(cached)  # some cached file is gone or changed
    if not changed and not stale:  # the no-op: nothing read, nothing written
        return EntryIndex([f for f in found if f is not None], [], load, folder=folder)
    if len(changed) > FEW:  # the whole folder, through the record cache (and refreshing it)
        records = read_records(folder, root.cache_dir)
    else:
        records = [read_record(folder / names[i], within, folder_checked=inside) for i in changed]
    valid, broken = _validate(records)
    kept = {k: f for k, f in zip(idents, found, strict=True) if k is not None and f is not None}
    read: dict[str, EntryFacts] = {}
    for record, entry in valid:
        read[record.path.name] = facts = entry_facts(entry)
        if record.key is not None:
            kept[record.key] = facts
    loaded: list[Entry] | None = None
    if len(changed) > FEW:
        loaded = [entry for _, entry in valid]
        facts_list = [read[r.path.name] for r, _ in valid]
    else:
        for i in changed:
            found[i] = read.get(names[i])
        facts_list = [f for f in found if f is not None]
    if inside and (stale or valid):  # a broken file is read again by every command: it changes no fact
        save_signed(path, HEADER, {"version": FACTS_VERSION, "models": models_stamp(), "facts": kept})
    return EntryIndex(facts_list, broken, load, loaded, folder)


@contextmanager
def _stat_in(folder: Path) -> Iterator[Callable[[str], os.stat_result]]:
    """lstat of a file of `folder` by name: relative to the open folder where the system allows it."""
    if os.stat not in os.supports_dir_fd:
        yield lambda name: os.lstat(folder / name)
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield lambda name: os.stat(name, dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def _validate(records: list[Record]) -> tuple[list[tuple[Record, Entry]], list[Broken]]:
    """The records that are valid entries, each with its model; and the broken ones (scan_entries' rule)."""
    valid, broken = [], []
    with bulk():
        for record in records:
            try:
                valid.append((record, read_entry(record)))
            except CatalogError:
                broken.extend(scan_entry_records([record]).broken)
    return valid, broken
