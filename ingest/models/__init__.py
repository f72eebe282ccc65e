"""The data of ingest as pydantic models: entries, exclusions, decisions, papers, extractions, proposals.

Nothing here knows a section, axis or column name: those come from the taxonomy file (taxonomy.py) and are
checked against it by check.py. Models loaded from files that people edit forbid unknown keys, so a typo such
as `aproved: true` is an error, not a silent no-op.

One module a part: base (ids, the strict model, flags), catalog (entries and their evidence), paper (a paper
on its way in and its extraction), review (proposals and the run state). Import from `ingest.models`.
"""

from ingest.models.base import (
    ARXIV_ID_RE,
    ARXIV_VERSIONED_RE,
    DATE_RE,
    ID_RE,
    NOT_APPLICABLE,
    UNKNOWN,
    EntryId,
    Strict,
    check_id,
    slugify,
    split_arxiv_id,
)
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
