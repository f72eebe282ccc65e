"""An existing list's markdown → catalog entries and exclusions (the `ingest import-markdown` stage).

Driven by structure and the taxonomy, never by one file's quirks:
- each `##`/`###` heading maps to a taxonomy section by its `heading` and `match` phrases (a section with a
  `parent` only under its parent's heading); headings in `ignore_headings` are skipped; a deeper heading that
  maps to no section is a sub-bucket of the enclosing section (the `bucket` of exclusions);
- a table outside `<details>` is a main table, its columns found by header text (`columns` and the section's
  `headers`); a table inside `<details>` holds the technical details, joined to entries by name; bullets that
  read `**Name** — text` are strictness notes, joined the same way (strictness.py holds the verdict rules);
- rows that back the same paper (a shared arXiv id) or, without arXiv ids, the same resource URL are one entry
  with several sections, the first seen primary; one repository behind two papers stays two entries.

A table under a heading that maps to nothing, an unknown column, and a detail row or note that matches no
entry are reported as problems with their line; the import goes on. Rows follow GFM: a row with fewer cells
than its header is read with the missing cells empty, extra cells are ignored; both are reported.

The axes come from the taxonomy's `implications` (implications.py), with the list's own text and line as the
evidence; each row's position is kept in `Entry.order`, so a render keeps the curators' order.

Facts only by default: the strictness-note text, the taxonomy's `prose: true` detail columns and the free
notes part of a title cell are kept only with `keep_prose=True`. Provenance carries no time, so a re-import is
byte-identical.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ingest.catalog.merge import FieldNote, MergeReport, merge_import
from ingest.catalog.records import read_text
from ingest.catalog.store import TAXONOMY, CatalogRoot, bundled
from ingest.catalog.yaml12 import parse
from ingest.errors import CatalogError, UsageError
from ingest.markdown.facts import RowFacts, link_kind
from ingest.markdown.headings import ImportProblem, Reader
from ingest.markdown.implications import Placement, infer_axes
from ingest.markdown.strictness import Target, assign, name_keys, norm, note_targets, note_verdicts, weakest
from ingest.markdown.tables import parse_blocks
from ingest.models import Entry, Exclusion, Kind, Link, LinkKind, Provenance, Verdict, slugify
from ingest.taxonomy import Taxonomy, load_taxonomy

__all__ = ["ImportProblem", "ImportResult", "import_markdown", "parse_markdown"]


@dataclass
class ImportResult:
    entries: list[Entry]
    exclusions: list[Exclusion]
    problems: list[ImportProblem]
    rows_by_section: dict[str, int]  # main-table rows read per section id, in list order
    merge: MergeReport | None = None  # what the write did (or, with dry_run, would do) to the root


@dataclass
class _Resource:
    """Rows merged into one resource: the first row is the primary one."""

    rows: list[RowFacts]
    sections: list[str] = field(default_factory=list)
    details: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # section -> the label of its technical-details row
    raw_details: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)  # every cell, with line

    @property
    def first(self) -> RowFacts:
        return self.rows[0]

    def row_in(self, section: str) -> RowFacts:
        return next(r for r in self.rows if r.section == section)

    def target_in(self, section: str) -> Target:
        row = self.row_in(section)
        words = {
            w
            for r in self.rows
            for t in (r.org, *(link.label for link in r.links))
            if t
            for w in norm(t).split()
        }
        repos = [m.group(1) for r in self.rows if r.url for m in [GITHUB_REPO_RE.match(r.url)] if m]
        keys = name_keys(row.name, row.title, self.first.title, self.labels.get(section), *repos)
        return Target(keys, words)


GITHUB_REPO_RE = re.compile(r"^https?://(?:www\.)?github\.com/[^/]+/([^/#?]+)")


# --- entries ------------------------------------------------------------------------------------------------


def _url_key(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url.strip().lower()).rstrip("/")


def merge_rows(rows: list[RowFacts]) -> list[_Resource]:
    """One resource per shared arXiv id, or without arXiv ids per resource URL (else name); in list order."""
    out: list[_Resource] = []
    index: dict[str, int] = {}
    for row in rows:
        keys = sorted(f"arxiv:{a}" for a in row.arxiv_ids) or [
            f"url:{_url_key(row.url)}" if row.url else f"name:{norm(row.name)}"
        ]
        hit = next((index[k] for k in keys if k in index), None)
        if hit is None:
            hit = len(out)
            out.append(_Resource(rows=[]))
        res = out[hit]
        res.rows.append(row)
        if row.section not in res.sections:
            res.sections.append(row.section)
        for k in keys:
            index.setdefault(k, hit)
    return out


def _translit(text: str) -> str:
    """Greek letters by name ('π-Play' → 'pi-Play'), so that slugs keep them."""
    out = []
    for ch in text:
        if ord(ch) > 127 and not unicodedata.normalize("NFKD", ch).encode("ascii", "ignore"):
            uname = unicodedata.name(ch, "")
            out.append(uname.split()[-1].lower() if uname.startswith("GREEK") else ch)
        else:
            out.append(ch)
    return "".join(out)


def assign_ids(items: list[tuple[str, str | None, list[str]]]) -> list[str]:
    """Slugs of (name, title, arXiv ids); colliding names all get the title's key word, then the arXiv id."""
    base = [slugify(_translit(name), max_len=50) for name, _, _ in items]
    ids = list(base)
    for i, (_, title, arxiv) in enumerate(items):
        if base.count(base[i]) > 1:
            word = slugify(_translit(re.split(r" — |\s\(|: ", title)[0]), max_len=24) if title else ""
            ids[i] = f"{base[i]}-{word}" if word and word != base[i] else f"{base[i]}-{(arxiv or ['x'])[0]}"
    for i in range(len(ids)):
        if ids.count(ids[i]) > 1:
            _, _, arxiv = items[i]
            ids[i] = f"{ids[i]}-{arxiv[0]}" if arxiv else f"{ids[i]}-{i + 1}"
    return ids


