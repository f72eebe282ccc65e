"""A loopback OpenAI-compatible server with scripted answers, for the real openai client through instructor.

Fixture `llm_server` starts it on 127.0.0.1 and points OPENAI_BASE_URL / OPENAI_API_KEY at it. Script answers:

    llm_server.script(answer(args), raw("{not json"), error(429, retry_after=1), slow(2.0, answer(args)))
    llm_server.default = ValidAnswers(taxonomy, {"2306.13649": paper_text})   # when the queue is empty

Each item is a `Reply`, a dict (a whole completion body), or a function of the request body returning either.
`answer(args)` answers in the form the request asked for: a tool call when the request carries `tools`, else a
JSON message (JSON / MD_JSON modes). Every request is recorded (`requests`, `calls`), so tests can count calls
and look at exactly what the model was sent. `valid_arguments(taxonomy, paper)` builds a valid answer whose
quotes are real sentences of the paper (end-to-end tests reuse it). `server.delay` slows every answer.

Session fixtures for real PDFs: `corpus_paper(file, source=id)` parses a corpus PDF once per session;
`share_text_cache(corpus_text_cache, cache_dir)` copies the parsed texts into a test's cache so that
process() reads nothing again.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingest.extract.heuristic import sentences
from ingest.extract.support import holds_cue
from ingest.models import PaperText
from ingest.taxonomy import Taxonomy


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict: sent as JSON; str: sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Item = Reply | dict[str, Any] | Callable[[dict[str, Any]], "Reply | dict[str, Any]"]


def completion(request: dict[str, Any], text: str, *, usage: tuple[int, int] = (1200, 300)) -> dict[str, Any]:
    """A chat completion whose payload is `text`: as tool-call arguments or as the message content."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if request.get("tools"):
        name = request["tools"][0]["function"]["name"]
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
        ]
    else:
        message["content"] = text
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "test-model"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": message, "logprobs": None}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def answer(
    arguments: dict[str, Any], *, usage: tuple[int, int] = (1200, 300)
) -> Callable[[dict[str, Any]], dict]:
    """A valid-JSON answer carrying `arguments` (valid or not for the schema: that is the test's choice)."""
    return lambda request: completion(request, json.dumps(arguments), usage=usage)


def raw(text: str) -> Callable[[dict[str, Any]], dict]:
    """An answer whose payload is `text` verbatim, e.g. malformed JSON."""
    return lambda request: completion(request, text)


def error(status: int, *, retry_after: float | None = None, message: str = "scripted error") -> Reply:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Reply(
        status=status,
        body={"error": {"message": message, "type": "server_error", "code": status}},
        headers=headers,
    )


def slow(seconds: float, item: Item) -> Callable[[dict[str, Any]], Reply]:
    """`item`, answered after `seconds`."""

    def reply(request: dict[str, Any]) -> Reply:
        out = item(request) if callable(item) else item
        if isinstance(out, Reply):
            return Reply(out.status, out.body, out.headers, seconds)
        return Reply(body=out, delay=seconds)

    return reply


# --- valid answers built from a real paper ----------------------------------------------------------------


