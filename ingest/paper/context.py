"""Choose the passages of a paper the extractor sees, within a token budget, tagged with page and section.

The paper is cut into passages of a few sentences that never cross a page or a section. Each passage scores by
its section (abstract first, then method and experiment set-up) plus the schema's keywords it contains
(rollouts, teachers, KL, losses, and any the caller adds, e.g. from the taxonomy). The best passages that fit
the budget are returned in reading order. References are never chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise

from ingest.models import PaperText, Passage
from ingest.paper.tokens import count_tokens

SECTION_WEIGHT = {
    "abstract": 100.0,
    "front": 3.0,
    "method": 6.0,
    "experiments": 4.0,
    "introduction": 4.0,
    "conclusion": 2.5,
    "other": 2.5,
    "related_work": 1.0,
    "appendix": 1.5,
}
EXCLUDED = {"references"}
# Words about what the extraction schema asks for; read.py works without a taxonomy, callers may add more.
DEFAULT_KEYWORDS = (
    "on-policy",
    "off-policy",
    "rollout",
    "roll-out",
    "sampled from the student",
    "student-generated",
    "self-generated",
    "teacher",
    "student",
    "kl",
    "kullback",
    "divergence",
    "jsd",
    "loss",
    "objective",
    "reward",
    "policy gradient",
    "distillation",
    "distill",
    "logits",
    "token-level",
    "sequence-level",
    "we train",
    "we use",
    "setup",
    "set-up",
    "hyperparameter",
    "learning rate",
    "batch size",
    "dataset",
    "benchmark",
    "initialized",
    "fine-tun",
    "rl",
)
PASSAGE_TOKENS = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def _passages(paper: PaperText) -> Iterable[tuple[int, str, str, int]]:
    """(page, section kind, text, tokens) pieces of about PASSAGE_TOKENS tokens, cut at sentence ends (the
    sentences are joined at whitespace, which costs no token: a piece's tokens are its sentences' sum)."""
    text = paper.text
    spans = paper.sections or []
    bounds = sorted({0, len(text), *paper.page_starts, *(s.start for s in spans)})
    kinds = [(s.start, s.kind) for s in spans]
    for start, end in pairwise(bounds):
        piece = text[start:end].strip()
        if not piece:
            continue
        kind = "front"
        for s_start, s_kind in kinds:
            if s_start <= start:
                kind = s_kind
        page = paper.page_of(start)
        chunk: list[str] = []
        size = 0
        for sentence in _SENTENCE_END.split(piece):
            tokens = count_tokens(sentence)
            if chunk and size + tokens > PASSAGE_TOKENS:
                yield page, kind, " ".join(chunk), size
                chunk, size = [], 0
            chunk.append(sentence)
            size += tokens
        if chunk:
            yield page, kind, " ".join(chunk), size


def _score(kind: str, low: str, tokens: int, needles: list[str]) -> float:
    """A passage's weight: its section's, plus the density of keywords in its lowered, space-padded text."""
    hits = sum(low.count(n) for n in needles)
    density = hits / max(1, tokens) * 100
    return SECTION_WEIGHT.get(kind, 1.0) + min(density, 12.0)


def select_context(paper: PaperText, budget_tokens: int, *, keywords: Iterable[str] = ()) -> list[Passage]:
    """The passages that matter most for the schema, within budget_tokens, in reading order; no references."""
    words = [k.lower() for k in (*DEFAULT_KEYWORDS, *keywords)]
    candidates = [
        Passage(page=page, section=kind, text=text, tokens=tokens)
        for page, kind, text, tokens in _passages(paper)
        if kind not in EXCLUDED
    ]
    lows = [f" {c.text.lower()} " for c in candidates]
    # Only the keywords the paper uses are counted passage by passage (each padded passage is a piece of
    # `everything`, so a keyword absent there is absent from every passage). A short one counts whole.
    everything = "".join(lows)
    needles = [n for n in (k if len(k) > 3 else f" {k} " for k in words) if n in everything]
    order = sorted(
        range(len(candidates)),
        key=lambda i: (-_score(candidates[i].section, lows[i], candidates[i].tokens, needles), i),
    )
    chosen: set[int] = set()
    used = 0
    for i in order:
        if used + candidates[i].tokens <= budget_tokens:
            chosen.add(i)
            used += candidates[i].tokens
    return [candidates[i] for i in sorted(chosen)]
