"""The INGEST_* / OPENAI_* settings, resolved by the caller (the CLI) from a mapping once.

Plain Python, no pydantic: every command builds them first, and a command that reads no model (`review
list`, `--help`) must not pay for a validation library. The library never reads the process environment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.errors import UsageError

PROXY_VARIABLES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})


def service_url(value: str | None) -> str | None:
    """A service URL must be http(s) with a host: `not-a-url` or `file:///…` is bad configuration (exit 2)
    at once, not a connection that is retried until it times out."""
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [ in the host
        ok = False
    if not ok:
        raise ValueError(f"{value[:80]!r} is not an http(s) URL with a host (e.g. https://example.org/path)")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value[:40]!r} is not a number of seconds (0 or more)")
    return seconds


@dataclass(frozen=True)
class Env:
    """The environment variables ingest understands; each field's metadata names its variable."""

    openai_api_key: str | None = field(default=None, metadata={"variable": "OPENAI_API_KEY"})
    openai_base_url: str | None = field(default=None, metadata={"variable": "OPENAI_BASE_URL"})
    model: str | None = field(default=None, metadata={"variable": "INGEST_MODEL"})
    arxiv_url: str | None = field(default=None, metadata={"variable": "INGEST_ARXIV_URL"})
    arxiv_pdf_url: str | None = field(default=None, metadata={"variable": "INGEST_ARXIV_PDF_URL"})
    cache_dir: Path | None = field(default=None, metadata={"variable": "INGEST_CACHE_DIR"})
    arxiv_delay: float | None = field(default=None, metadata={"variable": "INGEST_ARXIV_DELAY"})
    # How long a writing command waits for another ingest process's lock before exit 2: a scheduled job
    # that may overlap a long run can wait longer; a script that must not block can set 0.
    lock_wait: float | None = field(default=None, metadata={"variable": "INGEST_LOCK_WAIT"})
    # The proxy variables as set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, either case): the openai
    # backend's own transport would otherwise ignore them, since httpx reads them only for its default one.
    proxies: dict[str, str] = field(default_factory=dict, metadata={"variable": None})

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> the environment variable it reads (the proxies are read by their own names)."""
        return {f.name: f.metadata["variable"] for f in fields(cls) if f.metadata["variable"]}

    @classmethod
    def from_mapping(cls, environ: Mapping[str, str]) -> Env:
        """The settings named in `environ` (e.g. os.environ); a bad value is a UsageError naming it."""
        values: dict[str, Any] = {}
        for name, variable in cls.variables().items():
            raw = environ.get(variable)
            if not raw:  # a workflow that maps an unset repository variable gives "": treat it as not set
                continue
            try:
                if name in ("openai_base_url", "arxiv_url", "arxiv_pdf_url"):
                    values[name] = service_url(raw)
                elif name == "cache_dir":
                    values[name] = Path(raw)
                elif name in ("arxiv_delay", "lock_wait"):
                    values[name] = _seconds(raw)
                else:
                    values[name] = raw
            except ValueError as exc:
                raise UsageError(f"environment variable {variable}: {exc}", hint="fix or unset it") from exc
        # The lower-case spelling wins over the upper-case one, as in curl and urllib.
        spelled = sorted(
            (k.islower(), k.upper(), v) for k, v in environ.items() if k.upper() in PROXY_VARIABLES
        )
        proxies = {name: value for _, name, value in spelled if value}
        if proxies:
            values["proxies"] = proxies
        return cls(**values)
