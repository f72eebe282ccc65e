"""One deadline per LLM question, enforced on every socket read and write of every attempt.

Timeouts in httpx are per operation: a server that sends one byte every few seconds (in its headers or its
body) never trips a read timeout and can hold a call for hours. So the transport's connections go through a
network backend whose every read, write and TLS handshake waits at most what is left of the calling thread's
deadline, and fails at once when it has passed. instructor's re-asks and our retries share that deadline.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import typing
from urllib.parse import urlsplit

import httpcore
import httpx

from ingest.errors import UsageError
from ingest.paper.tls import tls_context


def _left(local: threading.local, timeout: float | None, error: type[Exception]) -> float | None:
    """The wait allowed for one socket operation: its own timeout, cut to what is left of the deadline."""
    deadline: float | None = getattr(local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, local: threading.local) -> None:
        self._stream = stream
        self._local = local

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._local, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._local, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _left(self._local, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait), self._local)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, local: threading.local) -> None:
        self._backend = httpcore.SyncBackend()
        self._local = local

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(self._local, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream, self._local)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(self._local, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, wait, socket_options), self._local)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over connections that honour the calling thread's deadline (`local.deadline`, a
    time.monotonic() value, or None for no deadline); a request made after it passed fails at once. With
    `proxy` (an http:// or https:// proxy URL), requests go through that proxy, on the same terms."""

    def __init__(self, local: threading.local, *, proxy: str | None = None) -> None:
        super().__init__(verify=tls_context())
        self._local = local
        # httpx takes no network backend, so its pool is built again with ours and httpx's own defaults
        # (TLS context from the environment, built once a process, HTTP/1.1, its connection limits).
        pool: dict[str, typing.Any] = {
            "ssl_context": tls_context(),
            "max_connections": 100,
            "max_keepalive_connections": 20,
            "keepalive_expiry": 5.0,
            "network_backend": _DeadlineBackend(local),
        }
        if proxy is None:
            self._pool = httpcore.ConnectionPool(**pool)
            return
        via = httpx.Proxy(proxy)
        url = via.url
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            proxy_auth=via.raw_auth,
            **pool,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            _left(self._local, None, httpcore.ReadTimeout)
        except httpcore.ReadTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from None
        return super().handle_request(request)


def deadline_client(local: threading.local, proxies: typing.Mapping[str, str]) -> httpx.Client:
    """An httpx client whose every connection honours the thread's deadline, routed through the proxies of
    `proxies` (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY as the environment set them) as httpx routes its
    default client: httpx ignores them once a transport of one's own is given, so they are mounted here."""
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for scheme in ("all", "http", "https"):  # the more specific scheme wins: mounted last
        url = proxies.get(f"{scheme.upper()}_PROXY")
        if url:
            url = url if "://" in url else f"http://{url}"
            if urlsplit(url).scheme not in ("http", "https"):
                raise UsageError(
                    f"{scheme.upper()}_PROXY {url!r}: only http:// and https:// proxies are supported",
                    hint="use an HTTP proxy, or unset it",
                )
            mounts[f"{scheme}://"] = DeadlineTransport(local, proxy=url)
    for host in (h.strip() for h in proxies.get("NO_PROXY", "").split(",")):
        if host == "*":
            return httpx.Client(transport=DeadlineTransport(local), verify=tls_context())
        if host:
            mounts[_bypass_pattern(host)] = None  # None: reached directly, by the client's own transport
    return httpx.Client(transport=DeadlineTransport(local), mounts=mounts, verify=tls_context())


def _bypass_pattern(host: str) -> str:
    """A NO_PROXY entry as the URL pattern httpx makes of it (a domain covers its subdomains)."""
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "all://localhost" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"
