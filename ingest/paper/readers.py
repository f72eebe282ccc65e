"""PDFs read in a pool of processes: parsing is CPU-bound, so threads would take turns on the GIL.

The processes are forked from a server that imported the readers once (`start_reader_server`, started early
so its start overlaps the caller's work); a worker exits as soon as its parent is gone.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from ingest.errors import ReadError
from ingest.models import PaperText
from ingest.paper.read import DEFAULT_ENGINE, Engine, read_cached

ReadResult = PaperText | tuple[str, str, str | None]
# A reader process starts like any multiprocessing child: it imports the caller's main module, so a script
# whose top level calls ingest runs again in it (and stops at the root's lock) unless it is guarded.
BROKEN = (
    "a PDF reader process ended abruptly (killed, out of memory, or a script that calls ingest outside "
    '`if __name__ == "__main__":`, which each reader process imports)'
)
BROKEN_HINT = "guard the script, or set read.workers: 1 in ingest.yaml; then run it again"
ReadJob = tuple[Path, str, Path] | tuple[Path, str, Path, Engine]


def read_job(job: ReadJob) -> ReadResult:
    """read_cached in a worker: (path, source, cache_dir[, engine]) -> the text, or a ReadError's parts."""
    path, source, cache_dir = job[:3]
    engine: Engine = job[3] if len(job) > 3 else DEFAULT_ENGINE
    try:
        return read_cached(path, cache_dir, source=source, engine=engine)
    except ReadError as exc:
        # PaperError's constructor takes (paper, message): it does not survive pickling, so send its parts.
        return exc.paper, exc.reason, exc.hint


def job_result(result: ReadResult) -> PaperText | ReadError:
    """What read_job sent back, as the text or the ReadError again."""
    return result if isinstance(result, PaperText) else ReadError(result[0], result[1], hint=result[2])


def _exit_with_parent() -> None:
    """In a reader process: exit as soon as the process that started it is gone (even SIGKILLed)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)  # no cleanup to do: the worker holds nothing but the text it was parsing

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def reader_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` reader processes; the caller shuts it down (use it as a context manager)."""
    # A pool worker otherwise waits for work forever once its parent is killed, holding the parent's stdout.
    return ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_exit_with_parent)


def start_reader_server() -> None:
    """Start the process the readers are forked from, if not running, and return at once: its start (~0.4 s,
    an interpreter and the readers' imports) overlaps the caller's work. It lives as long as this process."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def _context() -> ForkServerContext:
    # forkserver: forking a process that runs threads (HTTP servers, LLM calls) can deadlock. The server
    # imports the readers once, so each worker starts with them loaded (a no-op if the server already runs).
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__, "ingest.paper.read", "ingest.paper.pdfium"])
    return context


def read_many(
    paths: list[tuple[Path, str]], cache_dir: Path, *, workers: int, engine: Engine = DEFAULT_ENGINE
) -> list[PaperText | ReadError]:
    """Read (path, source) pairs in `workers` processes, in order; a failed paper comes back as ReadError."""
    jobs: list[ReadJob] = [(Path(p), source, Path(cache_dir), engine) for p, source in paths]
    if workers <= 1 or len(jobs) <= 1:
        results = [read_job(job) for job in jobs]
    else:
        with reader_pool(min(workers, len(jobs))) as pool:
            results = list(pool.map(read_job, jobs))
    return [job_result(r) for r in results]


class Readers:
    """The reader processes of one batch (jobs/pipeline.py), started at the first PDF to parse, shut down at
    exit."""

    def __init__(self, workers: int, engine: Engine = DEFAULT_ENGINE) -> None:
        self.enabled = workers > 1
        self.workers = workers
        self.engine = engine
        self._pool: ProcessPoolExecutor | None = None
        self._sources: dict[Future[Any], str] = {}  # the paper each job reads, to name it when a reader dies

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # Waits for the workers to exit: none outlives the call, even when the run is interrupted.
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: Path, source: str, cache_dir: Path) -> Future[Any]:
        if self._pool is None:
            self._pool = reader_pool(self.workers)
        try:
            future = self._pool.submit(read_job, (path, source, cache_dir, self.engine))
        except BrokenProcessPool as exc:  # a reader died before: the pool takes no more work
            raise ReadError(source, BROKEN, hint=BROKEN_HINT) from exc
        self._sources[future] = source
        return future

    def result(self, future: Future[Any]) -> PaperText:
        """The parsed text, or the worker's ReadError raised again in this process."""
        source = self._sources.pop(future, "a paper")  # asked once per job: the map does not grow with a run
        try:
            done = future.result()
        except BrokenProcessPool as exc:
            raise ReadError(source, BROKEN, hint=BROKEN_HINT) from exc
        paper = job_result(done)
        if isinstance(paper, PaperText):
            return paper
        raise paper
