"""What `ingest check` found: problems with file, line, severity and code, and the exit code they imply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """One finding: where (file relative to the root, 1-based line), how bad, a stable code, and the text.
    A flagged field also carries its path, its flags and its confidence (for the step-summary table)."""

    file: str
    line: int | None
    severity: Severity
    code: str
    message: str
    field: str | None = None
    flags: tuple[str, ...] = ()
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = list(self.flags)
        return data


@dataclass
class CheckReport:
    """Everything `check_root` found (errors, then warnings, then info; each sorted by file and line), and
    how many records of each kind it read."""

    root: Path
    min_confidence: float
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, severity: Severity) -> list[Problem]:
        return [p for p in self.problems if p.severity == severity]

    @property
    def errors(self) -> list[Problem]:
        return self.of("error")

    @property
    def warnings(self) -> list[Problem]:
        return self.of("warning")

    def exit_code(self, *, strict: bool = False) -> int:
        """DESIGN §5: 0 clean or warnings only; 1 errors, or any warning under --strict."""
        return 1 if self.errors or (strict and self.warnings) else 0


def summary_line(report: CheckReport) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    e, w = len(report.errors), len(report.warnings)
    return f"checked {counts or 'nothing'}: {e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}"
