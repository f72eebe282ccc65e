"""Importing a list into a root that has entries: merge field by field, so review and evidence are never lost.

A field is *protected* when a person or the pipeline stands behind its value: a reviewer approved it
(`Entry.reviewed`), it has quotes from the paper, or the entry came from an approved extraction or an edit.
A protected field keeps its value and evidence unless the list itself changed that fact (the list's words
that gave the old value, kept as `list_quotes` evidence, differ now); a value the list does not know
(absent, `unknown`) never replaces a known one; a protected value the list contradicts without such a trace
is kept and reported as not reconciled. An unprotected field (imported before, never reviewed) takes the
list's value. Entries the list does not name are left as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.models import Entry, Exclusion, FieldEvidence

# Entry fields that are bookkeeping, not facts of the resource: never compared field by field.
_NOT_FACTS = frozenset({"id", "order", "provenance", "evidence", "reviewed", "details", "axes", "verdicts"})
# compared per key: axes.teacher_source, verdicts.c1, details.<section>
_KEYED = ("details", "axes", "verdicts")
_UNKNOWN = ("unknown",)


def fingerprint(value: Any) -> str:
    """A short stable hash of a field's value (its JSON form), recorded when a reviewer approves it."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def field_values(entry: Entry) -> dict[str, Any]:
    """Every fact of an entry by field path (title, links, axes.teacher_source, verdicts.c1, ...), as JSON."""
    data = entry.model_dump(mode="json")
    out = {name: value for name, value in data.items() if name not in _NOT_FACTS}
    for keyed in _KEYED:
        for key, value in (data.get(keyed) or {}).items():
            out[f"{keyed}.{key}"] = value
    return out


def reviewed_fields(entry: Entry, paths: Iterable[str] | None = None) -> dict[str, str]:
    """The `reviewed` record of `paths` (all facts when None) with their values' fingerprints now."""
    values = field_values(entry)
    wanted = values.keys() if paths is None else [p for p in paths if p in values]
    return {path: fingerprint(values[path]) for path in wanted}


def still_reviewed(entry: Entry, path: str) -> bool:
    """True when a reviewer approved this field's current value (unchanged since)."""
    values = field_values(entry)
    # evidence may name a part of a field (details.<section>.<column>): the reviewed one is its parent
    while path not in values and "." in path:
        path = path.rsplit(".", 1)[0]
    if path not in values:
        # evidence of no field, such as the paper's scope call: the approval that made the entry decided it
        return bool(entry.reviewed)
    recorded = entry.reviewed.get(path)
    return recorded is not None and path in values and fingerprint(values[path]) == recorded


def _is_unknown(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return True
    if isinstance(value, list) and tuple(value) == _UNKNOWN:
        return True
    return isinstance(value, dict) and value.get("value") == "unknown" and not value.get("note")


def _list_words(evidence: FieldEvidence | None) -> list[str]:
    return [q.text for q in evidence.list_quotes] if evidence is not None else []


def _protected(entry: Entry, path: str) -> bool:
    evidence = entry.evidence.get(path)
    source = entry.provenance.source if entry.provenance is not None else "imported"
    return path in entry.reviewed or bool(evidence and evidence.quotes) or source != "imported"


@dataclass
class FieldNote:
    entry: str
    field: str
    why: str


@dataclass
class MergeReport:
    """What an import does to a root with entries: entries added, fields changed, kept and not reconciled."""

    added: list[str] = field(default_factory=list)
    changed: list[FieldNote] = field(default_factory=list)
    kept: list[FieldNote] = field(default_factory=list)
    conflicts: list[FieldNote] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # entries of the root the list does not name
    entries: list[Entry] = field(default_factory=list)  # what to write
    exclusions: list[Exclusion] = field(default_factory=list)


def _merge_one(old: Entry, new: Entry, report: MergeReport) -> Entry:
    before, after = field_values(old), field_values(new)
    data = old.model_dump(mode="json")
    evidence = dict(old.evidence)
    reviewed = dict(old.reviewed)

    def take(path: str, value: Any) -> None:
        if "." in path:
            group, key = path.split(".", 1)
            if value is None:
                data[group].pop(key, None)
            else:
                data.setdefault(group, {})[key] = value
        else:
            data[path] = value
        if path in new.evidence:
            evidence[path] = new.evidence[path]
        else:
            evidence.pop(path, None)
        reviewed.pop(path, None)

    for path in sorted(set(before) | set(after)):
        was, now = before.get(path), after.get(path)
        if was == now:
            continue
        if not _protected(old, path):
            take(path, now)
            report.changed.append(FieldNote(old.id, path, "the list changed it"))
        elif _is_unknown(now):
            report.kept.append(FieldNote(old.id, path, "the list does not say; the reviewed value is kept"))
        elif _list_words(old.evidence.get(path)) and _list_words(old.evidence.get(path)) != _list_words(
            new.evidence.get(path)
        ):
            take(path, now)
            report.changed.append(FieldNote(old.id, path, "the list's own words for it changed"))
        elif _list_words(old.evidence.get(path)):
            report.kept.append(FieldNote(old.id, path, "the list is unchanged here; the reviewed value kept"))
        else:
            report.conflicts.append(
                FieldNote(old.id, path, f"the list says {json.dumps(now)}; kept {json.dumps(was)}")
            )
    data["order"] = new.order  # the curators' row order is the list's, not a fact under review
    data["evidence"] = {k: v.model_dump(mode="json") for k, v in evidence.items()}
    data["reviewed"] = reviewed
    return Entry.model_validate(data)


def merge_import(existing: Iterable[Entry], imported: Iterable[Entry]) -> MergeReport:
    """The entries to write when `imported` (parsed from the list) goes into a root holding `existing`.

    An imported entry matches an existing one by id, else by a shared arXiv id (the existing id stays)."""
    report = MergeReport()
    current = {e.id: e for e in existing}
    by_arxiv = {arxiv: e for e in current.values() for arxiv in e.arxiv_ids}
    named: set[str] = set()
    for new in imported:
        old = current.get(new.id) or next((by_arxiv[a] for a in new.arxiv_ids if a in by_arxiv), None)
        if old is None:
            report.added.append(new.id)
            report.entries.append(new)
            continue
        named.add(old.id)
        if old.id != new.id:
            new = new.model_copy(update={"id": old.id})
        merged = _merge_one(old, new, report)
        if merged != old:
            report.entries.append(merged)
    report.untouched = sorted(set(current) - named)
    return report
