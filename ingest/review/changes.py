"""An update proposal's field changes: what a new extraction adds to a catalog entry (it fills what is
unknown and adds what is new, never replaces a known value), and those changes applied to the entry."""

from __future__ import annotations

from typing import Any

from ingest.models import UNKNOWN, Entry, FieldChange, Link, LinkKind
from ingest.taxonomy import Taxonomy


def _is_unknown(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, list):
        return all(v == UNKNOWN for v in value)
    return bool(value == UNKNOWN)


def _link_key(link: Link) -> str:
    if link.arxiv_id:
        return f"arxiv:{link.arxiv_id}"
    return link.url.rstrip("/").lower()


def update_changes(
    old: Entry,
    new: Entry,
    taxonomy: Taxonomy,
    *,
    version: int | None = None,
    known_version: int | None = None,
    arxiv_id: str | None = None,
    only: list[str] | None = None,
) -> list[FieldChange]:
    """Field-level changes that fill unknowns or add what is new; a known value is never replaced."""
    changes: list[FieldChange] = []
    for axis in taxonomy.axes:
        value = new.axes.get(axis.id)
        if value and not _is_unknown(value) and _is_unknown(old.axes.get(axis.id)):
            changes.append(FieldChange(field=f"axes.{axis.id}", old=old.axes.get(axis.id), new=value))
    for criterion in taxonomy.criteria:
        verdict = new.verdicts.get(criterion.id)
        current = old.verdicts.get(criterion.id)
        if verdict and verdict.value != UNKNOWN and (current is None or current.value == UNKNOWN):
            changes.append(
                FieldChange(
                    field=f"verdicts.{criterion.id}",
                    old=current.model_dump(exclude_none=True) if current else None,
                    new=verdict.model_dump(exclude_none=True),
                )
            )
    for section in old.sections:
        for column, detail in new.details.get(section, {}).items():
            if not _is_unknown(detail) and _is_unknown(old.details.get(section, {}).get(column)):
                changes.append(
                    FieldChange(
                        field=f"details.{section}.{column}",
                        old=old.details.get(section, {}).get(column),
                        new=detail,
                    )
                )
    have = {_link_key(link) for link in old.links}
    added = [link for link in new.links if _link_key(link) not in have]
    if added:
        changes.append(
            FieldChange(
                field="links",
                old=None,
                new=[link.model_dump(mode="json", exclude_none=True) for link in added],
            )
        )
    if old.paper_only and any(link.kind == LinkKind.code for link in added):
        changes.append(FieldChange(field="paper_only", old=True, new=False))
    for scalar in ("org", "title", "date", "stars_repo"):
        if getattr(new, scalar) and _is_unknown(getattr(old, scalar)):
            changes.append(FieldChange(field=scalar, old=getattr(old, scalar), new=getattr(new, scalar)))
    if version and known_version and version > known_version:
        # A newer arXiv version goes on the entry's arXiv link (Link.version): a `links` change whose old
        # value is that link, which apply_changes replaces (the url stays version-less, as the list shows).
        link = next((x for x in old.links if arxiv_id and x.arxiv_id == arxiv_id), None)
        if link is not None:
            changes.append(
                FieldChange(
                    field="links",
                    old=[link.model_dump(mode="json", exclude_none=True)],
                    new=[
                        link.model_copy(update={"version": version}).model_dump(
                            mode="json", exclude_none=True
                        )
                    ],
                )
            )
    if only:
        changes = [c for c in changes if any(c.field == f or c.field.startswith(f + ".") for f in only)]
    return changes


def apply_changes(entry: Entry, changes: list[FieldChange]) -> Entry:
    """The entry with the changes applied; what review approve writes for an update."""
    data = entry.model_dump(mode="json", exclude_none=True)
    for change in changes:
        head, _, rest = change.field.partition(".")
        if head == "links":
            new = change.new if isinstance(change.new, list) else []
            data["links"] = _merge_links(data.get("links", []), [x for x in new if isinstance(x, dict)])
        elif head == "arxiv_version":
            continue  # proposals written before Link.version: the decision records the version
        elif head == "details":
            section, _, column = rest.partition(".")
            data.setdefault("details", {}).setdefault(section, {})[column] = change.new
        elif rest:
            data.setdefault(head, {})[rest] = change.new
        else:
            data[head] = change.new
    return Entry.model_validate(data)


def _merge_links(links: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new` links replace the entry's link to the same place (an arXiv link with a newer version), or are
    added; so an update approved twice, or after the entry gained the link, never lists a link twice."""
    out = list(links)
    for item in new:
        key = _link_key(Link.model_validate(item))
        at = next((i for i, x in enumerate(out) if _link_key(Link.model_validate(x)) == key), None)
        if at is None:
            out.append(item)
        else:
            out[at] = item
    return out
