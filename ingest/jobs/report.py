"""The run report: what a run found, skipped, screened out, downloaded, extracted, proposed, flagged, failed.

It is written as runs/<run-id>.json (for scripts) and runs/<run-id>.md (the body of the weekly pull request).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import Field

from ingest.catalog.store import CatalogRoot
from ingest.models import Model, Usage
from ingest.yamlio import atomic_write_text


class ProposedItem(Model):
    id: str
    kind: str
    paper: str
    title: str
    confidence: float
    flags: list[str] = Field(default_factory=list)


class FailedItem(Model):
    paper: str
    stage: str
    reason: str


class ScreenedOut(Model):
    paper: str
    title: str
    reason: str


class RunReport(Model):
    run_id: str
    started: datetime
    finished: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    backend: str | None = None
    model: str | None = None
    resumed: bool = Field(default=False, description="finished an interrupted run")
    found: int = Field(default=0, description="results arXiv returned for the queries")
    skipped_known: list[str] = Field(default_factory=list)
    updates: int = Field(default=0, description="candidates that are newer versions of catalog entries")
    retried: int = Field(default=0, description="papers retried after failing in an earlier run")
    candidates: int = 0
    screened_out: list[ScreenedOut] = Field(default_factory=list)
    downloaded: int = 0
    extracted: int = 0
    proposed: list[ProposedItem] = Field(default_factory=list)
    already_known: list[str] = Field(default_factory=list, description="extracted; nothing new")
    failed: list[FailedItem] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    min_confidence: float = 0.6
    still_unknown: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="backfill: field -> why it is still unknown -> entries"
    )
    warnings: list[str] = Field(
        default_factory=list, description="hand-broken files the run went around, one line each"
    )
    queries: dict[str, int] = Field(default_factory=dict, description="results arXiv listed per query")
    version_checked: int = Field(default=0, description="catalog papers whose latest version was asked")
    watermark: datetime | None = Field(default=None, description="the watermark this run sets")
    capped: str | None = Field(default=None, description="why the watermark stops short of the window's end")
    health: list[str] = Field(default_factory=list, description="loud warnings (health.py)")
    committed: bool = Field(default=True, description="wrote state.yaml: something to review or retry")

    @property
    def flagged(self) -> list[ProposedItem]:
        return [p for p in self.proposed if p.flags or p.confidence < self.min_confidence]

    def counts(self) -> dict[str, int]:
        return {
            "found": self.found,
            "skipped as known": len(self.skipped_known),
            "updates of entries": self.updates,
            "retried": self.retried,
            "screened out": len(self.screened_out),
            "downloaded": self.downloaded,
            "extracted": self.extracted,
            "proposed": len(self.proposed),
            "flagged": len(self.flagged),
            "failed": len(self.failed),
        }

    def to_json_data(self) -> dict[str, object]:
        data = self.model_dump(mode="json")
        data["flagged"] = [p.id for p in self.flagged]
        data["counts"] = self.counts()
        return data

    def search_lines(self) -> list[str]:
        """What the run searched: queries with arXiv's result counts, the version check, cap and warnings."""
        lines = [f"> [!WARNING]\n> {_cell(w)}\n" for w in self.health]
        if self.capped:
            lines += [f"> [!NOTE]\n> {_cell(self.capped)}\n"]
        if self.queries:
            lines += ["<details><summary>Searched</summary>", "", "| query | arXiv results |", "|---|---|"]
            lines += [f"| `{_cell(q).replace('`', '')}` | {n} |" for q, n in self.queries.items()]
            lines += [
                "",
                f"Version check: {self.version_checked} catalog papers asked for their latest arXiv version.",
                "",
                "</details>",
                "",
            ]
        return lines

    def to_markdown(self) -> str:
        """The pull request body: counts, proposals weakest first, failures, cost and time per stage."""
        window = f"{_day(self.since)} → {_day(self.until)}"
        lines = [
            f"## ingest run `{self.run_id}`",
            "",
            f"Window {window} · backend `{self.backend}`"
            + (f" · model `{self.model}`" if self.model else "")
            + (" · resumed after an interruption" if self.resumed else ""),
            "",
        ]
        lines += self.search_lines()
        lines += [
            "| " + " | ".join(self.counts()) + " |",
            "|" + "---|" * len(self.counts()),
            "| " + " | ".join(str(v) for v in self.counts().values()) + " |",
            "",
        ]
        if self.proposed:
            lines += [
                "### Proposals (weakest first)",
                "",
                "| id | kind | paper | confidence | flags |",
                "|---|---|---|---|---|",
            ]
            for p in sorted(self.proposed, key=lambda p: (p.confidence, -len(p.flags), p.id)):
                flags = ", ".join(p.flags) or "—"
                lines.append(
                    f"| `{p.id}` | {p.kind} | {p.paper} · {_cell(p.title)} | {p.confidence:.2f} | {flags} |"
                )
            lines += [
                "",
                "Review with `ingest review show ID`, then `ingest review approve ID` or "
                "`ingest review reject ID --reason TEXT`.",
                "",
            ]
        else:
            lines += ["No new proposals.", ""]
        if self.still_unknown:
            lines += ["### Still unknown in the catalog", "", "| field | entries | why |", "|---|---|---|"]
            for name, why in self.still_unknown.items():
                reasons = ", ".join(f"{reason} {n}" for reason, n in why.items())
                lines.append(f"| `{name}` | {sum(why.values())} | {_cell(reasons)} |")
            lines.append("")
        if self.warnings:
            lines += ["### Broken files (fix or delete them)", ""]
            lines += [f"- {_cell(w)}" for w in self.warnings]
            lines.append("")
        if self.failed:
            lines += ["### Failures (retried next run)", ""]
            lines += [f"- `{f.paper}` ({f.stage}): {_cell(f.reason)}" for f in self.failed]
            lines.append("")
        if self.screened_out:
            lines += ["<details><summary>Screened out</summary>", ""]
            lines += [f"- `{s.paper}` {_cell(s.title)}: {_cell(s.reason)}" for s in self.screened_out]
            lines += ["", "</details>", ""]
        u = self.usage
        lines += [
            f"LLM: {u.calls} calls, {u.prompt_tokens} prompt + {u.completion_tokens} "
            "completion tokens, "
            f"${u.cost_usd:.4f}{u.cross_check_note()}",
            "",
        ]
        if self.stage_seconds:
            times = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
            lines.append(f"Time per stage: {times}")
        return "\n".join(lines).rstrip() + "\n"


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def write_report(root: CatalogRoot, report: RunReport) -> tuple[Path, Path]:
    """runs/<run-id>.json and runs/<run-id>.md, written atomically."""
    json_path = root.runs_dir / f"{report.run_id}.json"
    md_path = root.runs_dir / f"{report.run_id}.md"
    atomic_write_text(json_path, json.dumps(report.to_json_data(), indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(md_path, report.to_markdown())
    return json_path, md_path
