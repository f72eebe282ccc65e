"""One TLS context per process for every HTTP client ingest makes (arXiv, PDF downloads, the LLM endpoint)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (the certifi bundle, or SSL_CERT_FILE / SSL_CERT_DIR as httpx reads them),
    built once: each build loads and parses the whole CA bundle (~50 ms of CPU), and a run makes a client for
    each arXiv search, each PDF download and each backend. An SSLContext is safe to share between threads."""
    import httpx

    return httpx.create_ssl_context()
