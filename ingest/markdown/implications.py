"""Axis values a list states through its structure: the taxonomy's `implications`, applied to one entry.

A rule fires when every condition it gives holds: the entry is listed in `section`, the heading its row sits
under matches `heading`, a technical-details cell of `column` matches `pattern`, and nothing of the entry's
row or details matches `unless`. On each axis only the fired rules of the highest priority count (a cell
refines a section), and their values are joined. An axis no rule reaches stays `unknown`. The evidence of an
inferred value is the list's own text (the heading or the cell) with its line: provenance "inferred from
the list".
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
    for rule in taxonomy.implications:
        for place in placements:
            quote = _fire(rule, place)
            if quote is None:
                continue
            quote = quote.model_copy(update={"file": source})
            for axis_id, values in rule.axes.items():
                fired.setdefault(axis_id, []).append((rule.rank, values, quote))
    axes: dict[str, list[str]] = {}
    evidence: dict[str, FieldEvidence] = {}
    for axis in taxonomy.axes:
        hits = fired.get(axis.id, [])
        if not hits:
            axes[axis.id] = [UNKNOWN]
            continue
        top = max(rank for rank, _, _ in hits)
        values: list[str] = []
        quotes: list[ListQuote] = []
        for rank, vals, quote in hits:
            if rank != top:
                continue
            values += [v for v in vals if v not in values]
            if quote not in quotes:
                quotes.append(quote)
        order = axis.vocabulary
        axes[axis.id] = sorted(values, key=order.index)
        evidence[f"axes.{axis.id}"] = FieldEvidence(confidence=CONFIDENCE, note=INFERRED, list_quotes=quotes)
    return axes, evidence
