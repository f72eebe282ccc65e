"""One injection detector for the paper and the model's answer: text that instructs a model or a reviewer.

`injection_hits(text)` is the one matcher: the paper's pages go through it (`find_injection`), and so does
every text field of the model's answer (`screen_answer`). An answer is also screened for what a paper may
print but an answer never should: "approve me", chat role tags (`<|im_start|>`, `[INST]`, `system:` at the
start of a line), HTML markup (`<script>`, `<img onerror=…>`, comments) and links that are not http(s). A
field with a hit gets `injection-suspect` (the reviewer sees which one), and so does the extraction, which
caps its confidence (score.py). The answer never names a file: ids are slugified (models.slugify).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.markdown.escape import safe_url
from ingest.models import Extraction, FieldEvidence, Flag, PaperText

# Phrases of text that addresses a model or a reviewer rather than the reader of a paper. Mentions of a
# "system prompt" or chat-template tokens are not here: papers about LLMs print them (MiMo, Vision-R1 do).
INJECTION_PATTERNS = [
    r"ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?|directions)",
    r"disregard (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?)",
    r"forget (all |any )?(your |the )?(previous |prior )?instructions",
    # Papers print their own prompt templates ("You are a helpful assistant"): only a reviewer role counts.
    r"(you are|act as) (now )?(an? )?(ai |llm )?reviewer\b.{0,60}(must|should|will)",
    r"(note|instructions?|message) (to|for) (the )?(ai|llm|llms|language models?|reviewers?|assistant)",
    r"\b(llm|ai|language model|assistant)s? (reviewers?|readers?)?\s*(must|should) (rate|score|accept|give|"
    r"recommend|output|answer|classify)",
    r"(give|assign|rate) (this|the) paper (a )?(high|positive|perfect|maximum)",
    r"\bdo not (mention|reveal|disclose) (this|these) instructions?",
]
# Only in an answer: a paper may print a chat template, a model's answer about a paper has no use for one.
ANSWER_PATTERNS = [
    r"\b(approve|accept|merge) (me|this (entry|proposal|paper|answer))\b",
    r"<\|?\s*/?\s*(im_start|im_end|system|user|assistant|endoftext)\s*\|?>",
    r"\[/?(inst|sys)\]|<</?sys>>",
    r"(^|\n)\s*(system|assistant|user|developer)\s*:",
    r"<\s*/?\s*[a-z!?][^>]*>",  # HTML tags and comments
    r"\b(javascript|vbscript)\s*:|\bfile://|\bdata:[a-z]+/[a-z]",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in INJECTION_PATTERNS), re.IGNORECASE)
_ANSWER = re.compile("|".join(f"(?:{p})" for p in ANSWER_PATTERNS), re.IGNORECASE)
# A quick "no hit" first: the one alternation above tries every pattern at every position of a page, which
# costs tens of ms a paper; each pattern alone on the lowered text is about 4x cheaper. The patterns are ASCII
# and lower case, so a lowered text matches them exactly where IGNORECASE would, once the only four other
# characters that IGNORECASE equates with an ASCII letter are mapped to it (dotted and dotless i, long s,
# Kelvin sign). A text that passes is matched with the alternation above, so the spans are as they were.
_EACH = [re.compile(p) for p in INJECTION_PATTERNS]
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _may_hit(text: str) -> bool:
    if not text.isascii() and any(c in text for c in "\u0130\u0131\u017f\u212a"):
        text = text.translate(_FOLD)  # before lower(): it would turn the dotted I into two characters
    low = text.lower()
    return any(p.search(low) for p in _EACH)


def injection_hits(text: str, *, answer: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each passage of `text` that tries to instruct a model or a reviewer; with `answer`,
    also of the role tags, markup and non-http links that have no place in a model's answer."""
    spans = [m.span() for m in _INJECTION.finditer(text)] if _may_hit(text) else []
    if answer:
        spans += [m.span() for m in _ANSWER.finditer(text)]
    return sorted(spans)


def find_injection(paper: PaperText) -> list[tuple[int, str]]:
    """(page, matched text) of each passage of the paper that tries to instruct a model or reviewer."""
    hits = []
    for number, page in enumerate(paper.pages, start=1):
        for start, end in injection_hits(page):
            hits.append((number, page[max(0, start - 40) : end + 40]))
    return hits


def answer_texts(extraction: Extraction) -> Iterator[tuple[str, str]]:
    """(field path, text) of every text the model wrote: values, notes, links, the scope reason."""
    e = extraction.entry
    for path, value in (("name", e.name), ("title", e.title), ("org", e.org), ("notes", e.notes)):
        if value:
            yield path, value
    for section, columns in e.details.items():
        for column, value in columns.items():
            yield f"details.{section}.{column}", value
    for cid, verdict in e.verdicts.items():
        if verdict.note:
            yield f"verdicts.{cid}", verdict.note
    for path, evidence in e.evidence.items():
        if evidence.note:
            yield path, evidence.note
    yield "scope", extraction.scope.reason


def answer_suspects(extraction: Extraction) -> list[str]:
    """The field paths whose text (or, for links, URL) is suspect, in order, once each."""
    found = [path for path, text in answer_texts(extraction) if injection_hits(text, answer=True)]
    e = extraction.entry
    if any(not safe_url(link.url) for link in e.links) or (e.url is not None and not safe_url(e.url)):
        found.append("links")
    return list(dict.fromkeys(found))


def screen_answer(extraction: Extraction) -> Extraction:
    """The extraction with `injection-suspect` on each suspect field and on the whole; pure."""
    suspects = answer_suspects(extraction)
    if not suspects:
        return extraction
    evidence = dict(extraction.entry.evidence)
    for path in suspects:
        field = evidence.get(path) or FieldEvidence(confidence=0.0)
        if Flag.injection_suspect not in field.flags:
            evidence[path] = field.model_copy(update={"flags": [*field.flags, Flag.injection_suspect]})
    flags = list(extraction.flags)
    if Flag.injection_suspect not in flags:
        flags.append(Flag.injection_suspect)
    entry = extraction.entry.model_copy(update={"evidence": evidence})
    return extraction.model_copy(update={"entry": entry, "flags": flags})
