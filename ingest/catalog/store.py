"""The catalog root on disk: where each kind of file lives, and safe reads and atomic writes of them.

<root>/taxonomy.yaml      sections, axes, columns            ingest.yaml   config
<root>/entries/<id>.yaml  the catalog, one file a resource   state.yaml    watermark and failures
<root>/review_queue/      proposals waiting for a reviewer   decisions/    approvals and rejections
<root>/exclusions/        out-of-scope papers                runs/         run reports
<root>/prompts/           prompt files                       .ingest-cache/ downloads, texts, LLM answers
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.catalog.diskcache import DiskCache
from ingest.catalog.records import read_entry, read_model, read_record, read_records, record_files
from ingest.catalog.yaml12 import rewrite_record, write_record
from ingest.env import Env
from ingest.errors import CatalogError, InvalidFile, UsageError
from ingest.models import check_id
from ingest.yamlio import atomic_write_text

if TYPE_CHECKING:  # the config, the taxonomy and the models load on first use: `review list` needs none
    from pydantic import BaseModel

    from ingest.config import Config
    from ingest.models import Decision, Entry, Exclusion, Proposal, RunState
    from ingest.taxonomy import Taxonomy

__all__ = ["CatalogRoot", "InvalidFile", "bundled", "model_to_yaml_data", "prune", "read_model"]

TAXONOMY = "taxonomy.yaml"
CONFIG = "ingest.yaml"
STATE = "state.yaml"
CACHE = ".ingest-cache"
LOCK = ".ingest.lock"
# What a new root keeps out of git: the caches, the lock, the journals of work in flight (review decisions
# half-done, kept edits) and runs/ (each run's journal and reports; the weekly workflow uploads them as an
# artifact). Written once, into a new root; a maintainer's own .gitignore is never changed.
GITIGNORE = f"""# written by ingest: caches, the lock, work in flight, run journals and reports
{CACHE}/
.ingest-journal/
{LOCK}
runs/
"""


def bundled(name: str) -> Path:
    """A file shipped in ingest/data (the AwesomeOPD taxonomy, the default config, the prompts)."""
    return Path(str(resources.files("ingest") / "data" / name))


def prune(value: Any) -> Any:
    """Drop None, empty lists and empty dicts, so files hold only what was said."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def model_to_yaml_data(model: BaseModel) -> Any:
    return prune(model.model_dump(mode="json"))


@dataclass
class NewRoot:
    """What `CatalogRoot.created_for_command` yields: whether the command made the root, whether it failed."""

    created: bool
    failed: bool = False


