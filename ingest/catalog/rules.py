"""The taxonomy's rules for one record: sections, detail columns, axis values and criteria in its vocabulary.

The one rule set: `ingest check` reports through it and `review approve`/`edit` refuse what it calls an error,
so review can never accept what check rejects. The rules read the raw YAML data rather than the validated
model, so a file with a schema error still has its taxonomy problems reported, each at the line of the value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ingest.catalog.records import Record
from ingest.errors import CatalogError

if TYPE_CHECKING:
    from ingest.taxonomy import Section, Taxonomy

Loc = list[str | int]
# (record, location of the value, severity, code, message)
Emit = Callable[[Record, Sequence[str | int], str, str, str], None]


def detail_columns(section: Section) -> set[str]:
    """The detail keys an entry may hold in `section`: its detail columns and its label (detail_key)."""
    return {*section.detail_names(), section.detail_key}


class TaxonomyRules:
    """Checks raw entry data against one taxonomy; reports through `emit`."""

    def __init__(self, taxonomy: Taxonomy, emit: Emit) -> None:
        self.emit = emit
        self.sections = {s.id: s for s in taxonomy.sections}
        self.columns = {s.id: detail_columns(s) for s in taxonomy.sections}  # once, not once a record
        self.axes = {a.id: set(a.vocabulary) for a in taxonomy.axes}
        self.criteria = {c.id for c in taxonomy.criteria}
        self.verdict_values = {*taxonomy.verdict_values, "unknown"}

    def entry(self, record: Record, data: Any, prefix: Loc) -> None:
        """Sections, details, axes and verdicts of an entry (at `prefix` in the file: [] or ['entry'])."""
        if not isinstance(data, dict):
            return
        sections = data.get("sections")
        sections = sections if isinstance(sections, list) else []
        for i, sid in enumerate(sections):
            self.section(record, sid, [*prefix, "sections", i], "sections")
        details = data.get("details")
        for sid, columns in details.items() if isinstance(details, dict) else []:
            loc = [*prefix, "details", sid]
            if not self.section(record, sid, loc, "details"):
                continue
            if sid not in sections:
                self.emit(
                    record,
                    loc,
                    "warning",
                    "detail-section-not-listed",
                    f"details: {sid!r} is not in this entry's sections, so render skips these details",
                )
            allowed = self.columns[sid]
            for column in columns if isinstance(columns, dict) else []:
                if column not in allowed:
                    self.emit(
                        record,
                        [*loc, column],
                        "error",
                        "unknown-detail-column",
                        f"details.{sid}: column {column!r} is not one of {sorted(allowed)} (taxonomy.yaml)",
                    )
        axes = data.get("axes")
        for axis_id, values in axes.items() if isinstance(axes, dict) else []:
            self.axis(record, axis_id, values, [*prefix, "axes", axis_id], "axes")
        verdicts = data.get("verdicts")
        for crit, verdict in verdicts.items() if isinstance(verdicts, dict) else []:
            loc = [*prefix, "verdicts", crit]
            if crit not in self.criteria:
                self.emit(
                    record,
                    loc,
                    "error",
                    "unknown-criterion",
                    f"verdicts: {crit!r} is not a criterion of the taxonomy ({sorted(self.criteria)})",
                )
            value = verdict.get("value") if isinstance(verdict, dict) else None
            # values outside yes/partial/no/unknown are schema errors already; this is a narrower taxonomy
            if value in ("yes", "partial", "no") and value not in self.verdict_values:
                self.emit(
                    record,
                    [*loc, "value"],
                    "error",
                    "bad-verdict-value",
                    f"verdicts.{crit}: {value!r} is not one of {sorted(self.verdict_values)}",
                )

    def section(self, record: Record, sid: Any, loc: Sequence[str | int], where: str) -> bool:
        section = self.sections.get(sid) if isinstance(sid, str) else None
        if section is None:
            self.emit(
                record,
                loc,
                "error",
                "unknown-section",
                f"{where}: {sid!r} is not a section of the taxonomy; use one of {list(self.sections)}",
            )
            return False
        if section.role != "catalog":
            self.emit(
                record,
                loc,
                "error",
                "unknown-section",
                f"{where}: {sid!r} lists exclusions; an entry belongs in a catalog section",
            )
            return False
        return True

    def axis(self, record: Record, axis_id: Any, values: Any, loc: Loc, where: str) -> None:
        vocabulary = self.axes.get(axis_id)
        if vocabulary is None:
            self.emit(
                record,
                loc,
                "error",
                "unknown-axis",
                f"{where}: {axis_id!r} is not an axis of the taxonomy; use one of {list(self.axes)}",
            )
            return
        items = values if isinstance(values, list) else [values]
        for i, value in enumerate(items):
            if not isinstance(value, str):  # a mapping or nested list: not comparable to words
                self.emit(
                    record,
                    [*loc, i] if isinstance(values, list) else loc,
                    "error",
                    "bad-axis-value",
                    f"{where}.{axis_id}: values are words of its vocabulary, not a {type(value).__name__}",
                )
            elif value not in vocabulary:
                self.emit(
                    record,
                    [*loc, i] if isinstance(values, list) else loc,
                    "error",
                    "bad-axis-value",
                    f"{where}.{axis_id}: {value!r} is not in its vocabulary "
                    f"({', '.join(sorted(vocabulary))})",
                )

    def proposal(self, record: Record, data: Any) -> None:
        """A proposal's entry (or, for an update, its field changes)."""
        if isinstance(data, dict):
            self.entry(record, data.get("entry"), ["entry"])
            self.changes(record, data.get("changes"))

    def changes(self, record: Record, changes: Any) -> None:
        """An update proposal's field changes: sections and axes must stay inside the taxonomy."""
        for i, change in enumerate(changes if isinstance(changes, list) else []):
            if not isinstance(change, dict) or not isinstance(change.get("field"), str):
                continue
            path, new = change["field"], change.get("new")
            loc: Loc = ["changes", i, "new"]
            if path == "sections" and isinstance(new, list):
                for j, sid in enumerate(new):
                    self.section(record, sid, [*loc, j], "changes.sections")
            elif path == "axes" and isinstance(new, dict):
                for axis_id, values in new.items():
                    self.axis(record, axis_id, values, [*loc, axis_id], "changes.axes")
            elif path.startswith("axes."):
                self.axis(record, path.split(".", 1)[1], new, loc, "changes.axes")


def field_loc(data: Any, prefix: Sequence[str | int], path: str) -> Loc | None:
    """The YAML location of a dotted field path such as `axes.teacher_source` or `details.white-box.Data`;
    a key that itself holds a dot is matched whole, so column names with dots still resolve."""
    node = data
    for key in prefix:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    loc: Loc = list(prefix)
    rest = path
    while rest:
        if not isinstance(node, dict):
            return None
        if rest in node:
            return [*loc, rest]
        head, _, rest = rest.partition(".")
        if head not in node:
            return None
        loc.append(head)
        node = node[head]
    return loc


def taxonomy_errors(record: Record, taxonomy: Taxonomy) -> list[CatalogError]:
    """The errors (not warnings) the rules find in a proposal record, at their lines: what review refuses."""
    errors: list[CatalogError] = []

    def collect(rec: Record, loc: Sequence[str | int], severity: str, code: str, message: str) -> None:
        if severity == "error":
            errors.append(CatalogError(rec.path, message, line=rec.line(loc)))

    TaxonomyRules(taxonomy, collect).proposal(record, record.data)
    return errors
