"""The per-paper chain: download → read → extract → verify → score, for many papers at once.

A pipeline: downloads run in a bounded pool of threads; a PDF whose text is not cached yet is parsed in a pool
of reader processes (pypdf is CPU-bound: threads would take turns on the interpreter lock); as each text is
ready its extraction goes back to the threads, where the LLM calls wait together. So the calls of the first
papers overlap the parsing of the later ones. A paper that fails any stage is recorded in its PaperOutcome
with the PaperError that names it and the stage; the others go on. `on_done` is called with each outcome as
it completes (serialised by a lock), so a caller can save every result at once and a killed run loses
nothing it finished. The reader processes are shut down before `process` returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, IngestError, PaperError
from ingest.extract.backend import Backend, make_backend
from ingest.extract.heuristic import HeuristicBackend
from ingest.extract.prompts import choose_examples
from ingest.extract.score import score
from ingest.extract.verify import verify
from ingest.models import Candidate, Entry, Extraction, PaperText, Usage


@dataclass
class PaperOutcome:
    """What became of one candidate: its scored extraction, or the error of the stage that failed."""

    candidate: Candidate
    extraction: Extraction | None = None
    error: PaperError | None = None
    paper: PaperText | None = None

    @property
    def ok(self) -> bool:
        return self.extraction is not None and self.error is None

    @property
    def usage(self) -> Usage:
        return self.extraction.usage if self.extraction is not None else Usage()


class UnexpectedError(PaperError):
    """A bug or an unforeseen failure inside one paper's chain; recorded like any paper failure."""

    stage = "process"


@contextmanager
def recorded(outcome: PaperOutcome) -> Iterator[None]:
    """Record a failure of the block in outcome.error instead of raising it."""
    try:
        yield
    except PaperError as exc:
        outcome.error = exc
    except Exception as exc:  # one paper's surprise must not end the run; it is recorded with its type
        outcome.error = UnexpectedError(
            outcome.candidate.key,
            f"{type(exc).__name__}: {exc}".splitlines()[0],
            hint="please report this with the paper's id",
        )


def run_usage(outcomes: list[PaperOutcome]) -> Usage:
    """Calls, tokens and cost of a whole run."""
    total = Usage(cached=bool(outcomes))
    for outcome in outcomes:
        total = total + outcome.usage
    return total


def approved_examples(root: CatalogRoot) -> list[Entry]:
    """The catalog's entries as few-shot material; a broken entry file costs the examples, not the run."""
    try:
        return list(root.entries().values())
    except CatalogError:
        return []


def pdf_path(root: CatalogRoot, candidate: Candidate) -> Path:
    """The candidate's PDF on disk: the local file given, or the arXiv PDF downloaded into the cache."""
    from ingest.paper.download import download_pdf

    cfg = root.config
    return download_pdf(
        candidate, config=cfg.download, pdf_base_url=cfg.arxiv.pdf_url, cache_dir=root.cache_dir
    )


class Chain:
    """Everything one paper's chain needs, built once per run."""

    def __init__(self, root: CatalogRoot, backend: Backend) -> None:
        self.root = root
        self.backend = backend
        self.taxonomy = root.taxonomy
        self.config = root.config
        self.rules = HeuristicBackend(self.taxonomy)
        self.examples = approved_examples(root) if self.config.extract.few_shot else []

    def read(self, candidate: Candidate) -> PaperText:
        from ingest.paper.read import read_cached

        path, engine = pdf_path(self.root, candidate), self.config.read.engine
        return read_cached(path, self.root.cache_dir, source=candidate.key, engine=engine)

    def fetch(self, candidate: Candidate, *, parse: bool) -> tuple[Path, PaperText | None]:
        """The PDF on disk and its text: from the cache, parsed here when `parse`, else None (not parsed)."""
        from ingest.paper.read import cached_text, read_cached

        path, engine = pdf_path(self.root, candidate), self.config.read.engine
        if parse:
            return path, read_cached(path, self.root.cache_dir, source=candidate.key, engine=engine)
        return path, cached_text(path, self.root.cache_dir, source=candidate.key, engine=engine)

    def run(self, candidate: Candidate) -> PaperOutcome:
        """The whole chain of one paper in this thread."""
        outcome = PaperOutcome(candidate)
        with recorded(outcome):
            paper = outcome.paper = self.read(candidate)
            outcome.extraction = self.extract(paper, candidate)
        return outcome

    def finish(self, candidate: Candidate, paper: PaperText) -> PaperOutcome:
        """extract → verify → score of a paper already read, as its outcome."""
        outcome = PaperOutcome(candidate, paper=paper)
        with recorded(outcome):
            outcome.extraction = self.extract(paper, candidate)
        return outcome

    def extract(self, paper: PaperText, candidate: Candidate) -> Extraction:
        """extract → verify → score for a paper already read."""
        cfg = self.config.extract
        if self.backend.name == self.rules.name:
            extraction, cross = self.rules.extract(paper, candidate, examples=[]), None
        else:
            # The rules' section guess picks the examples; without examples they run after the call, where
            # their CPU time overlaps with the other papers' waiting instead of delaying this request.
            rules = self.rules.extract(paper, candidate, examples=[]) if self.examples else None
            hint = rules.entry.primary_section if rules else None
            examples = choose_examples(self.examples, candidate, k=cfg.few_shot, section_hint=hint)
            extraction = self.backend.extract(paper, candidate, examples=examples)
            if cfg.cross_check == "heuristic":
                cross = rules or self.rules.extract(paper, candidate, examples=[])
            else:
                cross = None
        return score(
            verify(extraction, paper),
            taxonomy=self.taxonomy,
            cross_check=cross,
            min_confidence=self.config.check.min_confidence,
        )


