"""A proposal as rows a reviewer reads: each field's old and new value, evidence (quote, page) and flags."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any, Literal

from ingest.catalog.store import CatalogRoot, model_to_yaml_data

if TYPE_CHECKING:
    from ingest.models import Entry, FieldEvidence, Flag, Proposal

Status = Literal["added", "changed", "same", "removed"]

# Fields a reviewer does not judge: bookkeeping, or shown elsewhere (evidence sits under each field).
_HIDDEN = {"evidence", "provenance"}


@dataclass
class Row:
    field: str
    old: Any
    new: Any
    status: Status
    evidence: FieldEvidence | None = None
    flags: list[Flag] = dc_field(default_factory=list)


def _flatten(entry_data: dict[str, Any]) -> dict[str, Any]:
    """Entry data as dotted fields: axes, verdicts and details one row per key, as evidence names them."""
    out: dict[str, Any] = {}
    for key, value in entry_data.items():
        if key in _HIDDEN:
            continue
        if key in ("axes", "verdicts") and isinstance(value, dict):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = v
        elif key == "details" and isinstance(value, dict):
            for section, columns in value.items():
                for column, v in (columns or {}).items():
                    out[f"details.{section}.{column}"] = v
        else:
            out[key] = value
    return out


def _evidence_for(entry: Entry | None, name: str) -> FieldEvidence | None:
    if entry is None:
        return None
    if name in entry.evidence:
        return entry.evidence[name]
    head = name.split(".")[0]
    return entry.evidence.get(head)


def _row(name: str, old: Any, new: Any, entry: Entry | None) -> Row:
    status: Status = (
        "added" if old is None else "removed" if new is None else "changed" if old != new else "same"
    )
    evidence = _evidence_for(entry, name)
    return Row(name, old, new, status, evidence, list(evidence.flags) if evidence else [])


def proposal_rows(root: CatalogRoot, proposal: Proposal) -> list[Row]:
    """The rows of `review show`: a diff against the catalog, or the whole entry for a new one."""
    if proposal.kind == "exclude" and proposal.exclusion is not None:
        data = model_to_yaml_data(proposal.exclusion)
        return [Row(k, None, v, "added") for k, v in data.items() if k not in _HIDDEN]
    if proposal.kind == "update":
        return [_row(c.field, c.old, c.new, proposal.entry) for c in proposal.changes]
    assert proposal.entry is not None
    new = _flatten(model_to_yaml_data(proposal.entry))
    old: dict[str, Any] = {}
    if root.entry_path(proposal.entry.id).exists():
        old = _flatten(model_to_yaml_data(root.read_entry(proposal.entry.id)))
    return [_row(name, old.get(name), value, proposal.entry) for name, value in new.items()]


def summary(proposal: Proposal) -> dict[str, Any]:
    """The one-line view of `review list` (and its --json)."""
    prov = proposal.provenance
    return {
        "id": proposal.id,
        "kind": proposal.kind,
        "title": proposal.title,
        "arxiv_id": proposal.arxiv_id,
        "version": proposal.version,
        "target": proposal.target,
        "confidence": proposal.confidence,
        "flags": [str(f) for f in proposal.flags],
        "resubmission_of": proposal.resubmission_of,
        "edited": proposal.edited,
        "run_id": prov.run_id,
        "backend": prov.backend,
        "model": prov.model,
    }
