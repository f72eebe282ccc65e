"""The discovery window: it overlaps the last one, and a cap moves the watermark only as far as was seen.

Why an overlap: arXiv announces a paper a day or more after its submission date, which is what
`submittedDate` filters on, so a window that ended at the last watermark can miss a paper submitted just
before it. Searching the last `overlap_days` again costs nothing (known papers are skipped before any
download or LLM call).

Why a cut: results come oldest first, so when a run stops early (the candidate cap, or the per-query result
limit) every paper submitted before the first one it left out has been handled; the watermark goes there,
not to the window's end, and the next run picks up the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.models import Candidate


def window_start(
    watermark: datetime | None, until: datetime, *, overlap_days: float, lookback_days: int
) -> datetime:
    """Where a run's window starts: the watermark less the overlap, or `lookback_days` before a first run."""
    if watermark is None:
        return until - timedelta(days=lookback_days)
    return min(watermark - timedelta(days=overlap_days), until)


@dataclass
class Coverage:
    """How far a run saw every paper: the watermark it may set, and why it stops short of the window's end."""

    since: datetime
    until: datetime
    cut: datetime | None = None
    reason: str | None = None

    def stop_at(self, when: datetime, reason: str) -> None:
        """Papers submitted at `when` or later may be unseen: keep the earliest such point."""
        if self.cut is None or when < self.cut:
            self.cut, self.reason = when, reason

    @property
    def watermark(self) -> datetime:
        return min(self.cut, self.until) if self.cut is not None else self.until

    def sentence(self) -> str | None:
        """What the report says about a cut watermark, or None when the whole window was seen."""
        if self.cut is None or self.cut >= self.until:
            return None
        return (
            f"{self.reason}: the watermark stays at {self.watermark:%Y-%m-%d %H:%M} UTC, "
            "so the next run finds the papers submitted after it"
        )


def submitted(candidate: Candidate) -> datetime | None:
    return candidate.published


def cap(candidates: list[Candidate], limit: int, coverage: Coverage) -> list[Candidate]:
    """The `limit` earliest-submitted candidates; the watermark stops at the first one left out."""
    if len(candidates) <= limit:
        return candidates
    dated = sorted(candidates, key=lambda c: (submitted(c) is None, submitted(c) or coverage.until, c.key))
    first_left = submitted(dated[limit])
    why = f"the cap of {limit} candidates stopped discovery ({len(dated)} found)"
    coverage.stop_at(first_left or coverage.since, why)  # no date: nothing can be said to be seen
    return dated[:limit]
