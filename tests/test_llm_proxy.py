"""The openai backend honours HTTP(S)_PROXY and NO_PROXY like any httpx client, with its deadline kept.

httpx reads the proxy variables only for its default transport; the backend brings its own (for the
deadline), so it mounts the proxies itself. A real forwarding proxy on loopback shows where requests went.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from helpers_queue import new_root
from helpers_run import NEW, invoke, paper_texts, responder

from ingest.config import Env
from ingest.errors import UsageError
from ingest.extract.deadline import deadline_client

PAPER = next(iter(NEW))
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length"}


class ForwardProxy(ThreadingHTTPServer):
    """A plain HTTP forward proxy: takes absolute-form requests, forwards them, records what it forwarded."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.seen: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: ForwardProxy

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        with httpx.Client(trust_env=False, timeout=60) as client:
            answer = client.request(self.command, self.path, headers=headers, content=body)
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def llm_calls(proxy: ForwardProxy) -> list[str]:
    return [url for method, url in proxy.seen if method == "POST" and url.endswith("/chat/completions")]


def test_the_llm_calls_go_through_http_proxy(
    tmp_path, monkeypatch: pytest.MonkeyPatch, arxiv_mirror, llm_server, forward_proxy: ForwardProxy
) -> None:
    root = new_root(tmp_path / "cat")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)

    result = invoke(root.path, "add", PAPER, "--backend", "openai")

    assert result.exit_code == 0, result.output
    assert len(llm_calls(forward_proxy)) == llm_server.calls >= 1
    assert len(list(root.queue_dir.glob("*.yaml"))) == 1


@pytest.mark.parametrize("no_proxy", ["localhost,127.0.0.1", "*"])
def test_no_proxy_sends_the_llm_calls_directly(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    arxiv_mirror,
    llm_server,
    forward_proxy: ForwardProxy,
    no_proxy: str,
) -> None:
    root = new_root(tmp_path / "cat")
    llm_server.default = responder(root.taxonomy, paper_texts(arxiv_mirror.papers))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", no_proxy)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)

    result = invoke(root.path, "add", PAPER, "--backend", "openai")

    assert result.exit_code == 0, result.output
    assert llm_calls(forward_proxy) == []
    assert llm_server.calls >= 1


def test_a_proxy_that_is_down_is_the_llm_endpoint_unreachable(
    tmp_path, monkeypatch: pytest.MonkeyPatch, llm_server
) -> None:
    from fpdf import FPDF

    root = new_root(tmp_path / "cat")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "On-policy distillation: the student samples its own outputs. " * 20)
    pdf.output(str(tmp_path / "paper.pdf"))  # a local PDF: only the LLM endpoint is asked
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")

    result = invoke(root.path, "add", str(tmp_path / "paper.pdf"), "--backend", "openai")

    assert result.exit_code == 3, result.output
    assert "could not reach the LLM endpoint" in result.stderr
    assert llm_server.calls == 0  # nothing went around the proxy


def test_the_proxy_variables_are_read_once_by_the_caller_lower_case_first() -> None:
    env = Env.from_mapping(
        {
            "HTTPS_PROXY": "http://upper:1",
            "https_proxy": "http://lower:2",
            "NO_PROXY": "a.example",
            "PATH": "/x",
        }
    )
    assert env.proxies == {"HTTPS_PROXY": "http://lower:2", "NO_PROXY": "a.example"}
    assert Env.from_mapping({"http_proxy": ""}).proxies == {}


def test_only_http_proxies_are_supported() -> None:
    with pytest.raises(UsageError, match="ALL_PROXY"):
        deadline_client(threading.local(), {"ALL_PROXY": "socks5://127.0.0.1:1080"})
