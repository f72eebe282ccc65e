"""Screen a candidate on its title and abstract before any PDF is downloaded: in, borderline or out.

Borderline papers go on to be read in full; only a confident `out` stops a paper, and the caller turns it into
an exclusion proposal with the reason. When the backend's answer is unusable (invalid after the re-asks, an
HTTP error), the paper is borderline: a screening failure must never drop a paper silently. When the endpoint
cannot be reached at all, or refuses the key (an EndpointError), screening stops: the run exits 3 (or 2) and
tries again next time, rather than reading every paper in full with nobody to ask.
"""

from __future__ import annotations

from typing import Literal

from ingest.errors import EndpointError, PaperError
from ingest.extract.backend import Backend
from ingest.extract.heuristic import HeuristicBackend
from ingest.models import Candidate, Scope
from ingest.taxonomy import Taxonomy

OUT_CONFIDENCE = 0.5  # an `out` less sure than this is borderline: reading the paper settles it


def screen(candidate: Candidate, backend: Backend, taxonomy: Taxonomy) -> Scope:
    """The scope decision for one candidate; borderline goes on, out needs a reason."""
    try:
        scope = backend.screen(candidate)
    except PaperError as exc:
        if isinstance(exc, EndpointError):
            raise  # the endpoint is down or refuses the key: no paper can be judged, none is at fault
        # The taxonomy's keywords still say something; but a failed screen never rules a paper out.
        rules = HeuristicBackend(taxonomy).screen(candidate)
        verdict: Literal["in", "borderline"] = "in" if rules.verdict == "in" else "borderline"
        return Scope(
            verdict=verdict, reason=f"screening failed ({exc.reason}); {rules.reason}", confidence=0.0
        )
    if scope.verdict == "out" and scope.confidence < OUT_CONFIDENCE and backend.name != "heuristic":
        return scope.model_copy(update={"verdict": "borderline", "reason": f"unsure: {scope.reason}"})
    return scope


def goes_on(scope: Scope) -> bool:
    """Whether a screened paper is downloaded and read: everything but `out`."""
    return scope.verdict != "out"
