"""Terminal output: rich tables and progress bars on a terminal, plain lines in CI and pipes."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


class LazyConsole:
    """A rich Console made at its first line: importing rich costs more than some commands' whole work
    (`review list` on an empty queue, `check`), and those print plain lines."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def rich(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, *objects: Any, **kwargs: Any) -> None:
        plain = kwargs.get("markup") is False and not kwargs.get("highlight")
        plain = plain and set(kwargs) <= {"markup", "highlight", "soft_wrap"}
        if plain and all(isinstance(o, str) for o in objects):
            # A plain line (no markup, no style; highlight and wrapping are off in these consoles anyway):
            # written as is, without importing rich.
            click.echo(" ".join(objects), err=self._stderr)
            return
        self.rich.print(*objects, **kwargs)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


# The options that several commands share, with one name, one type and one help text each.
DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"])
DATE_HELP = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC"
BACKEND_HELP = (
    "Extractor: openai (any OpenAI-compatible endpoint), heuristic (offline, no key, low confidence) or "
    "auto (openai when OPENAI_API_KEY is set). Default: extract.backend in ingest.yaml."
)
MODEL_HELP = "Model for the openai backend. Default: INGEST_MODEL, else extract.model in ingest.yaml."
CONCURRENCY_HELP = "Papers processed at once. Default: extract.concurrency in ingest.yaml."


def interactive() -> bool:
    """A person at a terminal: rich tables and bars. In pipes and CI (CI set, not to false or 0): lines."""
    in_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return sys.stdout.isatty() and not in_ci


def utc(value: datetime | None) -> datetime | None:
    """A date given without a time zone is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def window(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """--since and --until as UTC; an empty window is bad usage before anything is fetched."""
    since, until = utc(since), utc(until)
    if since is not None and until is not None and since >= until:
        raise click.BadParameter(
            f"{since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}; give an earlier --since",
            param_hint="'--since'",
        )
    return since, until


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, nothing else on that stream."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class Steps:
    """Progress for a long step: a rich bar on a terminal, one plain line per item elsewhere."""

    def __init__(self, progress: Progress | None, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task = progress.add_task(label, total=None) if progress else None

    def total(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=n)

    def advance(self, item: str = "") -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, description=f"{self._label} {item}".strip())
        elif item:
            err_console.print(f"{self._label}: {item}")


@contextmanager
def progress(label: str) -> Iterator[Steps]:
    if interactive():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console.rich,
            transient=True,
        )
        with bar:
            yield Steps(bar, label)
    else:
        yield Steps(None, label)


class _StatusLines(logging.Handler):
    """ingest's own log records (a retry, the paper an LLM call waits for) as plain lines on stderr, so a
    long wait is never silent; rich keeps a live progress bar below them."""

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        err_console.print(escape(record.getMessage()), highlight=False, soft_wrap=True)


def show_status() -> None:
    """Print the `ingest` loggers' INFO and above on stderr (once per process, however often it is called)."""
    logger = logging.getLogger("ingest")
    if not any(isinstance(h, _StatusLines) for h in logger.handlers):
        logger.addHandler(_StatusLines())
    logger.setLevel(logging.INFO)
