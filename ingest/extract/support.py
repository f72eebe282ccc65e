"""Support check beside grounding: do a field's quotes say what its value claims, not only exist in the paper?

Per field, after verify (which gives each quote its span in the paper):

- name, title, org and detail columns: the value (or most of its words) is in the quote or right beside it;
  a bracketed note after it ("Google DeepMind (Agarwal et al.)") need not be;
  a detail value may instead be backed by one of its cue words (the taxonomy's `cues.details`);
- links: every code URL of the entry is in a quote or right beside one;
- axes, sections, verdicts: a quote holds a cue word of the value (the taxonomy's keywords and `cues`);
- a quote from the references section, or a sentence that cites another paper and never says "we", backs
  nothing; a quote that backs three or more fields (one sentence for name, title and org) backs them weakly.

The result is data on the evidence (`support`: supported, weak or unsupported, and `support_note`), and an
`unsupported` flag (distinct from `ungrounded`) that score turns into a lower confidence.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from ingest.models import NOT_APPLICABLE, UNKNOWN, Entry, Extraction, FieldEvidence, Flag, PaperText, Quote
from ingest.taxonomy import REGEX_CUE, Taxonomy

# Characters either side of a quote that still count as "next to" it (a name in the title line above).
NEAR = 40
# A quote shared by this many fields backs them only weakly: one sentence rarely says three things.
REUSED = 3
# Share of a text value's words that must be in or near the quote for weak support.
WEAK_WORDS = 0.5
SPECIAL = {UNKNOWN, NOT_APPLICABLE}
# A sentence that speaks of the paper itself: its own claim, not one about another paper.
FIRST_PERSON = re.compile(r"\b(we|our|us|this (paper|work|report|study))\b", re.IGNORECASE)
# Letters and digits apart: a PDF glues affiliation markers to names ("Agarwal12", "1Google DeepMind").
_WORDS = re.compile(r"[a-z]+|[0-9]+")
# A note in brackets after a value ("Google DeepMind (Agarwal et al.)", as a list's Org column writes it).
_NOTE = re.compile(r"\s*\([^()]*\)")


def _literal(word: str) -> str:
    """A cue word as a regex: an apostrophe matches the typographic one too (U+2019, as PDFs print it)."""
    return re.escape(word).replace("'", "['\u2019]")


def _cue_regex(cue: str) -> str:
    parts = [_literal(p) for p in re.split(r"[\s-]+", cue.strip().lower()) if p]
    return r"[\s-]*".join(parts)


@cache
def cue_pattern(cue: str) -> re.Pattern[str]:
    """A cue matched at the start of a word, case-insensitively; a hyphen or space in it matches either.
    A cue written `re:...` is that regex, matched anywhere in the lowered text."""
    if cue.startswith(REGEX_CUE):
        return re.compile(cue[len(REGEX_CUE) :])
    return re.compile(r"(?<![a-z0-9])" + _cue_regex(cue))


def holds_cue(text: str, cues: list[str]) -> str | None:
    """The first cue found in `text`, or None."""
    low = text.lower()
    return next((c for c in cues if c.strip() and cue_pattern(c).search(low)), None)


@cache
def any_cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """One regex that matches where any of the cues does (cue_pattern's rule), on lowered text.

    Each alternative starts with its first letter and checks the word start after it (`(?<![a-z0-9].)`: the
    character before that letter is no letter or digit), so the regex engine skips ahead to those letters
    instead of trying the lookbehind at every position of a paper (about twice as fast, same matches)."""
    alternatives = []
    for cue in cues:
        if cue.startswith(REGEX_CUE):
            alternatives.append(f"(?:{cue[len(REGEX_CUE) :]})")
            continue
        words = [w for w in re.split(r"[\s-]+", cue.strip().lower()) if w]
        if not words:
            if cue.strip():  # all hyphens: cue_pattern matches at any word start; so does this
                alternatives.append(r"(?<![a-z0-9])")
            continue
        head = _literal(words[0][0]) + r"(?<![a-z0-9].)" + _literal(words[0][1:])
        alternatives.append(r"[\s-]*".join([head, *(_literal(w) for w in words[1:])]))
    return re.compile("(?:" + "|".join(alternatives) + ")") if alternatives else re.compile("(?!)")


def mentions(low: str, cues: list[str] | tuple[str, ...]) -> bool:
    """Whether lowered text holds any of the cues: `holds_cue(text, cues) is not None`, in one regex scan
    (the heuristic asks it of every sentence for every value)."""
    return any_cue_pattern(tuple(cues)).search(low) is not None


def _norm(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def _context(quote: Quote, paper: PaperText | None) -> str:
    """The quote with NEAR characters of the paper either side (the quote alone when it was not found)."""
    if paper is None or quote.span is None:
        return quote.text
    start, end = quote.span
    return paper.text[max(0, start - NEAR) : end + NEAR]


def _in_references(quote: Quote, paper: PaperText | None) -> bool:
    if paper is None or quote.span is None:
        return False
    return any(s.kind == "references" and s.start <= quote.span[0] < s.end for s in paper.sections)


class SupportCheck:
    """The rules above for one extraction; `taxonomy` gives the cue words."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.citations = [re.compile(p) for p in taxonomy.cues.citation]

    def about_another_paper(self, text: str) -> bool:
        return any(p.search(text) for p in self.citations) and not FIRST_PERSON.search(text)

    def field(
        self, path: str, ev: FieldEvidence, entry: Entry, paper: PaperText | None
    ) -> tuple[str | None, str | None]:
        """(support, note) of one field; (None, None) when it claims nothing or cites nothing to check."""
        values = _values(entry, path)
        if not values or not ev.quotes:
            return None, None
        usable = [q for q in ev.quotes if not _in_references(q, paper)]
        if not usable:
            return "unsupported", "quoted from the references"
        own = [q for q in usable if not self.about_another_paper(q.text)]
        if not own:
            return "unsupported", "the quote is about another paper"
        head = path.split(".")[0]
        if head in ("axes", "sections", "verdicts"):
            return self._cued(path, values, own)
        # A URL or a name is there whole or not at all; a title or a detail may be worded differently.
        found = _text_rule(values, own, paper, whole=head in ("links", "name"))
        if head == "details" and found[0] != "supported":
            # A detail worded as the list writes it ("White-box") is backed by the words that state it.
            column = path.split(".", 2)[-1]
            cues = self.taxonomy.detail_cues(column, values[0])
            if cues and holds_cue(" ".join(q.text for q in own), cues) is not None:
                return "supported", None
        return found

    def _cued(self, path: str, values: list[str], quotes: list[Quote]) -> tuple[str, str | None]:
        text = " ".join(q.text for q in quotes)
        missing, checked = [], 0
        for value in values:
            cues = self.taxonomy.value_cues(path, value)
            if not cues:
                continue  # the taxonomy gives no word for it: nothing to check against
            checked += 1
            if holds_cue(text, cues) is None:
                missing.append((value, cues))
        if not checked or not missing:
            return "supported", None
        value, cues = missing[0]
        said = f"does not mention '{_shortest(cues)}'"
        if len(missing) == checked:
            return "unsupported", said
        return "weak", f"{value}: {said}"

    def check(self, extraction: Extraction, paper: PaperText | None) -> Extraction:
        """Every field's support, stored on its evidence, with the `unsupported` flag; pure."""
        entry = extraction.entry
        uses = Counter(_norm(q.text) for ev in entry.evidence.values() for q in ev.quotes if q.text.strip())
        evidence = {}
        for path, ev in entry.evidence.items():
            support, note = self.field(path, ev, entry, paper)
            reused = [u for q in ev.quotes if (u := uses[_norm(q.text)]) >= REUSED]
            if support == "supported" and reused:
                support, note = "weak", f"the same quote backs {max(reused)} fields"
            flags: list[Flag] = [f for f in ev.flags if f != Flag.unsupported]
            if support == "unsupported":
                flags.append(Flag.unsupported)
            evidence[path] = ev.model_copy(update={"support": support, "support_note": note, "flags": flags})
        return extraction.model_copy(update={"entry": entry.model_copy(update={"evidence": evidence})})


def _shortest(cues: list[str]) -> str:
    """The cue to name in a note: the most specific short one (two words at most, the longest of those)."""
    words = [c for c in cues if not c.startswith(REGEX_CUE)] or cues
    short = [c for c in words if len(c.split()) <= 2] or words
    return max(short, key=len)


def _text_rule(
    values: list[str], quotes: list[Quote], paper: PaperText | None, *, whole: bool
) -> tuple[str, str | None]:
    """A text value in or beside a quote: all of it (supported), half its words (weak), else unsupported."""
    contexts = [_norm(_context(q, paper)) for q in quotes]
    raw = " ".join(_context(q, paper) for q in quotes).lower()
    worst: tuple[str, str | None] = ("supported", None)
    for value in values:
        norm = _norm(value)
        if not norm or any(norm in c for c in contexts) or (whole and value.lower().rstrip("/") in raw):
            continue
        bare = _norm(_NOTE.sub("", value))
        if bare and bare != norm and any(bare in c for c in contexts):
            continue  # the value without its bracketed note is there whole
        if whole:
            return "unsupported", f"does not mention '{value}'"
        # Short words ("on", "of", "a") say nothing about which value a quote backs.
        words = {w for w in norm.split() if len(w) >= 3} or set(norm.split())
        found = max(len(words & set(c.split())) for c in contexts) / len(words)
        if found >= WEAK_WORDS:
            worst = ("weak", f"only part of '{value}' is there")
        else:
            return "unsupported", f"does not mention '{value}'"
    return worst


def _values(entry: Entry, path: str) -> list[str]:
    """The values a field claims, for the support check (special values claim nothing)."""
    head, _, rest = path.partition(".")
    if head == "axes":
        return [v for v in entry.axes.get(rest, []) if v not in SPECIAL]
    if head == "verdicts":
        verdict = entry.verdicts.get(rest)
        # A "no" says a cue is absent: no quote can hold it, so only yes and partial are checked.
        return [rest] if verdict is not None and verdict.value in ("yes", "partial") else []
    if head == "sections":
        return entry.sections[:1]
    if head in ("name", "title", "org"):
        value = getattr(entry, head)
        return [value] if value else []
    if head == "links":
        return list(entry.code_urls)
    if head == "details":
        section, _, column = rest.partition(".")
        value = entry.details.get(section, {}).get(column)
        return [value] if value and value not in SPECIAL else []
    return []


def check_support(extraction: Extraction, paper: PaperText | None, taxonomy: Taxonomy) -> Extraction:
    """The support of every field of `extraction` (after verify, so quotes have their spans)."""
    return SupportCheck(taxonomy).check(extraction, paper)