def process(
    root: CatalogRoot,
    candidates: list[Candidate],
    *,
    backend: str | None = None,
    model: str | None = None,
    concurrency: int | None = None,
    on_done: Callable[[PaperOutcome], None] | None = None,
) -> list[PaperOutcome]:
    """Download, read, extract, verify and score each candidate; outcomes in the order of `candidates`."""
    chain = Chain(root, make_backend(backend, root, model=model))
    workers = max(1, concurrency or root.config.extract.concurrency)
    outcomes: list[PaperOutcome | None] = [None] * len(candidates)
    # One paper, or one reader: parse in the thread (starting a process would cost more than it saves).
    readers = root.config.read.workers if len(candidates) > 1 else 1
    lock = threading.Lock()
    with (
        ThreadPoolExecutor(max_workers=min(workers, max(1, len(candidates)))) as pool,
        _Readers(readers, root.config.read.engine) as parser,
    ):
        stages: dict[Future[Any], tuple[int, str]] = {
            pool.submit(chain.fetch, c, parse=not parser.enabled): (i, "fetch")
            for i, c in enumerate(candidates)
        }
        while stages:
            done, _ = wait(stages, return_when=FIRST_COMPLETED)
            for future in done:
                i, stage = stages.pop(future)
                candidate = candidates[i]
                outcome = PaperOutcome(candidate)
                with recorded(outcome):
                    if stage == "fetch":
                        path, paper = future.result()
                        if paper is None:
                            stages[parser.submit(path, candidate.key, root.cache_dir)] = (i, "parse")
                        else:
                            stages[pool.submit(chain.finish, candidate, paper)] = (i, "extract")
                        continue
                    if stage == "parse":
                        paper = parser.result(future)
                        stages[pool.submit(chain.finish, candidate, paper)] = (i, "extract")
                        continue
                    outcome = future.result()
                outcomes[i] = outcome
                if on_done is not None:
                    with lock:
                        on_done(outcome)
    return [o for o in outcomes if o is not None]


class _Readers:
    """The reader processes of one `process` call, started at the first PDF to parse, shut down at exit."""

    def __init__(self, workers: int, engine: Literal["pdfium", "pypdf"] = "pdfium") -> None:
        self.enabled = workers > 1
        self.workers = workers
        self.engine = engine
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            # Waits for the workers to exit: none outlives the call, even when the run is interrupted.
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: Path, source: str, cache_dir: Path) -> Future[Any]:
        from ingest.paper.read import read_job, reader_pool

        if self._pool is None:
            self._pool = reader_pool(self.workers)
        return self._pool.submit(read_job, (path, source, cache_dir, self.engine))

    @staticmethod
    def result(future: Future[Any]) -> PaperText:
        """The parsed text, or the worker's ReadError raised again in this process."""
        from ingest.paper.read import job_result

        paper = job_result(future.result())
        if isinstance(paper, PaperText):
            return paper
        raise paper


@dataclass
class AddResult:
    """`ingest add`: the papers that went through the chain, and the REFs that could not even be resolved."""

    outcomes: list[PaperOutcome]
    bad_refs: list[tuple[str, IngestError]]

    @property
    def ok(self) -> list[PaperOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failures(self) -> list[tuple[str, IngestError]]:
        """(REF or paper, error) of everything that failed, in one list."""
        return self.bad_refs + [(o.candidate.key, o.error) for o in self.outcomes if o.error is not None]


def add_refs(
    root: CatalogRoot,
    refs: list[str],
    *,
    backend: str | None = None,
    model: str | None = None,
    concurrency: int | None = None,
    on_done: Callable[[PaperOutcome], None] | None = None,
) -> AddResult:
    """Resolve each REF (arXiv id, arXiv URL, local PDF) and run the chain on those that resolve."""
    from ingest.paper.discover import resolve_ref

    candidates: list[Candidate] = []
    bad: list[tuple[str, IngestError]] = []
    make_backend(
        backend, root, model=model
    )  # a bad backend or missing key is a usage error before any lookup
    for ref in refs:
        try:
            candidates.append(resolve_ref(ref, root.config.arxiv))
        except IngestError as exc:
            bad.append((ref, exc))
    outcomes = process(
        root, candidates, backend=backend, model=model, concurrency=concurrency, on_done=on_done
    )
    return AddResult(outcomes, bad)
