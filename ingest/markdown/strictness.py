"""Strictness notes → C1/C2 verdicts, and the name matching that joins notes and detail rows to entries.

Verdict rules (criterion labels, ids and keywords come from the taxonomy's `criteria`):

1. An entry without a note is `yes` on every criterion: the list flags only what partially satisfies OPD.
2. A note's explicit marks set values: a label followed by a mark (``C1 ✓`` → yes, ``C2 ✗`` → no,
   ``C1: partial`` / ``C2 partially fails`` / ``C2 is degenerate`` / ``C2 fails strict …`` → partial), labels
   joined by ``+`` share the mark (``C1+C2 ✓``), ``partially satisfies C1`` → partial, and
   ``partial <keyword>`` where the keyword is one of a criterion's keywords (``Partial on-policy`` → C1
   partial). A criterion marked both yes and no in one note is partial
   (``C1+C2 ✓ … C1 ✗ on the off-policy half``).
3. A note with ⚠️ flags at least one criterion as short of yes. If its marks already hold a partial or a no,
   the unmarked criteria are yes. Otherwise the unmarked criteria whose keywords occur in the note become
   partial; when none does, the last unmarked criterion does (C2 in the bundled taxonomy: the teacher signal
   is what most ⚠️ notes question).
4. A note without ⚠️ sets only its explicit marks; the other criteria are yes.
5. An entry with several notes (one per section) takes, per criterion, the weakest value (no < partial < yes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ingest.taxonomy import Criterion

WARNING_RE = re.compile("⚠")
MARK_CUT_RE = re.compile(r"[,;.():·|]")
PARTIAL_RE = re.compile(r"\b(partial|partially|partly|degenerate|mixed)\b|\bfails? strict")
NO_RE = re.compile(r"[✗✘❌]|\bfails?\b|\bno\b|\bnot satisfied\b")
YES_RE = re.compile(r"[✓✔✅]|\byes\b|\bholds\b|\bsatisfied\b")
SEVERITY = {"no": 0, "partial": 1, "yes": 2, "unknown": 3}


def norm(text: str) -> str:
    """Lower-case words: what names are compared on (punctuation, bold and emoji dropped)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w]+|_", " ", text)).strip()


def _label_re(criteria: Sequence[Criterion]) -> re.Pattern[str]:
    one = "|".join(re.escape(c.label) for c in criteria)
    return re.compile(
        rf"(?<![\w])(?P<group>(?:{one})(?:\s*(?:\+|&|and)\s*(?:{one}))*)(?![\w])", re.IGNORECASE
    )


def _value(window: str) -> str | None:
    low = window.lower()
    if re.search(r"\bunknown\b", low):
        return "unknown"
    if PARTIAL_RE.search(low):
        return "partial"
    if NO_RE.search(low):
        return "no"
    if YES_RE.search(low):
        return "yes"
    return None


def explicit_marks(text: str, criteria: Sequence[Criterion]) -> dict[str, str]:
    """Criterion id → the value a note states outright (rule 2)."""
    by_label = {c.label.lower(): c.id for c in criteria}
    found: dict[str, set[str]] = {}
    label_re = _label_re(criteria)
    for m in label_re.finditer(text):
        ids = [
            by_label[p.strip().lower()]
            for p in re.split(r"\s*(?:\+|&|\band\b)\s*", m.group("group"))
            if p.strip()
        ]
        after = text[m.end() :].lstrip(" :=*_")
        nxt = label_re.search(after)
        window = MARK_CUT_RE.split(after[: nxt.start()] if nxt else after, maxsplit=1)[0][:40]
        value = _value(window)
        before = text[max(0, m.start() - 30) : m.start()].lower()
        if re.search(r"partial(ly)? (satisf\w*|on|for)\s*$", before):
            value = "partial"
        if value:
            for cid in ids:
                found.setdefault(cid, set()).add(value)
    low = text.lower()
    for c in criteria:
        for kw in c.keywords:
            if re.search(rf"\bpartial(ly)?\s+{re.escape(kw.lower())}\b", low):
                found.setdefault(c.id, set()).add("partial")
    marks = {}
    for cid, values in found.items():
        marks[cid] = "partial" if len(values) > 1 else next(iter(values))
    return marks


