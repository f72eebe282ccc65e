"""render: entries → the list's markdown, deterministic, into a file, between markers, or a new document."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import SEED_LIST, need_shared
from markdown_it import MarkdownIt

from ingest.catalog.records import read_record
from ingest.catalog.store import CatalogRoot, bundled, read_model
from ingest.config import RenderConfig
from ingest.errors import UsageError
from ingest.markdown.layout import shields_escape
from ingest.markdown.render import render_catalog, render_root
from ingest.models import Entry, Exclusion, Link, LinkKind, Verdict
from ingest.taxonomy import AxesDisplay, Taxonomy, load_taxonomy

# The record loader a root reads its taxonomy with (libyaml, ~20 ms): every xdist worker imports this module
# to collect it, and ruamel's load_taxonomy takes ~0.5 s of CPU for the same model.
TAXONOMY = Taxonomy.model_validate(read_record(bundled("taxonomy.yaml")).data)
CONFIG = RenderConfig()


def arxiv(aid: str) -> Link:
    return Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}", label=f"arXiv {aid}", arxiv_id=aid)


ENTRIES = [
    Entry(
        id="spin",
        name="SPIN",
        url="https://github.com/uclaml/SPIN",
        stars_repo="uclaml/SPIN",
        date="2024.01",
        org="UCLA",
        links=[arxiv("2401.01335")],
        sections=["iterative"],
        title="SPIN — Self-Play Fine-Tuning",
        verdicts={"c1": Verdict(value="yes"), "c2": Verdict(value="partial")},
    ),
    Entry(
        id="gkd",
        name="GKD",
        url="https://arxiv.org/abs/2306.13649",
        date="2023.06",
        org="Google DeepMind",
        paper_only=True,
        links=[
            arxiv("2306.13649"),
            Link(kind=LinkKind.code, label="TRL `GKDTrainer`", url="https://github.com/huggingface/trl"),
        ],
        sections=["white-box", "surveys"],
        title="GKD: on-policy | self-generated mistakes",
        details={"surveys": {"Loss / Divergence": "Generalised JSD", "Data": "Mixed"}},
    ),
    Entry(
        id="llm4teach",
        name="LLM4Teach",
        url="https://github.com/ZJLAB-AMMI/LLM4Teach",
        date="2023.11",
        updated=2025,
        stars_repo="ZJLAB-AMMI/LLM4Teach",
        sections=["agent"],
        links=[arxiv("2311.13373")],
    ),
    Entry(
        id="minillm",
        name="MiniLLM",
        date="2023.06",
        sections=["white-box"],
        links=[arxiv("2306.08543")],
        details={"white-box": {"Data": "Student", "Granularity": "Sequence (PG)"}},
        verdicts={
            "c1": Verdict(value="partial", note="Teacher log-probs are cached."),
            "c2": Verdict(value="yes"),
        },
    ),
]


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of a markdown text as rows of inline cell contents (header row first)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    out: list[list[list[str]]] = []
    row: list[str] = []
    in_table = False
    for tok in tokens:
        if tok.type in ("table_open", "table_close"):
            in_table = tok.type == "table_open"
            if in_table:
                out.append([])
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and in_table:
            row.append(tok.content)
        elif tok.type == "tr_close":
            out[-1].append(row)
    return out


def test_rendering_twice_gives_identical_bytes_whatever_the_input_order() -> None:
    first = render_catalog(TAXONOMY, ENTRIES, [], config=CONFIG)
    assert render_catalog(TAXONOMY, list(reversed(ENTRIES)), [], config=CONFIG) == first


def test_badges_count_every_entry_that_lists_a_section() -> None:
    text = render_catalog(TAXONOMY, ENTRIES, [], config=CONFIG)
    badges = dict(
        re.findall(r"!\[([^\]]+)\]\(https://img\.shields\.io/badge/[^)]*?-(\d+)-[0-9A-Fa-f]+\?", text)
    )
    assert badges["White-Box"] == "2"
    assert badges["Surveys"] == "1"
    assert badges["Iterative"] == "1"
    assert badges["Black-Box"] == "0"
    assert "https://img.shields.io/badge/White--Box_OPD-2-BFA2DB?style=for-the-badge" in text
    assert shields_escape("Agent & Embodied_x-y") == "Agent_&_Embodied__x--y"


def test_sections_in_taxonomy_order_with_subsection_levels() -> None:
    text = render_catalog(TAXONOMY, ENTRIES, [], config=CONFIG)
    headings = re.findall(r"^(#{2,4}) (.+)$", text, flags=re.M)
    assert [h for _, h in headings] == [s.heading for s in TAXONOMY.sections]
    assert ("###", "🔁 Iterative Self-Bootstrapping") in headings


def test_main_tables_follow_the_taxonomy_columns_and_the_documented_row_order() -> None:
    text = render_catalog(TAXONOMY, ENTRIES, [], config=CONFIG)
    white_box = text.split("## 🔬")[1].split("\n## ")[0]
    main = tables(white_box)[0]
    section = TAXONOMY.section("white-box")
    assert main[0] == [TAXONOMY.header(section, role) for role in section.main_columns]
    # same date: ordered by name; the cross-listed GKD is a row here and in Surveys
    assert [row[0] for row in main[1:]] == ["[GKD](https://arxiv.org/abs/2306.13649)", "MiniLLM"]
    gkd = main[1]
    assert gkd[1].startswith("[![Paper](https://img.shields.io/badge/📄-paper-845C40")
    assert gkd[4] == (
        "[arXiv 2306.13649](https://arxiv.org/abs/2306.13649) · "
        "[TRL `GKDTrainer`](https://github.com/huggingface/trl)"
    )
    assert gkd[5] == "GKD: on-policy | self-generated mistakes"  # the pipe survives as one cell
    assert main[2][1] == main[2][3] == "—"
    agent = tables(text.split("## 🤖")[1])[0]
    assert agent[1][2] == "2023.11 (updated 2025)"
    assert 'src="https://img.shields.io/github/stars/ZJLAB-AMMI/LLM4Teach?' in agent[1][1]


def test_details_and_strictness_notes() -> None:
    text = render_catalog(TAXONOMY, ENTRIES, [], config=CONFIG)
    surveys = text.split("## 📚")[1].split("\n## ")[0]
    detail = tables(surveys)[1]
    columns = ["Resource", "Loss / Divergence", "Data", "Teacher Access", "Granularity", "Notes", "Axes"]
    assert detail[0] == columns  # the bundled taxonomy shows the axes in the technical details
    assert detail[1] == ["GKD", "Generalised JSD", "Mixed", "—", "—", "—", "—"]  # every axis unknown
    white_box = text.split("## 🔬")[1].split("\n## ")[0]
    assert [row[0] for row in tables(white_box)[1][1:]] == ["MiniLLM"]  # GKD has no white-box details
    assert "- **MiniLLM** — Teacher log-probs are cached." in white_box
    assert "**GKD** —" not in white_box  # no verdicts: no note
    iterative = text.split("### 🔁")[1].split("\n## ")[0]
    assert "- **SPIN** — C1 yes · C2 partial" in iterative
    assert "📋" not in iterative  # the section declares no detail columns
    agent = text.split("## 🤖")[1]
    assert "Strictness notes" not in agent.split("\n## ")[0]


def test_exclusions_are_rendered_by_bucket_when_enabled() -> None:
    exclusions = [
        Exclusion(
            id="lion", title="Lion", arxiv_id="2305.12870", reason="static teacher data", bucket="black-box"
        ),
        Exclusion(id="sodas", title="SODA", reason="off-policy only"),
    ]
    text = render_catalog(TAXONOMY, ENTRIES, exclusions, config=CONFIG)
    black_box = text.split("## 🎭")[1].split("\n## ")[0]
    assert "- [Lion](https://arxiv.org/abs/2305.12870) (arXiv 2305.12870) — static teacher data" in black_box
    assert text.rstrip().endswith("- SODA — off-policy only\n\n</details>")
    hidden = render_catalog(TAXONOMY, ENTRIES, exclusions, config=RenderConfig(exclusions=False))
    assert "Lion" not in hidden
    assert "SODA" not in hidden


@pytest.fixture
def root(tmp_path: Path) -> CatalogRoot:
    root = CatalogRoot(tmp_path / "cat").create()
    for entry in ENTRIES:
        root.write_entry(entry)
    return root


def test_a_missing_output_becomes_a_full_document(root: CatalogRoot) -> None:
    result = render_root(root)
    assert result.path == root.path / "README.md"
    assert result.mode == "document"
    text = result.path.read_text()
    assert text.startswith(f"# {TAXONOMY.catalog}\n")
    assert text.count(CONFIG.begin_marker) == 1
    assert text.count(CONFIG.end_marker) == 1
    again = render_root(root)
    assert again.changed is False
    assert again.path is not None
    assert again.path.read_bytes() == text.encode()


def test_marker_mode_keeps_the_rest_of_the_readme_byte_for_byte(root: CatalogRoot) -> None:
    before = "# My list\r\n\nIntro with trailing spaces   \n\n<!-- ingest:catalog:begin -->\nold\n"
    after = "<!-- ingest:catalog:end -->\n\n## Contributing\n\nBe kind.\n\n"
    readme = root.path / "README.md"
    readme.write_bytes((before + after).encode())
    result = render_root(root)
    data = readme.read_bytes().decode()
    assert result.mode == "markers"
    assert result.changed
    assert data.startswith(before.replace("old\n", ""))
    assert data.endswith(after)
    assert "old\n" not in data
    assert "| [GKD](https://arxiv.org/abs/2306.13649) |" in data
    assert render_root(root).changed is False


def test_a_readme_without_markers_is_not_clobbered(root: CatalogRoot) -> None:
    readme = root.path / "README.md"
    readme.write_text("# Hand-written\n")
    with pytest.raises(UsageError, match="markers"):
        render_root(root)
    assert readme.read_text() == "# Hand-written\n"


def test_an_explicit_output_file_and_stdout(root: CatalogRoot, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "CATALOG.md"
    result = render_root(root, str(out))
    assert result.path == out
    assert out.exists()
    printed = render_root(root, "-")
    assert printed.path is None
    assert printed.text == out.read_text()
    assert not list(out.parent.glob(".*.tmp"))


# --- the real list ---------------------------------------------------------------------------------------


def _cell_facts(children: list) -> tuple[str, list[str]]:
    """(plain text of the first link's label, or of the cell; every URL of the cell) of an inline token."""
    text: list[str] = []
    first: str | None = None
    urls: list[str] = []
    depth, label = 0, []
    for tok in children:
        if tok.type == "link_open":
            urls.append(unquote(str(tok.attrs["href"])))
            depth, label = depth + 1, []
        elif tok.type == "link_close":
            depth -= 1
            if first is None and "".join(label).strip():
                first = "".join(label).strip()
        elif tok.type in ("text", "code_inline"):
            text.append(tok.content)
            if depth:
                label.append(tok.content)
    return (first if first is not None else "".join(text).strip()), urls


def main_rows(markdown: str) -> Counter[tuple[str, frozenset[str], frozenset[str]]]:
    """(resource, arXiv ids of the row, URLs of the links cell) of every main-table row, read independently of
    the importer: a main table is one whose header has the date column."""
    links_headers = {TAXONOMY.columns["links"].header, *TAXONOMY.columns["links"].aliases}
    links_headers |= {s.headers["links"] for s in TAXONOMY.sections if "links" in s.headers}
    rows: Counter[tuple[str, frozenset[str], frozenset[str]]] = Counter()
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(markdown)
    header: list[str] = []
    cells: list[tuple[str, list[str]]] = []
    part = ""
    for tok in tokens:
        if tok.type in ("thead_open", "tbody_open"):
            part = tok.type
        elif tok.type == "tr_open":
            cells = []
        elif tok.type == "inline" and part:
            cells.append(_cell_facts(tok.children or []))
        elif tok.type == "tr_close" and part == "thead_open":
            header = [c[0] for c in cells]
        elif tok.type == "tr_close" and TAXONOMY.columns["date"].header in header:
            urls = [u for _, us in cells for u in us]
            arxiv_ids = frozenset(m.group(1) for u in urls if (m := re.search(r"arxiv\.org/abs/([\d.]+)", u)))
            link_col = next(i for i, h in enumerate(header) if h in links_headers)
            rows[(cells[0][0], arxiv_ids, frozenset(cells[link_col][1]))] += 1
        elif tok.type == "table_close":
            part = ""
    return rows


@pytest.fixture(scope="session")
def imported_real_list(tmp_path_factory: pytest.TempPathFactory) -> CatalogRoot:
    from ingest.markdown.importer import import_markdown

    root = CatalogRoot(tmp_path_factory.mktemp("real") / "root")
    import_markdown(root, need_shared(SEED_LIST))
    render_root(root)
    return root


def test_the_real_list_renders_its_113_rows_with_the_same_resources_ids_and_links(
    imported_real_list: CatalogRoot,
) -> None:
    source = main_rows(SEED_LIST.read_text(encoding="utf-8"))
    rendered = main_rows((imported_real_list.path / "README.md").read_text(encoding="utf-8"))
    assert sum(source.values()) == 113
    assert sum(rendered.values()) == 113
    assert sorted(r[0] for r in rendered.elements()) == sorted(r[0] for r in source.elements())
    assert Counter(r[1] for r in rendered.elements()) == Counter(r[1] for r in source.elements())
    assert Counter(r[2] for r in rendered.elements()) == Counter(r[2] for r in source.elements())


def test_the_real_list_round_trips_import_render_import(
    imported_real_list: CatalogRoot, tmp_path: Path
) -> None:
    from ingest.markdown.importer import import_markdown

    again = CatalogRoot(tmp_path / "again")
    import_markdown(again, imported_real_list.path / "README.md")

    def facts(root: CatalogRoot) -> dict[str, dict[str, object]]:
        # The evidence of an inferred axis quotes the file read (its lines differ); everything else is equal.
        return {
            p.name: read_model(p, Entry).model_dump(exclude={"evidence"})
            for p in root.entries_dir.glob("*.yaml")
        }

    first, second = facts(imported_real_list), facts(again)
    assert len(first) >= 100
    assert second == first
    assert sum(e["axes"] != {a.id: ["unknown"] for a in TAXONOMY.axes} for e in first.values()) >= 90
    assert render_root(again).path.read_bytes() == (imported_real_list.path / "README.md").read_bytes()


def test_the_real_list_renders_identically_twice(imported_real_list: CatalogRoot) -> None:
    readme = imported_real_list.path / "README.md"
    before = readme.read_bytes()
    result = render_root(imported_real_list)
    assert result.changed is False
    assert readme.read_bytes() == before


def test_a_later_version_with_exclusion_buckets_and_five_columns_round_trips() -> None:
    from ingest.markdown.importer import parse_markdown

    fixture = Path(__file__).parent / "fixtures" / "awesomeopd-later"
    taxonomy = load_taxonomy(fixture / "taxonomy.yaml")
    first = parse_markdown((fixture / "README.md").read_text(encoding="utf-8"), taxonomy, source="README.md")
    assert first.exclusions
    text = render_catalog(taxonomy, first.entries, first.exclusions, config=CONFIG)
    again = parse_markdown(text, taxonomy, source="README.md")
    assert again.problems == []

    def facts(entries: list[Entry]) -> list[dict[str, object]]:  # evidence quotes lines of the file read
        return [e.model_dump(exclude={"evidence"}) for e in sorted(entries, key=lambda e: e.id)]

    assert facts(again.entries) == facts(first.entries)
    assert sorted(again.exclusions, key=lambda x: x.id) == sorted(first.exclusions, key=lambda x: x.id)
    buckets = sorted({x.bucket for x in first.exclusions if x.bucket})
    assert [h for h in re.findall(r"^### (.+)$", text, flags=re.M) if h in buckets] == buckets


def test_the_real_list_round_trips_with_the_curators_prose_kept() -> None:
    from ingest.markdown.importer import parse_markdown

    text = need_shared(SEED_LIST).read_text(encoding="utf-8")
    first = parse_markdown(text, TAXONOMY, source="README.md", keep_prose=True)
    assert any(e.notes for e in first.entries)
    assert any(v.note for e in first.entries for v in e.verdicts.values())
    rendered = render_catalog(TAXONOMY, first.entries, [], config=CONFIG)
    again = parse_markdown(rendered, TAXONOMY, source="README.md", keep_prose=True)

    def facts(entries: list[Entry]) -> list[dict[str, object]]:
        return [e.model_dump(exclude={"evidence"}) for e in sorted(entries, key=lambda e: e.id)]

    assert facts(again.entries) == facts(first.entries)


def _with_axes(entry: Entry, **axes: list[str]) -> Entry:
    return entry.model_copy(update={"axes": {a.id: axes.get(a.id, ["unknown"]) for a in TAXONOMY.axes}})


def test_axes_are_shown_where_the_taxonomy_says_and_read_back() -> None:
    from ingest.markdown.importer import parse_markdown

    spin = _with_axes(
        ENTRIES[0], teacher_source=["earlier-checkpoint"], supervision_signal=["sequence-reward"]
    )
    text = render_catalog(TAXONOMY, [spin, *ENTRIES[1:]], [], config=CONFIG)
    iterative = text.split("### 🔁")[1].split("\n## ")[0]
    detail = tables(iterative)[1]
    assert detail[0] == ["Method", "Axes"]
    assert detail[1] == ["SPIN", "Teacher source: earlier checkpoint; Supervision signal: sequence reward"]
    again = parse_markdown(text, TAXONOMY, source="README.md")
    assert again.problems == []
    back = next(e for e in again.entries if e.name == "SPIN")
    assert back.axes == spin.axes
    assert back.evidence["axes.teacher_source"].list_quotes[0].rule == "axes-column"
    assert "Axes" not in back.details.get("iterative", {})

    as_column = TAXONOMY.model_copy(update={"axes_display": AxesDisplay(show="column")})
    text = render_catalog(as_column, [spin, *ENTRIES[1:]], [], config=CONFIG)
    main = tables(text.split("### 🔁")[1])[0]
    assert main[0][-1] == "Axes"
    assert main[1][-1].startswith("Teacher source: earlier checkpoint")
    back = next(e for e in parse_markdown(text, as_column, source="README.md").entries if e.name == "SPIN")
    assert back.axes == spin.axes

    hidden = TAXONOMY.model_copy(update={"axes_display": AxesDisplay(show="none")})
    assert "Teacher source:" not in render_catalog(hidden, [spin], [], config=CONFIG)


def test_rows_keep_the_lists_order_and_new_entries_go_in_by_date() -> None:
    a, b, c = (
        Entry(id=i, name=i.upper(), date=d, sections=["agent"], order={"agent": n})
        for i, d, n in (("a", "2025.01", 0), ("b", "2023.01", 1), ("c", "2026.01", 2))
    )
    new = Entry(id="n", name="N", date="2025.06", sections=["agent"])
    old = Entry(id="o", name="O", date="2020.01", sections=["agent"])
    text = render_catalog(TAXONOMY, [c, new, a, old, b], [], config=CONFIG)
    names = [row[0] for row in tables(text.split("## 🤖")[1])[0][1:]]
    # curators' order a, b, c kept; N (2025.06) before the first row dated later (C), O before A
    assert names == ["O", "A", "B", "N", "C"]
    by_date = TAXONOMY.model_copy(update={"row_order": "date"})
    text = render_catalog(by_date, [c, new, a, old, b], [], config=CONFIG)
    assert [row[0] for row in tables(text.split("## 🤖")[1])[0][1:]] == ["O", "B", "A", "N", "C"]


def _catalog_main_rows(markdown: str) -> list[str]:
    """The main-table lines (header, rule, rows) under the catalog's own headings, whitespace-normalised."""
    from ingest.markdown.headings import is_ignored

    rows: list[str] = []
    depth, keep = 0, False
    for line in markdown.splitlines():
        if re.match(r"#{1,4} ", line):
            keep = line.startswith(("## ", "### ")) and not is_ignored(TAXONOMY, line.lstrip("# "))
        depth += line.count("<details") - line.count("</details")
        if keep and not depth and line.lstrip().startswith("|"):
            rows.append(" ".join(line.split()))
    return rows


def test_adopting_the_tool_keeps_the_curators_row_order_and_most_rows_byte_for_byte() -> None:
    """Import the real list with its prose, render: every main table lists the same rows in the same order,
    and the rows that still differ are printed with the count (cell markup the facts do not keep)."""
    from ingest.markdown.importer import parse_markdown

    source = need_shared(SEED_LIST).read_text(encoding="utf-8")
    result = parse_markdown(source, TAXONOMY, source="README.md", keep_prose=True)
    rendered = render_catalog(TAXONOMY, result.entries, result.exclusions, config=CONFIG)
    before, after = _catalog_main_rows(source), _catalog_main_rows(rendered)
    assert len(after) == len(before)

    def first_cell(row: str) -> str:
        # the resource's name: a cross-listed entry has one URL, its rows in two sections may link two
        from ingest.markdown.tables import split_source_row

        return re.sub(r"\*\*|`|\]\([^)]*\)", "", split_source_row(row)[0]).strip()

    assert [first_cell(r) for r in after] == [first_cell(r) for r in before]  # the curators' order
    same = sum(a == b for a, b in zip(before, after, strict=True))
    loose = sum(
        re.sub(r"\*\*|`", "", a) == re.sub(r"\*\*|`", "", b) for a, b in zip(before, after, strict=True)
    )
    print(
        f"main-table lines identical after whitespace normalisation: {same}/{len(before)}; "
        f"ignoring bold/code markup: {loose}/{len(before)}"
    )
    assert loose >= 0.75 * len(before)
