"""A CheckReport as text lines, GitHub workflow annotations, JSON, or a markdown step-summary table."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.check.report import CheckReport, Problem, summary_line


def location(problem: Problem, prefix: str = "") -> str:
    path = f"{prefix}{problem.file}"
    return f"{path}:{problem.line}" if problem.line else path


def format_text(report: CheckReport) -> str:
    """`file:line: error|warning|info: message [code]` per problem, then one summary line."""
    lines = [f"{location(p)}: {p.severity}: {p.message} [{p.code}]" for p in report.problems]
    return "\n".join([*lines, summary_line(report)]) + "\n"


def _escape_data(text: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts (escapeData / escapeProperty)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


GITHUB_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def format_github(report: CheckReport, prefix: str = "") -> str:
    """Workflow commands: `::error file=…,line=…::…` for invalid files, `::warning` for flagged fields.

    `prefix` is the root's path relative to the repository (GITHUB_WORKSPACE), so annotations land on the
    right file when the catalog root is a subfolder."""
    lines = []
    for p in report.problems:
        props = [f"file={_escape_property(prefix + p.file)}"]
        if p.line:
            props.append(f"line={p.line}")
        props.append(f"title={_escape_property(f'ingest check ({p.code})')}")
        lines.append(f"::{GITHUB_COMMAND[p.severity]} {','.join(props)}::{_escape_data(p.message)}")
    return "\n".join([*lines, summary_line(report)]) + "\n"


def format_json(report: CheckReport, *, strict: bool = False) -> str:
    """One object: `problems` (file, line, severity, code, message, field, flags, confidence each), `counts`
    (errors, warnings, info, files_checked and files per folder) and the `exit_code` check exits with."""
    data = {
        "problems": [p.as_dict() for p in report.problems],
        "counts": {
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "info": len(report.of("info")),
            "files_checked": sum(report.counts.values()),
            "files": dict(report.counts),
        },
        "exit_code": report.exit_code(strict=strict),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def step_summary(report: CheckReport, prefix: str = "") -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the counts, then one table row per flagged field."""
    flagged = [p for p in report.problems if p.severity == "warning"]
    out = ["## ingest check", "", summary_line(report), ""]
    if report.errors:
        out += [f"**{len(report.errors)} error(s)**: see the annotations or run `ingest check` locally.", ""]
    if not flagged:
        return "\n".join([*out, "No flagged fields."]) + "\n"
    out += [
        f"Flagged fields (confidence threshold {report.min_confidence:.2f}):",
        "",
        "| File | Line | Field | Flags | Confidence | Message |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    for p in flagged:
        conf = f"{p.confidence:.2f}" if p.confidence is not None else ""
        out.append(
            f"| `{prefix}{p.file}` | {p.line or ''} | {_md(p.field or '')} "
            f"| {_md(', '.join(p.flags) or p.code)} "
            f"| {conf} | {_md(p.message)} |"
        )
    return "\n".join(out) + "\n"


def append_step_summary(report: CheckReport, path: Path, prefix: str = "") -> None:
    """Append (GitHub's step summary is shared by every step of the job, so never overwrite it)."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(step_summary(report, prefix) + "\n")
