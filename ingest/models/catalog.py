"""The catalog's records: evidence, entries, exclusions and decisions."""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from ingest.models.base import Strict
from ingest.models.ids import ARXIV_ID_RE, DATE_RE, check_id

# --- evidence -------------------------------------------------------------------------------------------


class MatchKind(StrEnum):
    exact = "exact"
    fuzzy = "fuzzy"
    not_found = "not_found"
    unchecked = "unchecked"


class Flag(StrEnum):
    ungrounded = "ungrounded"
    unsupported = "unsupported"
    low_confidence = "low-confidence"
    disagreement = "disagreement"
    missing = "missing"
    scope_partial = "scope-partial"
    injection_suspect = "injection-suspect"
    page_corrected = "page-corrected"
    heuristic = "heuristic"


class Quote(Strict):
    """A quote from the paper that supports a field, and where verification found it."""

    text: str
    page: int = Field(
        ge=1, description="1-based page the extractor cited (corrected by verify when found elsewhere)"
    )
    match: MatchKind = MatchKind.unchecked
    score: float | None = Field(default=None, ge=0, le=100, description="fuzzy match score, 0-100")
    cited_page: int | None = Field(
        default=None, description="the page originally cited, when verify corrected it"
    )
    span: tuple[int, int] | None = Field(
        default=None, description="character span in the paper's normalised text"
    )


class ListQuote(Strict):
    """A line of an imported list that implies a field's value (provenance: inferred from the list)."""

    text: str = Field(description="the list's own words: a heading or a technical-details cell")
    line: int = Field(ge=1, description="1-based line of the list's markdown")
    file: str | None = Field(default=None, description="the list's file name")
    rule: str | None = Field(default=None, description="the taxonomy implication that fired")


class FieldEvidence(Strict):
    """Evidence and confidence for one field of an extracted entry."""

    quotes: list[Quote] = Field(default_factory=list)
    list_quotes: list[ListQuote] = Field(
        default_factory=list, description="lines of the imported list the value was inferred from"
    )
    confidence: float = Field(ge=0, le=1)
    model_confidence: float | None = Field(default=None, ge=0, le=1, description="what the extractor said")
    flags: list[Flag] = Field(default_factory=list)
    note: str | None = Field(default=None, description="why a value is unknown, or what the flags mean here")
    support: Literal["supported", "weak", "unsupported"] | None = Field(
        default=None, description="whether the quotes say what the value claims (extract/support.py)"
    )
    support_note: str | None = Field(default=None, description="why the support is weak or missing")


# --- catalog entries ------------------------------------------------------------------------------------


class Kind(StrEnum):
    paper = "paper"
    repository = "repository"
    blog = "blog"
    framework = "framework"
    report = "report"
    model = "model"
    other = "other"


class LinkKind(StrEnum):
    arxiv = "arxiv"
    paper = "paper"
    code = "code"
    project = "project"
    blog = "blog"
    model = "model"
    other = "other"


class Link(Strict):
    kind: LinkKind
    url: str
    label: str | None = None
    arxiv_id: str | None = Field(default=None, description="version-less arXiv id, for kind arxiv")
    version: int | None = Field(
        default=None, ge=1, description="arXiv version the entry was last checked against (not rendered)"
    )

    @field_validator("arxiv_id")
    @classmethod
    def _arxiv(cls, v: str | None) -> str | None:
        if v is not None and not ARXIV_ID_RE.match(v):
            raise ValueError(f"{v!r} is not a version-less arXiv id such as 2306.13649")
        return v


class Verdict(Strict):
    value: Literal["yes", "partial", "no", "unknown"] = "unknown"
    note: str | None = None


class Provenance(Strict):
    source: Literal["imported", "extracted", "edited"]
    by: str | None = None
    at: datetime | None = None
    file: str | None = Field(default=None, description="the markdown a resource was imported from")
    backend: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    run_id: str | None = None


class Entry(Strict):
    """One resource of the catalog: entries/<id>.yaml."""

    id: str
    name: str
    kind: Kind = Kind.paper
    title: str | None = None
    url: str | None = Field(default=None, description="where the resource's name links to")
    date: str | None = Field(default=None, description="YYYY.MM (or YYYY) of first release")
    updated: int | None = Field(default=None, description="year of a later major update, as '(updated 2025)'")
    org: str | None = None
    stars_repo: str | None = Field(default=None, description="owner/name of the GitHub star badge")
    links: list[Link] = Field(default_factory=list)
    paper_only: bool = Field(default=False, description="no public code yet")
    sections: list[str] = Field(min_length=1, description="primary section first, then cross-lists")
    details: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="section id -> technical-detail column -> short value"
    )
    axes: dict[str, list[str]] = Field(
        default_factory=dict, description="axis id -> values from its vocabulary"
    )
    verdicts: dict[str, Verdict] = Field(default_factory=dict, description="criterion id (c1, c2) -> verdict")
    order: dict[str, int] = Field(
        default_factory=dict,
        description="section id -> the row's position in the imported list (render keeps that order)",
    )
    notes: str | None = Field(default=None, description="curator prose; not kept by the default import")
    provenance: Provenance | None = None
    evidence: dict[str, FieldEvidence] = Field(
        default_factory=dict, description="field path (e.g. axes.teacher_source) -> evidence"
    )
    reviewed: dict[str, str] = Field(
        default_factory=dict,
        description="field path -> fingerprint of the value a reviewer approved (check stays quiet on it)",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v)

    @field_validator("date")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None and not DATE_RE.match(v):
            raise ValueError(f"date {v!r} is not YYYY.MM or YYYY")
        return v

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a section is listed twice")
        return v

    @property
    def primary_section(self) -> str:
        return self.sections[0]

    @property
    def arxiv_ids(self) -> list[str]:
        return [link.arxiv_id for link in self.links if link.arxiv_id]

    @property
    def code_urls(self) -> list[str]:
        return [link.url for link in self.links if link.kind == LinkKind.code]


class Exclusion(Strict):
    """A resource judged out of scope, with the reason; it is never proposed again (exclusions/<id>.yaml)."""

    id: str
    title: str
    arxiv_id: str | None = None
    version: int | None = None
    reason: str
    bucket: str | None = Field(default=None, description="a section or sub-bucket that lists exclusions")
    name: str | None = None
    url: str | None = None
    date: str | None = None
    links: list[Link] = Field(default_factory=list)
    provenance: Provenance | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v)


class Decision(Strict):
    """A reviewer's decision on a proposal (decisions/<proposal id>.yaml)."""

    id: str = Field(description="the proposal id")
    action: Literal["approved", "rejected"]
    kind: Literal["new", "update", "exclude"]
    entry_id: str | None = None
    arxiv_id: str | None = None
    version: int | None = None
    title: str | None = None
    reason: str | None = None
    reviewer: str | None = None
    at: datetime
    edited: bool = False

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v)
