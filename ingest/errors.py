"""The one exception tree of ingest; the CLI turns each into a one-line message and its exit code.

Callers classify errors by type (isinstance, or `exit_code`), never by their message text.

IngestError                         exit 2 unless a subclass says otherwise
├── UsageError                      2  bad arguments, configuration or environment
├── CatalogError                    1  a catalog file is invalid (carries file and line)
│   ├── InvalidFile                 1  a record that failed validation, with every problem found
│   └── ConfigError                 2  ingest.yaml or taxonomy.yaml is invalid (bad configuration)
├── ServiceError                    3  arXiv or the LLM endpoint could not be reached
├── PaperError                      1  one paper failed a stage; the run goes on with the others
│   ├── DownloadError               1  HTTP failure, not a PDF, too large
│   ├── ReadError                   1  encrypted, corrupt, truncated, empty or image-only PDF
│   ├── ExtractionError             1  the LLM answer stayed invalid after the re-asks
│   │   ├── EndpointError           -  the endpoint itself failed, no paper's fault: a run stops, papers wait
│   │   │   ├── EndpointUnreachable 3  (also a ServiceError) the LLM endpoint never answered
│   │   │   └── EndpointAuthError   2  HTTP 401/403 from the LLM endpoint: the key, its rights, the URL
│   │   └── ExtractionTimeout       3  the LLM call used up extract.deadline_seconds; nothing was written
│   └── UnexpectedError             1  a bug inside one paper's chain, recorded like any paper failure
├── LockedError                     2  another run holds the root's lock
└── Interrupted                   130  Ctrl-C (SIGINT) stopped the command; says what it had finished
"""

from __future__ import annotations

from pathlib import Path


def one_line(text: str) -> str:
    """`text` with its line breaks and other control characters written as escapes (a key or a value from a
    hostile file can hold them): every message ingest prints is one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class IngestError(Exception):
    """Base of every error that ingest reports to a user; its message and hint are always one line."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = one_line(message)
        hint = one_line(hint) if hint is not None else None
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

    def __init__(
        self, file: Path | str, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        self.file = str(file)
        self.line = line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {message}", hint=hint)
        self.detail = one_line(message)


class InvalidFile(CatalogError):
    """A file that failed validation; carries every problem found in it."""

    def __init__(self, problems: list[CatalogError]) -> None:
        first = problems[0]
        super().__init__(first.file, first.detail, line=first.line, hint=first.hint)
        self.problems = problems


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
        self.reason = one_line(message)
        super().__init__(f"{paper}: {message}", hint=hint)


class DownloadError(PaperError):
    """A PDF could not be fetched: HTTP failure, not a PDF, too large."""

    stage = "download"


class ReadError(PaperError):
    """A PDF could not be read: encrypted, corrupt, truncated, empty or image-only."""

    stage = "read"


class ExtractionError(PaperError):
    """The LLM answer stayed invalid after the re-asks."""

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


class EndpointError(ExtractionError):
    """The LLM endpoint itself failed, whichever paper asked: unreachable, or refusing the key.

    A run that meets one stops instead of failing every paper in turn: the papers not done are left for the
    next run, none is recorded as failed, and the watermark stays where it was.
    """


class EndpointUnreachable(EndpointError, ServiceError):
    """The LLM endpoint did not answer: refused or unresolvable after a paper's retries, or timing out again.

    A PaperError, so a paper's chain records it like any failure; a ServiceError (exit 3), so a run or an
    `add` knows it is not the paper's fault: the paper is left for the next run, not recorded as failed.
    """

    exit_code = ServiceError.exit_code

    def __init__(self, paper: str, message: str, *, endpoint: str, attempts: int = 0, hint: str) -> None:
        super().__init__(paper, message, attempts=attempts, hint=hint)
        self.endpoint = endpoint


class ExtractionTimeout(ExtractionError):
    """The LLM call (connect, read, re-asks and retries together) used up its deadline.

    Exit 3 (the service did not answer, nothing was changed), but not a ServiceError: in a run, one paper
    that times out is recorded as that paper's failure (a long prompt on a slow model), and the run goes on.
    """

    exit_code = ServiceError.exit_code


class EndpointAuthError(EndpointError):
    """HTTP 401 or 403 from the LLM endpoint: bad configuration (the key, its rights, the URL), exit 2."""

    exit_code = UsageError.exit_code


class UnexpectedError(PaperError):
    """A bug or an unforeseen failure inside one paper's chain; recorded like any paper failure."""

    stage = "process"


class LockedError(IngestError):
    """Another `ingest` process holds the root's lock."""


class Interrupted(IngestError):
    """Ctrl-C (SIGINT) stopped a command; the message says what it had finished and how to finish the rest."""

    exit_code = 130  # the shell's own code for a command SIGINT stopped
