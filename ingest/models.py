"""The data of ingest as pydantic models: entries, exclusions, decisions, papers, extractions, proposals.

Nothing here knows a section, axis or column name: those come from the taxonomy file (taxonomy.py) and are
checked against it by check.py. Models loaded from files that people edit forbid unknown keys, so a typo such
as `aproved: true` is an error, not a silent no-op.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator, model_validator

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
ARXIV_ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$")
ARXIV_VERSIONED_RE = re.compile(r"^(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$")
DATE_RE = re.compile(r"^\d{4}(\.(0[1-9]|1[0-2]))?$")

UNKNOWN = "unknown"
NOT_APPLICABLE = "n/a"


def slugify(text: str, max_len: int = 60) -> str:
    """A file-safe id: ASCII lower case, digits, '-' and '.'; never empty, never a path."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    norm = re.sub(r"[^a-z0-9.]+", "-", norm).strip("-.")
    norm = re.sub(r"-{2,}", "-", norm)[:max_len].strip("-.")
    return norm or "entry"


def split_arxiv_id(ref: str) -> tuple[str, int | None]:
    """'2306.13649v2' -> ('2306.13649', 2); raises ValueError for anything that is not an arXiv id."""
    m = ARXIV_VERSIONED_RE.match(ref.strip())
    if not m:
        raise ValueError(f"not an arXiv id: {ref!r}")
    return m.group("id"), int(m.group("v")) if m.group("v") else None


def check_id(value: str) -> str:
    if not ID_RE.match(value) or ".." in value:
        raise ValueError(
            f"id {value!r} is not a slug (lower-case letters, digits, '.', '_' and '-'; no '/', no '..')"
        )
    return value


EntryId = Annotated[str, Field(description="slug; also the file name under entries/")]


class Strict(BaseModel):
    """Base for models read from hand-edited files."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


# --- papers on their way in -----------------------------------------------------------------------------


class Candidate(BaseModel):
    """A paper that discover found: arXiv metadata only, no PDF yet."""

    arxiv_id: str | None = Field(default=None, description="version-less; None for a local PDF with no id")
    version: int = 1
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    pdf_url: str | None = None
    abs_url: str | None = None
    status: Literal["new", "update"] = "new"
    known_entry: str | None = Field(default=None, description="entry id, when status is update")
    local_pdf: str | None = Field(default=None, description="a local PDF given to `ingest add`")

    @property
    def key(self) -> str:
        """What messages, caches and failures name this paper by: its arXiv id, or the local file's name."""
        if self.arxiv_id:
            return self.arxiv_id
        return Path(self.local_pdf).name if self.local_pdf else slugify(self.title)

    @property
    def versioned_id(self) -> str | None:
        return f"{self.arxiv_id}v{self.version}" if self.arxiv_id else None


class SectionSpan(BaseModel):
    """A part of a paper found by the reader: abstract, introduction, method, experiments, ..."""

    kind: Literal[
        "front",
        "abstract",
        "introduction",
        "related_work",
        "method",
        "experiments",
        "conclusion",
        "references",
        "appendix",
        "other",
    ]
    title: str
    start: int
    end: int
    page: int


class Passage(BaseModel):
    """One piece of the context sent to the extractor, tagged with its page."""

    page: int
    section: str
    text: str
    tokens: int


class PaperText(BaseModel):
    """A paper's normalised text, page by page, with a map from character offsets to pages."""

    source: str = Field(description="arXiv id or file name: what error messages name")
    pages: list[str]
    sections: list[SectionSpan] = Field(default_factory=list)
    title: str | None = None
    flags: list[str] = Field(default_factory=list, description="e.g. no-text-layer, injection-suspect")
    sha256: str | None = None

    @property
    def separator(self) -> str:
        return "\n\n"

    @property
    def text(self) -> str:
        return self.separator.join(self.pages)

    @property
    def page_starts(self) -> list[int]:
        starts, pos = [], 0
        for page in self.pages:
            starts.append(pos)
            pos += len(page) + len(self.separator)
        return starts

    def page_of(self, offset: int) -> int:
        """The 1-based page that holds character `offset` of `text`."""
        return max(1, bisect_right(self.page_starts, offset))


# --- extraction and review ------------------------------------------------------------------------------


class Usage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
            cached=self.cached and other.cached,
        )


class Scope(BaseModel):
    verdict: Literal["in", "borderline", "out"]
    reason: str
    confidence: float = Field(default=0.5, ge=0, le=1)


