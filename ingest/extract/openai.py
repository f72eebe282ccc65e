"""The `openai` backend: instructor over the openai client, for any OpenAI-compatible server.

Two loops, kept apart on purpose. instructor re-asks when an answer is not valid JSON or breaks the schema (up
to `extract.max_reasks`); our own loop around it retries transport failures (429, 5xx, timeouts, lost
connections) up to `extract.retries` times, waiting for the server's Retry-After when it sends one and an
exponential backoff otherwise. The openai client's own retries are off (max_retries=0) so that a 429 is
neither retried twice nor mistaken for a schema error. Answers are cached by backend + model + prompt hash +
input hash: a rerun makes no call.

A circuit breaker, shared by every paper (and thread) of one backend: when a connection error has used up
one paper's retries, the endpoint is taken as unreachable, and every later call (another paper, or another
thread's next retry) fails at once with EndpointUnreachable (exit 3) instead of going through its own retries
and backoff. Timeouts trip it too, from the second paper on: one paper that times out may be that paper (a
long prompt on a slow model) and is recorded as its failure, so one such paper cannot keep every weekly run
from completing; two papers timing out mean the endpoint is not answering. A 429 or 5xx never trips it: the
server answered. The breaker lives as long as the backend, i.e. one `ingest run` or `ingest add`; cached
answers are still served while it is open.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from typing import Any, Literal, TypeVar, cast

import httpx
import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from pydantic import BaseModel, Field

from ingest.catalog.store import CatalogRoot
from ingest.config import OPENAI_DEFAULT_BASE_URL, ExtractConfig
from ingest.errors import (
    EndpointAuthError,
    EndpointError,
    EndpointUnreachable,
    ExtractionError,
    ExtractionTimeout,
    UsageError,
)
from ingest.extract.cache import LLMCache, cache_key
from ingest.extract.deadline import deadline_client
from ingest.extract.prompts import Prompt, extraction_prompt, root_prompts_dir, screen_prompt
from ingest.extract.response import build_response_model, to_extraction
from ingest.models import Candidate, Entry, Extraction, PaperText, Scope, Usage

NAME = "openai"
MAX_WAIT_SECONDS = 60.0  # a Retry-After longer than this is not worth holding a worker for
CONNECT_TIMEOUT_SECONDS = 10.0  # a server that does not accept within this is not there
log = logging.getLogger(__name__)  # what a call waits for and its retries; the CLI prints them
T = TypeVar("T", bound=BaseModel)


class ScreenAnswer(BaseModel):
    """Is the paper in the catalog's scope, judged from its title and abstract?"""

    verdict: Literal["in", "borderline", "out"]
    reason: str = Field(min_length=3, description="one sentence")
    confidence: float = Field(ge=0, le=1)


def parse_mode(name: str) -> instructor.Mode:
    try:
        return instructor.Mode[name.strip().upper()]
    except KeyError:
        raise UsageError(
            f"extract.mode {name!r} is not an instructor mode", hint="use TOOLS, JSON, MD_JSON or JSON_SCHEMA"
        ) from None


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date), if it did."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def transient(exc: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections are worth another try; other errors are not."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APITimeoutError | openai.APIConnectionError)


def unreachable(exc: BaseException) -> bool:
    """The endpoint did not answer at all: a lost or refused connection (not a 429 or 5xx, which answered).

    APITimeoutError is a subclass; _failure judges timeouts first (one paper's timeout is that paper's)."""
    return isinstance(exc, openai.APIConnectionError)


def refused(exc: BaseException) -> bool:
    """No connection at all (refused, unknown host): retrying at once will not help, so fail fast."""
    inner = exc.__cause__ or exc.__context__
    return isinstance(exc, openai.APIConnectionError) and isinstance(inner, httpx.ConnectError)


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while isinstance(seen, InstructorRetryException) and seen.__cause__ is not None:
        seen = seen.__cause__
    return seen


def _describe(cause: BaseException) -> str:
    if isinstance(cause, openai.APIStatusError):
        return f"HTTP {cause.status_code}"
    return type(cause).__name__


