"""The markdown pieces of a rendered catalog: cells, links, badges, tables and collapsible blocks.

Each cell is written in the one style the importer (mdtables.py, mdfacts.py) reads back to the same value:
`[name](url)`, the shields.io GitHub-stars `<img>` or the `📄-paper` badge, `2023.11 (updated 2025)`, links as
`[label](url)` joined by ` · `, a title in bold when it holds the ` — ` that separates a title from its notes,
and `—` for an empty cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from ingest.markdown.escape import inline, safe_url
from ingest.models import UNKNOWN, Entry, Exclusion, Link, LinkKind
from ingest.taxonomy import Axis, Section, Taxonomy

EMPTY = "—"
LINK_SEPARATOR = " · "
TITLE_SEPARATOR = " — "
STAR_BADGE = (
    '<img src="https://img.shields.io/github/stars/{repo}?style=for-the-badge&logo=github&logoColor=white'
    '&labelColor=181717&color=ffd700" alt="Stars">'
)
PAPER_BADGE_IMAGE = "![Paper](https://img.shields.io/badge/📄-paper-845C40?style=for-the-badge)"
COUNT_BADGE = "https://img.shields.io/badge/{label}-{count}-{color}?style=for-the-badge"
BADGES_PER_LINE = 3
ALIGN, ALIGN_LAST = ":----:", ":----"
ARXIV_ABS = "https://arxiv.org/abs/{id}"
NON_WORD_RE = re.compile(r"[\W_]+")
GLOSS_RE = re.compile(r"^[^(]+?\s*\([^()]+\)$")  # 'RPD (Refined Policy Distillation)': the importer splits it


def cell(text: str | None) -> str:
    """One table cell: never empty, on one line, escaped for tables and raw HTML (escape.inline)."""
    if text is None or not text.strip():
        return EMPTY
    return inline(text)


def md_link(label: str, url: str) -> str:
    """`[label](url)`; only the label when the URL is not http(s) (check reports such a link)."""
    if not safe_url(url):
        return label
    # The label comes escaped (cell: brackets too); a space/parenthesis in a URL would end the link early.
    url = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({url})"


def link_label(link: Link) -> str:
    """The label written for a link; an imported link keeps the list's own label."""
    if link.label:
        return link.label
    if link.kind == LinkKind.arxiv and link.arxiv_id:
        return f"arXiv {link.arxiv_id}"
    if link.kind == LinkKind.code:
        return link.url.rstrip("/").rsplit("/", 1)[-1] or "code"
    return link.kind.value


def links_cell(links: Sequence[Link]) -> str:
    if not links:
        return EMPTY
    safe = [link for link in links if safe_url(link.url)]  # a javascript: or file: link is never written
    if not safe:
        return EMPTY
    return LINK_SEPARATOR.join(md_link(cell(link_label(link)), link.url) for link in safe)


def shields_escape(text: str) -> str:
    """shields.io static-badge escaping: '-' → '--', '_' → '__', space → '_'; the rest URL-quoted."""
    text = text.replace("-", "--").replace("_", "__").replace(" ", "_")
    return quote(text, safe="&_-.~!*'(),;:@+")


def count_badge(section: Section, count: int) -> str:
    assert section.badge is not None
    url = COUNT_BADGE.format(
        label=shields_escape(section.badge.label), count=count, color=section.badge.color
    )
    return f"![{section.badge.alt or section.badge.label}]({url})"


def resource_cell(name: str, url: str | None, gloss: str | None = None) -> str:
    """`[name](url)`, with ` (gloss)` after it where the table has no title column. A name without a URL
    that reads `Name (gloss)` is written in bold, so the importer keeps it whole."""
    if url:
        head = md_link(cell(name), url)
    elif GLOSS_RE.match(name):
        return f"**{cell(name)}**"
    else:
        head = cell(name)
    return f"{head} ({cell(gloss)})" if gloss and gloss != name else head


def stars_cell(entry: Entry) -> str:
    if entry.stars_repo:
        return STAR_BADGE.format(repo=quote(entry.stars_repo, safe="/-_.~"))  # never breaks the attribute
    if entry.paper_only:
        url = next(
            (
                link.url
                for kind in (LinkKind.arxiv, LinkKind.paper)
                for link in entry.links
                if link.kind == kind
            ),
            entry.url,
        )
        return f"[{PAPER_BADGE_IMAGE}]({url})" if url and safe_url(url) else PAPER_BADGE_IMAGE
    return EMPTY


def date_cell(date: str | None, updated: int | None = None) -> str:
    if date is None:
        return EMPTY
    return f"{date} (updated {updated})" if updated else date


def title_cell(title: str | None, notes: str | None) -> str:
    """`Title — notes`; the title in bold when it holds the separator itself, so it reads back whole."""
    if not title:
        return cell(notes)
    if notes and notes.startswith("(") and notes.endswith(")"):  # '**Qwen3** (canonical OPD recipe)'
        return cell(f"**{title}** {notes}")
    head = f"**{title}**" if TITLE_SEPARATOR in title or title.startswith(("*", "_")) else title
    return cell(f"{head}{TITLE_SEPARATOR}{notes}" if notes else head)


