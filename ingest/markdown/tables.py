"""A list's markdown as a flat run of blocks: headings, tables and '**Name** — text' bullets.

markdown-it-py (CommonMark plus its GFM table rule) does the parsing; this module only walks its tokens. Each
cell keeps what the importer reads as facts: the plain text, the links with their labels, the image URLs
(markdown images and inline `<img src>`), and the bold text a cell starts with. Nothing here knows a section
or column name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

IMG_SRC_RE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
NOTE_DASHES = ("—", "–", "--", "-", ":")  # noqa: RUF001 (the en dash is meant)


@dataclass
class Cell:
    """One table cell, reduced to facts."""

    text: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, plain label) in order
    images: list[str] = field(default_factory=list)  # image URLs, percent-decoded
    lead_strong: str | None = None  # the bold text the cell starts with, if any
    after_strong: str = ""  # the plain text after that bold span
    outside_links: str = ""  # the plain text that is not inside a link

    @property
    def empty(self) -> bool:
        return self.text.strip() in ("", "—", "–", "-")  # noqa: RUF001 (the en dash is meant)


@dataclass
class Row:
    line: int  # 1-based
    cells: list[Cell]
    source_cells: int  # cells counted in the source line (markdown-it pads or drops to the header's width)


@dataclass
class Table:
    line: int
    headers: list[str]
    rows: list[Row]
    in_details: bool  # inside a <details> block: a technical-details table


@dataclass
class Heading:
    line: int
    level: int
    text: str


@dataclass
class Bullet:
    """A list item that starts with a bold name and a dash: a strictness note (or any such note)."""

    line: int
    names: str
    text: str


Block = Heading | Table | Bullet


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def split_source_row(line: str) -> list[str]:
    """Split a table row's source line on unescaped pipes, as the GFM table rule does."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in body:
        if ch == "|" and not escaped:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        escaped = ch == "\\" and not escaped
    cells.append("".join(cur))
    return cells


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_cell(children: list[Token]) -> Cell:
    """Plain text, links, images and the leading bold span of one inline token's children."""
    text: list[str] = []
    outside: list[str] = []
    links: list[tuple[str, str]] = []
    images: list[str] = []
    link_stack: list[tuple[str, int]] = []
    strong_depth = 0
    lead_start: int | None = None
    lead_text: str | None = None
    after_from: int | None = None
    seen_content = False

    def add(piece: str) -> None:
        text.append(piece)
        if not link_stack:
            outside.append(piece)

    for tok in children:
        kind = tok.type
        if kind == "strong_open":
            if not seen_content and strong_depth == 0 and lead_text is None:
                lead_start = len(text)
            strong_depth += 1
        elif kind == "strong_close":
            strong_depth -= 1
            if strong_depth == 0 and lead_start is not None and lead_text is None:
                lead_text = _clean("".join(text[lead_start:]))
                after_from = len(text)
        elif kind in ("text", "code_inline"):
            if tok.content.strip():
                seen_content = True
            add(tok.content)
        elif kind in ("softbreak", "hardbreak"):
            add(" ")
        elif kind == "link_open":
            link_stack.append((str(tok.attrs.get("href", "")), len(text)))
        elif kind == "link_close" and link_stack:
            href, start = link_stack.pop()
            links.append((unquote(href), _clean("".join(text[start:]))))
            seen_content = True
        elif kind == "image":
            images.append(unquote(str(tok.attrs.get("src", ""))))
            seen_content = True
        elif kind == "html_inline":
            images.extend(unquote(src) for src in IMG_SRC_RE.findall(tok.content))
            if re.match(r"<br\s*/?>", tok.content, re.IGNORECASE):
                add(" ")
            if IMG_SRC_RE.search(tok.content):
                seen_content = True
    cell = Cell(
        text=_clean("".join(text)), links=links, images=images, outside_links=_clean("".join(outside))
    )
    if lead_text:
        cell.lead_strong = lead_text
        cell.after_strong = _clean("".join(text[after_from:])) if after_from is not None else ""
    return cell


def _note_bullet(inline: Token) -> tuple[str, str] | None:
    """('Name', 'text') when an inline token reads '**Name** — text'."""
    cell = read_cell(inline.children or [])
    if not cell.lead_strong or not cell.text.startswith(cell.lead_strong):
        return None
    rest = cell.after_strong
    for dash in NOTE_DASHES:
        if rest.startswith(dash):
            return cell.lead_strong, rest[len(dash) :].strip()
    return None


def _table(tokens: list[Token], start: int, lines: list[str], in_details: bool) -> tuple[Table, int]:
    """Read the table that opens at tokens[start]; return it and the index after table_close."""
    table = Table(line=(tokens[start].map or [0])[0] + 1, headers=[], rows=[], in_details=in_details)
    i = start + 1
    section = ""
    row_cells: list[Cell] = []
    row_line = 0
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type in ("thead_open", "tbody_open"):
            section = tok.type[:5]
        elif tok.type == "tr_open":
            row_cells = []
            row_line = (tok.map or [0])[0]
        elif tok.type == "inline":
            row_cells.append(read_cell(tok.children or []))
        elif tok.type == "tr_close":
            if section == "thead":
                table.headers = [c.text for c in row_cells]
            else:
                source = len(split_source_row(lines[row_line])) if row_line < len(lines) else len(row_cells)
                table.rows.append(Row(line=row_line + 1, cells=row_cells, source_cells=source))
        i += 1
    return table, i + 1


def parse_blocks(text: str) -> list[Block]:
    """The headings, tables and note bullets of a markdown text, in order."""
    tokens = _parser().parse(text)
    lines = text.splitlines()
    blocks: list[Block] = []
    details_depth = 0
    pending_item = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            blocks.append(
                Heading(
                    line=(tok.map or [0])[0] + 1,
                    level=int(tok.tag[1:]),
                    text=read_cell(inline.children or []).text,
                )
            )
            i += 3
            continue
        if tok.type in ("html_block", "html_inline"):
            opened = len(re.findall(r"<details\b", tok.content, re.IGNORECASE))
            closed = len(re.findall(r"</details\s*>", tok.content, re.IGNORECASE))
            details_depth = max(0, details_depth + opened - closed)
        elif tok.type == "table_open":
            table, i = _table(tokens, i, lines, details_depth > 0)
            blocks.append(table)
            continue
        elif tok.type == "list_item_open":
            pending_item = True
        elif tok.type == "inline" and pending_item:
            pending_item = False
            note = _note_bullet(tok)
            if note:
                blocks.append(Bullet(line=(tok.map or [0])[0] + 1, names=note[0], text=note[1]))
        elif tok.type == "inline" and tok.children:
            # A paragraph inside a <details> block can hold the closing tag inline (`... </details>`).
            for child in tok.children:
                if child.type == "html_inline":
                    if re.match(r"<details\b", child.content, re.IGNORECASE):
                        details_depth += 1
                    elif re.match(r"</details\s*>", child.content, re.IGNORECASE):
                        details_depth = max(0, details_depth - 1)
        i += 1
    return blocks