def paper_quotes(paper: PaperText, n: int = 12) -> list[dict[str, Any]]:
    """n real sentences of the paper with their pages, spread over the paper, as answer quotes."""
    sents = [s for s in sentences(paper) if 40 <= len(s.text) <= 250]
    step = max(1, len(sents) // n)
    return [{"text": s.text, "page": s.page} for s in sents[::step][:n]]


def valid_arguments(
    taxonomy: Taxonomy,
    paper: PaperText,
    *,
    name: str = "TestMethod",
    title: str | None = None,
    section: str | None = None,
    confidence: float = 0.9,
) -> dict[str, Any]:
    """A schema-valid answer for `taxonomy` whose quotes are real sentences of `paper`."""
    quotes = paper_quotes(paper)
    q = iter(quotes * 4)
    texts = [s for s in sentences(paper) if 40 <= len(s.text) <= 250]

    def ev(path: str = "", **value: Any) -> dict[str, Any]:
        # A sentence that backs the value (support check) when the paper has one, else the next real one.
        claimed = value.get("value") or (value.get("values") or [None])[0]
        cues = taxonomy.value_cues(path, claimed) if path and claimed else []
        if path in ("name", "title") and claimed:
            cues = [claimed]
        hit = next((s for s in texts if cues and holds_cue(s.text, cues)), None)
        quote = {"text": hit.text, "page": hit.page} if hit else next(q)
        if path in ("name", "title") and claimed and paper.title and claimed.lower() in paper.title.lower():
            quote = {"text": paper.title, "page": 1}
        return {**value, "quotes": [quote], "confidence": confidence}

    backed = [
        c.id
        for c in taxonomy.catalog_sections
        if any(holds_cue(s.text, taxonomy.value_cues("sections", c.id)) for s in texts)
    ]
    primary = section or (backed or [taxonomy.catalog_sections[0].id])[0]
    return {
        "name": ev("name", value=name),
        "title": ev("title", value=title or paper.title or "A test paper"),
        "org": {"value": None, "quotes": [], "confidence": 0.5},
        "links": {"urls": [], "quotes": [], "confidence": 0.5},
        "sections": ev("sections", values=[primary]),
        "axes": {a.id: ev(f"axes.{a.id}", values=[a.values[0].id]) for a in taxonomy.axes},
        "verdicts": {c.id: ev(f"verdicts.{c.id}", value="yes") for c in taxonomy.criteria},
        "details": [],
        "scope": ev(verdict="in", reason="the paper distils a student on its own samples"),
    }


def screen_arguments(verdict: str = "in", confidence: float = 0.9) -> dict[str, Any]:
    return {"verdict": verdict, "reason": f"scripted: {verdict}", "confidence": confidence}


_PAPER_ID = re.compile(r'<paper id="([^"]+)">')


class ValidAnswers:
    """A default responder: a valid answer for the paper a request is about (found by its <paper id>)."""

    def __init__(self, taxonomy: Taxonomy, papers: dict[str, PaperText], **kwargs: Any) -> None:
        self.taxonomy, self.papers, self.kwargs = taxonomy, papers, kwargs

    def __call__(self, request: dict[str, Any]) -> Reply | dict[str, Any]:
        text = json.dumps(request)
        if "ScreenAnswer" in text:
            return completion(request, json.dumps(screen_arguments()))
        found = _PAPER_ID.search(user_text(request))
        paper = self.papers.get(found.group(1)) if found else None
        if paper is None:
            return error(404, message="ValidAnswers: no paper for this request")
        return completion(request, json.dumps(valid_arguments(self.taxonomy, paper, **self.kwargs)))


def user_text(request: dict[str, Any]) -> str:
    """All message text of a request, joined."""
    parts = []
    for m in request.get("messages", []):
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)


# --- the server --------------------------------------------------------------------------------------------


class LLMServer:
    """The running server: its base_url, the scripted queue, the recorded requests."""

    def __init__(self) -> None:
        self._queue: deque[Item] = deque()
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.default: Item | None = None
        self.delay = 0.0  # added to every answer (the benchmark's "each call takes 1 s")
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *items: Item) -> None:
        with self._lock:
            self._queue.extend(items)

    @property
    def calls(self) -> int:
        return len(self.requests)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            item = self._queue.popleft() if self._queue else self.default
        if item is None:
            return error(500, message="llm_server: the script is exhausted")
        out = item(request) if callable(item) else item
        return out if isinstance(out, Reply) else Reply(body=out)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    body = {}
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    reply = error(404, message=f"no route {self.path}")
                else:
                    reply = server._next(body)
                if reply.delay + server.delay:
                    time.sleep(reply.delay + server.delay)
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data.encode())))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def do_GET(self) -> None:
                # GET /_calls: the request count, for a client in another process (the benchmark).
                data = json.dumps({"calls": server.calls}).encode()
                self.send_response(200 if self.path.endswith("/_calls") else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMServer]:
    """A scripted OpenAI-compatible server; OPENAI_BASE_URL and OPENAI_API_KEY point at it for the test."""
    server = LLMServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    yield server
    server.stop()


# --- real corpus papers, parsed once per session ------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus_text_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read cache (read_cached's diskcache) shared by the session: each corpus PDF is parsed once."""
    return tmp_path_factory.mktemp("corpus-text")


@pytest.fixture(scope="session")
def corpus_paper(corpus_text_cache: Path) -> Callable[..., PaperText]:
    """corpus_paper("gkd-….pdf", source="2306.13649") -> its parsed PaperText (skips without the corpus)."""
    from conftest import PDFS, need_shared

    from ingest.paper.read import read_cached

    def get(name: str, source: str | None = None) -> PaperText:
        path = need_shared(PDFS / name)
        return read_cached(path, corpus_text_cache, source=source or name)

    return get


def share_text_cache(corpus_text_cache: Path, cache_dir: Path) -> None:
    """Copy the session's parsed texts into a test's cache folder, so process() parses nothing again."""
    target = Path(cache_dir) / "text"
    if not target.exists() and (corpus_text_cache / "text").is_dir():
        shutil.copytree(corpus_text_cache / "text", target)
