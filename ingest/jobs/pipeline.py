"""The per-paper chain: download → read → extract → verify → score, for many papers at once.

`Pipeline(root, PipelineOptions(...))` is the one engine that `run`, `add`, `backfill` and `eval` compose. It
holds the options (backend, model, concurrency) and builds the backend once, lazily: only when there are
papers to screen or extract, so a run with nothing to do builds none (and imports no LLM client). `warm_up`
builds it in the background, with the reader processes' fork server, as soon as there are papers (before a
run's downloads), so that neither start (~0.1 s to a second of CPU for the backend, ~0.4 s for the server)
delays the first LLM call. PDFs are downloaded in one place (`Pipeline.pdf`).

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
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ThreadPoolExecutor,
    as_completed,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.catalog.store import CatalogRoot
from ingest.errors import PaperError, UnexpectedError
from ingest.extract.backend import Backend, backend_name, make_backend
from ingest.models import Candidate, Entry, Extraction, PaperText, Usage

if TYPE_CHECKING:
    import httpx
    from diskcache import Cache

    from ingest.extract.exemplars import ExemplarPool
    from ingest.extract.heuristic import HeuristicBackend


@dataclass(frozen=True)
class PipelineOptions:
    """How papers go through the chain: which backend and model, how many papers at once (None: config)."""

    backend: str | None = None
    model: str | None = None
    concurrency: int | None = None


@dataclass(frozen=True)
class EntriesRead:
    """Entries a command has read already (its snapshot), and the wall-clock time (ns) the read began."""

    entries: Callable[[], Iterable[Entry]]
    read_at_ns: int


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
    """The catalog's valid entries as few-shot material; a broken entry file is left out, the run goes on."""
    from ingest.catalog.queue import scan_entries

    return scan_entries(root).entries


