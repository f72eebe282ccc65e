"""The walk over a list's blocks: headings mapped to taxonomy sections, main and detail tables, note bullets.

One pass over mdtables' blocks, per section: the main-table rows as facts (mdfacts), the technical-details
rows with their taxonomy column names, and the '**Name** — text' notes; and every problem with its line.
The importer joins these into entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingest.markdown.facts import RowFacts, links_of, parse_date, resource_of, stars_facts, title_of
from ingest.markdown.strictness import norm
from ingest.markdown.tables import Bullet, Heading, Row, Table
from ingest.taxonomy import MAIN_ROLES, Section, Taxonomy


@dataclass
class ImportProblem:
    line: int
    message: str

    def where(self, source: str) -> str:
        return f"{source}:{self.line}: {self.message}"


# --- headings -----------------------------------------------------------------------------------------------


def _contains(haystack: str, phrase: str) -> bool:
    return bool(phrase) and f" {phrase} " in f" {haystack} "


def match_section(taxonomy: Taxonomy, text: str, level: int, parent: str | None) -> Section | None:
    """The section a heading names: exact heading text first, then the most `match` phrases it contains."""
    heading = norm(text)
    best: tuple[int, Section] | None = None
    for s in taxonomy.sections:
        if not ((s.parent is None and s.level == level) or (s.parent is not None and s.parent == parent)):
            continue
        if heading in (norm(s.heading), norm(s.anchor_text)):
            return s
        hits = sum(len(p) for p in (norm(m) for m in [*s.match, s.anchor_text]) if _contains(heading, p))
        if hits and (best is None or hits > best[0]):
            best = (hits, s)
    return best[1] if best else None


def is_ignored(taxonomy: Taxonomy, text: str) -> bool:
    heading = norm(text)
    return any(_contains(heading, norm(p)) for p in taxonomy.ignore_headings)


# --- tables -------------------------------------------------------------------------------------------------


def main_roles(taxonomy: Taxonomy, section: Section, headers: list[str]) -> list[str | None]:
    """The main-table role of each header (None when unknown); the section's own header texts win."""
    names: list[tuple[str, str]] = [(norm(h), role) for role, h in section.headers.items()]
    names += [(norm(taxonomy.column(r).header), r) for r in MAIN_ROLES]
    names += [(norm(a), r) for r in MAIN_ROLES for a in taxonomy.column(r).aliases]
    roles: list[str | None] = []
    for h in headers:
        role = next((r for n, r in names if n == norm(h) and r not in roles), None)
        roles.append(role)
    return roles


def detail_columns(section: Section, headers: list[str], axes_header: str | None = None) -> list[str | None]:
    """Taxonomy detail-column name per header; the first column is the row's label (None). The axes column
    (when the taxonomy renders one there) keeps its header as its name."""
    out: list[str | None] = [None]
    for h in headers[1:]:
        col = next((c for c in section.details if norm(h) in {norm(c.name), *map(norm, c.aliases)}), None)
        out.append(col.name if col else axes_header if axes_header and norm(h) == norm(axes_header) else None)
    return out


