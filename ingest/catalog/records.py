"""The one reader of a root's records (entries, queue, decisions, exclusions, state): libyaml, YAML 1.2.

ruamel's round-trip loader (yamlio) reads about 2.7 ms per entry file, libyaml about 0.2 ms; ruamel is kept
for writing only. yaml12.py reads YAML as ruamel does (YAML 1.2 scalars, duplicate keys refused).
Line numbers come from one place, `Record.line`: the record keeps its text and composes it again (libyaml, no
new read of the file) only when a problem needs a line; the lines (lines.py) then go to the record cache, so
a flagged record is composed once, not by every command.

Hostile files are refused before anything is expanded: only regular files inside the root (symlinks resolved),
at most MAX_FILE_BYTES, nested at most MAX_DEPTH deep, with no anchors or aliases (a 350-byte alias bomb
expands to gigabytes once built; these files never need them).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from ingest.catalog.diskcache import DiskCache, bulk, forget_disk_caches
from ingest.catalog.lines import LineTree, exact_line, line_tree, nearest_line
from ingest.catalog.yaml12 import compose, parse
from ingest.errors import CatalogError, InvalidFile
from ingest.yamlio import MAX_FILE_BYTES, limit_error

if TYPE_CHECKING:  # pydantic and the models load when a record is validated: listing files needs neither
    from pydantic import BaseModel, ValidationError

    from ingest.catalog.store import CatalogRoot
    from ingest.models import Entry, Exclusion

M = TypeVar("M", bound="BaseModel")


def _locate(path: Path, within: Path | None, folder_checked: bool) -> tuple[Path, os.stat_result]:
    """The file to open and its status; CatalogError for a path that resolves outside the root (default: the
    root holding the record's folder), a non-regular file (never opened: a pipe would block) or a large one.
    Only a symlink, or a folder not checked already, costs a full path resolution."""
    info = os.lstat(path)
    real = path
    if stat.S_ISLNK(info.st_mode) or not folder_checked:
        root = (within or Path(os.path.abspath(path)).parent.parent).resolve()
        real = path.resolve()
        if not real.is_relative_to(root):
            raise CatalogError(
                path, f"resolves outside the catalog root (to {real})", hint="replace the link by the file"
            )
        info = os.stat(real)
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(path, "is not a regular file", hint="replace it by a YAML file or delete it")
    if info.st_size > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes ({info.st_size})")
    return real, info


def read_bytes(path: Path, within: Path | None = None, *, folder_checked: bool = False) -> bytes:
    """A record file's bytes, refused with one line when it is not a regular file inside the root or too
    large. Never blocks on a pipe or a device."""
    real, _ = _locate(path, within, folder_checked)
    return _read_located(path, real)


def _read_located(path: Path, real: Path) -> bytes:
    try:
        # O_NONBLOCK and the fstat below: a file swapped for a pipe after _locate still cannot block.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise CatalogError(path, f"cannot be read ({exc.strerror})", hint="check the file") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise CatalogError(path, "is not a regular file", hint="replace it by a YAML file or delete it")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise limit_error(path, f"larger than {MAX_FILE_BYTES} bytes")
    return data


def read_text(path: Path, within: Path | None = None) -> str:
    """A record file's text (read_bytes' refusals, and not UTF-8, are CatalogErrors)."""
    data = read_bytes(path, within)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(path, f"not UTF-8 text ({exc.reason})", hint="save the file as UTF-8") from exc


@dataclass
class Record:
    """One YAML file of the root: its data, or the error that stopped it; line numbers on demand."""

    path: Path
    data: Any = None
    error: CatalogError | None = None
    text: str | None = field(default=None, repr=False)
    from_cache: bool = field(default=False, repr=False)
    # The file's identity (name|inode|mtime|size) and the folder's cache: validated models are kept by it
    # within a command, and a line tree between commands.
    key: str | None = field(default=None, repr=False)
    disk: DiskCache | None = field(default=None, repr=False)
    _lines: LineTree | None = field(default=None, repr=False)
    _composed: bool = field(default=False, repr=False)

    def source(self) -> str | None:
        """The file's text: as read, or read now for a record that came parsed from the disk cache."""
        if self.text is None and self.error is None and self.from_cache:
            try:
                self.text = read_text(self.path)
            except CatalogError:
                return None
        return self.text

    def _tree(self) -> LineTree | None:
        if self._lines is None and self.key is not None and self.disk is not None:
            self._lines = self.disk.lines(self.key)
        if self._lines is None and not self._composed:
            self._composed = True
            text = self.source()
            try:
                node = compose(text, self.path) if text is not None else None
            except (yaml.YAMLError, CatalogError):
                node = None  # no lines for a file that does not compose
            if node is not None:
                self._lines = line_tree(node)
                if self.key is not None and self.disk is not None and self.error is None:
                    self.disk.put_lines(self.key, self._lines)
        return self._lines

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc`, or of its nearest parent that exists (pydantic error locations)."""
        return nearest_line(self._tree(), loc)

    def exact_line(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc` only when the whole path exists."""
        return exact_line(self._tree(), loc)

    def valid(self, model: type[M]) -> M | None:
        """The model this unchanged file validated as earlier in this command, if any."""
        if self.key is None:
            return None
        found = _VALID.get((str(self.path), self.key, model))
        return found if isinstance(found, model) else None

    def remember(self, value: M) -> M:
        """Keep `value`, validated from this unchanged file, for the next read in this command; and, in the
        disk cache, that this file's data is valid as its model."""
        if self.key is not None:
            if len(_VALID) >= _PARSED_MAX:
                _VALID.clear()
            _VALID[(str(self.path), self.key, type(value))] = value
            if self.disk is not None:
                self.disk.mark_valid(self.key, type(value).__name__)
        return value

    def known_valid(self, model: type[BaseModel]) -> bool:
        """Whether this unchanged file's data validated as `model` before (this command, or a verified disk
        cache): a reader that needs no model object can skip building one."""
        if self.key is None or self.error is not None:
            return False
        if (str(self.path), self.key, model) in _VALID:
            return True
        return self.disk is not None and self.disk.is_valid(self.key, model.__name__)

    def validate(self, model: type[M]) -> M:
        """The record as `model`; raises InvalidFile with every pydantic error, each with its line."""
        from pydantic import ValidationError

        if self.error is not None:
            raise self.error
        if self.data is None:
            raise CatalogError(self.path, "the file is empty", line=1, hint="delete it or fill it in")
        known = self.valid(model)
        if known is not None:
            return known
        try:
            return self.remember(model.model_validate(self.data))
        except ValidationError as exc:
            raise InvalidFile(validation_errors(self, exc)) from exc