class Pipeline:
    """One catalog root's per-paper chain with its options; the backend is built on first use, once."""

    def __init__(self, root: CatalogRoot, options: PipelineOptions | None = None) -> None:
        self.root = root
        self.options = options or PipelineOptions()
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()
        self._chain: Chain | None = None
        self._warming: threading.Thread | None = None
        # The entries the command read already (a run's snapshot): the few-shot pool is built from them
        # when its cache is stale, instead of reading the catalog a second time.
        self.entries_read: EntriesRead | None = None

    @property
    def backend_name(self) -> str:
        """The backend the options stand for (auto resolved), without building it; UsageError if unknown."""
        return backend_name(self.options.backend, self.root)

    @property
    def model(self) -> str | None:
        """The model the backend will use, without building it (the heuristic rules have none)."""
        if self.backend_name == "heuristic":
            return None
        return self.options.model or self.root.config.extract.model

    @property
    def backend_built(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        """The backend, built at the first paper that needs it and shared by every thread after that."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = make_backend(self.options.backend, self.root, model=self.options.model)
            return self._backend

    def check_backend(self) -> None:
        """A bad backend name or a missing key as a UsageError now, before any lookup; builds nothing."""
        _ = self.backend_name

    @property
    def workers(self) -> int:
        return max(1, self.options.concurrency or self.root.config.extract.concurrency)

    def pdf(self, candidate: Candidate, *, client: httpx.Client | None = None) -> Path:
        """The candidate's PDF on disk: the local file given, or the arXiv PDF downloaded into the cache.

        The one place a PDF is downloaded (run, add, backfill, eval and fetch all come here)."""
        from ingest.paper.download import download_pdf

        cfg = self.root.config
        return download_pdf(
            candidate,
            config=cfg.download,
            pdf_base_url=cfg.arxiv.pdf_url,
            cache_dir=self.root.cache_dir,
            client=client,
        )

    def download(
        self,
        candidates: list[Candidate],
        on_ok: Callable[[Candidate], None],
        on_failed: Callable[[Candidate, PaperError], None],
    ) -> list[Candidate]:
        """Every candidate's PDF into the cache, in parallel; returns those that downloaded."""

        def fetch(candidate: Candidate) -> PaperError | None:
            try:
                self.pdf(candidate)
            except PaperError as exc:
                return exc
            return None

        failed: set[str] = set()
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(candidates)))) as pool:
            futures = {pool.submit(fetch, c): c for c in candidates}
            for future in as_completed(futures):
                candidate, error = futures[future], future.result()
                if error is None:
                    on_ok(candidate)
                else:
                    failed.add(candidate.key)
                    on_failed(candidate, error)
        return [c for c in candidates if c.key not in failed]

    def warm_up(self, papers: int) -> None:
        """Start, in the background and once, what the first LLM call would wait for (see the module's doc):
        the readers' fork server if several papers may need parsing, the backend and the few-shot pool. A
        backend that cannot be built is left to the first paper that needs it, which fails as before."""
        if self._warming is not None or papers < 1:
            return
        chain = self.chain  # built here, in the caller's thread: the pipeline's threads share it
        parse = papers > 1 and self.root.config.read.workers > 1

        def warm() -> None:
            from ingest.paper.readers import start_reader_server

            try:
                if parse:
                    start_reader_server()
                if self.backend_name != chain.rules.name:
                    _ = self.backend, chain.examples
            except Exception:  # the paper that needs it raises it again, as before
                pass

        self._warming = threading.Thread(target=warm, name="ingest-warm-up", daemon=True)
        self._warming.start()

    def settle(self) -> None:
        """Wait for the warm-up to end, so that no thread of the pipeline outlives the command's work."""
        if self._warming is not None:
            self._warming.join()

    @property
    def chain(self) -> Chain:
        if self._chain is None:
            self._chain = Chain(self)
        return self._chain

    def process(
        self, candidates: list[Candidate], on_done: Callable[[PaperOutcome], None] | None = None
    ) -> list[PaperOutcome]:
        """Download, read, extract, verify and score each candidate; outcomes in the order of `candidates`."""
        if not candidates:
            return []
        from ingest.paper.read import text_cache
        from ingest.paper.readers import Readers

        root, chain = self.root, self.chain
        outcomes: list[PaperOutcome | None] = [None] * len(candidates)
        # One paper, or one reader: parse in the thread (starting a process would cost more than it saves).
        readers = root.config.read.workers if len(candidates) > 1 else 1
        lock = threading.Lock()
        self.warm_up(len(candidates))
        # The pool's threads make the calls (at most `workers` at once). The checks of an answer (the rules'
        # cross-check, verify, support, score: CPU under the interpreter lock, so one thread is enough) run
        # in their own thread: a paper waiting for a thread gets the one its call ended in at once.
        with (
            ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(candidates)))) as pool,
            ThreadPoolExecutor(max_workers=1) as checks,
            Readers(readers, self.root.config.read.engine) as parser,
            text_cache(root.cache_dir) as texts,  # opened once: ~7 ms of CPU each time saved
        ):
            stages: dict[Future[Any], tuple[int, str]] = {
                pool.submit(chain.fetch, c, parse=not parser.enabled, texts=texts): (i, "fetch")
                for i, c in enumerate(candidates)
            }
            papers: dict[int, PaperText] = {}
            while stages:
                done, _ = wait(stages, return_when=FIRST_COMPLETED)
                for future in done:
                    i, stage = stages.pop(future)
                    candidate = candidates[i]
                    outcome = PaperOutcome(candidate, paper=papers.get(i))
                    with recorded(outcome):
                        if stage == "fetch":
                            path, paper = future.result()
                            if paper is None:
                                stages[parser.submit(path, candidate.key, root.cache_dir)] = (i, "parse")
                                continue
                        elif stage == "parse":
                            paper = parser.result(future)
                        if stage in ("fetch", "parse"):
                            papers[i] = paper
                            stages[pool.submit(chain.ask, paper, candidate)] = (i, "ask")
                            continue
                        if stage == "ask":
                            extraction, cross = future.result()
                            judged = checks.submit(chain.judge, papers[i], candidate, extraction, cross)
                            stages[judged] = (i, "judge")
                            continue
                        outcome.extraction = future.result()
                    outcomes[i] = outcome
                    if on_done is not None:
                        with lock:
                            on_done(outcome)
        self.settle()
        return [o for o in outcomes if o is not None]