def entry_cells(section: Section, entry: Entry) -> list[str]:
    gloss = None if "title" in section.main_columns else entry.title
    # With a repo column, the repositories go there and the other links to the links column.
    repo = "repo" in section.main_columns
    code = [link for link in entry.links if link.kind == LinkKind.code] if repo else []
    values = {
        "repo": links_cell(code),
        "resource": resource_cell(entry.name, entry.url, gloss),
        "stars": stars_cell(entry),
        "date": date_cell(entry.date, entry.updated),
        "org": cell(entry.org),
        "links": links_cell([link for link in entry.links if link not in code]),
        "title": title_cell(entry.title, entry.notes),
    }
    return [values[role] for role in section.main_columns]


def exclusion_links(exclusion: Exclusion) -> list[Link]:
    """The exclusion's links, plus its arXiv page when neither a link nor its URL names the id."""
    links = list(exclusion.links)
    named = {link.arxiv_id for link in links} | {
        exclusion.url and exclusion.url.rstrip("/").rsplit("/", 1)[-1]
    }
    if exclusion.arxiv_id and exclusion.arxiv_id not in named:
        url = ARXIV_ABS.format(id=exclusion.arxiv_id)
        links.append(
            Link(
                kind=LinkKind.arxiv, url=url, label=f"arXiv {exclusion.arxiv_id}", arxiv_id=exclusion.arxiv_id
            )
        )
    return links


def exclusion_cells(section: Section, exclusion: Exclusion) -> list[str]:
    gloss = None if "title" in section.main_columns else exclusion.title
    values = {
        "repo": EMPTY,
        "resource": resource_cell(exclusion.name or exclusion.title, exclusion.url, gloss),
        "stars": EMPTY,
        "date": date_cell(exclusion.date),
        "org": EMPTY,
        "links": links_cell(exclusion_links(exclusion)),
        "title": title_cell(exclusion.title, None),
    }
    return [values[role] for role in section.main_columns]


def exclusion_line(exclusion: Exclusion) -> str:
    """`- [name](url) (arXiv id) — reason`: an exclusion outside a table."""
    name = cell(exclusion.name or exclusion.title)
    url = exclusion.url or (ARXIV_ABS.format(id=exclusion.arxiv_id) if exclusion.arxiv_id else None)
    head = md_link(name, url) if url else name
    if exclusion.arxiv_id and not exclusion.url:
        head = f"{head} (arXiv {exclusion.arxiv_id})"
    return f"- {head}{TITLE_SEPARATOR}{inline(exclusion.reason)}"


AXES_SEPARATOR = "; "


def axes_text(taxonomy: Taxonomy, entry: Entry) -> str:
    """`Teacher source: external teacher; Supervision signal: logits`: the known axes by label, in taxonomy
    order ('' when every axis is unknown); the importer reads the cell back (implications.py)."""
    parts = []
    for axis in taxonomy.axes:
        labels = _value_labels(axis)
        values = [labels.get(v, v) for v in entry.axes.get(axis.id, []) if v != UNKNOWN]
        if values:
            parts.append(f"{axis.label}: {', '.join(values)}")
    return AXES_SEPARATOR.join(parts)


# Value labels by axis, built once per axis object (axes_text runs for every row of a 20,000-entry render).
_LABELS: dict[int, tuple[Axis, dict[str, str]]] = {}


def _value_labels(axis: Axis) -> dict[str, str]:
    held = _LABELS.get(id(axis))
    if held is None or held[0] is not axis:
        if len(_LABELS) > 1000:
            _LABELS.clear()
        held = _LABELS[id(axis)] = (axis, {v.id: v.label for v in axis.values})
    return held[1]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table in the list's layout: centred columns, the last one left-aligned."""
    align = [ALIGN] * (len(headers) - 1) + [ALIGN_LAST]
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def details_block(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def name_key(text: str) -> str:
    """Lower-case words only: two names that read the same have the same key."""
    return " ".join(NON_WORD_RE.sub(" ", text.casefold()).split())


def row_labels(entries: Sequence[Entry]) -> dict[str, str]:
    """What a detail row or a strictness note calls each entry of a section: its name, or its title when
    another entry of the section has the same name (the importer joins them by these labels)."""
    keys = {e.id: name_key(e.name) for e in entries}
    counts: dict[str, int] = {}
    for key in keys.values():
        counts[key] = counts.get(key, 0) + 1
    return {e.id: e.title if counts[keys[e.id]] > 1 and e.title else e.name for e in entries}


def verdict_notes(taxonomy: Taxonomy, entry: Entry) -> list[str]:
    """The strictness-note bullets of an entry: its verdict notes (one bullet per paragraph) when it has any,
    else a factual line such as `C1 partial · C2 yes` when a verdict is partial or no; else nothing."""
    verdicts = [(c, entry.verdicts[c.id]) for c in taxonomy.criteria if c.id in entry.verdicts]
    notes: list[str] = []
    for _, verdict in verdicts:
        for paragraph in verdict.note.split("\n\n") if verdict.note else ():
            text = inline(paragraph)
            if text and text not in notes:
                notes.append(text)
    if notes:
        return notes
    if any(v.value in ("partial", "no") for _, v in verdicts):
        return [LINK_SEPARATOR.join(f"{c.label} {v.value}" for c, v in verdicts)]
    return []
