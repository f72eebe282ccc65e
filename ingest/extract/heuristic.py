"""The offline, rule-based extractor: no key, no network, honest low confidence, labelled heuristic
everywhere.

Its rules are the keywords of the taxonomy file (per axis value, section, criterion and the catalog's scope).
A value is chosen when enough sentences of the paper hold one of its keywords; its quotes are those sentences,
cut verbatim from the paper's page text, so verify finds every one of them. Confidence grows with the number
of supporting sentences but never passes HEURISTIC_CAP (0.5), and every field carries the `heuristic` flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from ingest.catalog.store import CatalogRoot
from ingest.extract.facts import affiliation, detail_columns, detail_evidence, exclusive_value, own_urls
from ingest.extract.naming import guess_name
from ingest.extract.prompts import digest
from ingest.extract.response import entry_date, entry_kind
from ingest.extract.sentences import Doc, Sentence, sentences
from ingest.extract.support import SupportCheck, mentions
from ingest.models import (
    UNKNOWN,
    Candidate,
    Entry,
    Extraction,
    FieldEvidence,
    Flag,
    Link,
    LinkKind,
    PaperText,
    Provenance,
    Quote,
    Scope,
    Usage,
    Verdict,
    slugify,
)
from ingest.taxonomy import Taxonomy

HEURISTIC_CAP = 0.5
NAME = "heuristic"
VERSION = "5"  # bump when a rule changes: it is part of the prompt hash, so cached results are not reused
MAX_QUOTES = 2
TITLE_WEIGHT = 10.0
TITLE_SHARE = 0.2
# A section keyword in a sentence about the distillation itself counts this many extra times.
CORE_WEIGHT = 3.0
IN_SCOPE_SENTENCES = 3  # sentences that say C1 and C2 together, for an `in` scope
@cache
def _pattern(*keywords: str) -> re.Pattern[str]:
    """One regex for a group of phrases, each matched as whole words, case-insensitively (on lowered text)."""
    alternatives = "|".join(
        re.escape(k.lower()) for k in sorted(keywords, key=len, reverse=True) if k.strip()
    )
    return re.compile(rf"(?<!\w)(?:{alternatives or '(?!)'})(?!\w)")


def _support(keywords: Iterable[str], doc: Doc) -> tuple[float, list[Sentence]]:
    """Weighted count of sentences holding a keyword (front matter counts 3 times), and those sentences."""
    hits = doc.hits(keywords)
    weight = sum(3.0 if s.front else 1.0 for s in hits)
    # A sentence about another paper backs nothing (support check): the own sentences are quoted first.
    hits.sort(key=lambda s: (doc.cites(s.text), not s.front, s.page))
    return weight, hits


def _evidence(hits: list[Sentence], weight: float, note: str | None = None) -> FieldEvidence:
    conf = min(HEURISTIC_CAP, 0.15 + 0.03 * weight) if hits else 0.1
    return FieldEvidence(
        quotes=[Quote(text=s.text, page=s.page) for s in hits[:MAX_QUOTES]],
        confidence=round(conf, 3),
        model_confidence=round(conf, 3),
        flags=[Flag.heuristic],
        note=note,
    )


def _plain(quotes: list[Quote], confidence: float, note: str | None = None) -> FieldEvidence:
    return FieldEvidence(
        quotes=quotes, confidence=confidence, model_confidence=confidence, flags=[Flag.heuristic], note=note
    )


def _quote_of(paper: PaperText, text: str | None) -> list[Quote]:
    """A quote of `text` exactly as the paper prints it (case may differ), or nothing."""
    if not text:
        return []
    from ingest.paper.read import locate

    span = locate(paper, text)
    if span is None:
        return []
    return [Quote(text=paper.text[span[0] : span[1]], page=paper.page_of(span[0]))]


def _from_file_name(candidate: Candidate, paper: PaperText) -> str | None:
    """A local PDF's name without its arXiv id (falcon-2412.12639.pdf -> Falcon), as the paper spells it."""
    if not candidate.local_pdf:
        return None
    stem = re.sub(r"[-_ ]*\d{4}\.\d{4,5}(v\d+)?.*$", "", Path(candidate.local_pdf).stem).strip("-_ ")
    quotes = _quote_of(paper, stem) if len(stem) >= 3 and re.search(r"[a-zA-Z]", stem) else []
    return quotes[0].text if quotes else None


