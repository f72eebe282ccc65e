"""Proposals for the review queue, and the run's state (failures, watermark, history)."""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, PlainValidator, field_validator, model_validator

from ingest.models.base import Model, Strict
from ingest.models.catalog import Entry, Exclusion, Flag
from ingest.models.ids import check_id

# --- extraction and review ------------------------------------------------------------------------------


class Usage(Model):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    # Of the above, what the second-sample cross-check spent: a maintainer weighs it against what it flags.
    cross_check_calls: int = 0
    cross_check_cost_usd: float = 0.0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
            cached=self.cached and other.cached,
            cross_check_calls=self.cross_check_calls + other.cross_check_calls,
            cross_check_cost_usd=round(self.cross_check_cost_usd + other.cross_check_cost_usd, 6),
        )

    def as_cross_check(self) -> "Usage":
        """This usage, counted as the cross-check's (a second answer's)."""
        shares = {"cross_check_calls": self.calls, "cross_check_cost_usd": self.cost_usd}
        return self.model_copy(update=shares)

    def cross_check_note(self) -> str:
        """' (cross-check: N calls, $x)' when a second sample was paid for, else ''."""
        if not self.cross_check_calls:
            return ""
        n = self.cross_check_calls
        return f" (cross-check: {n} call{'' if n == 1 else 's'}, ${self.cross_check_cost_usd:.4f})"


class Scope(Model):
    verdict: Literal["in", "borderline", "out"]
    reason: str
    confidence: float = Field(default=0.5, ge=0, le=1)
    # What the screening call cost, for the run's usage line; never written to a file (the report has it).
    usage: Usage = Field(default_factory=Usage, exclude=True)


class Extraction(Model):
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
    def _kind_payload(self) -> "Proposal":
        if self.kind == "new" and self.entry is None:
            raise ValueError("a 'new' proposal needs an entry")
        if self.kind == "update" and (self.target is None or not self.changes):
            raise ValueError("an 'update' proposal needs a target and at least one change")
        if self.kind == "exclude" and self.exclusion is None:
            raise ValueError("an 'exclude' proposal needs an exclusion with its reason")
        return self


class Failure(Model):
    """A paper that failed a stage; the next run retries it."""

    paper: str
    stage: str
    reason: str
    at: datetime
    attempts: int = 1


class RunRecord(Model):
    """One finished run's counts in state.yaml: what the health warnings compare with (jobs/health.py)."""

    run_id: str
    until: datetime | None = None
    found: int = Field(default=0, description="results arXiv listed for the queries")
    new: int = Field(default=0, description="papers the catalog did not know yet")
    proposed: int = 0


class RunState(Model):
    """state.yaml in the root: the discovery watermark, the failures to retry, the last runs' counts."""

    model_config = ConfigDict(extra="forbid")

    watermark: datetime | None = Field(default=None, description="end of the last successful run's window")
    last_run: str | None = None
    failures: dict[str, Failure] = Field(default_factory=dict, description="paper -> its last failure")
    history: list[RunRecord] = Field(default_factory=list, description="the last runs that wrote state.yaml")
