"""Ids, dates and the special values: plain Python (no pydantic), so a command that only names ids or files
loads none of the models."""

from __future__ import annotations

import re
import unicodedata

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
ARXIV_ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$")
ARXIV_VERSIONED_RE = re.compile(r"^(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$")
DATE_RE = re.compile(r"^\d{4}(\.(0[1-9]|1[0-2]))?$")

UNKNOWN = "unknown"
NOT_APPLICABLE = "n/a"


def slugify(text: str, max_len: int = 60) -> str:
    """A file-safe id: ASCII lower case, digits, '-' and '.'; never empty, never a path."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    norm = re.sub(r"[^a-z0-9.]+", "-", norm).strip("-.")
    norm = re.sub(r"-{2,}", "-", norm)[:max_len].strip("-.")
    return norm or "entry"


def split_arxiv_id(ref: str) -> tuple[str, int | None]:
    """'2306.13649v2' -> ('2306.13649', 2); raises ValueError for anything that is not an arXiv id."""
    m = ARXIV_VERSIONED_RE.match(ref.strip())
    if not m:
        raise ValueError(f"not an arXiv id: {ref!r}")
    return m.group("id"), int(m.group("v")) if m.group("v") else None


def check_id(value: str) -> str:
    if not ID_RE.match(value) or ".." in value:
        raise ValueError(
            f"id {value!r} is not a slug (lower-case letters, digits, '.', '_' and '-'; no '/', no '..')"
        )
    return value
