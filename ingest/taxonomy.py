"""The catalog's taxonomy, loaded from taxonomy.yaml: sections and their columns, the design axes, C1/C2.

Nothing else in ingest knows a section, axis or column name. Another catalog changes this file, not the code.
"""

# No `from __future__ import annotations` here: pydantic would parse each annotation string (start-up).
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.errors import CatalogError, ConfigError
from ingest.models import NOT_APPLICABLE, UNKNOWN, Kind
from ingest.yamlio import line_of, load_yaml

MAIN_ROLES = ("resource", "stars", "date", "org", "links", "title", "repo")
REQUIRED_ROLES = ("resource", "stars", "date", "org", "links", "title")  # `repo` is optional
DEFAULT_COLUMNS = {"repo": {"header": "Repo"}}


# A cue word that starts with this is a regex on the lowered text, matched anywhere (a formula, as a sample
# drawn from the policy, has no word to start at); any other cue is a phrase matched at a word's start.
REGEX_CUE = "re:"
# Which side of the heuristic's scope call decides a criterion's verdict (extract/scope.py verdict_of).
ScopeSide = Literal["own_samples", "supervised"]


def _compiles(rx: str, where: str) -> None:
    try:
        re.compile(rx)
    except re.error as exc:
        raise ValueError(f"{where}: bad regex {rx!r}: {exc}") from exc


class _Strict(BaseModel):
    # defer_build: validators are built when a taxonomy is first loaded, not when a command imports this.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AxisValue(_Strict):
    id: str
    label: str
    description: str = ""
    keywords: list[str] = Field(default_factory=list, description="phrases the heuristic backend looks for")


class Axis(_Strict):
    id: str
    label: str
    description: str = ""
    values: list[AxisValue]

    @property
    def vocabulary(self) -> list[str]:
        """Every value an entry may hold on this axis, the special ones included."""
        return [v.id for v in self.values] + [NOT_APPLICABLE, UNKNOWN]


class Criterion(_Strict):
    id: str
    label: str
    description: str
    keywords: list[str] = Field(default_factory=list)
    scope_side: ScopeSide | None = Field(
        default=None,
        description="the side of the heuristic's scope call that decides this verdict: the student's own "
        "samples (C1), or a teacher supervising them (C2); none: the verdict is read from its keywords",
    )


class Column(_Strict):
    """A main-table role (resource, stars, ...): the header the renderer writes, and aliases to import."""

    header: str
    aliases: list[str] = Field(default_factory=list)


class DetailColumn(_Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)
    prose: bool = Field(default=False, description="curator prose: kept only with import --keep-prose")
    description: str = ""


class Badge(_Strict):
    label: str = Field(description="text on the shields.io count badge")
    color: str = Field(description="hex colour without '#'")
    alt: str | None = Field(default=None, description="the badge image's alt text")


class Section(_Strict):
    id: str
    heading: str = Field(description="heading text as rendered, with its emoji")
    match: list[str] = Field(
        default_factory=list,
        description="phrases that identify this section's heading in another list version",
    )
    level: int = Field(default=2, ge=2, le=4)
    parent: str | None = None
    role: Literal["catalog", "exclusions"] = "catalog"
    description: str = ""
    badge: Badge | None = None
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="per-section header text of a main-table role, e.g. links: Paper Link",
    )
    main_columns: list[str] = Field(default_factory=lambda: list(REQUIRED_ROLES))
    detail_key: str = Field(default="Method", description="header of the detail table's first column")
    details: list[DetailColumn] = Field(default_factory=list)
    strictness_notes: bool = True
    entry_kind: Kind | None = Field(
        default=None, description="kind of the resources this section lists (import)"
    )
    keywords: list[str] = Field(default_factory=list, description="phrases the heuristic backend looks for")

    @model_validator(mode="after")
    def _roles(self) -> "Section":
        unknown = [c for c in self.main_columns if c not in MAIN_ROLES]
        if unknown:
            raise ValueError(f"section {self.id}: unknown main-table roles {unknown}; use {list(MAIN_ROLES)}")
        return self

    @property
    def anchor_text(self) -> str:
        """The heading without its leading emoji, as people read it."""
        return re.sub(r"^[^\w(]+", "", self.heading).strip()

    def detail_names(self, *, keep_prose: bool = True) -> list[str]:
        return [c.name for c in self.details if keep_prose or not c.prose]


