"""The data of ingest as pydantic models: entries, exclusions, decisions, papers, extractions, proposals.

Nothing here knows a section, axis or column name: those come from the taxonomy file (taxonomy.py) and are
checked against it by check.py. Models loaded from files that people edit forbid unknown keys, so a typo such
as `aproved: true` is an error, not a silent no-op.

One module a part: ids (id rules, no pydantic), base (the strict model), catalog (entries, their evidence,
flags), paper (a paper on its way in and its extraction), review (proposals and the run state). Import from
`ingest.models`.

The names are loaded on first use (module __getattr__): ids and their patterns come from ids.py without
pydantic, and a model's module is imported only when a command needs that model. Every model defers its
validator to its first use (base.Model), so importing one costs its class, not its schema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ingest.models.ids import (
    ARXIV_ID_RE,
    ARXIV_VERSIONED_RE,
    DATE_RE,
    ID_RE,
    NOT_APPLICABLE,
    UNKNOWN,
    check_id,
    slugify,
    split_arxiv_id,
)

if TYPE_CHECKING:
    from ingest.models.base import EntryId, Model, Strict
    from ingest.models.catalog import (
        Decision,
        Entry,
        Exclusion,
        FieldEvidence,
        Flag,
        Kind,
        Link,
        LinkKind,
        ListQuote,
        MatchKind,
        Provenance,
        Quote,
        Verdict,
    )
    from ingest.models.paper import (
        Candidate,
        PaperText,
        Passage,
        SectionSpan,
    )
    from ingest.models.review import (
        ChangeScalar,
        ChangeShape,
        ChangeValue,
        Extraction,
        Failure,
        FieldChange,
        Proposal,
        ProposalProvenance,
        RunRecord,
        RunState,
        Scope,
        Usage,
    )

# name -> the module under ingest.models that defines it (the ids above are imported already)
_EXPORTS: dict[str, str] = {
    "Candidate": "paper",
    "ChangeScalar": "review",
    "ChangeShape": "review",
    "ChangeValue": "review",
    "Decision": "catalog",
    "Entry": "catalog",
    "EntryId": "base",
    "Exclusion": "catalog",
    "Extraction": "review",
    "Failure": "review",
    "FieldChange": "review",
    "FieldEvidence": "catalog",
    "Flag": "catalog",
    "Kind": "catalog",
    "Link": "catalog",
    "LinkKind": "catalog",
    "ListQuote": "catalog",
    "MatchKind": "catalog",
    "Model": "base",
    "PaperText": "paper",
    "Passage": "paper",
    "Proposal": "review",
    "ProposalProvenance": "review",
    "Provenance": "catalog",
    "Quote": "catalog",
    "RunRecord": "review",
    "RunState": "review",
    "Scope": "review",
    "SectionSpan": "paper",
    "Strict": "base",
    "Usage": "review",
    "Verdict": "catalog",
}

__all__ = [
    "ARXIV_ID_RE",
    "ARXIV_VERSIONED_RE",
    "DATE_RE",
    "ID_RE",
    "NOT_APPLICABLE",
    "UNKNOWN",
    "Candidate",
    "ChangeScalar",
    "ChangeShape",
    "ChangeValue",
    "Decision",
    "Entry",
    "EntryId",
    "Exclusion",
    "Extraction",
    "Failure",
    "FieldChange",
    "FieldEvidence",
    "Flag",
    "Kind",
    "Link",
    "LinkKind",
    "ListQuote",
    "MatchKind",
    "Model",
    "PaperText",
    "Passage",
    "Proposal",
    "ProposalProvenance",
    "Provenance",
    "Quote",
    "RunRecord",
    "RunState",
    "Scope",
    "SectionSpan",
    "Strict",
    "Usage",
    "Verdict",
    "check_id",
    "slugify",
    "split_arxiv_id",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ingest.models' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"ingest.models.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
