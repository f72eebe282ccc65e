"""Validate a catalog root against the schema and the taxonomy; every problem is reported with file and line.

Errors (exit 1): YAML syntax, schema, ids (not a slug, leaving the folder, not the file's name, duplicated),
duplicate arXiv ids, sections / detail columns / axis values / criteria outside the taxonomy (catalog.rules),
an update proposal whose target entry is missing, and a rendered catalog out of sync with entries/.
Warnings (exit 0, or 1 under --strict): fields of entries and proposals whose evidence is flagged
(ungrounded, injection-suspect, disagreement, ...) or whose confidence is below the threshold, and
inconsistencies that render silently skips, and a journal in .ingest-journal/ (an approval or rejection that
was interrupted; the next `ingest review` command finishes it). Infos (a catalog that was not compared) never
change the exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ingest.catalog.diskcache import bulk, save_caches
from ingest.catalog.records import Record, catalog_files, id_mismatch, read_records, unread_files
from ingest.catalog.rules import TaxonomyRules, field_loc
from ingest.catalog.store import CatalogRoot
from ingest.check.rendered import compare_rendered
from ingest.check.report import CheckReport, Problem, Severity, summary_line
from ingest.errors import CatalogError
from ingest.markdown.escape import safe_url
from ingest.models import ID_RE, Entry, Exclusion, FieldEvidence, Flag

# Start-up: the review models (proposals, decisions), the merge rules and the renderer are imported where a
# check needs them (a queued proposal, a reviewed weak field, a changed catalog), not by every check.
from ingest.taxonomy import Taxonomy

__all__ = ["CheckReport", "Problem", "check_root", "summary_line"]

# Flags that ask a human to look; `heuristic` and `page-corrected` only describe how a value was found.
WARNING_FLAGS = (
    Flag.injection_suspect,
    Flag.ungrounded,
    Flag.unsupported,
    Flag.disagreement,
    Flag.missing,
    Flag.scope_partial,
    Flag.low_confidence,
)


class _Checker:
    """Collects the problems of one root; each `check_*` method reads one folder."""

    def __init__(self, root: CatalogRoot, taxonomy: Taxonomy, min_confidence: float) -> None:
        self.root = root
        self.taxonomy = taxonomy
        self.min_confidence = min_confidence
        self.report = CheckReport(root.path, min_confidence)
        self.rules = TaxonomyRules(taxonomy, self.emit)
        self.entry_ids: set[str] = set()
        self.entry_arxiv: dict[str, Record] = {}
        self.entries_ok = self.exclusions_ok = True
        self.entry_records: list[Record] = []
        self.folders: dict[Path, Path] = {}
        self.exclusion_records: list[Record] = []

    # -- plumbing ------------------------------------------------------------------------------------------
    def rel(self, path: Path) -> str:
        try:
            return self.resolve(path).relative_to(self.root.path).as_posix()
        except (ValueError, OSError):
            return str(path)

    def resolve(self, path: Path) -> Path:
        """path.resolve(), with each folder resolved once: a resolve costs a system call a path component,
        and a check of 20,000 entries may report on each."""
        if path.is_symlink():
            return path.resolve()
        folder = self.folders.get(path.parent)
        if folder is None:
            folder = self.folders[path.parent] = path.parent.resolve()
        return folder / path.name

    def add(
        self,
        record: Record | Path,
        line: int | None,
        severity: Severity,
        code: str,
        message: str,
        **extra: Any,
    ) -> None:
        path = record.path if isinstance(record, Record) else record
        self.report.problems.append(Problem(self.rel(path), line, severity, code, message, **extra))

    def emit(self, record: Record, loc: Sequence[str | int], severity: str, code: str, message: str) -> None:
        """A problem at the line of `loc` (or of its nearest parent that exists)."""
        self.add(record, record.line(loc), "warning" if severity == "warning" else "error", code, message)

    def validate(self, record: Record, model: type[BaseModel]) -> Any:
        """The record as `model`, or None after reporting its syntax or schema errors (all of them)."""
        if record.error is not None:
            self.add(record, record.error.line, "error", "yaml-syntax", record.error.detail)
            return None
        if record.data is None:
            self.add(record, 1, "error", "empty", "the file is empty; delete it or fill it in")
            return None
        known = record.valid(model)
        if known is not None:
            return known
        try:
            return record.remember(model.model_validate(record.data))
        except ValidationError as exc:
            for err in exc.errors():
                loc = list(err["loc"])
                where = ".".join(str(p) for p in loc) or "file"
                code = "bad-id" if loc[-1:] == ["id"] and err["type"] == "value_error" else "schema"
                self.emit(record, loc, "error", code, f"{where}: {err['msg'].removeprefix('Value error, ')}")
            return None

    def check_name(self, record: Record, record_id: Any, kind: str) -> None:
        """The file name must be a slug and match the record's id (when that id is itself a valid slug)."""
        stem = record.path.stem
        if not ID_RE.match(stem) or ".." in stem:
            self.add(
                record,
                None,
                "error",
                "bad-filename",
                f"file name {record.path.name!r} is not a slug; rename it to '<id>.yaml'",
            )
        elif (
            isinstance(record_id, str)
            and ID_RE.match(record_id)
            and ".." not in record_id
            and record_id != stem
        ):
            error = id_mismatch(record, record_id, kind)
            self.add(record, error.line, "error", "id-mismatch", f"{error.detail}; {error.hint}")

    def duplicate(
        self,
        seen: dict[str, Record],
        key: str,
        record: Record,
        loc: Sequence[str | int],
        code: str,
        what: str,
    ) -> None:
        """Report `key` when an earlier file (in name order) already holds it."""
        first = seen.setdefault(key, record)
        if first is not record:
            self.emit(record, loc, "error", code, f"{what} {key!r} is also in {self.rel(first.path)}")

    # -- evidence ------------------------------------------------------------------------------------------
    def check_evidence(self, record: Record, entry: Entry, prefix: list[str | int]) -> None:
        for path, evidence in entry.evidence.items():
            flags = self.weak_flags(evidence)
            # a field a reviewer approved is quiet while its value is the one approved (a proposal's entry
            # has no reviewed fields: nothing in the queue has been approved)
            if flags and not (entry.reviewed and _still_reviewed(entry, path)):
                self.flag_field(record, path, evidence, prefix, flags)

    def check_entry_evidence(self, record: Record, entry: Entry | None) -> None:
        """check_evidence of a valid entry file, its models built only for a weak field (the entry's only when
        that field asks whether a reviewer approved it)."""
        if entry is not None:
            self.check_evidence(record, entry, [])
            return
        for path, raw in record.data["evidence"].items():
            # The file is known valid (verified cache): its evidence has a confidence and flags of Flag's
            # values (a StrEnum, so the strings compare equal), read without building a model.
            flags = self.weak(raw.get("flags") or (), raw["confidence"])
            if not flags:
                continue
            if record.data.get("reviewed"):
                entry = record.validate(Entry)
                if _still_reviewed(entry, path):
                    continue
            self.flag_field(record, path, FieldEvidence.model_validate(raw), [], flags)

    def weak_flags(self, evidence: FieldEvidence) -> list[Flag]:
        """The flags that make a field worth a warning, low-confidence last."""
        return self.weak(evidence.flags, evidence.confidence)

    def weak(self, stored: Sequence[str], confidence: float) -> list[Flag]:
        # The threshold given to check decides low-confidence, not the flag stored at extraction time (that
        # one used the threshold of then): recompute it from the stored confidence.
        flags: list[Flag] = [f for f in WARNING_FLAGS if f in stored and f != Flag.low_confidence]
        if confidence < self.min_confidence:
            flags.append(Flag.low_confidence)
        return flags

    def flag_field(
        self, record: Record, path: str, evidence: FieldEvidence, prefix: list[str | int], flags: list[Flag]
    ) -> None:
        """One warning per weak field, at the line of the field itself (else of its evidence key)."""
        low = evidence.confidence < self.min_confidence
        parts = [f"confidence {evidence.confidence:.2f}" + (f" < {self.min_confidence:.2f}" if low else "")]
        others = [f.value for f in flags if f != Flag.low_confidence]
        if others:
            parts.append("flagged " + ", ".join(others))
        if evidence.support in ("weak", "unsupported"):
            parts.append(f"support {evidence.support}: {evidence.support_note or 'see the quotes'}")
        if evidence.note:
            parts.append(" ".join(evidence.note.split()))
        loc = field_loc(record.data, prefix, path)
        line = (record.exact_line(loc) if loc else None) or record.line([*prefix, "evidence", path])
        self.add(
            record,
            line,
            "warning",
            flags[0].value,
            f"{path}: {'; '.join(parts)}",
            field=path,
            flags=tuple(f.value for f in flags),
            confidence=evidence.confidence,
        )

    # -- folders -------------------------------------------------------------------------------------------
    def check_unread(self) -> None:
        """Files in the record folders that nothing reads (`gkd.yml`, `entries/old/`): a warning each."""
        root = self.root
        for folder in (root.entries_dir, root.queue_dir, root.exclusions_dir, root.decisions_dir):
            for path, what in unread_files(folder):
                self.add(path, None, "warning", "not-read", what)

    def check_entries(self) -> list[Record]:
        """Every entry file's problems; returns the valid ones (their models are built only if needed)."""
        records = self.entry_records = read_records(self.root.entries_dir, self.root.cache_dir)
        self.report.counts["entries"] = len(records)
        ids: dict[str, Record] = {}
        arxiv: dict[str, Record] = {}
        valid: list[Record] = []
        for record in records:
            # A file that validated before (verified cache, unchanged file) is not validated again: what
            # follows reads its data, and render builds the models only when it has to render.
            known = record.known_valid(Entry)
            entry = None if known else self.validate(record, Entry)
            data = record.data if isinstance(record.data, dict) else {}
            self.check_name(record, data.get("id"), "entry")
            if isinstance(data.get("id"), str):
                self.duplicate(ids, data["id"], record, ["id"], "duplicate-id", "id")
            self.rules.entry(record, data, [])
            links = data.get("links")
            for i, link in enumerate(links if isinstance(links, list) else []):
                if isinstance(link, dict) and isinstance(link.get("arxiv_id"), str):
                    self.duplicate(
                        arxiv,
                        link["arxiv_id"],
                        record,
                        ["links", i, "arxiv_id"],
                        "duplicate-arxiv",
                        "arXiv id",
                    )
            if known or entry is not None:
                self.check_links(record, data)
                if data.get("evidence"):
                    self.check_entry_evidence(record, entry)
                valid.append(record)
        self.entry_ids, self.entry_arxiv = set(ids), arxiv
        self.entries_ok = len(valid) == len(records)
        return valid

    def check_links(self, record: Record, data: dict[str, Any]) -> None:
        """Only http(s) links reach the list: render drops any other, and this says which and where. `data`
        is a valid entry's (its url and links' urls are text or None)."""
        links = data.get("links") or []
        urls: list[tuple[list[str | int], Any]] = [(["url"], data.get("url"))]
        urls += [(["links", i, "url"], link.get("url")) for i, link in enumerate(links)]
        for loc, url in urls:
            if isinstance(url, str) and not safe_url(url):
                self.emit(
                    record, loc, "error", "unsafe-link",
                    f"{url[:80]!r} is not an http(s) URL; render leaves it out (fix or remove it)",
                )

    def check_proposals(self) -> None:
        records = read_records(self.root.queue_dir, self.root.cache_dir)
        self.report.counts["proposals"] = len(records)
        if not records:
            return
        from ingest.models import Proposal
        arxiv: dict[str, Record] = {}
        for record in records:
            proposal = self.validate(record, Proposal)
            data = record.data if isinstance(record.data, dict) else {}
            self.check_name(record, data.get("id"), "proposal")
            self.rules.proposal(record, data)
            target = data.get("target")
            if data.get("kind") == "update" and isinstance(target, str) and target not in self.entry_ids:
                self.emit(
                    record,
                    ["target"],
                    "error",
                    "unknown-target",
                    f"target {target!r} is not an entry in entries/; reject this proposal or fix the target",
                )
            if isinstance(data.get("arxiv_id"), str) and data.get("kind") == "new":
                self.duplicate(
                    arxiv, data["arxiv_id"], record, ["arxiv_id"], "duplicate-arxiv", "proposed arXiv id"
                )
            if proposal is None:
                continue
            if proposal.entry is not None:
                self.check_evidence(record, proposal.entry, ["entry"])
            paper_flags = [f for f in WARNING_FLAGS if f in proposal.flags and f != Flag.low_confidence]
            if paper_flags:
                names = ", ".join(f.value for f in paper_flags)
                self.add(
                    record,
                    record.line(["flags"]),
                    "warning",
                    paper_flags[0].value,
                    f"proposal flagged {names}; read the paper before approving",
                    flags=tuple(f.value for f in paper_flags),
                    confidence=proposal.confidence,
                )

    def check_exclusions(self) -> list[Exclusion]:
        records = self.exclusion_records = read_records(self.root.exclusions_dir, self.root.cache_dir)
        self.report.counts["exclusions"] = len(records)
        arxiv: dict[str, Record] = {}
        valid = []
        for record in records:
            exclusion = self.validate(record, Exclusion)
            data = record.data if isinstance(record.data, dict) else {}
            self.check_name(record, data.get("id"), "exclusion")
            aid = data.get("arxiv_id")
            if isinstance(aid, str):
                self.duplicate(arxiv, aid, record, ["arxiv_id"], "duplicate-arxiv", "excluded arXiv id")
                if aid in self.entry_arxiv:
                    self.emit(
                        record,
                        ["arxiv_id"],
                        "warning",
                        "excluded-entry",
                        f"arXiv id {aid!r} is excluded here but is also the entry "
                        f"{self.rel(self.entry_arxiv[aid].path)}; remove one of them",
                    )
            if exclusion is not None:
                valid.append(exclusion)
        self.exclusions_ok = len(valid) == len(records)
        return valid

    def check_decisions(self) -> None:
        records = read_records(self.root.decisions_dir, self.root.cache_dir)
        self.report.counts["decisions"] = len(records)
        if not records:
            return
        from ingest.models import Decision

        for record in records:
            self.validate(record, Decision)
            data = record.data if isinstance(record.data, dict) else {}
            self.check_name(record, data.get("id"), "decision")

    def check_journal(self) -> None:
        """A decision journal left behind: a review command was killed after its commit point."""
        for journal in self.root.review_journals():
            self.add(
                journal,
                None,
                "warning",
                "interrupted-decision",
                f"the decision on proposal {journal.stem!r} was interrupted; the next `ingest review` "
                "command (or `ingest run`) finishes it",
            )

    def check_rendered(self, entries: list[Record], exclusions: list[Exclusion]) -> None:
        """The configured output's marker block must equal a fresh render of entries/ (check/rendered.py)."""
        files = None  # not compared while entries/ or exclusions/ hold errors
        if self.entries_ok and self.exclusions_ok:
            files = catalog_files(self.entry_records, self.exclusion_records)
        for path, line, severity, code, message in compare_rendered(
            self.root, self.taxonomy, entries, exclusions, files
        ):
            self.add(path, line, severity, code, message)


