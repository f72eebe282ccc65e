"""A run's health: what it searched and found, whether that is worth a pull request, and loud warnings.

A run with nothing to review writes no file a workflow would commit: state.yaml stays as it was, so the
next window starts at the same watermark (less the overlap) and covers this one again, which dedupe makes
free. That is also how several empty weeks show: the window since the watermark grows, one nominal window
(`arxiv.lookback_days`) per empty run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.config import ArxivConfig
from ingest.jobs.report import RunReport
from ingest.models import RunRecord, RunState

EMPTY_WINDOWS_WARNING = 3  # empty windows in a row before the run warns
HISTORY_KEPT = 12


def new_papers(report: RunReport) -> int:
    """Papers discovery found that the catalog did not know (new ones and new versions), not retries."""
    return max(report.candidates - report.retried, 0)


def worth_committing(report: RunReport, state: RunState) -> bool:
    """Whether the run changes what a reviewer or the next run needs: proposals, or a new failure to retry
    (a failure already in state.yaml is retried anyway: the watermark does not move without a commit)."""
    return bool(report.proposed) or bool({f.paper for f in report.failed} - set(state.failures))


def empty_windows(report: RunReport, config: ArxivConfig) -> int:
    """How many nominal windows this run's window spans beyond the overlap: 1 for a weekly run after a weekly
    run; more when empty runs left the watermark behind."""
    if report.since is None or report.until is None:
        return 1
    span = report.until - report.since - timedelta(days=config.overlap_days)
    return max(1, round(span / timedelta(days=config.lookback_days)))


def warnings(report: RunReport, state: RunState, config: ArxivConfig) -> list[str]:
    """The loud ones: nothing new for several windows, or arXiv answering nothing where it did before."""
    lines = []
    previous = state.history[-1] if state.history else None
    if report.found == 0 and previous is not None and previous.found > 0:
        lines.append(
            f"arXiv listed no result for any of the {len(report.queries) or 'configured'} queries, though "
            f"run {previous.run_id} got {previous.found}: check arxiv.queries and arxiv.url in ingest.yaml "
            "and whether the arXiv API changed"
        )
    windows = empty_windows(report, config)
    if new_papers(report) == 0 and windows >= EMPTY_WINDOWS_WARNING:
        lines.append(
            f"no new paper for {windows} windows in a row (since {report.since:%Y-%m-%d}): check that "
            "arxiv.queries still match the papers the list wants"
        )
    return lines


def record(report: RunReport, state: RunState) -> list[RunRecord]:
    """state.yaml's history with this run appended, the oldest dropped."""
    this = RunRecord(
        run_id=report.run_id,
        until=report.until,
        found=report.found,
        new=new_papers(report),
        proposed=len(report.proposed),
    )
    return [*state.history, this][-HISTORY_KEPT:]


def nothing_new_sentence(report: RunReport) -> str:
    """The one line a run with nothing to review ends with."""
    window = f"{_day(report.since)} → {_day(report.until)}"
    searched = f"{len(report.queries)} queries" if report.queries else "the queries"
    known = len(report.skipped_known)
    return (
        f"Nothing new: arXiv listed {report.found} results for {searched} over {window} "
        f"({known} already known, {len(report.screened_out)} screened out, {len(report.failed)} failed); "
        "no proposal was written and state.yaml is unchanged, so there is nothing to commit."
    )


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"
