"""A paper on its way in: the candidate, its text and passages, and what the extractor made of it."""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
from bisect import bisect_right
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ingest.models.base import Model
from ingest.models.ids import slugify

# --- papers on their way in -----------------------------------------------------------------------------


class Candidate(Model):
    """A paper that discover found: arXiv metadata only, no PDF yet."""

    arxiv_id: str | None = Field(default=None, description="version-less; None for a local PDF with no id")
    version: int = 1
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    pdf_url: str | None = None
    abs_url: str | None = None
    status: Literal["new", "update"] = "new"
    known_entry: str | None = Field(default=None, description="entry id, when status is update")
    local_pdf: str | None = Field(default=None, description="a local PDF given to `ingest add`")

    @property
    def key(self) -> str:
        """What messages, caches and failures name this paper by: its arXiv id, or the local file's name."""
        if self.arxiv_id:
            return self.arxiv_id
        return Path(self.local_pdf).name if self.local_pdf else slugify(self.title)

    @property
    def versioned_id(self) -> str | None:
        return f"{self.arxiv_id}v{self.version}" if self.arxiv_id else None


class SectionSpan(Model):
    """A part of a paper found by the reader: abstract, introduction, method, experiments, ..."""

    kind: Literal[
        "front",
        "abstract",
        "introduction",
        "related_work",
        "method",
        "experiments",
        "conclusion",
        "references",
        "appendix",
        "other",
    ]
    title: str
    start: int
    end: int
    page: int


class Passage(Model):
    """One piece of the context sent to the extractor, tagged with its page."""

    page: int
    section: str
    text: str
    tokens: int


class PaperText(Model):
    """A paper's normalised text, page by page, with a map from character offsets to pages."""

    source: str = Field(description="arXiv id or file name: what error messages name")
    pages: list[str]
    sections: list[SectionSpan] = Field(default_factory=list)
    title: str | None = None
    flags: list[str] = Field(default_factory=list, description="e.g. no-text-layer, injection-suspect")
    sha256: str | None = None

    @property
    def separator(self) -> str:
        return "\n\n"

    @property
    def text(self) -> str:
        return self.separator.join(self.pages)

    @property
    def page_starts(self) -> list[int]:
        starts, pos = [], 0
        for page in self.pages:
            starts.append(pos)
            pos += len(page) + len(self.separator)
        return starts

    def page_of(self, offset: int) -> int:
        """The 1-based page that holds character `offset` of `text`."""
        return max(1, bisect_right(self.page_starts, offset))
