"""Score an extraction: confidence and flags per field, and the entry's confidence (its weakest required one).

A field's confidence is the product of four parts, each 0..1:

- the model's own confidence (what the extractor said);
- grounding: the mean match of its quotes (exact 1, fuzzy score/100, not found 0). A field with a value and no
  quote scores 0; a field that says `unknown`/`n/a` and quotes nothing claims nothing and scores 1;
- agreement with the cross-check (the heuristic backend, or a second sample): 1 when the cross-check has no
  opinion, else 0.75 + 0.25 x the overlap of the two value sets (Jaccard), so a full disagreement costs a
  quarter.

- support (extract/support.py): 1 when the quotes say what the value claims (or it was not checked),
  WEAK_SUPPORT when only partly, NO_SUPPORT when not (the field also carries `unsupported`).

The heuristic backend's fields are capped at HEURISTIC_CAP. Required fields are name, title, sections, every
axis and every criterion; a required field that is unknown is `missing`. A paper whose text tries to instruct
the model (injection-suspect) gets its entry confidence capped just under the threshold, so CI and the
reviewer look at it.
"""

from __future__ import annotations

from ingest.models import NOT_APPLICABLE, UNKNOWN, Entry, Extraction, FieldEvidence, Flag, MatchKind
from ingest.taxonomy import Taxonomy

HEURISTIC_CAP = 0.5
WEAK_SUPPORT, NO_SUPPORT = 0.8, 0.4
SUPPORT_FACTOR = {"weak": WEAK_SUPPORT, "unsupported": NO_SUPPORT}
SPECIAL = {NOT_APPLICABLE, UNKNOWN}
FLAG_ORDER = list(Flag)


def required_fields(taxonomy: Taxonomy) -> list[str]:
    return (
        ["name", "title", "sections"]
        + [f"axes.{a.id}" for a in taxonomy.axes]
        + [f"verdicts.{c.id}" for c in taxonomy.criteria]
    )


def field_values(entry: Entry, path: str) -> set[str] | None:
    """The comparable values of a field, or None when it has none (unknown, empty, not compared)."""
    head, _, rest = path.partition(".")
    values: set[str]
    if head == "axes":
        values = set(entry.axes.get(rest, [])) - SPECIAL
    elif head == "verdicts":
        verdict = entry.verdicts.get(rest)
        values = {str(verdict.value)} - SPECIAL if verdict else set()
    elif head == "sections":
        values = set(entry.sections[:1])
    elif head in ("name", "title", "org"):
        values = {v} if (v := getattr(entry, head)) else set()
    elif head == "links":
        values = set(entry.code_urls)
    elif head == "details":
        section, _, column = rest.partition(".")
        values = {v} if (v := entry.details.get(section, {}).get(column)) else set()
    else:
        return None
    return values or None


def grounding(evidence: FieldEvidence, has_value: bool) -> float:
    if not evidence.quotes:
        return 0.0 if has_value else 1.0
    parts = []
    for q in evidence.quotes:
        if q.match == MatchKind.exact:
            parts.append(1.0)
        elif q.match == MatchKind.fuzzy:
            parts.append((q.score or 0.0) / 100)
        elif q.match == MatchKind.not_found:
            parts.append(0.0)
        else:
            parts.append(0.8)  # never verified: some doubt, not none
    return sum(parts) / len(parts)


def agreement(path: str, entry: Entry, cross: Entry | None) -> float | None:
    """Overlap (0..1) of the field with the cross-check's, or None when either side has no opinion."""
    if cross is None or path.split(".")[0] in ("name", "title", "org", "links", "details", "scope"):
        return None
    mine, theirs = field_values(entry, path), field_values(cross, path)
    if not mine or not theirs:
        return None
    return len(mine & theirs) / len(mine | theirs)


def _ordered(flags: set[Flag]) -> list[Flag]:
    return sorted(flags, key=FLAG_ORDER.index)


def score(
    extraction: Extraction, *, taxonomy: Taxonomy, cross_check: Extraction | None, min_confidence: float
) -> Extraction:
    """Confidence and flags per field and for the entry; pure: returns a new Extraction."""
    entry = extraction.entry
    heuristic = extraction.backend == "heuristic"
    cross = cross_check.entry if cross_check is not None else None
    required = required_fields(taxonomy)
    evidence: dict[str, FieldEvidence] = {}
    for path in sorted(set(entry.evidence) | set(required)):
        ev = entry.evidence.get(path) or FieldEvidence(confidence=0.0, note="the extractor gave no value")
        has_value = field_values(entry, path) is not None
        flags = set(ev.flags) - {Flag.low_confidence, Flag.disagreement, Flag.missing}
        model_conf = ev.model_confidence if ev.model_confidence is not None else ev.confidence
        g = grounding(ev, has_value)
        if has_value and not ev.quotes:
            flags.add(Flag.ungrounded)
        agree = agreement(path, entry, cross)
        a = 1.0 if agree is None else 0.75 + 0.25 * agree
        if agree == 0.0:
            flags.add(Flag.disagreement)
        conf = model_conf * g * a * SUPPORT_FACTOR.get(ev.support or "", 1.0)
        if path in required and not has_value and not _not_applicable(entry, path):
            flags.add(Flag.missing)
            conf = min(conf, 0.3)
        if heuristic:
            flags.add(Flag.heuristic)
            conf = min(conf, HEURISTIC_CAP)
        if conf < min_confidence:
            flags.add(Flag.low_confidence)
        evidence[path] = ev.model_copy(
            update={"confidence": round(conf, 3), "model_confidence": model_conf, "flags": _ordered(flags)}
        )

    entry_conf = min((evidence[p].confidence for p in required), default=0.0)
    paper_flags: set[Flag] = {f for f in extraction.flags if f in (Flag.injection_suspect, Flag.heuristic)}
    if heuristic:
        paper_flags.add(Flag.heuristic)
        entry_conf = min(entry_conf, HEURISTIC_CAP)
    if Flag.injection_suspect in paper_flags:
        entry_conf = min(entry_conf, max(0.0, min_confidence - 0.01))
    if extraction.scope.verdict == "borderline" or any(v.value == "partial" for v in entry.verdicts.values()):
        paper_flags.add(Flag.scope_partial)
    for ev in evidence.values():
        paper_flags |= set(ev.flags)
    if entry_conf < min_confidence:
        paper_flags.add(Flag.low_confidence)
    return extraction.model_copy(
        update={
            "entry": entry.model_copy(update={"evidence": evidence}),
            "flags": _ordered(paper_flags),
            "confidence": round(entry_conf, 3),
        }
    )


def _not_applicable(entry: Entry, path: str) -> bool:
    head, _, rest = path.partition(".")
    return head == "axes" and NOT_APPLICABLE in entry.axes.get(rest, [])