class HeuristicBackend:
    """Rules from the taxonomy file; see the module docstring."""

    name = NAME
    model: str | None = None

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        rules = taxonomy.model_dump_json(include={"axes", "criteria", "sections", "scope_keywords", "cues"})
        self.prompt_hash = f"heuristic-{digest(VERSION, rules, length=10)}"

    @classmethod
    def from_root(cls, root: CatalogRoot) -> HeuristicBackend:
        return cls(root.taxonomy)

    def screen(self, candidate: Candidate) -> Scope:
        text = f"{candidate.title}. {candidate.abstract}".lower()
        found = sorted({k for k in self.taxonomy.scope_keywords if _pattern(k).search(text)})
        if len(found) >= 2:
            return Scope(
                verdict="in",
                reason=f"heuristic: title/abstract mention {', '.join(found[:4])}",
                confidence=0.5,
            )
        if found:
            return Scope(
                verdict="borderline", reason=f"heuristic: one scope phrase ({found[0]})", confidence=0.3
            )
        return Scope(
            verdict="out",
            reason="heuristic: no scope phrase of the taxonomy in title or abstract",
            confidence=0.3,
        )

    def extract(self, paper: PaperText, candidate: Candidate, *, examples: list[Entry]) -> Extraction:
        """The paper described by keyword rules; `examples` are not used (rules need none)."""
        doc = Doc(sentences(paper), SupportCheck(self.taxonomy).about_another_paper)
        evidence: dict[str, FieldEvidence] = {}
        axes = self._axes(doc, evidence)
        sections = self._sections(doc, f"{candidate.title} {paper.title or ''}", evidence)
        verdicts = self._verdicts(doc, evidence)
        name, title, org, links = self._identity(paper, candidate, evidence)
        scope = self._scope(candidate, doc)
        evidence["scope"] = _plain([], scope.confidence, note=scope.reason)
        if scope.verdict == "in":
            self._fallback_axes(doc, axes, evidence)
        details = self._details(doc, sections[0], evidence)
        code = [link.url for link in links if link.kind == LinkKind.code]
        entry = Entry(
            id=slugify(name),
            name=name,
            kind=entry_kind(self.taxonomy, sections[0]),
            title=title,
            date=entry_date(candidate),
            url=code[0] if code else (links[0].url if links else None),
            org=org,
            links=links,
            paper_only=not code,
            sections=sections,
            details=details,
            axes=axes,
            verdicts=verdicts,
            evidence=evidence,
            provenance=Provenance(source="extracted", backend=NAME, prompt_hash=self.prompt_hash),
        )
        return Extraction(
            paper=candidate.key,
            version=candidate.version if candidate.arxiv_id else None,
            entry=entry,
            scope=scope,
            backend=NAME,
            model=None,
            prompt_hash=self.prompt_hash,
            input_hash=paper.sha256 or digest(paper.text),
            usage=Usage(),
            flags=[Flag.heuristic],
            confidence=0.0,
        )

    def _axes(self, doc: Doc, evidence: dict[str, FieldEvidence]) -> dict[str, list[str]]:
        """Per axis, the (at most two) values whose keywords enough sentences use; else unknown."""
        axes: dict[str, list[str]] = {}
        for axis in self.taxonomy.axes:
            scored = [(v.id, *_support(v.keywords, doc)) for v in axis.values]
            top = max((w for _, w, _ in scored), default=0.0)
            chosen = sorted([s for s in scored if s[1] >= 3 and s[1] >= 0.5 * top], key=lambda s: -s[1])[:2]
            if chosen:
                axes[axis.id] = [c[0] for c in chosen]
                # The best sentence of each chosen value first, so every value has its quote.
                hits = [h for c in chosen for h in c[2][:1]] + [h for c in chosen for h in c[2][1:]]
                evidence[f"axes.{axis.id}"] = _evidence(hits, chosen[0][1])
            else:
                axes[axis.id] = [UNKNOWN]
                evidence[f"axes.{axis.id}"] = _evidence(
                    [], 0, note="heuristic: no keyword of this axis found"
                )
        return axes

    def _fallback_axes(
        self, doc: Doc, axes: dict[str, list[str]], evidence: dict[str, FieldEvidence]
    ) -> None:
        """An unknown axis of those in the taxonomy's cues.fallback_axes: the value sentences name alone."""
        for axis_id in self.taxonomy.cues.fallback_axes:
            if axes.get(axis_id) != [UNKNOWN]:
                continue
            value, hits = exclusive_value(doc, self.taxonomy, axis_id)
            if value:
                axes[axis_id] = [value]
                note = f"heuristic: {len(hits)} sentences name {value} and no other value"
                evidence[f"axes.{axis_id}"] = _evidence(hits, len(hits), note=note)

    def _details(
        self, doc: Doc, section_id: str, evidence: dict[str, FieldEvidence]
    ) -> dict[str, dict[str, str]]:
        """The primary section's detail columns that the text states (taxonomy cues.details)."""
        section = self.taxonomy.section(section_id)
        found = detail_columns(doc, section.detail_names(keep_prose=False), self.taxonomy)
        for column, (_, hits) in found.items():
            evidence[f"details.{section_id}.{column}"] = detail_evidence(hits)
        return {section_id: {c: v for c, (v, _) in found.items()}} if found else {}

    def _sections(self, doc: Doc, titles: str, evidence: dict[str, FieldEvidence]) -> list[str]:
        """The section whose keywords the paper uses most, and a close second as a cross-listing."""
        title_low = titles.lower()  # the candidate's title (arXiv's) and the one printed on page 1
        base = [(section, *_support(section.keywords, doc)) for section in self.taxonomy.catalog_sections]
        # The sentences that describe the distillation itself say most about where the paper belongs.
        core = Doc(self._opd_sentences(doc), doc.cites)
        base = [
            (section, weight + CORE_WEIGHT * _support(section.keywords, core)[0], hits)
            for section, weight, hits in base
        ]
        # A section's phrase in the title says more than many mentions in the body: a long report mentions
        # RL or reasoning on every page, so the title's bonus scales with the strongest body score.
        bonus = TITLE_SHARE * max((w for _, w, _ in base), default=0.0) + TITLE_WEIGHT
        scores = []
        for section, weight, hits in base:
            weight += bonus * sum(1 for k in section.keywords if _pattern(k).search(title_low))
            scores.append((section.id, weight, hits))
        scores.sort(key=lambda s: -s[1])
        top = scores[0]
        evidence["sections"] = _evidence(
            top[2], top[1], note="heuristic: the section whose keywords the paper uses most"
        )
        return [top[0]] + [s[0] for s in scores[1:2] if s[1] >= 0.8 * top[1] > 0]

    def _verdicts(self, doc: Doc, evidence: dict[str, FieldEvidence]) -> dict[str, Verdict]:
        verdicts: dict[str, Verdict] = {}
        for c in self.taxonomy.criteria:
            weight, hits = _support(c.keywords, doc)
            value = "yes" if weight >= 6 else "partial" if weight >= 2 else UNKNOWN
            note = (
                f"heuristic: {len(hits)} sentences mention {c.label}'s keywords"
                if value == "partial"
                else None
            )
            verdicts[c.id] = Verdict(value=value, note=note)  # type: ignore[arg-type]
            evidence[f"verdicts.{c.id}"] = _evidence(hits, weight, note=note)
        return verdicts

    def _identity(
        self, paper: PaperText, candidate: Candidate, evidence: dict[str, FieldEvidence]
    ) -> tuple[str, str, str | None, list[Link]]:
        """Name, title, organisation and links, each quoted as the paper prints it."""
        named_by_file = bool(candidate.local_pdf) and candidate.title == Path(candidate.local_pdf or "").stem
        title = (paper.title if named_by_file and paper.title else candidate.title) or paper.title or ""
        name = (_from_file_name(candidate, paper) if named_by_file else None) or guess_name(
            title, paper, self.taxonomy.generic_acronyms
        )
        for path, value in (("title", title), ("name", name)):
            quotes = _quote_of(paper, value)
            evidence[path] = _plain(quotes, 0.4 if quotes else 0.1)
        org = affiliation(paper, title)
        evidence["org"] = _plain([Quote(text=org, page=1)] if org else [], 0.3 if org else 0.1)

        urls = own_urls(paper)
        links = []
        if candidate.arxiv_id:
            url = f"https://arxiv.org/abs/{candidate.arxiv_id}"
            links.append(Link(kind=LinkKind.arxiv, url=url, arxiv_id=candidate.arxiv_id))
        links += [Link(kind=LinkKind.model if "huggingface" in u else LinkKind.code, url=u) for u in urls]
        url_quotes = [q for u in urls[:MAX_QUOTES] for q in _quote_of(paper, u)]
        evidence["links"] = _plain(url_quotes, 0.4 if urls else 0.2)
        return name, title, org, links

    def _opd_sentences(self, doc: Doc) -> list[Sentence]:
        """Sentences that say C1 and C2 together: the student's own samples, and a teacher or distillation."""
        cues = self.taxonomy.cues
        return [s for s in doc.hits(cues.own_samples) if mentions(s.low, cues.distillation)]

    def _scope(self, candidate: Candidate, doc: Doc) -> Scope:
        """C1 and C2 in one sentence: the student generates its own samples and a teacher supervises them.

        A paper that merely distils (on teacher-written data) or only samples its own rollouts (RL) says one
        of the two, rarely both in a sentence. A few such sentences make a borderline paper, which becomes an
        exclusion proposal that says "borderline": a reviewer looks at it, but it never arrives as new."""
        cues = self.taxonomy.cues
        both = self._opd_sentences(doc)
        if len(both) >= IN_SCOPE_SENTENCES:
            return Scope(
                verdict="in",
                reason=f"heuristic: {len(both)} sentences say the student's own samples are distilled",
                confidence=HEURISTIC_CAP,
            )
        if both:
            return Scope(
                verdict="out",
                reason=f"heuristic: borderline, only {len(both)} sentence(s) say the student's own samples"
                " are distilled; read the paper before excluding it",
                confidence=0.2,
            )
        distils = len(doc.hits(cues.distillation))
        return Scope(
            verdict="out",
            reason="heuristic: no sentence says a teacher supervises the student's own samples"
            + (f" ({distils} mention distillation or a teacher)" if distils else ""),
            confidence=0.3,
        )