def validation_errors(record: Record, exc: ValidationError) -> list[CatalogError]:
    """One CatalogError per pydantic error, each with the line of the offending key."""
    errors = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.append(CatalogError(record.path, f"{where}: {message}", line=record.line(loc)))
    return errors


def id_mismatch(record: Record, record_id: str, kind: str) -> CatalogError:
    """The one "id does not match the file name" error (review, check, the store and the index all use it)."""
    return CatalogError(
        record.path,
        f"{kind} id {record_id!r} does not match the file name {record.path.name!r}",
        line=record.line(["id"]),
        hint="rename the file or fix the id",
    )


# Parsed data by (path, inode, mtime, size): `review approve` renders right after writing, and `ingest run`
# checks what it rendered, so one process often reads the same unchanged files twice. Atomic writes replace
# the inode, so a rewritten file never hits a stale key. Values are never mutated by readers; the text is
# None for data that came from the disk cache (Record.source reads it when needed).
_PARSED: dict[tuple[str, int, int, int], tuple[Any, str | None]] = {}
_PARSED_MAX = 50_000
# Models validated from unchanged files, by (path, identity key, model): a command that reads a folder twice
# (the run's broken-file warnings, then its index) validates each file once. The models are shared, as the
# parsed data is: readers never mutate them (they copy: model_copy).
_VALID: dict[tuple[str, str, type[BaseModel]], BaseModel] = {}


_CHILDREN: dict[str, dict[str, Path]] = {}


def clear_cache() -> None:
    """Forget every parsed file and validated model, and the loaded disk caches (benchmarks measure a cold
    start with it)."""
    _PARSED.clear()
    _VALID.clear()
    _CHILDREN.clear()
    forget_disk_caches()


def record_from_text(text: str, path: Path) -> Record:
    """A record of text not (yet) on disk, e.g. a reviewer's edited copy."""
    try:
        return Record(path, data=parse(text, path), text=text)
    except CatalogError as exc:
        return Record(path, error=exc)