class CatalogRoot:
    """One catalog root. Stages get what they need from it; nothing below the CLI reaches for the cwd."""

    def __init__(self, path: Path | str, *, env: Env | None = None) -> None:
        self.path = Path(path).resolve()
        # The environment as the caller resolved it (the CLI: os.environ); the library never reads it.
        self.env = env or Env()

    # -- layout -------------------------------------------------------------------------------------------
    @property
    def taxonomy_path(self) -> Path:
        return self.path / TAXONOMY

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def state_path(self) -> Path:
        return self.path / STATE

    @property
    def entries_dir(self) -> Path:
        return self.path / "entries"

    @property
    def queue_dir(self) -> Path:
        return self.path / "review_queue"

    @property
    def decisions_dir(self) -> Path:
        return self.path / "decisions"

    @property
    def exclusions_dir(self) -> Path:
        return self.path / "exclusions"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def prompts_dir(self) -> Path:
        return self.path / "prompts"

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK

    def lock(self, command: str) -> AbstractContextManager[None]:
        """The root's one lock for a command that writes (catalog/lock.py: one waiting rule, holder named)."""
        from ingest.catalog.lock import root_lock  # here: readers (check, review list) never lock

        if self.env.lock_wait is None:
            return root_lock(self.lock_path, command)
        return root_lock(self.lock_path, command, wait=self.env.lock_wait)

    @property
    def review_journal_dir(self) -> Path:
        """Decisions in flight (review/decide.py): one file each until its commit point is passed."""
        return self.path / ".ingest-journal"

    def review_journals(self) -> list[Path]:
        return self.files(self.review_journal_dir)

    @cached_property
    def cache_dir(self) -> Path:
        return Path(self.env.cache_dir) if self.env.cache_dir else self.path / CACHE

    def exists(self) -> bool:
        return self.taxonomy_path.is_file()

    def require(self) -> CatalogRoot:
        if not self.exists():
            raise UsageError(
                f"{self.path} is not a catalog root (no {TAXONOMY})",
                hint="pass --root, or run import-markdown, fetch, add or run there to create one",
            )
        return self

    def create(self) -> CatalogRoot:
        """Make this folder a root with the bundled taxonomy, config and prompts; keeps what is there."""
        self.path.mkdir(parents=True, exist_ok=True)
        gitignore = self.path / ".gitignore"
        if not self.taxonomy_path.exists() and not gitignore.exists():
            atomic_write_text(gitignore, GITIGNORE)
        if not self.taxonomy_path.exists():
            shutil.copyfile(bundled(TAXONOMY), self.taxonomy_path)
        if not self.config_path.exists():
            shutil.copyfile(bundled(CONFIG), self.config_path)
        prompts = bundled("prompts")
        if prompts.is_dir() and not self.prompts_dir.exists():
            shutil.copytree(prompts, self.prompts_dir)
        self.entries_dir.mkdir(exist_ok=True)
        return self

    @contextmanager
    def created_for_command(self) -> Iterator[NewRoot]:
        """The root, created when missing, for a command that fills it (run, fetch, add).

        When such a command fails (it raises, or sets `failed` on what this yields) before it wrote anything
        of its own, a root it created is removed again, with any folders made above it: a failed first run
        leaves no half-made catalog behind, and its "nothing was changed" stays true. Downloads and the lock
        do not count as work; a run journal (work to resume), a report or a proposal does, and keeps it."""
        made = self.path
        while not made.parent.exists():
            made = made.parent
        outcome = NewRoot(created=not self.path.exists())
        self.create()
        scaffold = self._own_files() if outcome.created else set()
        try:
            yield outcome
        except BaseException:
            outcome.failed = True
            raise
        finally:
            if outcome.created and outcome.failed and self._own_files() <= scaffold:
                shutil.rmtree(made, ignore_errors=True)

    def _own_files(self) -> set[Path]:
        """Every file of the root but the cache and the lock: what a command has written there."""
        cache = self.path / CACHE
        return {p for p in self.path.rglob("*") if p.is_file() and p.name != LOCK and cache not in p.parents}

    def _parsed(self, path: Path) -> Any:
        """A file of the root (taxonomy, config) read as a record: libyaml, within the limits, and its parse
        kept in the record cache while the file is unchanged (the bundled taxonomy takes ~10 ms to parse,
        its cached parse under 1 ms). Validation is the caller's, every time. Raises CatalogError."""
        disk = DiskCache(self.cache_dir / "records" / f"{path.name}.json")
        record = read_record(path, self.path, disk=disk)
        disk.save()
        if record.error is not None:
            raise record.error
        return record.data

    @cached_property
    def taxonomy(self) -> Taxonomy:
        """The taxonomy, read with the fast loader (ruamel takes about 1 s on the bundled file, libyaml a few
        ms); on any doubt ruamel reads it again, which reports the problem with its line."""
        from ingest.taxonomy import Taxonomy, load_taxonomy

        if self.taxonomy_path.is_file():
            try:
                return Taxonomy.model_validate(self._parsed(self.taxonomy_path))
            except (CatalogError, ValueError):
                pass
        return load_taxonomy(self.taxonomy_path)

    @cached_property
    def config(self) -> Config:
        """ingest.yaml, read with the fast loader like the taxonomy (ruamel's import and parse cost more than
        the rest of `check` on the bundled catalog); on any doubt load_config reads it again, with lines."""
        from ingest.config import Config, load_config, with_env

        if self.config_path.is_file():
            try:
                data = self._parsed(self.config_path)
                if isinstance(data, dict):
                    return with_env(Config.model_validate(data), self.env)
            except (CatalogError, ValueError):
                pass
        return load_config(self.config_path, self.env)

    # -- paths of records ---------------------------------------------------------------------------------
    def _file(self, folder: Path, record_id: str) -> Path:
        try:
            check_id(record_id)
        except ValueError as exc:
            raise UsageError(str(exc), hint="ids are slugs such as 'gkd' or 'minillm'") from exc
        path = (folder / f"{record_id}.yaml").resolve()
        if path.parent != folder.resolve():
            raise UsageError(f"id {record_id!r} would leave {folder.name}/")
        return path

    def entry_path(self, entry_id: str) -> Path:
        return self._file(self.entries_dir, entry_id)

    def proposal_path(self, proposal_id: str) -> Path:
        return self._file(self.queue_dir, proposal_id)

    def decision_path(self, proposal_id: str) -> Path:
        return self._file(self.decisions_dir, proposal_id)

    def exclusion_path(self, exclusion_id: str) -> Path:
        return self._file(self.exclusions_dir, exclusion_id)

    @staticmethod
    def files(folder: Path) -> list[Path]:
        """The YAML records of a folder in a stable order (temporary files of atomic writes are skipped)."""
        return record_files(folder)

    # -- entries ------------------------------------------------------------------------------------------
    def read_entry(self, entry_id: str) -> Entry:
        return read_entry(read_record(self.entry_path(entry_id)))

    def iter_entries(self) -> Iterator[Entry]:
        """Every entry; raises on the first invalid file (check.py reports them all)."""
        for record in read_records(self.entries_dir, self.cache_dir):
            yield read_entry(record)

    def entries(self) -> dict[str, Entry]:
        return {e.id: e for e in self.iter_entries()}

    def write_entry(self, entry: Entry) -> Path:
        path = self.entry_path(entry.id)
        rewrite_record(path, model_to_yaml_data(entry))  # a maintainer's comments in the entry stay
        return path

    # -- proposals, decisions, exclusions -----------------------------------------------------------------
    def read_proposal(self, proposal_id: str) -> Proposal:
        path = self.proposal_path(proposal_id)
        if not path.exists():
            raise UsageError(
                f"no proposal {proposal_id!r} in {self.queue_dir.name}/", hint="see `ingest review list`"
            )
        from ingest.models import Proposal

        return read_model(path, Proposal)

    def write_proposal(self, proposal: Proposal) -> Path:
        path = self.proposal_path(proposal.id)
        write_record(path, model_to_yaml_data(proposal))
        return path

    def write_decision(self, decision: Decision) -> Path:
        path = self.decision_path(decision.id)
        write_record(path, model_to_yaml_data(decision))
        return path

    def decisions(self) -> list[Decision]:
        from ingest.models import Decision

        return [read_model(p, Decision) for p in self.files(self.decisions_dir)]

    def write_exclusion(self, exclusion: Exclusion) -> Path:
        path = self.exclusion_path(exclusion.id)
        write_record(path, model_to_yaml_data(exclusion))
        return path

    def exclusions(self) -> list[Exclusion]:
        from ingest.models import Exclusion

        return [read_model(p, Exclusion) for p in self.files(self.exclusions_dir)]

    # -- state ----------------------------------------------------------------------------------------------
    def read_state(self) -> RunState:
        from ingest.models import RunState

        if not self.state_path.exists():
            return RunState()
        return read_model(self.state_path, RunState, within=self.path)

    def write_state(self, state: RunState) -> None:
        write_record(self.state_path, model_to_yaml_data(state))
