"""The offline, rule-based extractor: no key, no network, honest low confidence, labelled heuristic
everywhere.

Its rules are the keywords of the taxonomy file (per axis value, section, criterion and the catalog's scope).
A value is chosen when enough sentences of the paper hold one of its keywords; its quotes are those sentences,
cut verbatim from the paper's page text, so verify finds every one of them. Confidence grows with the number
of supporting sentences but never passes HEURISTIC_CAP (0.5), and every field carries the `heuristic` flag.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ingest.catalog.store import CatalogRoot
from ingest.extract.details import detail_columns, detail_evidence, own_indices
from ingest.extract.facts import exclusive_value, section_implied
from ingest.extract.identity import affiliation, own_urls
from ingest.extract.naming import guess_name
from ingest.extract.placement import place
from ingest.extract.prompts import digest
from ingest.extract.response import entry_date, entry_kind
from ingest.extract.scope import (
    OpdEvidence,
    core_indices,
    opd_evidence,
    own_sentence,
    scope_call,
    verdict_of,
)
from ingest.extract.sentences import Doc, Sentence, phrase_pattern, sentences
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
from ingest.taxonomy import Axis, Taxonomy

HEURISTIC_CAP = 0.5
NAME = "heuristic"
VERSION = "11"  # bump when a rule changes: it is part of the prompt hash, so cached results are not reused
MAX_QUOTES = 2
# The sentence helpers moved to extract/sentences.py; callers still import them from here.
__all__ = ["HEURISTIC_CAP", "HeuristicBackend", "Sentence", "sentences"]


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
        found = sorted({k for k in self.taxonomy.scope_keywords if phrase_pattern(k).search(text)})
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
        # The values the paper's own sentences name: not the teacher of a paper it cites or reviews.
        own = Doc([s for i, s in enumerate(doc.sents) if own_sentence(doc, i)], doc.cites)
        opd = opd_evidence(doc, self.taxonomy)
        # What the distillation is (its teacher, signal, samples, slot) is said where the paper describes it:
        # first its C1-and-C2 sentences and their neighbours, then any of its own that mention distillation.
        core_set = {i for i in core_indices(doc, opd) if own_sentence(doc, i)}
        speaks = {i for i in doc.with_cues(self.taxonomy.cues.distillation) if own_sentence(doc, i)}
        tiers = [Doc([doc.sents[i] for i in sorted(ids)], doc.cites) for ids in (core_set, core_set | speaks)]
        axes = self._axes(doc, own, tiers, evidence)
        placed = place(doc, opd, f"{candidate.title} {paper.title or ''}", self.taxonomy)
        sections = placed.sections
        evidence["sections"] = _evidence(placed.hits, placed.weight, note=placed.note)
        verdicts = self._verdicts(doc, opd, evidence)
        name, title, org, links = self._identity(paper, candidate, evidence)
        scope = scope_call(opd)
        evidence["scope"] = _plain([], scope.confidence, note=scope.reason)
        if scope.verdict == "in":
            self._fallback_axes(own, axes, evidence)
        titles = f"{candidate.title} {paper.title or ''}"
        self._implied_axes(own, placed.hits, titles, sections[0], axes, evidence)
        details = self._details(doc, sections, evidence)
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

    def _axes(
        self, doc: Doc, own: Doc, core: list[Doc], evidence: dict[str, FieldEvidence]
    ) -> dict[str, list[str]]:
        """Per axis, the (at most two) values whose keywords enough sentences use; else unknown. An axis of
        the taxonomy's cues.own_axes counts only the paper's own sentences (`own`); one of cues.core_axes
        takes what the first of the `core` sentence sets that names a value names (one sentence is enough)."""
        axes: dict[str, list[str]] = {}
        for axis in self.taxonomy.axes:
            sents = own if axis.id in self.taxonomy.cues.own_axes else doc
            tiers = core if axis.id in self.taxonomy.cues.core_axes else []
            chosen = next((c for t in tiers if (c := self._scored(axis, t, least=1))), None)
            chosen = chosen or self._scored(axis, sents, least=3)
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

    @staticmethod
    def _scored(axis: Axis, doc: Doc, least: float) -> list[tuple[str, float, list[Sentence]]]:
        """The (at most two) values whose keyword sentences weigh `least` and half the best one's, best
        first, each with its weight and sentences."""
        scored = [(v.id, *_support(v.keywords, doc)) for v in axis.values]
        top = max((w for _, w, _ in scored), default=0.0)
        return sorted([s for s in scored if s[1] >= least and s[1] >= 0.5 * top], key=lambda s: -s[1])[:2]

    def _fallback_axes(
        self, doc: Doc, axes: dict[str, list[str]], evidence: dict[str, FieldEvidence]
    ) -> None:
        """An unknown axis of those in the taxonomy's cues.fallback_axes: the value sentences name alone."""
        for axis_id in self.taxonomy.cues.fallback_axes:
            if axes.get(axis_id) != [UNKNOWN]:
                continue
            value, hits = exclusive_value(doc, self.taxonomy, axis_id)
            # The quotes a reviewer reads first: sentences of the method that also speak of the teacher.
            speaks = self.taxonomy.cues.distillation
            hits = sorted(hits, key=lambda s: (not mentions(s.low, speaks), s.kind != "method", s.page))
            if value:
                axes[axis_id] = [value]
                note = f"heuristic: {len(hits)} sentences name {value} and no other value"
                evidence[f"axes.{axis_id}"] = _evidence(hits, len(hits), note=note)

    def _implied_axes(
        self,
        own: Doc,
        placing: list[Sentence],
        titles: str,
        section: str,
        axes: dict[str, list[str]],
        evidence: dict[str, FieldEvidence],
    ) -> None:
        """An axis still unknown takes a value the taxonomy implies for the paper's primary section (its
        `implications`: the target model teaches a speculative-decoding drafter) when one of the paper's own
        sentences names that value: the section is the prior, the sentence the evidence, and too few
        sentences for the keyword rule are then enough. A value no sentence names stays unknown (the list
        implies it once the entry is filed there); quoting a sentence that does not say it would be evidence
        that is not."""
        text = " ".join([titles, *(s.text for s in placing[:MAX_QUOTES])])
        placed = {s.text for s in placing}
        # A sentence other fields quote already would back three at once (weakly, says the support check).
        used = Counter(q.text for ev in evidence.values() for q in ev.quotes)
        for axis_id, (values, rules) in section_implied(self.taxonomy, section, text).items():
            if axes.get(axis_id) != [UNKNOWN]:
                continue
            named: list[str] = []
            hits: list[Sentence] = []
            for value in values:
                said = own.hits(self.taxonomy.value_cues(f"axes.{axis_id}", value))
                said.sort(key=lambda s: (used[s.text], s.text not in placed, not s.front, s.page))
                if said:
                    named.append(value)
                    hits += [s for s in said[:1] if s not in hits]
            if named:
                axes[axis_id] = named
                note = (
                    f"heuristic: implied by its section {section} (taxonomy implication {', '.join(rules)})"
                )
                evidence[f"axes.{axis_id}"] = _evidence(hits, len(hits), note=note)

    def _details(
        self, doc: Doc, sections: list[str], evidence: dict[str, FieldEvidence]
    ) -> dict[str, dict[str, str]]:
        """Each section's detail columns that the paper's own sentences state (taxonomy cues.details)."""
        own = own_indices(doc, self.taxonomy)
        used = Counter(q.text for ev in evidence.values() for q in ev.quotes)
        details: dict[str, dict[str, str]] = {}
        for section_id in sections:
            names = self.taxonomy.section(section_id).detail_names(keep_prose=False)
            found = detail_columns(doc, names, self.taxonomy, own)
            for column, (_, hits) in found.items():
                evidence[f"details.{section_id}.{column}"] = detail_evidence(hits, used)
            if found:
                details[section_id] = {c: v for c, (v, _) in found.items()}
        return details

    def _verdicts(self, doc: Doc, opd: OpdEvidence, evidence: dict[str, FieldEvidence]) -> dict[str, Verdict]:
        """A criterion with a `scope_side` as the scope call read it (so an in-scope paper's C1 and C2 agree
        with its scope, quoted from the sentences that decided it); any other from its keywords."""
        verdicts: dict[str, Verdict] = {}
        for c in self.taxonomy.criteria:
            if c.scope_side is not None:
                value, indices, weight, said = verdict_of(c.scope_side, opd, doc)
                # C1 and C2 often rest on the same sentences: quote those no field quotes yet first (one
                # sentence that backs three fields backs them weakly).
                used = Counter(q.text for ev in evidence.values() for q in ev.quotes)
                hits = sorted((doc.sents[i] for i in indices), key=lambda s: used[s.text] > 0)
            else:
                weight, hits = _support(c.keywords, doc)
                value = "yes" if weight >= 6 else "partial" if weight >= 2 else UNKNOWN
                said = f"heuristic: {len(hits)} sentences mention {c.label}'s keywords"
            note = said if value == "partial" else None
            verdicts[c.id] = Verdict(value=value, note=note)  # type: ignore[arg-type]
            evidence[f"verdicts.{c.id}"] = _evidence(hits, weight, note=said)
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
        org = affiliation(paper, title, self.taxonomy.cues, candidate.authors)
        evidence["org"] = _plain([Quote(text=org, page=1)] if org else [], 0.3 if org else 0.1)

        urls = own_urls(paper, self.taxonomy.cues, title=title, name=name)
        links = []
        if candidate.arxiv_id:
            url = f"https://arxiv.org/abs/{candidate.arxiv_id}"
            links.append(Link(kind=LinkKind.arxiv, url=url, arxiv_id=candidate.arxiv_id))
        links += [Link(kind=LinkKind(u.kind), url=u.url) for u in urls]
        # Every code URL is quoted (the support check looks for each in a quote), the code before the models.
        quoted = sorted(urls, key=lambda u: u.kind != "code")[: max(MAX_QUOTES, len(urls))]
        evidence["links"] = _plain([u.quote for u in quoted], 0.4 if urls else 0.2)
        return name, title, org, links