def entry_kind(tax: Taxonomy, res: _Resource) -> Kind:
    primary = tax.section(res.sections[0])
    if primary.entry_kind:
        return primary.entry_kind
    links = [link for r in res.rows for link in r.links]
    url_kind = (
        link_kind(res.first.url, res.first.name) if res.first.url else (links[0].kind if links else None)
    )
    if url_kind == LinkKind.blog:
        return Kind.blog
    if any(r.arxiv_ids for r in res.rows):
        return Kind.paper
    if url_kind == LinkKind.code or any(link.kind == LinkKind.code for link in links):
        return Kind.repository
    return Kind.other


def _links(res: _Resource) -> list[Link]:
    seen: set[str] = set()
    out = []
    for link in (link for r in res.rows for link in r.links):
        if link.url not in seen:
            seen.add(link.url)
            out.append(link)
    return out


def join_details(reader: Reader, resources: list[_Resource], keep_prose: bool) -> None:
    for sid, drows in reader.detail_rows.items():
        members = [r for r in resources if sid in r.sections]
        prose = {c.name for c in reader.tax.section(sid).details if c.prose}
        found = assign([name_keys(label) for _, label, _ in drows], [m.target_in(sid) for m in members])
        for i, (line, label, values) in enumerate(drows):
            if i not in found:
                reader.problem(line, f"technical-details row {label!r} matches no entry of section {sid}")
                continue
            members[found[i]].labels[sid] = label
            members[found[i]].raw_details[sid] = (line, values)
            computed = {reader.tax.axes_display.header}  # the axes column is read into axes, not details
            kept = {c: v for c, v in values.items() if (keep_prose or c not in prose) and c not in computed}
            if kept:  # the row's own label too (under the key column's name), so a render writes it back
                members[found[i]].details[sid] = {reader.tax.section(sid).detail_key: label, **kept}


def join_notes(reader: Reader, resources: list[_Resource]) -> None:
    for sid, bullets in reader.notes.items():
        members = [r for r in resources if sid in r.sections]
        keys = [m.target_in(sid) for m in members]
        for b in bullets:
            hits = note_targets(b.names, keys)
            if not hits:
                reader.problem(b.line, f"strictness note {b.names!r} matches no entry of section {sid}")
            for h in hits:
                members[h].notes.append(b.text)


def placements(res: _Resource) -> list[Placement]:
    out = []
    for row in res.rows:
        line, values = res.raw_details.get(row.section, (None, {}))
        text = " ".join(t for t in (row.title, row.notes) if t)
        stated = (row.line, row.stated_axes) if row.stated_axes is not None else None
        out.append(Placement(row.section, row.headings, line, values, text, stated))
    return out


def build_entry(tax: Taxonomy, res: _Resource, rid: str, source: str, keep_prose: bool) -> Entry:
    first = res.first
    axes, evidence = infer_axes(tax, placements(res), source)
    values = {c.id: "yes" for c in tax.criteria}
    for text in res.notes:
        for cid, v in note_verdicts(text, tax.criteria).items():
            values[cid] = weakest(values[cid], v)
    note = " ".join(res.notes) if keep_prose and res.notes else None
    return Entry(
        id=rid,
        name=first.name,
        kind=entry_kind(tax, res),
        title=first.title,
        url=first.url,
        date=first.date,
        updated=first.updated,
        org=first.org,
        stars_repo=next((r.stars_repo for r in res.rows if r.stars_repo), None),
        links=_links(res),
        paper_only=first.paper_only,
        sections=res.sections,
        details={s: res.details[s] for s in res.sections if s in res.details},
        axes=axes,
        evidence=evidence,
        order={r.section: r.position for r in res.rows},
        verdicts={cid: Verdict(value=v, note=note) for cid, v in values.items()},  # type: ignore[arg-type]
        notes=first.notes if keep_prose else None,
        provenance=Provenance(source="imported", file=source),
    )


