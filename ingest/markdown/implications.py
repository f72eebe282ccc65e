"""Axis values a list states through its structure: the taxonomy's `implications`, applied to one entry.

A rule fires when every condition it gives holds: the entry is listed in `section`, the heading its row sits
under matches `heading`, a technical-details cell of `column` matches `pattern`, and nothing of the entry's
row or details matches `unless`. An axes column of the list (the one render writes, `axes_display`) states
values outright: where an entry has one, its cell decides every axis and no rule applies. On each axis only
the fired rules of the highest priority count (a cell refines a section), and their values are joined. An
axis no rule reaches stays `unknown`. The evidence of an inferred value is the list's own text (the heading or
the cell) with its line: provenance "inferred from the list".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.markdown.strictness import norm
from ingest.models import UNKNOWN, FieldEvidence, ListQuote
from ingest.taxonomy import Implication, Taxonomy

INFERRED = "inferred from the list"
CONFIDENCE = 0.9  # the curators' own classification, read through a rule: high, short of a reviewer's word


@dataclass
class Placement:
    """Where an entry sits in the list: a section, the headings above its row, its technical-details row."""

    section: str
    headings: list[tuple[int, str]]  # (line, text), outermost first
    detail_line: int | None = None
    details: dict[str, str] = field(default_factory=dict)  # taxonomy column name -> cell text
    text: str = ""  # the row's own words (title and notes), for `unless`
    stated: tuple[int, str] | None = None  # (line, text) of a main-table axes column


STATED = 10  # the list's own axes column outranks every rule: a curator wrote it, or a render did


def stated_axes(taxonomy: Taxonomy, text: str) -> dict[str, list[str]]:
    """Axis id → values of an axes cell as layout.axes_text writes it ('Teacher source: external teacher;
    ...'); labels or ids, case and punctuation aside; what it does not name is left out."""
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        label, sep, rest = part.partition(":")
        axis = next((a for a in taxonomy.axes if norm(label) in (norm(a.label), norm(a.id))), None)
        if not sep or axis is None:
            continue
        names = {norm(v.label): v.id for v in axis.values} | {norm(v): v for v in axis.vocabulary}
        values = [names[norm(v)] for v in rest.split(",") if norm(v) in names]
        if values:
            out[axis.id] = values
    return out


def _stated(taxonomy: Taxonomy, place: Placement) -> tuple[ListQuote, dict[str, list[str]]] | None:
    header = taxonomy.axes_display.header
    col = next((c for c in place.details if norm(c) == norm(header)), None)
    if col is not None and place.detail_line is not None:
        line, text = place.detail_line, place.details[col]
    elif place.stated is not None:
        line, text = place.stated
    else:
        return None
    return ListQuote(text=f"{header}: {text}", line=line, rule="axes-column"), stated_axes(taxonomy, text)


def _matches(rx: str, text: str) -> bool:
    return re.search(rx, text, re.IGNORECASE) is not None


def _fire(rule: Implication, place: Placement) -> ListQuote | None:
    """The list text that makes `rule` fire for this placement, or None."""
    if rule.section and rule.section != place.section:
        return None
    quote: ListQuote | None = None
    if rule.heading:
        hit = next(((ln, t) for ln, t in reversed(place.headings) if _matches(rule.heading, t)), None)
        if hit is None:
            return None
        quote = ListQuote(text=hit[1], line=hit[0], rule=rule.id)
    if rule.column and rule.pattern:
        col = next((c for c in place.details if norm(c) == norm(rule.column)), None)
        if col is None or place.detail_line is None or not _matches(rule.pattern, place.details[col]):
            return None
        quote = ListQuote(text=f"{col}: {place.details[col]}", line=place.detail_line, rule=rule.id)
    if rule.unless and any(_matches(rule.unless, t) for t in (place.text, *place.details.values())):
        return None
    if quote is None and place.headings:  # a section rule: the section's heading says it
        line, text = place.headings[0]
        quote = ListQuote(text=text, line=line, rule=rule.id)
    return quote


def infer_axes(
    taxonomy: Taxonomy, placements: list[Placement], source: str | None
) -> tuple[dict[str, list[str]], dict[str, FieldEvidence]]:
    """Axis id → values (`unknown` where nothing implies one), and evidence for every inferred axis."""
    fired: dict[str, list[tuple[int, list[str], ListQuote]]] = {}
    said = [x for x in (_stated(taxonomy, p) for p in placements) if x is not None]
    # An axes column is the list's own word on every axis: what it leaves out is unknown, no rule applies.
    for rule in [] if said else taxonomy.implications:
        for place in placements:
            quote = _fire(rule, place)
            if quote is None:
                continue
            quote = quote.model_copy(update={"file": source})
            for axis_id, values in rule.axes.items():
                fired.setdefault(axis_id, []).append((rule.rank, values, quote))
    for quote, stated in said:
        located = quote.model_copy(update={"file": source})
        for axis_id, said_values in stated.items():
            fired.setdefault(axis_id, []).append((STATED, said_values, located))
    axes: dict[str, list[str]] = {}
    evidence: dict[str, FieldEvidence] = {}
    for axis in taxonomy.axes:
        hits = fired.get(axis.id, [])
        if not hits:
            axes[axis.id] = [UNKNOWN]
            continue
        top = max(rank for rank, _, _ in hits)
        joined: list[str] = []
        quotes: list[ListQuote] = []
        for rank, vals, quote in hits:
            if rank != top:
                continue
            joined += [v for v in vals if v not in joined]
            if quote not in quotes:
                quotes.append(quote)
        order = axis.vocabulary
        axes[axis.id] = sorted(joined, key=order.index)
        evidence[f"axes.{axis.id}"] = FieldEvidence(confidence=CONFIDENCE, note=INFERRED, list_quotes=quotes)
    return axes, evidence