class DetailCues(_Strict):
    """Detail columns (by name, in any section) and, per value written there, the words that state it."""

    columns: list[str]
    values: dict[str, list[str]]
    context: list[str] = Field(
        default_factory=list, description="words the same sentence must also hold, one of them (empty: any)"
    )
    pick: Literal["most", "first"] = Field(
        default="most", description="the value most sentences state, or the first listed that any states"
    )
    min_sentences: int = Field(default=1, ge=1, description="sentences a value needs before it is written")
    min_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of all values' sentences the most-stated one needs"
    )


class Cues(_Strict):
    """Words a quote must hold to support a value (extract/support.py), beside the values' own keywords."""

    criteria: dict[str, list[str]] = Field(default_factory=dict, description="criterion id -> cues")
    axes: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="axis id -> value id -> cues"
    )
    sections: dict[str, list[str]] = Field(default_factory=dict, description="section id -> cues")
    distillation: list[str] = Field(
        default_factory=list, description="words that say a teacher supervises (the scope's C2 side)"
    )
    own_samples: list[str] = Field(
        default_factory=list, description="words that say the student generates its training samples (C1)"
    )
    learner: list[str] = Field(
        default_factory=list, description="words for the model that distils its own samples (the student)"
    )
    not_done: list[str] = Field(
        default_factory=list, description="words of a sentence about what the paper does not do (future work)"
    )
    aside: list[str] = Field(
        default_factory=list,
        description="words that open a clause about what the method is not ('unlike', 'without'): the scope "
        "call skips the clause",
    )
    citation: list[str] = Field(
        default_factory=list, description="regexes of a sentence about another paper (a citation)"
    )
    own_code: list[str] = Field(
        default_factory=list, description="words before a URL that make it the paper's own code or model"
    )
    own_code_front: list[str] = Field(
        default_factory=list, description="own_code words that count only up front or in a sentence with 'we'"
    )
    other_code: list[str] = Field(
        default_factory=list, description="words before a URL that make it someone else's (a framework)"
    )
    org_words: list[str] = Field(
        default_factory=list, description="the last word of an organisation's name (University, Institute)"
    )
    org_names: list[str] = Field(default_factory=list, description="organisations no pattern of words finds")
    details: list[DetailCues] = Field(default_factory=list, description="detail columns the heuristic fills")
    contrast: list[str] = Field(
        default_factory=list, description="words of a sentence that sets the method against another (details)"
    )
    core_axes: list[str] = Field(
        default_factory=list,
        description="axes read first from the sentences that describe the distillation (the scope's "
        "C1-and-C2 sentences and their neighbours), then from the paper's own sentences that mention "
        "distillation; the whole paper only when neither names a value",
    )
    own_axes: list[str] = Field(
        default_factory=list,
        description="axes read from the paper's own sentences only (not related work or citing sentences)",
    )
    fallback_axes: list[str] = Field(
        default_factory=list, description="axes the heuristic fills from sentences naming one value alone"
    )
    genre_sections: dict[str, list[str]] = Field(
        default_factory=dict,
        description="section id -> title phrases: the section a paper joins for the kind of document it is",
    )

    @model_validator(mode="after")
    def _regexes(self) -> "Cues":
        for rx in self.citation:
            _compiles(rx, "cues.citation")
        for where, cues in self._cue_lists():
            for cue in cues:
                if cue.startswith(REGEX_CUE):
                    _compiles(cue[len(REGEX_CUE) :], where)
        return self

    def _cue_lists(self) -> list[tuple[str, list[str]]]:
        """Every list of cue words, named as in the file (a cue in any of them may be a regex)."""
        lists = [(f"cues.{k}", v) for k, v in vars(self).items() if isinstance(v, list) and k != "citation"]
        lists += [(f"cues.criteria.{k}", v) for k, v in self.criteria.items()]
        lists += [(f"cues.sections.{k}", v) for k, v in self.sections.items()]
        lists += [(f"cues.axes.{a}.{k}", v) for a, vs in self.axes.items() for k, v in vs.items()]
        lists += [(f"cues.details.{g.columns[0]}.{k}", v) for g in self.details for k, v in g.values.items()]
        return [(where, [c for c in cues if isinstance(c, str)]) for where, cues in lists]