class Chain:
    """What one paper's chain needs beyond the pipeline: the rules and the few-shot examples, read once."""

    def __init__(self, pipeline: Pipeline) -> None:
        # Imported here: the chain's stages pull in the PDF reader, which a run with no paper never needs.
        from ingest.extract.heuristic import HeuristicBackend

        self.pipeline = pipeline
        self.root = pipeline.root
        self.taxonomy = self.root.taxonomy
        self.config = self.root.config
        self.rules: HeuristicBackend = HeuristicBackend(self.taxonomy)
        self._examples: ExemplarPool | None = None
        self._lock = threading.Lock()

    @property
    def examples(self) -> ExemplarPool:
        """The few-shot pool, loaded at the first extraction that uses it (not by a no-op run)."""
        from ingest.extract.exemplars import ExemplarPool, load_pool

        with self._lock:
            if self._examples is None:
                self._examples = (
                    load_pool(self.root.entries_dir, self.root.cache_dir, self._entries)
                    if self.config.extract.few_shot
                    else ExemplarPool()
                )
            return self._examples

    def _entries(self) -> tuple[Iterable[Entry], int]:
        """The command's entries when it read them, else the catalog read now (only for a stale pool)."""
        given = self.pipeline.entries_read
        if given is not None:
            return given.entries(), given.read_at_ns
        read_at = time.time_ns()
        return approved_examples(self.root), read_at

    def fetch(
        self, candidate: Candidate, *, parse: bool, texts: Cache | None = None
    ) -> tuple[Path, PaperText | None]:
        """The PDF on disk and its text: from the cache (`texts`, if open), parsed when `parse`, else None."""
        from ingest.paper.read import cached_text, read_cached

        path, engine, where = self.pipeline.pdf(candidate), self.config.read.engine, self.root.cache_dir
        if parse:
            return path, read_cached(path, where, source=candidate.key, engine=engine, store=texts)
        return path, cached_text(path, where, source=candidate.key, engine=engine, store=texts)

    def extract(self, paper: PaperText, candidate: Candidate) -> Extraction:
        """extract → verify → score for a paper already read."""
        return self.judge(paper, candidate, *self.ask(paper, candidate))

    def ask(self, paper: PaperText, candidate: Candidate) -> tuple[Extraction, Extraction | None]:
        """The backend's answer, and the cross-check's when it comes with the answer (else None)."""
        cfg = self.config.extract
        if self.pipeline.backend_name == self.rules.name:
            return self.rules.extract(paper, candidate, examples=[]), None
        backend = self.pipeline.backend
        # The rules' section guess picks the examples; without examples they run in `judge`, after the call,
        # where their CPU time overlaps with the other papers' waiting instead of delaying this request.
        examples_at_hand = self.examples
        rules = self.rules.extract(paper, candidate, examples=[]) if examples_at_hand else None
        hint = rules.entry.primary_section if rules else None
        examples = examples_at_hand.choose(candidate, k=cfg.few_shot, section_hint=hint)
        extraction = backend.extract(paper, candidate, examples=examples)
        second = getattr(backend, "second_opinion", None)
        if cfg.cross_check == "second-sample" and second is not None:
            cross = second(paper, candidate, examples=examples)
            # The second answer is part of this paper's cost: the run report counts it.
            usage = extraction.usage + cross.usage.as_cross_check()
            return extraction.model_copy(update={"usage": usage}), cross
        return extraction, rules if cfg.cross_check == "heuristic" else None

    def judge(
        self, paper: PaperText, candidate: Candidate, extraction: Extraction, cross: Extraction | None
    ) -> Extraction:
        """verify → support → score of the backend's answer, with the rules' cross-check if not made yet."""
        from ingest.extract.score import score
        from ingest.extract.support import check_support
        from ingest.extract.verify import verify

        rules_check = self.config.extract.cross_check == "heuristic"
        if cross is None and rules_check and self.pipeline.backend_name != self.rules.name:
            cross = self.rules.extract(paper, candidate, examples=[])
        return score(
            check_support(verify(extraction, paper), paper, self.taxonomy),
            taxonomy=self.taxonomy,
            cross_check=cross,
            min_confidence=self.config.check.min_confidence,
        )