def _still_reviewed(entry: Entry, path: str) -> bool:
    from ingest.catalog.merge import still_reviewed

    return still_reviewed(entry, path)


def check_root(root: CatalogRoot, *, min_confidence: float | None = None) -> CheckReport:
    """Validate every record of the root; never stops at the first problem. UsageError if not a root."""
    root.require()
    try:
        taxonomy = root.taxonomy
        config = root.config
    except CatalogError as exc:  # without a valid taxonomy or config nothing else can be judged
        report = CheckReport(root.path, min_confidence or 0.0)
        file = Path(exc.file)
        rel = file.relative_to(root.path).as_posix() if file.is_relative_to(root.path) else exc.file
        report.problems.append(Problem(rel, exc.line, "error", "config", exc.detail))
        return report
    threshold = config.check.min_confidence if min_confidence is None else min_confidence
    checker = _Checker(root, taxonomy, threshold)
    with bulk():  # every folder read, validated and rendered: millions of small objects, no cycles
        entries = checker.check_entries()
        checker.check_proposals()
        exclusions = checker.check_exclusions()
        checker.check_decisions()
        checker.check_journal()
        checker.check_unread()
        checker.check_rendered(entries, exclusions)
    save_caches()  # the lines of flagged records, for the next check
    # errors first, then warnings, then info (which may refer to the errors), each by file and line
    rank = {"error": 0, "warning": 1, "info": 2}
    checker.report.problems.sort(key=lambda p: (rank[p.severity], p.file, p.line or 0))
    return checker.report