class Implication(_Strict):
    """A fact of the list that implies axis values: the section an entry sits in, the heading above its row
    (e.g. a tag `(Q1=B)`), or a technical-details cell (`Teacher Access: White-box`). Every condition given
    must hold; the importer records the list's own text and line as the evidence."""

    id: str = Field(description="a short name, written into the evidence")
    section: str | None = Field(default=None, description="the entry is listed in this section (its id)")
    heading: str | None = Field(default=None, description="regex on the heading its row sits under")
    column: str | None = Field(default=None, description="a technical-details column (name or alias)")
    pattern: str | None = Field(default=None, description="regex on that column's cell (with `column`)")
    unless: str | None = Field(default=None, description="regex: not when the entry's row or details say so")
    priority: int | None = Field(
        default=None,
        description="on one axis only the highest-priority rules that fire count; default: "
        "column 2, heading 1, section 0",
    )
    axes: dict[str, list[str]] = Field(description="axis id -> the values implied")

    @model_validator(mode="after")
    def _shape(self) -> "Implication":
        if not (self.section or self.heading or self.column):
            raise ValueError(f"implication {self.id}: give a section, a heading or a column")
        if bool(self.column) != bool(self.pattern):
            raise ValueError(f"implication {self.id}: `column` and `pattern` go together")
        for rx in (self.heading, self.pattern, self.unless):
            if rx is not None:
                _compiles(rx, f"implication {self.id}")
        return self

    @property
    def rank(self) -> int:
        if self.priority is not None:
            return self.priority
        return 2 if self.column else 1 if self.heading else 0


class AxesDisplay(_Strict):
    """Where the rendered list shows an entry's known axes: nowhere, a main-table column, or a
    technical-details column (computed like the badges; the importer skips it)."""

    show: Literal["none", "column", "details"] = "none"
    header: str = "Axes"


