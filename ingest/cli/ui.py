"""Terminal output: rich tables and progress bars on a terminal, plain lines in CI and pipes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def interactive() -> bool:
    return sys.stdout.isatty() and not os.environ.get("CI")


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
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        with bar:
            yield Steps(bar, label)
    else:
        yield Steps(None, label)


def track(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    with progress(label) as steps:
        if total is not None:
            steps.total(total)
        for item in items:
            yield item
            steps.advance()
