"""Entries → the catalog's markdown in the real list's style; written to a file, between markers, or stdout.

The output is deterministic (rendering twice gives identical bytes, whatever order the entries come in):

- the count badges first, one per catalog section that declares a badge, in taxonomy order, three to a line;
  a section's count is the number of entries that list it (primary or cross-listed), computed from the data;
- then every section in taxonomy order, at its heading level (a subsection such as Iterative
  Self-Bootstrapping renders as `###` right after its parent); a `---` rule precedes each top-level section;
- in a section: its description; the main table (the taxonomy's columns and header texts); the collapsible
  technical-details table (the section's detail columns; only entries with a value there); the collapsible
  strictness notes (see below); the lines of exclusions filed under this catalog section;
- rows of every table and list are in the imported list's own order (`Entry.order`, with `row_order: list`);
  an entry without a position goes in by date, before the first row dated later; with `row_order: date`, or
  among entries without positions, by date (oldest first, undated last), then name (case-folded), then id;
- the axes (`axes_display`): a column of the main table or of the technical details, `Label: values; ...`;
- a cross-listed entry is a row in every section it lists; a detail row and a note name the entry (its
  title instead, when two entries of the section share a name, so the importer joins them unambiguously);
- strictness notes: an entry with verdict notes (one bullet per paragraph), or else with a `partial`/`no`
  verdict (a factual line such as `C1 partial · C2 yes`), is noted once: in the first section it lists that
  shows strictness notes, else in its primary section;
- exclusions (when `render.exclusions` is on): rows of an exclusions-role section's table (its sub-buckets as
  sub-headings in alphabetical order) when their bucket is that section, or they read as the importer makes
  them; lines under a catalog section when their bucket is that section; otherwise lines of a closing
  "Excluded on verification" block, grouped by bucket in alphabetical order.

Importing a rendered catalog gives the same entries (render_md.py writes the cells in the importer's style),
provided each entry's sections are listed in taxonomy order, as they are after an import.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.catalog.diskcache import bulk
from ingest.catalog.records import Record, catalog_files, read_entry, read_records, unread_files
from ingest.catalog.store import CatalogRoot
from ingest.config import RenderConfig
from ingest.errors import UsageError
from ingest.markdown.escape import find_markers, inline, marker_offsets
from ingest.markdown.layout import (
    BADGES_PER_LINE,
    axes_text,
    cell,
    count_badge,
    details_block,
    entry_cells,
    exclusion_cells,
    exclusion_line,
    row_labels,
    table,
    verdict_notes,
)
from ingest.markdown.rendered import (
    block_digest,
    last_written,
    remember_render,
    remember_written,
    render_inputs,
)
from ingest.markdown.rendered import render_output_path as render_output_path  # its callers import it here
from ingest.models import Entry, Exclusion
from ingest.taxonomy import Section, Taxonomy
from ingest.yamlio import atomic_write_text

DETAILS_SUMMARY = "📋 Click to view technical details"
NOTES_SUMMARY = "📝 <b>Strictness notes</b>"
EXCLUDED_SUMMARY = "🚫 Excluded on verification"
NO_ENTRIES = "_No entries yet._"


def entry_order(entry: Entry) -> tuple[bool, str, str, str]:
    """Date (oldest first, undated last), then name, then id: the documented row order."""
    return (entry.date is None, entry.date or "", entry.name.casefold(), entry.id)


def exclusion_order(exclusion: Exclusion) -> tuple[bool, str, str, str]:
    name = exclusion.name or exclusion.title
    return (exclusion.date is None, exclusion.date or "", name.casefold(), exclusion.id)


def notes_section(taxonomy: Taxonomy, entry: Entry) -> str | None:
    """The one section whose strictness notes hold this entry's note: the first it lists that shows notes,
    else its primary section (a note is data; it is not dropped because a section shows none)."""
    known = [sid for sid in entry.sections if sid in taxonomy.section_ids]
    return next((sid for sid in known if taxonomy.section(sid).strictness_notes), known[0] if known else None)


@dataclass
class _Plan:
    """Which entries and exclusions go where; built once, so every section is a lookup."""

    by_section: dict[str, list[Entry]] = field(default_factory=dict)
    notes_in: dict[str, list[Entry]] = field(default_factory=dict)
    excluded_rows: dict[str, dict[str, list[Exclusion]]] = field(
        default_factory=dict
    )  # section → bucket → rows
    excluded_lines: dict[str, list[Exclusion]] = field(default_factory=dict)  # catalog section → lines
    excluded_rest: dict[str, list[Exclusion]] = field(default_factory=dict)  # bucket ('' for none) → lines


def _place_exclusion(taxonomy: Taxonomy, plan: _Plan, exclusion: Exclusion) -> None:
    """A table row of an exclusions-role section when the exclusion reads like one (as the importer makes
    them: bucket = that section's id; no bucket and the section's name as reason; or a sub-bucket named in
    the reason); else a line under its catalog section; else a line of the closing block."""
    holders = [s for s in taxonomy.sections if s.role == "exclusions"]
    bucket = exclusion.bucket
    if bucket in taxonomy.section_ids:
        section = taxonomy.section(bucket)
        if section.role == "exclusions":
            plan.excluded_rows.setdefault(section.id, {}).setdefault("", []).append(exclusion)
        else:
            plan.excluded_lines.setdefault(section.id, []).append(exclusion)
        return
    if bucket is None:
        home = next((s for s in holders if exclusion.reason in (s.anchor_text, s.heading)), None)
        if home is not None:
            plan.excluded_rows.setdefault(home.id, {}).setdefault("", []).append(exclusion)
            return
    elif holders and exclusion.reason == bucket:
        plan.excluded_rows.setdefault(holders[0].id, {}).setdefault(bucket, []).append(exclusion)
        return
    plan.excluded_rest.setdefault(bucket or "", []).append(exclusion)


def list_order(section_id: str, entries: list[Entry]) -> list[Entry]:
    """The imported list's own row order; an entry without a stored position goes in by date, before the
    first positioned row dated later (at the end when none is), so a chronological list stays so."""
    placed = sorted((e for e in entries if section_id in e.order), key=lambda e: (e.order[section_id], e.id))
    # The first positioned row dated later than k is the first whose running maximum of dates passes k: the
    # running maximum never falls, so a bisection finds it (a scan per entry was quadratic at 20,000 rows).
    running: list[tuple[bool, str, str, str]] = []
    for entry in placed:
        key = entry_order(entry)
        running.append(key if not running or key > running[-1] else running[-1])
    before: dict[int, list[Entry]] = {}
    for entry in (e for e in entries if section_id not in e.order):  # entries come sorted by date
        before.setdefault(bisect_right(running, entry_order(entry)), []).append(entry)
    out: list[Entry] = []
    for i, entry in enumerate(placed):
        out += before.get(i, [])
        out.append(entry)
    return out + before.get(len(placed), [])


def _plan(taxonomy: Taxonomy, entries: Iterable[Entry], exclusions: Iterable[Exclusion], show: bool) -> _Plan:
    plan = _Plan(by_section={s.id: [] for s in taxonomy.sections})
    for entry in sorted(entries, key=entry_order):
        for section_id in entry.sections:
            if section_id in plan.by_section:  # an unknown section is check's to report, not render's
                plan.by_section[section_id].append(entry)
        home = notes_section(taxonomy, entry)
        if home is not None:
            plan.notes_in.setdefault(home, []).append(entry)
    if taxonomy.row_order == "list":  # notes follow their section's rows
        plan.by_section = {sid: list_order(sid, rows) for sid, rows in plan.by_section.items()}
        for sid, noted in plan.notes_in.items():
            place = {e.id: i for i, e in enumerate(plan.by_section.get(sid, []))}
            noted.sort(key=lambda e: place.get(e.id, len(place)))
    if show:
        for exclusion in sorted(exclusions, key=exclusion_order):
            _place_exclusion(taxonomy, plan, exclusion)
    return plan


def render_badges(taxonomy: Taxonomy, counts: dict[str, int]) -> list[str]:
    badges = [count_badge(s, counts.get(s.id, 0)) for s in taxonomy.catalog_sections if s.badge is not None]
    lines = ['<div align="center">', ""]
    for i, badge in enumerate(badges):
        if i and i % BADGES_PER_LINE == 0:
            lines.append("<br>")
        lines.append(badge)
    return [*lines, "", "</div>", ""]


def render_catalog_section(taxonomy: Taxonomy, section: Section, plan: _Plan) -> list[str]:
    entries = plan.by_section[section.id]
    labels = row_labels(entries)
    display = taxonomy.axes_display
    headers = [taxonomy.header(section, role) for role in section.main_columns]
    if display.show == "column":
        headers.append(display.header)
    body = (
        [*entry_cells(section, e), *([cell(axes_text(taxonomy, e))] if display.show == "column" else [])]
        for e in entries
    )
    lines = [*table(headers, body), ""] if entries else [NO_ENTRIES, ""]
    columns = section.detail_names()
    in_details = display.show == "details"
    rows = []
    for entry in entries:
        values = entry.details.get(section.id, {})
        axes = axes_text(taxonomy, entry) if in_details else ""
        if any(values.get(c) for c in columns) or axes:
            label = values.get(section.detail_key) or labels[entry.id]  # imported rows keep the list's label
            rows.append(
                [cell(label), *(cell(values.get(c)) for c in columns), *([cell(axes)] if in_details else [])]
            )
    if rows:
        extra = [display.header] if in_details else []
        lines += details_block(DETAILS_SUMMARY, table([section.detail_key, *columns, *extra], rows))
    bullets = [
        f"- **{cell(labels.get(e.id, e.name))}** — {text}"
        for e in plan.notes_in.get(section.id, [])
        for text in verdict_notes(taxonomy, e)
    ]
    if bullets:
        lines += details_block(NOTES_SUMMARY, bullets)
    excluded = plan.excluded_lines.get(section.id, [])
    if excluded:
        lines += details_block(EXCLUDED_SUMMARY, [exclusion_line(x) for x in excluded])
    return lines


def render_exclusion_section(taxonomy: Taxonomy, section: Section, plan: _Plan) -> list[str]:
    """An exclusions-role section: a table of its own rows, then one sub-heading and table per sub-bucket."""
    buckets = plan.excluded_rows.get(section.id, {})
    headers = [taxonomy.header(section, role) for role in section.main_columns]
    lines: list[str] = []
    for bucket in sorted(buckets):
        if bucket:
            lines += [f"{'#' * min(section.level + 1, 6)} {inline(bucket)}", ""]
        lines += [*table(headers, (exclusion_cells(section, x) for x in buckets[bucket])), ""]
    return lines or [NO_ENTRIES, ""]


def render_catalog(
    taxonomy: Taxonomy, entries: Iterable[Entry], exclusions: Iterable[Exclusion], *, config: RenderConfig
) -> str:
    """The catalog block (badges, then every section) as markdown; the module docstring gives the order."""
    plan = _plan(taxonomy, entries, exclusions, config.exclusions)
    lines = render_badges(taxonomy, {sid: len(rows) for sid, rows in plan.by_section.items()})
    for section in taxonomy.sections:
        if section.level == 2:
            lines += ["---", ""]
        lines += [f"{'#' * section.level} {section.heading}", ""]
        if section.description:
            lines += [" ".join(section.description.split()), ""]
        if section.role == "exclusions":
            lines += render_exclusion_section(taxonomy, section, plan)
        else:
            lines += render_catalog_section(taxonomy, section, plan)
    if plan.excluded_rest:
        body: list[str] = []
        for bucket in sorted(plan.excluded_rest):
            body += [f"**{inline(bucket)}**", ""] if bucket else []
            body += [*(exclusion_line(x) for x in plan.excluded_rest[bucket]), ""]
        lines += ["---", "", *details_block(EXCLUDED_SUMMARY, body[:-1])]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


# --- writing --------------------------------------------------------------------------------------


@dataclass
class RenderResult:
    """What `render_root` did: where it wrote (None for stdout), how, and the counts per section."""

    path: Path | None
    mode: str  # "markers" (between the markers of an existing file), "document" (a new file), "stdout"
    text: str  # the whole output: the file's new content, or the document printed
    changed: bool
    entries: int
    counts: dict[str, int]
    # One line for each entry (or cross-listing) the taxonomy has no section for: render leaves it out of the
    # list, and must say so, or a renamed section silently drops its rows from the published list.
    left_out: list[str] = field(default_factory=list)
    # Set when the block render replaced had been edited by hand since render last wrote it: where, and
    # where the old file is kept.
    replaced_edit: str | None = None


def left_out(root: CatalogRoot, taxonomy: Taxonomy, records: list[Record], entries: list[Entry]) -> list[str]:
    """`file:line: ...` for every entry that lists a section the taxonomy does not render."""
    catalog = [s.id for s in taxonomy.catalog_sections]
    out: list[str] = []
    for record, entry in zip(records, entries, strict=True):
        unknown = [(i, sid) for i, sid in enumerate(entry.sections) if sid not in catalog]
        if not unknown:
            continue
        rendered = [sid for sid in entry.sections if sid in catalog]
        path = record.path
        where = path.relative_to(root.path).as_posix() if path.is_relative_to(root.path) else str(path)
        line = record.line(["sections", unknown[0][0]]) or 1
        names = ", ".join(repr(sid) for _, sid in unknown)
        fate = (
            f"it is listed only under {', '.join(rendered)}"
            if rendered
            else f"{entry.name} is left out of the list"
        )
        out.append(
            f"{where}:{line}: section {names} is not a catalog section of taxonomy.yaml, so {fate}; "
            f"move the entry to one of {catalog} or put the section back in taxonomy.yaml"
        )
    return out


def full_document(taxonomy: Taxonomy, block: str, config: RenderConfig) -> str:
    head = [f"# {taxonomy.catalog}", ""]
    if taxonomy.description:
        head += [" ".join(taxonomy.description.split()), ""]
    return "\n".join(head) + f"\n{config.begin_marker}\n{block}{config.end_marker}\n"


def marker_span(text: str, config: RenderConfig) -> tuple[int, int] | None:
    """(start, end) of what lies between the begin and end marker lines, or None unless the file has exactly
    one of each, in that order (markers are whole lines: a marker inside a cell is text)."""
    return marker_offsets(text, config.begin_marker, config.end_marker)


def splice(text: str, span: tuple[int, int], block: str) -> str:
    """Replace what lies between the markers, keeping every other byte of the file."""
    start, end = span
    return text[:start] + "\n" + block + text[end:]


def render_text(
    taxonomy: Taxonomy, entries: Iterable[Entry], exclusions: Iterable[Exclusion], config: RenderConfig
) -> tuple[str, dict[str, int]]:
    entries = list(entries)
    block = render_catalog(taxonomy, entries, exclusions, config=config)
    counts: dict[str, int] = {s.id: 0 for s in taxonomy.catalog_sections}
    for entry in entries:
        for sid in entry.sections:
            if sid in counts:
                counts[sid] += 1
    return block, counts


def write_rendered(path: Path, block: str, taxonomy: Taxonomy, config: RenderConfig) -> tuple[str, str, bool]:
    """Put the block into `path` (markers kept, or a new document); returns (text, mode, changed)."""
    if path.exists():
        old = path.read_bytes().decode("utf-8")  # bytes: keep \r\n and every other byte as it is
        span = marker_span(old, config)
        if span is None:
            line, problem = find_markers(old, config.begin_marker, config.end_marker).problem(
                config.begin_marker, config.end_marker
            ) or (None, "no usable markers")
            where = f"{path.name}:{line}" if line else path.name
            raise UsageError(
                f"{where}: {problem}; the catalog markers must be one begin line and one end line",
                hint=f"keep the two marker lines once each in {path.name} where the catalog belongs, "
                "or pass --output",
            )
        new = splice(old, span, block)
        mode = "markers"
    else:
        old, new, mode = "", full_document(taxonomy, block, config), "document"
    changed = new != old
    if changed:
        atomic_write_text(path, new)
    return new, mode, changed


def render_root(root: CatalogRoot, output: str | None = None) -> RenderResult:
    """Render the root's entries: to `output` (a path, or '-' for stdout) or to the configured file."""
    config = root.config.render
    taxonomy = root.taxonomy
    entry_records = read_records(root.entries_dir, root.cache_dir)
    exclusion_records = read_records(root.exclusions_dir, root.cache_dir)
    with bulk():
        entries = [read_entry(record) for record in entry_records]
        exclusions = [record.validate(Exclusion) for record in exclusion_records]
    files = catalog_files(entry_records, exclusion_records)
    dropped = [
        f"{_shown(root, path)}: {what}; its entry is not in the list"
        for path, what in unread_files(root.entries_dir)
    ] + left_out(root, taxonomy, entry_records, entries)
    block, counts = render_text(taxonomy, entries, exclusions, config)
    remember_render(root.cache_dir, render_inputs(taxonomy, config, files), block)  # check need not render
    if output == "-":
        text = full_document(taxonomy, block, config)
        return RenderResult(None, "stdout", text, True, len(entries), counts, dropped)
    path = Path(output).resolve() if output else render_output_path(root.path, config)
    edit = hand_edit(root, path, block, config)
    text, mode, changed = write_rendered(path, block, taxonomy, config)
    remember_written(root.cache_dir, path, block)
    return RenderResult(path, mode, text, changed, len(entries), counts, dropped, edit)