class Reader:
    """Walks the blocks once, collecting rows, detail rows and notes per section, and the problems."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.tax = taxonomy
        self.problems: list[ImportProblem] = []
        self.rows: list[RowFacts] = []
        self.rows_by_section: dict[str, int] = {}
        self.detail_rows: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
        self.notes: dict[str, list[Bullet]] = {}
        self.headings: list[tuple[int, str]] = []  # the heading chain above the current block

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ImportProblem(line, message))

    def read(self, blocks: Iterable[Heading | Table | Bullet]) -> None:
        stack: list[tuple[int, str | None, int, str]] = []  # (level, section id, line, text)
        state, section, bucket = "none", None, None
        heading: Heading | None = None
        for block in blocks:
            if isinstance(block, Heading):
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                parent = next((sid for _, sid, _, _ in reversed(stack) if sid), None)
                found = match_section(self.tax, block.text, block.level, parent)
                heading = block
                if found:
                    state, section, bucket = "section", found.id, None
                elif is_ignored(self.tax, block.text):
                    state = "ignored"
                elif parent:
                    state, section, bucket = "section", parent, block.text
                else:
                    state = "unmapped"
                stack.append((block.level, found.id if found else None, block.line, block.text))
                # From the section's own heading down: its sub-buckets too, not the headings above it.
                top = max((i for i, (_, sid, _, _) in enumerate(stack) if sid == section), default=0)
                self.headings = [(ln, t) for _, _, ln, t in stack[top:]]
            elif isinstance(block, Table):
                if state == "section" and section:
                    sec = self.tax.section(section)
                    self.detail_table(sec, block) if block.in_details else self.main_table(sec, bucket, block)
                elif state in ("unmapped", "none"):
                    where = f"heading {heading.text!r}" if heading else "the text before any heading"
                    self.problem(
                        heading.line if heading else block.line,
                        f"{where} matches no section of the taxonomy: its table (line {block.line}, "
                        f"{len(block.rows)} rows) was skipped; add the heading to a section's `match` "
                        f"or to `ignore_headings`",
                    )
            elif isinstance(block, Bullet) and state == "section" and section:
                self.notes.setdefault(section, []).append(block)

    def computed(self, header: str) -> bool:
        """A column the renderer computes (the axes): read as nothing, without a warning."""
        display = self.tax.axes_display
        return display.show != "none" and norm(header) == norm(display.header)

    def main_table(self, sec: Section, bucket: str | None, table: Table) -> None:
        roles = main_roles(self.tax, sec, table.headers)
        for h, r in zip(table.headers, roles, strict=True):
            if r is None and not self.computed(h):
                self.problem(
                    table.line, f"column {h!r} is no main-table column of section {sec.id}; it was ignored"
                )
        if "resource" not in roles and "title" not in roles:
            roles[0] = "resource"  # a list that renamed its first column still names the resource there
        self.rows_by_section.setdefault(sec.id, 0)
        axes_at = next((i for i, h in enumerate(table.headers) if self.computed(h)), None)
        for row in table.rows:
            # GFM: a short row is padded with empty cells, the cells past the header's width are dropped.
            if row.source_cells < len(table.headers):
                self.problem(
                    row.line,
                    f"row has {row.source_cells} cells but the table's header has {len(table.headers)}: "
                    f"read with the missing cells empty, as GitHub shows it",
                )
            elif row.source_cells > len(table.headers):
                self.problem(
                    row.line,
                    f"row has {row.source_cells} cells but the table's header has {len(table.headers)}: "
                    f"the extra cells were ignored, as GitHub does (escape a '|' inside a cell as '\\|')",
                )
            facts = self.row_facts(sec, bucket, row, roles)
            if facts and axes_at is not None and axes_at < len(row.cells):
                facts.stated_axes = "" if row.cells[axes_at].empty else row.cells[axes_at].text
            if facts:
                facts.headings = list(self.headings)
                facts.position = self.rows_by_section[sec.id]
                self.rows.append(facts)
                self.rows_by_section[sec.id] += 1

    def row_facts(
        self, sec: Section, bucket: str | None, row: Row, roles: list[str | None]
    ) -> RowFacts | None:
        cell = {r: c for r, c in zip(roles, row.cells, strict=False) if r}
        res = resource_of(cell["resource"]) if "resource" in cell else None
        title = title_of(cell["title"]) if "title" in cell else None
        name = res.name if res else ""
        if not name or (name.startswith("(") and name.endswith(")")):
            name = (title.title or "").split(" — ")[0] if title else ""
        if not name:
            self.problem(row.line, "row names no resource (empty first cell): the row was skipped")
            return None
        facts = RowFacts(
            line=row.line, section=sec.id, bucket=bucket, name=name, url=res.url if res else None
        )
        if title:
            facts.title, facts.notes = title.title, title.notes
        elif res and res.remainder:  # no title column: the gloss next to the name is the title
            facts.title = res.remainder
        if "date" in cell:
            facts.date, facts.updated, ok = parse_date(cell["date"])
            if not ok:
                self.problem(
                    row.line, f"date {cell['date'].text!r} is not YYYY.MM or 'YYYY.MM (updated YYYY)'"
                )
        if "org" in cell and not cell["org"].empty:
            facts.org = cell["org"].text
        if "stars" in cell:
            facts.stars_repo, facts.paper_only = stars_facts(cell["stars"])
        if "links" in cell:
            facts.links = links_of(cell["links"])
        if "repo" in cell:  # a second link column: the repository next to the paper
            facts.links = [*links_of(cell["repo"]), *facts.links]
        return facts

    def detail_table(self, sec: Section, table: Table) -> None:
        display = self.tax.axes_display
        cols = detail_columns(sec, table.headers, display.header if display.show == "details" else None)
        unknown = [
            h for h, c in zip(table.headers[1:], cols[1:], strict=True) if c is None and not self.computed(h)
        ]
        if unknown:
            self.problem(
                table.line,
                f"technical-details columns {unknown} are not declared for section {sec.id} "
                f"in the taxonomy; they were ignored",
            )
        for row in table.rows:
            if row.source_cells != len(table.headers):
                self.problem(
                    row.line,
                    f"technical-details row has {row.source_cells} cells but the header has "
                    f"{len(table.headers)}: only the first {len(table.headers)} were read",
                )
            # The axes cell counts even when empty: the list then says no axis is known (implications.py).
            values = {
                c: "" if cell.empty else cell.text
                for c, cell in zip(cols, row.cells, strict=False)
                if c and (not cell.empty or self.computed(c))
            }
            label = row.cells[0].text if row.cells else ""
            if label:
                self.detail_rows.setdefault(sec.id, []).append((row.line, label, values))