class Extraction(BaseModel):
    """What extract → verify → score produce for one paper: a proposed entry with evidence per field."""

    paper: str = Field(description="arXiv id (version-less) or local file name")
    version: int | None = None
    entry: Entry
    scope: Scope
    backend: str
    model: str | None = None
    prompt_hash: str
    input_hash: str | None = None
    usage: Usage = Field(default_factory=Usage)
    flags: list[Flag] = Field(default_factory=list, description="paper-level flags such as injection-suspect")
    confidence: float = Field(default=0.0, ge=0, le=1, description="the weakest required field's confidence")


# What a field change may hold: a scalar (org, date, paper_only), an axis's values, a verdict, a detail,
# links, or a whole axes mapping. Precise rather than Any, so a model's or a person's odd value is a
# validation error naming the field (never a value the rules cannot even compare).
ChangeScalar = str | bool | int | float
ChangeShape = (
    ChangeScalar
    | list[str]
    | list[dict[str, ChangeScalar | None]]
    | dict[str, ChangeScalar | None]
    | dict[str, list[str]]
    | None
)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _change_value(value: object) -> ChangeShape:
    """One of ChangeShape's forms, else one error (a union would report one error per form it tried)."""
    if _is_scalar(value):
        return value  # type: ignore[return-value]
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return value
        if all(
            isinstance(v, dict) and all(isinstance(k, str) and _is_scalar(x) for k, x in v.items())
            for v in value
        ):
            return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if all(_is_scalar(v) for v in value.values()):
            return value
        if all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()):
            return value
    raise ValueError(
        "a change holds a word, a number, a list of words, a list of links, or a mapping of words; "
        f"not this {type(value).__name__}"
    )


ChangeValue = Annotated[ChangeShape, PlainValidator(_change_value)]


class FieldChange(Strict):
    field: str = Field(description="dotted path such as links or axes.teacher_source")
    old: ChangeValue = None
    new: ChangeValue = None


class ProposalProvenance(Strict):
    run_id: str | None = None
    backend: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    created: datetime | None = None


class Proposal(Strict):
    """review_queue/<id>.yaml: a change that waits for a reviewer."""

    id: str
    kind: Literal["new", "update", "exclude"]
    arxiv_id: str | None = None
    version: int | None = None
    title: str
    entry: Entry | None = Field(
        default=None, description="the proposed entry (new) or the updated entry (update)"
    )
    target: str | None = Field(default=None, description="the existing entry id, for an update")
    changes: list[FieldChange] = Field(default_factory=list, description="for an update: field-level changes")
    exclusion: Exclusion | None = None
    scope: Scope | None = None
    confidence: float = Field(default=0.0, ge=0, le=1)
    flags: list[Flag] = Field(default_factory=list)
    resubmission_of: str | None = Field(
        default=None, description="a rejected proposal this new version follows"
    )
    edited: bool = Field(default=False, description="a reviewer changed it with `ingest review edit`")
    provenance: ProposalProvenance = Field(default_factory=ProposalProvenance)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v)

    @model_validator(mode="after")
    def _kind_payload(self) -> Proposal:
        if self.kind == "new" and self.entry is None:
            raise ValueError("a 'new' proposal needs an entry")
        if self.kind == "update" and (self.target is None or not self.changes):
            raise ValueError("an 'update' proposal needs a target and at least one change")
        if self.kind == "exclude" and self.exclusion is None:
            raise ValueError("an 'exclude' proposal needs an exclusion with its reason")
        return self


class Failure(BaseModel):
    """A paper that failed a stage; the next run retries it."""

    paper: str
    stage: str
    reason: str
    at: datetime
    attempts: int = 1


class RunRecord(BaseModel):
    """One finished run's counts in state.yaml: what the health warnings compare with (jobs/health.py)."""

    run_id: str
    until: datetime | None = None
    found: int = Field(default=0, description="results arXiv listed for the queries")
    new: int = Field(default=0, description="papers the catalog did not know yet")
    proposed: int = 0


class RunState(BaseModel):
    """state.yaml in the root: the discovery watermark, the failures to retry, the last runs' counts."""

    model_config = ConfigDict(extra="forbid")

    watermark: datetime | None = Field(default=None, description="end of the last successful run's window")
    last_run: str | None = None
    failures: dict[str, Failure] = Field(default_factory=dict, description="paper -> its last failure")
    history: list[RunRecord] = Field(default_factory=list, description="the last runs that wrote state.yaml")