def build_exclusion(tax: Taxonomy, res: _Resource, rid: str, source: str) -> Exclusion:
    first = res.first
    arxiv = sorted(first.arxiv_ids)
    return Exclusion(
        id=rid,
        title=first.title or first.name,
        name=first.name,
        url=first.url,
        date=first.date,
        arxiv_id=next((link.arxiv_id for link in _links(res) if link.arxiv_id), arxiv[0] if arxiv else None),
        reason=first.bucket or tax.section(first.section).anchor_text,
        bucket=first.bucket,
        links=_links(res),
        provenance=Provenance(source="imported", file=source),
    )


def parse_markdown(
    text: str, taxonomy: Taxonomy, *, source: str = "<markdown>", keep_prose: bool = False
) -> ImportResult:
    """Read a list's markdown into entries and exclusions; pure (no file is read or written)."""
    reader = Reader(taxonomy)
    reader.read(parse_blocks(text))
    excluded = {s.id for s in taxonomy.sections if s.role == "exclusions"}
    resources = merge_rows([r for r in reader.rows if r.section not in excluded])
    out_of_scope = merge_rows([r for r in reader.rows if r.section in excluded])
    join_details(reader, resources, keep_prose)
    join_notes(reader, resources)
    entries: list[Entry] = []
    ids = assign_ids(
        [(r.first.name, r.first.title, sorted({a for x in r.rows for a in x.arxiv_ids})) for r in resources]
    )
    for res, rid in zip(resources, ids, strict=True):
        try:
            entries.append(build_entry(taxonomy, res, rid, source, keep_prose))
        except ValidationError as exc:
            reader.problem(
                res.first.line, f"{res.first.name!r} is not a valid entry: {exc.errors()[0]['msg']}"
            )
    exclusions: list[Exclusion] = []
    xids = assign_ids([(r.first.name, r.first.title, sorted(r.first.arxiv_ids)) for r in out_of_scope])
    for res, rid in zip(out_of_scope, xids, strict=True):
        try:
            exclusions.append(build_exclusion(taxonomy, res, rid, source))
        except ValidationError as exc:
            reader.problem(
                res.first.line, f"{res.first.name!r} is not a valid exclusion: {exc.errors()[0]['msg']}"
            )
    problems = sorted(reader.problems, key=lambda p: p.line)
    return ImportResult(entries, exclusions, problems, reader.rows_by_section)


def import_markdown(
    root: CatalogRoot, path: Path, *, keep_prose: bool = False, overwrite: bool = False, dry_run: bool = False
) -> ImportResult:
    """Import a list's markdown into a root (created when missing), under the root's lock.

    Into a root with entries it merges (catalog/merge.py: reviewed, edited and extracted fields are kept
    unless the list changed that fact); `overwrite` writes the list's entries as they are; `dry_run` plans
    the same and writes nothing. A list that yields nothing, or any error, leaves the root as it was (a root
    this import would have created is not left behind)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file", hint="pass the path of the list's markdown") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text", hint="save the list as UTF-8") from exc
    taxonomy = root.taxonomy if root.exists() else bundled_taxonomy()
    result = parse_markdown(text, taxonomy, source=Path(path).name, keep_prose=keep_prose)
    if not result.entries and not result.exclusions:
        return result
    if dry_run:
        result.merge = _plan(root, result, overwrite=overwrite)
        return result
    created = not root.path.exists()
    try:
        with root.lock("ingest import-markdown"):
            root.create()
            result.merge = plan = _plan(root, result, overwrite=overwrite)
            for entry in plan.entries:
                root.write_entry(entry)
            for exclusion in plan.exclusions:
                root.write_exclusion(exclusion)
    except BaseException:
        if created:
            shutil.rmtree(root.path, ignore_errors=True)
        raise
    return result


def bundled_taxonomy() -> Taxonomy:
    """The bundled taxonomy through the fast reader (as CatalogRoot.taxonomy: ruamel takes about 1 s);
    ruamel reads it again on any doubt, to report the problem with its line."""
    path = bundled(TAXONOMY)
    try:
        return Taxonomy.model_validate(parse(read_text(path, path.parent)))
    except (CatalogError, ValueError):
        return load_taxonomy(path)


def _plan(root: CatalogRoot, result: ImportResult, *, overwrite: bool) -> MergeReport:
    existing = list(root.iter_entries()) if root.entries_dir.is_dir() else []
    if overwrite:
        plan = MergeReport(entries=list(result.entries))
        ids = {e.id for e in existing}
        plan.added = [e.id for e in result.entries if e.id not in ids]
        plan.changed = [FieldNote(e.id, "*", "overwritten") for e in result.entries if e.id in ids]
    else:
        plan = merge_import(existing, result.entries)
    kept = {x.id for x in root.exclusions() if x.provenance is not None and x.provenance.source != "imported"}
    for exclusion in result.exclusions:
        if exclusion.id in kept and not overwrite:
            plan.kept.append(FieldNote(exclusion.id, "exclusion", "approved by a reviewer; kept"))
        else:
            plan.exclusions.append(exclusion)
    return plan