class OpenAIBackend:
    """Extraction and screening through an OpenAI-compatible chat completions endpoint."""

    name = NAME

    def __init__(self, root: CatalogRoot, *, model: str | None = None) -> None:
        env = root.env  # resolved by the caller: the library reads no environment variable
        if not env.openai_api_key:
            raise UsageError(
                "the openai backend needs OPENAI_API_KEY", hint="set it, or use --backend heuristic"
            )
        self.config: ExtractConfig = root.config.extract
        self.model: str | None = model or self.config.model
        self.base_url = env.openai_base_url
        self.taxonomy = root.taxonomy
        self.context_tokens = root.config.read.context_tokens
        self.prompts_dir = root_prompts_dir(root)
        # Every HTTP request (first ask, re-asks, retries) counts as a call; hooks run in the calling thread.
        self._local = threading.local()
        timeout = self.config.timeout_seconds
        raw = openai.OpenAI(
            api_key=env.openai_api_key,
            # Explicit: the openai client would read an empty OPENAI_BASE_URL from the environment itself.
            base_url=env.openai_base_url or OPENAI_DEFAULT_BASE_URL,
            # openai takes an httpx client (its stubs name httpx2's); the transport enforces the deadline.
            timeout=cast(Any, httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS))),
            max_retries=0,
            http_client=cast(Any, deadline_client(self._local, env.proxies)),
        )
        self.client = instructor.from_openai(raw, mode=parse_mode(self.config.mode))
        # The circuit breaker: set once (an endpoint that is down or refuses the key), for every thread.
        self._down: EndpointError | None = None
        self._down_lock = threading.Lock()
        self._timed_out: set[str] = set()  # papers whose calls timed out for good
        self.client.on("completion:kwargs", self._count_call)
        # Wrapped for instructor once here: instructor wraps a plain model anew on every call, which makes a
        # new class each time and so defeats its cache of the JSON schema (tens of ms of CPU a request).
        self.response_model = instructor.response_schema(build_response_model(self.taxonomy))
        self.screen_model = instructor.response_schema(ScreenAnswer)
        self.cache = LLMCache(root.cache_dir)

    # -- the two questions ------------------------------------------------------------------------------
    def extract(self, paper: PaperText, candidate: Candidate, *, examples: list[Entry]) -> Extraction:
        return self._extraction(paper, candidate, examples, kind="extract", model=self.model)

    def second_opinion(self, paper: PaperText, candidate: Candidate, *, examples: list[Entry]) -> Extraction:
        """An independent second answer to the same prompt (extract.cross_check: second-sample): sampled at
        cross_check_temperature, from cross_check_model when set; cached apart from the first."""
        return self._extraction(
            paper,
            candidate,
            examples,
            kind="extract-second",
            model=self.config.cross_check_model or self.model,
            temperature=self.config.cross_check_temperature,
        )

    def _extraction(
        self,
        paper: PaperText,
        candidate: Candidate,
        examples: list[Entry],
        *,
        kind: str,
        model: str | None,
        temperature: float | None = None,
    ) -> Extraction:
        prompt = extraction_prompt(
            self.taxonomy,
            candidate,
            paper,
            examples=examples,
            context_tokens=self.context_tokens,
            prompts_dir=self.prompts_dir,
        )
        answer, usage = self._ask(
            prompt, self.response_model, candidate.key, kind=kind, model=model, temperature=temperature
        )
        return to_extraction(
            answer,
            candidate=candidate,
            taxonomy=self.taxonomy,
            backend=NAME,
            model=model,
            prompt_hash=prompt.prompt_hash,
            input_hash=prompt.input_hash,
            usage=usage,
        )

    def screen(self, candidate: Candidate) -> Scope:
        prompt = screen_prompt(self.taxonomy, candidate, self.prompts_dir)
        answer, usage = self._ask(prompt, self.screen_model, candidate.key, kind="screen")
        return Scope(verdict=answer.verdict, reason=answer.reason, confidence=answer.confidence, usage=usage)

    def _count_call(self, *args: Any, **kwargs: Any) -> None:
        self._local.calls = getattr(self._local, "calls", 0) + 1

    # -- one call, cached, with retries -------------------------------------------------------------------
    def _ask(
        self,
        prompt: Prompt,
        response_model: type[T],
        paper: str,
        *,
        kind: str,
        model: str | None = None,
        temperature: float | None = None,
    ) -> tuple[T, Usage]:
        model = model or self.model
        temperature = self.config.temperature if temperature is None else temperature
        key = cache_key(NAME, model, prompt.prompt_hash, prompt.input_hash, kind)
        stored = self.cache.get(key)
        if stored is not None:
            # Usage is what this run spent: nothing. The first run's usage stays in its own results.
            return response_model.model_validate(stored["answer"]), Usage(cached=True)
        self._local.calls = 0
        budget = self.config.deadline_seconds
        self._local.deadline = time.monotonic() + budget
        where = self.base_url or "the OpenAI API"
        log.info("%s %s: asking %s at %s (deadline %g s)", kind, paper, model, where, budget)
        try:
            return self._attempts(prompt, response_model, paper, key, model, temperature)
        finally:
            self._local.deadline = None

    def _attempts(
        self,
        prompt: Prompt,
        response_model: type[T],
        paper: str,
        key: str,
        model: str | None,
        temperature: float,
    ) -> tuple[T, Usage]:
        """The first ask and the transport retries, all within the thread's deadline."""
        for attempt in range(self.config.retries + 1):
            self._fail_fast(paper, attempt)
            try:
                answer, completion = self.client.chat.completions.create_with_completion(
                    model=model,
                    messages=cast(Any, prompt.messages),
                    response_model=response_model,
                    max_retries=self.config.max_reasks,
                    temperature=temperature,
                )
            except (InstructorRetryException, openai.OpenAIError) as exc:
                cause = _root_cause(exc)
                left = self._local.deadline - time.monotonic()
                if transient(cause) and not refused(cause) and attempt < self.config.retries and left > 0:
                    asked = retry_after(cause)
                    backoff = self.config.backoff_seconds * 2**attempt
                    wait = min(MAX_WAIT_SECONDS, asked if asked is not None else backoff)
                    if wait < left:  # a wait past the deadline would only end in the same failure, later
                        log.warning(
                            "%s: %s; retry %d of %d in %.0f s (%.0f s of the deadline left)",
                            paper, _describe(cause), attempt + 1, self.config.retries, wait, left,
                        )
                        time.sleep(wait)
                        continue
                failure = self._failure(paper, exc, cause, attempt + 1)
                if isinstance(failure, EndpointError):
                    with self._down_lock:
                        self._down = self._down or failure  # the breaker opens for every thread
                raise failure from exc
            usage = self._usage(answer, completion, self._local.calls, model)
            self.cache.set(
                key,
                {
                    "answer": answer.model_dump(mode="json", by_alias=True),
                    "usage": usage.model_dump(mode="json"),
                },
            )
            return answer, usage
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _fail_fast(self, paper: str, attempt: int) -> None:
        """Raise at once when the breaker is open: another paper found the endpoint down or refusing keys."""
        down = self._down
        if isinstance(down, EndpointUnreachable):
            raise EndpointUnreachable(
                paper,
                f"not tried: the LLM endpoint {down.endpoint} could not be reached for {down.paper}",
                endpoint=down.endpoint,
                attempts=attempt,
                hint=down.hint or "",
            )
        if down is not None:
            # The same refusal: the key that failed for one paper fails for all of them.
            raise EndpointAuthError(paper, down.reason, attempts=attempt, hint=down.hint)

    def _usage(self, answer: BaseModel, completion: Any, calls: int, model: str | None) -> Usage:
        total = getattr(answer, "_total_usage", None) or getattr(completion, "usage", None)
        prompt_tokens = int(getattr(total, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(total, "completion_tokens", 0) or 0)
        price = self.config.prices.get(model or "")
        cost = 0.0
        if price is not None:
            cost = (prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok) / 1e6
        return Usage(
            calls=calls,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=round(cost, 6),
        )

    def _failure(self, paper: str, exc: BaseException, cause: BaseException, tries: int) -> ExtractionError:
        """One clear, one-line error for a paper whose call failed for good."""
        where = self.base_url or "the OpenAI API"
        if isinstance(cause, openai.APITimeoutError):
            deadline = getattr(self._local, "deadline", None)
            if deadline is not None and time.monotonic() >= deadline - 0.1:
                limit = f"did not answer within the deadline of {self.config.deadline_seconds:g} s"
            else:
                limit = f"timed out after {self.config.timeout_seconds:g} s"
            message = f"the LLM endpoint {where} {limit} ({tries} tries)"
            hint = "raise extract.deadline_seconds (and timeout_seconds) in ingest.yaml, or retry later"
            with self._down_lock:
                self._timed_out.add(paper)
                others = len(self._timed_out) > 1
            if others:  # a second paper: the endpoint, not the paper
                return EndpointUnreachable(paper, message, endpoint=where, attempts=tries, hint=hint)
            return ExtractionTimeout(paper, message, attempts=tries, hint=hint)
        if unreachable(cause):
            return EndpointUnreachable(
                paper,
                f"could not reach the LLM endpoint {where} ({tries} tries)",
                endpoint=where,
                attempts=tries,
                hint="check OPENAI_BASE_URL and that the server runs",
            )
        if isinstance(cause, openai.APIStatusError) and cause.status_code in (401, 403):
            return EndpointAuthError(
                paper,
                f"the LLM endpoint {where} refused the request: HTTP {cause.status_code}",
                attempts=tries,
                hint="check OPENAI_API_KEY (and that it may use the model), OPENAI_BASE_URL and --model",
            )
        if isinstance(cause, openai.APIStatusError):
            return ExtractionError(
                paper,
                f"the LLM endpoint answered HTTP {cause.status_code} after {tries} tries",
                attempts=tries,
                hint="check the key and model, or retry later",
            )
        last = getattr(exc, "last_completion", None)
        attempts = getattr(exc, "n_attempts", 0) or self.config.max_reasks + 1
        detail = str(cause).strip().splitlines()[0][:200] if str(cause).strip() else type(cause).__name__
        return ExtractionError(
            paper,
            f"the model's answer broke the schema {attempts} times: {detail}",
            attempts=attempts,
            last_response=json.dumps(last.model_dump(), default=str)[:4000] if last is not None else None,
            hint="raise extract.max_reasks, or try another model or extract.mode",
        )