def read_record(
    path: Path, within: Path | None = None, *, folder_checked: bool = False, disk: DiskCache | None = None
) -> Record:
    """Read one file; any refusal, syntax or encoding error is kept in the record with its line.
    `folder_checked`: the caller made sure the file's folder lies inside the root (read_records does).
    `disk`: parsed data kept between commands (read_records passes the folder's)."""
    try:
        real, info = _locate(path, within, folder_checked)
        key = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
        ident = DiskCache.key(path, info)
        if key in _PARSED:
            data, text = _PARSED[key]
            if disk is not None:
                disk.put(ident, data)  # parsed earlier in this process: still the file's current data
            return Record(path, data=data, text=text, from_cache=text is None, key=ident, disk=disk)
        if disk is not None:
            hit, data = disk.get(ident)
            if hit:
                _remember_parse(key, data, None)
                return Record(path, data=data, from_cache=True, key=ident, disk=disk)
        raw = _read_located(path, real)
    except CatalogError as exc:
        return Record(path, error=exc)
    except OSError as exc:
        error = CatalogError(path, f"cannot be read ({exc.strerror})", hint="check the file")
        return Record(path, error=error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = CatalogError(path, f"not UTF-8 text ({exc.reason})", hint="save the file as UTF-8")
        return Record(path, error=error, text=raw.decode("utf-8", errors="replace"))
    try:
        data = parse(text, path)
    except CatalogError as exc:
        return Record(path, error=exc, text=text)  # the text still names the paper (queue.raw_paper)
    _remember_parse(key, data, text)
    if disk is not None:
        disk.put(ident, data)
    return Record(path, data=data, text=text, key=ident, disk=disk)


def _remember_parse(key: tuple[str, int, int, int], data: Any, text: str | None) -> None:
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = (data, text)


def record_files(folder: Path) -> list[Path]:
    """The YAML records of a folder in a stable order (temporary files of atomic writes are skipped)."""
    try:
        # scandir and a sort of plain names: Path.glob and Path comparisons cost ~30 µs a file at 20,000
        names = sorted(
            entry.name
            for entry in os.scandir(folder)
            if entry.name.endswith(".yaml") and not entry.name.startswith(".")
        )
    except (FileNotFoundError, NotADirectoryError):
        return []
    # A Path costs ~10 µs to build: a folder listed again in this command reuses the ones it built.
    known = _CHILDREN.setdefault(str(folder), {})
    if len(known) > _PARSED_MAX:
        known.clear()
    return [known.get(name) or known.setdefault(name, folder / name) for name in names]


def unread_files(folder: Path) -> list[tuple[Path, str]]:
    """What a person put in a record folder that no command reads, with what to do: a `.yml` (or `.YAML`)
    file, a folder holding YAML files. Render and check would otherwise leave its record out unsaid."""
    try:
        found = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out: list[tuple[Path, str]] = []
    for entry in found:
        name, path = entry.name, Path(entry.path)
        if name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            try:
                holds = any(n.lower().endswith((".yaml", ".yml")) for n in os.listdir(path))
            except OSError:
                holds = False
            if holds:
                where = f"{folder.name}/"
                what = f"a folder: only the .yaml files directly in {where} are read; move its files up"
                out.append((path, what))
        elif name.lower().endswith((".yml", ".yaml")) and not name.endswith(".yaml"):
            stem = name.rsplit(".", 1)[0]
            out.append((path, f"not read: only files named *.yaml are; rename it to {stem}.yaml"))
    return out


def read_records(folder: Path, cache_dir: Path | None = None) -> list[Record]:
    """Every record of a folder; the folder is checked to lie inside the root once, not per file.
    `cache_dir`: keep the parsed records there between commands (DiskCache)."""
    files = record_files(folder)
    if not files:
        return []
    root = Path(os.path.abspath(folder)).parent.resolve()
    inside = folder.resolve().is_relative_to(root)
    with bulk():
        disk = DiskCache.of(cache_dir / "records" / f"{folder.name}.json") if cache_dir is not None else None
        records = [read_record(p, root, folder_checked=inside, disk=disk) for p in files]
    if disk is not None:
        disk.save()
    return records


def read_model(path: Path, model: type[M], within: Path | None = None) -> M:
    """One file validated as `model`; raises CatalogError (InvalidFile for schema errors) naming the file."""
    return read_record(path, within).validate(model)


def read_entry(record: Record) -> Entry:
    """An entry record validated, its id matching its file name."""
    from ingest.models import Entry

    entry = record.validate(Entry)
    if entry.id != record.path.stem:
        raise id_mismatch(record, entry.id, "entry")
    return entry


def load_catalog(root: CatalogRoot) -> tuple[list[Entry], list[Exclusion]]:
    """Every entry and exclusion, validated; raises on the first invalid file (check reports them all)."""
    entries, exclusions, _ = load_catalog_files(root)
    return entries, exclusions


def load_catalog_files(root: CatalogRoot) -> tuple[list[Entry], list[Exclusion], list[str | None]]:
    """load_catalog, and the files' identities (entries/, then exclusions/) that name what was read."""
    from ingest.models import Exclusion

    entry_records = read_records(root.entries_dir, root.cache_dir)
    exclusion_records = read_records(root.exclusions_dir, root.cache_dir)
    with bulk():
        entries = [read_entry(record) for record in entry_records]
        exclusions = [record.validate(Exclusion) for record in exclusion_records]
    return entries, exclusions, catalog_files(entry_records, exclusion_records)


def catalog_files(entries: Sequence[Record], exclusions: Sequence[Record]) -> list[str | None]:
    """The identities of a catalog's entry and exclusion files, in order, each folder named."""
    return ["entries/", *(r.key for r in entries), "exclusions/", *(r.key for r in exclusions)]
