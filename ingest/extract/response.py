"""The extractor's response model, built from the taxonomy, and its conversion into an Extraction.

Every value the model may give comes from the taxonomy file: axis values are `Literal`s of the axis's
vocabulary (plus n/a and unknown), sections are `Literal`s of the section ids, detail columns are checked
against the chosen section. Every field carries its evidence (quotes, each with a page) and a confidence 0..1;
a field with a real value and no quote is a schema violation, so instructor re-asks instead of accepting an
unsupported claim.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ingest.models import (
    NOT_APPLICABLE,
    UNKNOWN,
    Candidate,
    Entry,
    Extraction,
    FieldEvidence,
    Kind,
    Link,
    LinkKind,
    Provenance,
    Quote,
    Scope,
    Usage,
    Verdict,
    slugify,
)
from ingest.taxonomy import Taxonomy

SPECIAL = (NOT_APPLICABLE, UNKNOWN)
CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "bitbucket.org", "codeberg.org")


class QuoteOut(BaseModel):
    """A verbatim sentence from the paper and the page it is on."""

    text: str = Field(min_length=8, description="copied verbatim from the paper, one sentence or clause")
    page: int = Field(ge=1, description="the page number given in the passage tag")


class _Evidenced(BaseModel):
    quotes: list[QuoteOut] = Field(
        default_factory=list, description="one or more quotes that support the value"
    )
    confidence: float = Field(ge=0, le=1, description="how sure you are, 0..1")

    def _has_value(self) -> bool:  # overridden where "no value" has a meaning
        return True

    @model_validator(mode="after")
    def _quoted(self) -> Any:
        if self._has_value() and not self.quotes:
            raise ValueError(
                "a value needs at least one quote from the paper; say unknown when there is none"
            )
        return self


class TextField(_Evidenced):
    """A short text value (name, title, organisation); null when the paper does not say."""

    value: str | None = None

    def _has_value(self) -> bool:
        return bool(self.value)


class LinksField(_Evidenced):
    """Code or project URLs printed in the paper; empty when there are none."""

    urls: list[str] = Field(default_factory=list)

    def _has_value(self) -> bool:
        return bool(self.urls)


class VerdictField(_Evidenced):
    value: Literal["yes", "partial", "no", "unknown"]
    note: str | None = Field(default=None, description="strictness note: why not a plain yes")

    def _has_value(self) -> bool:
        return self.value != UNKNOWN

    @model_validator(mode="after")
    def _noted(self) -> VerdictField:
        if self.value in ("partial", "no") and not (self.note or "").strip():
            raise ValueError("a partial or no verdict needs a strictness note")
        return self


class _ValuesBase(_Evidenced):
    """A set-valued field (an axis, the sections); n/a and unknown need no quote."""

    def _has_value(self) -> bool:
        return any(v not in SPECIAL for v in getattr(self, "values", []))


class ScopeField(_Evidenced):
    verdict: Literal["in", "borderline", "out"]
    reason: str = Field(min_length=3)


def _literal(values: list[str]) -> Any:
    return Literal[tuple(values)]


def field_name(ident: str) -> str:
    """A Python identifier for a taxonomy id (axis ids such as teacher-source become teacher_source)."""
    name = re.sub(r"\W", "_", ident)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"f_{name}"
    return name


_CACHE: dict[str, type[BaseModel]] = {}


def build_response_model(taxonomy: Taxonomy) -> type[BaseModel]:
    """The pydantic model the LLM fills for one paper, built from `taxonomy` (cached per its content)."""
    key = hashlib.sha256(taxonomy.model_dump_json().encode()).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    config = ConfigDict(populate_by_name=True)

    axis_fields: dict[str, Any] = {}
    for axis in taxonomy.axes:
        vocab = _literal(axis.vocabulary)
        model = create_model(
            f"Axis_{field_name(axis.id)}",
            __base__=_ValuesBase,
            __doc__=f"{axis.label}: {axis.description}. Several values allowed; n/a when it does not apply.",
            values=(list[vocab], Field(min_length=1)),  # type: ignore[valid-type]
        )
        axis_fields[field_name(axis.id)] = (model, Field(alias=axis.id, description=axis.description))
    axes_model = create_model("Axes", __config__=config, **axis_fields)

    verdict_fields = {
        field_name(c.id): (VerdictField, Field(alias=c.id, description=f"{c.label}: {c.description}"))
        for c in taxonomy.criteria
    }
    verdicts_model = create_model("Verdicts", __config__=config, **verdict_fields)  # type: ignore[call-overload]

    section_lit = _literal(taxonomy.section_ids)
    columns = sorted({c.name for s in taxonomy.sections for c in s.details})
    column_lit = _literal(columns) if columns else str
    allowed = {s.id: set(s.detail_names()) for s in taxonomy.sections}

    sections_model = create_model(
        "Sections",
        __base__=_ValuesBase,
        __doc__="The catalog sections, the primary one first.",
        values=(list[section_lit], Field(min_length=1)),  # type: ignore[valid-type]
    )

    class DetailOut(_Evidenced):
        """One technical-detail cell of a section's table."""

        section: section_lit  # type: ignore[valid-type]
        column: column_lit  # type: ignore[valid-type]
        value: str = Field(min_length=1, max_length=200)

        @model_validator(mode="after")
        def _column_of_section(self) -> DetailOut:
            if self.column not in allowed.get(self.section, set()):
                raise ValueError(
                    f"column {self.column!r} is not a detail column of section {self.section!r}; "
                    f"use one of {sorted(allowed.get(self.section, set()))}"
                )
            return self

    response: type[BaseModel] = create_model(
        "PaperExtraction",
        __doc__=f"One paper described for the {taxonomy.catalog} catalog, every field with evidence.",
        name=(TextField, Field(description="short name of the method or resource, e.g. the acronym")),
        title=(TextField, Field(description="the paper's full title")),
        org=(TextField, Field(description="the authors' main organisation(s)")),
        links=(LinksField, Field(description="code repositories or project pages printed in the paper")),
        sections=(sections_model, Field(description="catalog sections, primary first")),
        axes=(axes_model, Field(description="the design axes")),
        verdicts=(verdicts_model, Field(description="the strictness criteria")),
        details=(
            list[DetailOut],
            Field(default_factory=list, description="detail cells of the primary section"),
        ),
        scope=(ScopeField, Field(description="is the paper in the catalog's scope, and why")),
    )
    _CACHE[key] = response
    return response


