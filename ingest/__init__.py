"""ingest: keep a curated research catalog current; the public API a script needs, loaded lazily.

    import os, ingest
    root = ingest.open_root("catalog", environ=os.environ)    # or ingest.CatalogRoot(path, env=...)
    report = ingest.run(root, ingest.PipelineOptions(backend="heuristic"))
    result = ingest.add(root, ["2306.13649"])
    ingest.approve(root, [p.id for p in result.proposals])
    ingest.render(root); assert not ingest.check_root(root).errors

`check_root` and `evaluate_root` carry a suffix: `ingest.check` and `ingest.evaluate` are the subpackages.
Attributes are imported on first use (module __getattr__), so `import ingest` costs almost nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.catalog.store import CatalogRoot
    from ingest.check.report import CheckReport
    from ingest.check.run import check_root
    from ingest.config import Config
    from ingest.env import Env
    from ingest.errors import (
        CatalogError,
        ConfigError,
        IngestError,
        LockedError,
        PaperError,
        ServiceError,
        UsageError,
    )
    from ingest.evaluate.run import evaluate as evaluate_root
    from ingest.jobs.add import AddResult, add
    from ingest.jobs.backfill import backfill
    from ingest.jobs.pipeline import PaperOutcome, Pipeline, PipelineOptions
    from ingest.jobs.report import RunReport
    from ingest.jobs.run import run
    from ingest.markdown.render import render_root as render
    from ingest.models import Candidate, Decision, Entry, Exclusion, Extraction, Proposal
    from ingest.review.decide import approve, edit, recover, reject

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "CatalogRoot": ("ingest.catalog.store", "CatalogRoot"),
    "Config": ("ingest.config", "Config"),
    "Env": ("ingest.env", "Env"),
    "Pipeline": ("ingest.jobs.pipeline", "Pipeline"),
    "PipelineOptions": ("ingest.jobs.pipeline", "PipelineOptions"),
    "PaperOutcome": ("ingest.jobs.pipeline", "PaperOutcome"),
    "run": ("ingest.jobs.run", "run"),
    "RunReport": ("ingest.jobs.report", "RunReport"),
    "add": ("ingest.jobs.add", "add"),
    "AddResult": ("ingest.jobs.add", "AddResult"),
    "backfill": ("ingest.jobs.backfill", "backfill"),
    "evaluate_root": ("ingest.evaluate.run", "evaluate"),
    "approve": ("ingest.review.decide", "approve"),
    "reject": ("ingest.review.decide", "reject"),
    "edit": ("ingest.review.decide", "edit"),
    "recover": ("ingest.review.decide", "recover"),
    "render": ("ingest.markdown.render", "render_root"),
    "check_root": ("ingest.check.run", "check_root"),
    "CheckReport": ("ingest.check.report", "CheckReport"),
    "Candidate": ("ingest.models", "Candidate"),
    "Decision": ("ingest.models", "Decision"),
    "Entry": ("ingest.models", "Entry"),
    "Exclusion": ("ingest.models", "Exclusion"),
    "Extraction": ("ingest.models", "Extraction"),
    "Proposal": ("ingest.models", "Proposal"),
    "IngestError": ("ingest.errors", "IngestError"),
    "UsageError": ("ingest.errors", "UsageError"),
    "CatalogError": ("ingest.errors", "CatalogError"),
    "ConfigError": ("ingest.errors", "ConfigError"),
    "ServiceError": ("ingest.errors", "ServiceError"),
    "PaperError": ("ingest.errors", "PaperError"),
    "LockedError": ("ingest.errors", "LockedError"),
}

__all__ = [
    "AddResult",
    "Candidate",
    "CatalogError",
    "CatalogRoot",
    "CheckReport",
    "Config",
    "ConfigError",
    "Decision",
    "Entry",
    "Env",
    "Exclusion",
    "Extraction",
    "IngestError",
    "LockedError",
    "PaperError",
    "PaperOutcome",
    "Pipeline",
    "PipelineOptions",
    "Proposal",
    "RunReport",
    "ServiceError",
    "UsageError",
    "add",
    "approve",
    "backfill",
    "check_root",
    "edit",
    "evaluate_root",
    "open_root",
    "recover",
    "reject",
    "render",
    "run",
]


def open_root(
    path: Path | str, *, environ: Mapping[str, str] | None = None, create: bool = False
) -> CatalogRoot:
    """The catalog root at `path`, with the INGEST_*/OPENAI_* settings of `environ` (none when omitted:
    the library never reads the process environment itself). `create` makes a new root if missing."""
    from ingest.catalog.store import CatalogRoot
    from ingest.env import Env

    root = CatalogRoot(path, env=Env.from_mapping(environ or {}))
    return root.create() if create else root.require()


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
