"""The one exception tree of ingest; the CLI turns each into a one-line message and an exit code.

IngestError                 (exit 2 unless a subclass says otherwise)
├── UsageError              bad arguments or configuration
├── CatalogError            a catalog file is invalid (carries file and line)
│   └── ConfigError         ingest.yaml or taxonomy.yaml is invalid (exit 2: bad configuration)
├── ServiceError            arXiv or the LLM endpoint could not be reached (exit 3)
├── PaperError              one paper failed a stage; the run goes on with the others
│   ├── DownloadError       HTTP failure, not a PDF, too large
│   ├── ReadError           encrypted, corrupt, truncated, empty or image-only PDF
│   └── ExtractionError     the LLM answer stayed invalid after the re-asks
└── LockedError             another run holds the root's lock
"""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base of every error that ingest reports to a user."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(IngestError):
    """Bad arguments, a bad config file, or a missing setting."""


class CatalogError(IngestError):
    """A file in the catalog root is invalid; names the file and, when known, the line."""

    exit_code = 1

    def __init__(self, file: Path | str, message: str, *, line: int | None = None, hint: str | None = None):
        self.file = str(file)
        self.line = line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {message}", hint=hint)
        self.detail = message


class ConfigError(CatalogError):
    """ingest.yaml or taxonomy.yaml is invalid: bad configuration (DESIGN §5), so exit 2, not 1.

    `ingest check` still lists it as an error of the root (and exits 1 there: check found an error)."""

    exit_code = 2


class ServiceError(IngestError):
    """A required service (arXiv, the LLM endpoint) could not be reached; nothing was changed."""

    exit_code = 3


class PaperError(IngestError):
    """One paper failed a stage. `paper` is the arXiv id or file name the message names."""

    exit_code = 1
    stage = "paper"

    def __init__(self, paper: str, message: str, *, hint: str | None = None) -> None:
        self.paper = paper
        self.reason = message
        super().__init__(f"{paper}: {message}", hint=hint)


class DownloadError(PaperError):
    stage = "download"


class ReadError(PaperError):
    stage = "read"


class ExtractionError(PaperError):
    stage = "extract"

    def __init__(
        self,
        paper: str,
        message: str,
        *,
        attempts: int = 0,
        last_response: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(paper, message, hint=hint)
        self.attempts = attempts
        self.last_response = last_response


class LockedError(IngestError):
    """Another `ingest` process holds the root's lock."""