def note_verdicts(text: str, criteria: Sequence[Criterion]) -> dict[str, str]:
    """Criterion id → value for one strictness note (rules 2-4)."""
    marks = explicit_marks(text, criteria)
    values = {c.id: marks.get(c.id, "yes") for c in criteria}
    if not WARNING_RE.search(text) or any(v in ("partial", "no") for v in marks.values()):
        return values
    unmarked = [c for c in criteria if c.id not in marks]
    if not unmarked:
        return values
    low = text.lower()
    hit = [
        c for c in unmarked if any(re.search(rf"(?<![\w-]){re.escape(k.lower())}", low) for k in c.keywords)
    ]
    for c in hit or unmarked[-1:]:
        values[c.id] = "partial"
    return values


def weakest(a: str, b: str) -> str:
    return a if SEVERITY[a] <= SEVERITY[b] else b


# --- names ------------------------------------------------------------------------------------------------


def name_keys(*texts: str | None) -> set[str]:
    """The normalised forms of a resource's names: each text, without parentheses, and its ' / ' parts."""
    keys: set[str] = set()
    for text in texts:
        if not text:
            continue
        # A short name, a repository's own name ('TRL' for huggingface/trl) and a title's head before ': '
        # ('Revisiting OPD' for 'Revisiting OPD: Failure Modes ...') name the same resource.
        variants = {text, re.sub(r"\([^)]*\)", " ", text), text.split(" — ")[0], re.split(r":\s", text)[0]}
        repo = re.fullmatch(r"[\w.-]+/([\w.-]+)", text.strip())
        if repo:
            variants.add(repo.group(1))
        for v in list(variants):
            variants.update(p for p in re.split(r"\s+/\s+", v) if p.strip())
        keys.update(k for k in (norm(v) for v in variants) if k)
    return keys


@dataclass
class Target:
    """What an entry may be called by in one section: name keys, plus loose words (org, link labels)."""

    keys: set[str]
    words: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.words = self.words | {w for k in self.keys for w in k.split()}


def score(a: set[str], b: Target) -> float:
    """100 for a shared key; else the best fuzzy ratio between keys, or 90 times the share of the label's
    words (of four letters or more, or at least two words) found among the target's words."""
    if a & b.keys:
        return 100.0
    best = max((fuzz.ratio(x, y) for x in a for y in b.keys), default=0.0)
    for key in a:
        words = key.split()
        if len(words) >= 2 or (words and len(words[0]) >= 4):
            best = max(best, 90.0 * sum(w in b.words for w in words) / len(words))
    return best


def assign(
    labels: Sequence[set[str]], targets: Sequence[Target], *, threshold: float = 60.0
) -> dict[int, int]:
    """One-to-one label → target matching, best scores first; ties go to the earlier row (render order)."""
    pairs = sorted(
        ((score(lk, tk), li, ti) for li, lk in enumerate(labels) for ti, tk in enumerate(targets)),
        key=lambda p: (-p[0], p[2], p[1]),
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for s, li, ti in pairs:
        if s < threshold:
            break
        if li in out or ti in used:
            continue
        out[li] = ti
        used.add(ti)
    return out


def note_targets(names: str, targets: Sequence[Target], *, threshold: float = 85.0) -> list[int]:
    """What a note's bold name names: the whole name, else each ', '-separated part ('HASS, Falcon')."""
    whole = name_keys(names)
    best = max(range(len(targets)), key=lambda t: score(whole, targets[t]), default=None)
    if best is not None and score(whole, targets[best]) >= threshold:
        return [best]
    found: list[int] = []
    for part in re.split(r"\s*,\s*|\s+and\s+|\s*&\s*", names):
        keys = name_keys(part)
        if not keys:
            continue
        cand = max(range(len(targets)), key=lambda t: score(keys, targets[t]), default=None)
        if cand is not None and score(keys, targets[cand]) >= threshold and cand not in found:
            found.append(cand)
    return found
