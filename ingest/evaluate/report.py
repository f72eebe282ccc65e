"""The data of an evaluation: the scores of one paper's fields, and the report over many papers.

Pydantic models, so a report is written as JSON and read back by a later `ingest eval --compare`.
The functions that fill them are in metrics.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

FieldKind = Literal["exact", "set", "text"]


class FieldScore(BaseModel):
    """One scored field of one paper."""

    field: str
    kind: FieldKind
    gold: list[str]
    predicted: list[str]
    score: float = Field(ge=0, le=1, description="1/0 for exact, F1 for sets, mean column match for text")
    tp: int = 0
    fp: int = 0
    fn: int = 0
    confidence: float | None = Field(default=None, description="the extractor's confidence in this field")


class FieldScores(BaseModel):
    """Everything measured on one paper: its scored fields, skipped fields, evidence and usage."""

    paper: str
    entry_id: str
    fields: list[FieldScore] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict, description="field -> why it was not counted")
    quotes: int = 0
    quotes_grounded: int = 0
    quotes_unchecked: int = 0
    evidence_fields: int = 0
    flagged_fields: int = 0
    flag_counts: dict[str, int] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    confidence: float = 0.0
    scope: str | None = None
    in_scope: bool = Field(default=True, description="gold: an entry (True) or an exclusion / rejection")
    supported_fields: int = 0
    support_checked: int = 0

    def get(self, field: str) -> FieldScore | None:
        return next((f for f in self.fields if f.field == field), None)


class FieldSummary(BaseModel):
    field: str
    kind: FieldKind
    n: int = Field(description="papers on which the field was counted")
    skipped: int = Field(default=0, description="papers whose gold value was unknown")
    accuracy: float | None = Field(default=None, description="exact: share right; set: share exactly right")
    precision: float | None = None
    recall: float | None = None
    f1: float | None = Field(default=None, description="micro-averaged over the papers' true/false positives")
    mean_score: float | None = None

    @property
    def headline(self) -> float | None:
        """The one number a change is judged by: F1 for sets, accuracy otherwise."""
        return self.f1 if self.kind == "set" else self.mean_score


class Bucket(BaseModel):
    low: float
    high: float
    n: int
    mean_confidence: float | None = None
    accuracy: float | None = Field(default=None, description="mean field score of the fields in this bucket")


class EvalFailure(BaseModel):
    """A paper the extractor could not finish; not counted in the field metrics."""

    paper: str
    entry_id: str
    error: str


class EvalReport(BaseModel):
    """The outcome of one `ingest eval`: per-field metrics, grounding, flags, cost and calibration."""

    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    backend: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    papers: int = 0
    failures: list[EvalFailure] = Field(default_factory=list)
    fields: list[FieldSummary] = Field(default_factory=list)
    verdict_agreement: float | None = Field(default=None, description="papers whose known verdicts all agree")
    verdict_papers: int = 0
    grounding_rate: float | None = Field(default=None, description="grounded quotes over checked quotes")
    quotes: int = 0
    quotes_unchecked: int = 0
    flagged_share: float | None = Field(
        default=None, description="fields with a problem flag over fields with evidence"
    )
    flag_counts: dict[str, int] = Field(default_factory=dict)
    negatives: int = Field(default=0, description="papers scored as negatives (exclusions, rejections)")
    scope_precision: float | None = Field(default=None, description="papers called in that are in")
    scope_recall: float | None = Field(default=None, description="papers in that were called in")
    scope_accuracy: float | None = None
    support_rate: float | None = Field(
        default=None, description="fields whose quotes back their value, over the fields checked"
    )
    tokens_per_paper: float | None = None
    calls_per_paper: float | None = None
    cost_per_paper: float | None = None
    calibration: list[Bucket] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    per_paper: list[FieldScores] = Field(default_factory=list)

    def field(self, name: str) -> FieldSummary | None:
        return next((f for f in self.fields if f.field == name), None)


class Delta(BaseModel):
    metric: str
    old: float | None
    new: float | None

    @property
    def change(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old