def _shown(root: CatalogRoot, path: Path) -> str:
    return path.relative_to(root.path).as_posix() if path.is_relative_to(root.path) else str(path)


def hand_edit(root: CatalogRoot, path: Path, block: str, config: RenderConfig) -> str | None:
    """When the block between `path`'s markers was edited since render last wrote it, and this render would
    replace the edit: keep a copy of the file in the cache and say where the edit was and where the copy is.
    Without a memory of the last write (a fresh clone) an edit cannot be told from older entries: None."""
    try:
        old = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    span = marker_span(old, config)
    if span is None:
        return None
    current = old[span[0] : span[1]].replace("\r\n", "\n")
    digest = block_digest(current)
    written = last_written(root.cache_dir, path)
    if written is None or digest in (written, block_digest(block)):
        return None
    kept = root.cache_dir / "replaced" / path.name
    atomic_write_text(kept, old)
    before = current.strip("\n").split("\n")
    after = block.strip("\n").split("\n")
    first = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    line = old[: span[0]].count("\n") + 2 + first  # the begin marker's line, then the block's lines
    return (
        f"{_shown(root, path)}:{line}: the catalog between the markers was edited by hand since ingest last "
        f"rendered it, and render replaced the edit (the old file is kept at {_shown(root, kept)}); make "
        "the change in entries/ (or outside the markers, which render keeps)"
    )