# --- response -> Extraction ------------------------------------------------------------------------------


def _evidence(field: Any, *, note: str | None = None) -> FieldEvidence:
    return FieldEvidence(
        quotes=[Quote(text=q.text, page=q.page) for q in field.quotes],
        confidence=field.confidence,
        model_confidence=field.confidence,
        note=note,
    )


def _link(url: str) -> Link:
    url = url.rstrip(".,;)")
    host = re.sub(r"^https?://(www\.)?", "", url).split("/")[0].lower()
    if host == "huggingface.co":
        return Link(kind=LinkKind.model, url=url)
    return Link(kind=LinkKind.code if host in CODE_HOSTS else LinkKind.project, url=url)


def entry_kind(taxonomy: Taxonomy, section_id: str) -> Kind:
    """The kind of resource a section lists (an industrial section lists reports), else a paper."""
    try:
        kind = getattr(taxonomy.section(section_id), "entry_kind", None)
    except KeyError:
        kind = None
    return Kind(kind) if kind else Kind.paper


def entry_date(candidate: Candidate) -> str | None:
    when: datetime | None = candidate.published
    return f"{when.year}.{when.month:02d}" if when else None


def to_extraction(
    response: BaseModel,
    *,
    candidate: Candidate,
    taxonomy: Taxonomy,
    backend: str,
    model: str | None,
    prompt_hash: str,
    input_hash: str | None,
    usage: Usage | None = None,
) -> Extraction:
    """A validated response (build_response_model's class) as an Extraction with evidence per field."""
    r: Any = response
    evidence: dict[str, FieldEvidence] = {}
    title = r.title.value or candidate.title
    name = r.name.value or title.split(":")[0][:60]
    for path in ("name", "title", "org", "links", "sections"):
        evidence[path] = _evidence(getattr(r, path))

    axes: dict[str, list[str]] = {}
    for axis in taxonomy.axes:
        f = getattr(r.axes, field_name(axis.id))
        axes[axis.id] = list(dict.fromkeys(f.values))
        evidence[f"axes.{axis.id}"] = _evidence(f)
    verdicts: dict[str, Verdict] = {}
    for c in taxonomy.criteria:
        f = getattr(r.verdicts, field_name(c.id))
        verdicts[c.id] = Verdict(value=f.value, note=f.note)
        evidence[f"verdicts.{c.id}"] = _evidence(f, note=f.note)
    sections = list(dict.fromkeys(r.sections.values))
    details: dict[str, dict[str, str]] = {}
    for d in r.details:
        if d.section in sections:
            details.setdefault(d.section, {})[d.column] = d.value
            evidence[f"details.{d.section}.{d.column}"] = _evidence(d)
    evidence["scope"] = _evidence(r.scope, note=r.scope.reason)

    links = []
    if candidate.arxiv_id:
        links.append(
            Link(
                kind=LinkKind.arxiv,
                url=f"https://arxiv.org/abs/{candidate.arxiv_id}",
                arxiv_id=candidate.arxiv_id,
            )
        )
    links += [_link(u) for u in dict.fromkeys(r.links.urls)]
    code = [link for link in links if link.kind == LinkKind.code]
    entry = Entry(
        id=slugify(name),
        name=name,
        kind=entry_kind(taxonomy, sections[0]),
        title=title,
        date=entry_date(candidate),
        url=(code[0].url if code else links[0].url if links else None),
        org=r.org.value,
        links=links,
        paper_only=not code,
        sections=sections,
        details=details,
        axes=axes,
        verdicts=verdicts,
        provenance=Provenance(source="extracted", backend=backend, model=model, prompt_hash=prompt_hash),
        evidence=evidence,
    )
    return Extraction(
        paper=candidate.key,
        version=candidate.version if candidate.arxiv_id else None,
        entry=entry,
        scope=Scope(verdict=r.scope.verdict, reason=r.scope.reason, confidence=r.scope.confidence),
        backend=backend,
        model=model,
        prompt_hash=prompt_hash,
        input_hash=input_hash,
        usage=usage or Usage(),
    )