class Taxonomy(_Strict):
    catalog: str
    description: str = ""
    columns: dict[str, Column]
    axes: list[Axis]
    verdict_values: list[str] = Field(default_factory=lambda: ["yes", "partial", "no"])
    criteria: list[Criterion]
    sections: list[Section]
    scope_keywords: list[str] = Field(default_factory=list, description="phrases that put a paper in scope")
    generic_acronyms: list[str] = Field(
        default_factory=list,
        description="acronyms too common in the field to name a paper (heuristic backend)",
    )
    ignore_headings: list[str] = Field(
        default_factory=list,
        description="headings of the list that hold no catalog table (Contributing, ...)",
    )
    cues: Cues = Field(default_factory=Cues, description="support cues per value (extract/support.py)")
    implications: list[Implication] = Field(
        default_factory=list, description="facts of the list that imply axis values (import)"
    )
    axes_display: AxesDisplay = Field(default_factory=AxesDisplay)
    row_order: Literal["list", "date"] = Field(
        default="list",
        description="list: rows keep the imported list's order, new entries go in by date; date: all by date",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Taxonomy":
        ids = [s.id for s in self.sections]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"section ids listed twice: {sorted(dupes)}")
        for s in self.sections:
            if s.parent and s.parent not in ids:
                raise ValueError(f"section {s.id}: parent {s.parent!r} is not a section id")
        missing = [r for r in REQUIRED_ROLES if r not in self.columns]
        if missing:
            raise ValueError(f"columns: no entry for main-table roles {missing}")
        unknown = [g for g in self.cues.genre_sections if g not in ids]
        if unknown:
            raise ValueError(f"cues.genre_sections: {unknown} are not section ids")
        axis_ids = [a.id for a in self.axes]
        if len(set(axis_ids)) != len(axis_ids):
            raise ValueError("an axis id is listed twice")
        for key in ("core_axes", "own_axes", "fallback_axes"):
            stray = [a for a in getattr(self.cues, key) if a not in axis_ids]
            if stray:
                raise ValueError(f"cues.{key}: {stray} are not axis ids ({', '.join(axis_ids)})")
        for imp in self.implications:
            if imp.section and imp.section not in ids:
                raise ValueError(f"implication {imp.id}: section {imp.section!r} is not a section id")
            for axis_id, values in imp.axes.items():
                axis = next((a for a in self.axes if a.id == axis_id), None)
                if axis is None:
                    raise ValueError(f"implication {imp.id}: {axis_id!r} is not an axis id")
                bad = [v for v in values if v not in axis.vocabulary or v == UNKNOWN]
                if bad or not values:
                    raise ValueError(f"implication {imp.id}: {bad or values} not values of axis {axis_id}")
        return self

    @cached_property
    def section_ids(self) -> list[str]:
        return [s.id for s in self.sections]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def axis(self, axis_id: str) -> Axis:
        for a in self.axes:
            if a.id == axis_id:
                return a
        raise KeyError(axis_id)

    @property
    def catalog_sections(self) -> list[Section]:
        return [s for s in self.sections if s.role == "catalog"]

    def value_cues(self, path: str, value: str) -> list[str]:
        """The words that back `value` of the field `path` (axes.<id>, verdicts.<id>, sections): the
        value's own keywords and its cues; empty when the taxonomy says nothing about it."""
        head, _, rest = path.partition(".")
        if head == "axes":
            axis = next((a for a in self.axes if a.id == rest), None)
            own = next((v.keywords for v in axis.values if v.id == value), []) if axis else []
            return [*own, *self.cues.axes.get(rest, {}).get(value, [])]
        if head == "verdicts":
            criterion = next((c for c in self.criteria if c.id == rest), None)
            return [*(criterion.keywords if criterion else []), *self.cues.criteria.get(rest, [])]
        if head == "sections":
            section = next((s for s in self.sections if s.id == value), None)
            return [*(section.keywords if section else []), *self.cues.sections.get(value, [])]
        return []

    def detail_cues(self, column: str, value: str) -> list[str]:
        """The words that state `value` in the detail column `column` (cues.details); empty if none."""
        return [c for g in self.cues.details if column in g.columns for c in g.values.get(value, [])]

    def column(self, role: str) -> Column:
        """A main-table role's column; an optional role (repo) not in `columns` has its default header."""
        return self.columns.get(role) or Column.model_validate(DEFAULT_COLUMNS[role])

    def header(self, section: Section, role: str) -> str:
        return section.headers.get(role, self.column(role).header)


def load_taxonomy(path: Path) -> Taxonomy:
    """Load and validate taxonomy.yaml; an error names the file and line."""
    if not path.exists():
        raise ConfigError(path, "taxonomy file not found", hint="run a writing command to create the root")
    try:
        data = load_yaml(path)
    except CatalogError as exc:  # bad configuration: exit 2
        raise ConfigError(exc.file, exc.detail, line=exc.line, hint=exc.hint) from exc
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: list[str | int] = [str(p) if not isinstance(p, int) else p for p in err["loc"]]
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            path,
            f"{'.'.join(map(str, loc)) or 'taxonomy'}: {message}",
            line=line_of(data, loc or _named(data, message)),
            hint="an id renamed in one place must be renamed everywhere taxonomy.yaml uses it"
            if "not values of axis" in message or "is not a section id" in message
            else None,
        ) from exc


_NAMED = re.compile(r"^(implication|section) (\S+?):")


def _named(data: object, message: str) -> list[str | int]:
    """The place of the implication or section a whole-taxonomy check names (`implication X: ...`), so its
    error points at that item's line rather than the file's first."""
    found = _NAMED.match(message)
    items = data.get(f"{found.group(1)}s") if found and isinstance(data, dict) else None
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and found is not None and item.get("id") == found.group(2):
            return [f"{found.group(1)}s", i]
    return []
