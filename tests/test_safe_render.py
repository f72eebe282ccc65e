"""Safe rendering, property-based: for ANY entry text the list renders the same bytes twice, keeps exactly one
pair of marker lines, writes no raw HTML from data, and links only http(s) URLs."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ingest.catalog.records import read_record
from ingest.config import RenderConfig
from ingest.markdown.escape import find_markers, inline, safe_url
from ingest.markdown.importer import parse_markdown
from ingest.markdown.render import render_catalog, write_rendered
from ingest.models import Entry, Link, LinkKind, Verdict
from ingest.taxonomy import Taxonomy

READER = MarkdownIt("commonmark", {"html": True}).enable("table")
READER.validateLink = lambda url: True  # every link the text makes, javascript: too: the test judges them
# The record loader a root reads its taxonomy with: ruamel's load_taxonomy costs ~0.5 s of CPU at every
# worker's collection for the same model.
TAXONOMY = Taxonomy.model_validate(
    read_record(Path(__file__).resolve().parents[1] / "ingest" / "data" / "taxonomy.yaml").data
)
CONFIG = RenderConfig()
NASTY = [
    CONFIG.end_marker,
    CONFIG.begin_marker,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "|",
    "`",
    "\\",
    "&amp;",
    "&#60;",
    "\n",
    "\r\n",
    "**",
    "[x](javascript:alert(1))",
    "-->",
    "<!--",
]
text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), min_size=1, max_size=6).map("".join)
urls = st.one_of(
    st.sampled_from(["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>", "https://ok.org/a"]),
    st.text(max_size=20),
    st.builds(lambda p: f"https://example.org/{p}", st.text(max_size=10)),
)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    section = draw(st.sampled_from([s.id for s in TAXONOMY.catalog_sections]))
    name = draw(text).strip() or "x"
    return Entry(
        id=draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        name=name,
        title=draw(text),
        org=draw(st.none() | text),
        url=draw(st.none() | urls),
        links=[
            Link(kind=LinkKind.project, url=u, label=draw(st.none() | text))
            for u in draw(st.lists(urls, max_size=3))
        ],
        sections=[section],
        details={section: {c: draw(text) for c in TAXONOMY.section(section).detail_names()[:2]}},
        verdicts={c.id: Verdict(value="partial", note=draw(text)) for c in TAXONOMY.criteria[:1]},
        paper_only=True,
        date=draw(st.none() | st.sampled_from(["2024.01", "2025.12"])),
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(entries(), min_size=1, max_size=4, unique_by=lambda e: e.id))
def test_any_entry_text_renders_identically_and_safely(batch: list[Entry]) -> None:
    block = render_catalog(TAXONOMY, batch, [], config=CONFIG)
    assert render_catalog(TAXONOMY, list(reversed(batch)), [], config=CONFIG) == block
    lines = block.split("\n")
    assert not [line for line in lines if line.strip() in (CONFIG.begin_marker, CONFIG.end_marker)]
    # Read as a markdown renderer reads it (CommonMark with raw HTML allowed, tables on): no tag or comment
    # from the data survives as HTML (a code span's text is escaped by the renderer), and every link's
    # target is http(s).
    html = READER.render(block)
    for tag in ("<script", "<img src=x", "<!--", "-->"):
        assert tag not in html, tag
    links = [t for token in READER.parse(block) for t in token.children or [] if t.type == "link_open"]
    for link in links:
        assert safe_url(str(link.attrGet("href"))), link.attrGet("href")


@SETTINGS
@given(st.lists(entries(), min_size=1, max_size=3, unique_by=lambda e: e.id))
def test_rendering_into_a_file_twice_gives_identical_bytes(batch: list[Entry]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "README.md"
        path.write_text(f"# Mine\n\n{CONFIG.begin_marker}\n{CONFIG.end_marker}\n\nfooter\n", encoding="utf-8")
        block = render_catalog(TAXONOMY, batch, [], config=CONFIG)
        first, _, _ = write_rendered(path, block, TAXONOMY, CONFIG)
        second, _, changed = write_rendered(path, block, TAXONOMY, CONFIG)
        assert second == first
        assert not changed
        scan = find_markers(first, CONFIG.begin_marker, CONFIG.end_marker)
        assert scan.problem(CONFIG.begin_marker, CONFIG.end_marker) is None
        assert first.endswith("footer\n")


@SETTINGS
@given(text.map(lambda v: "".join(c for c in v if c not in "*_~`\x7f" and (c >= " " or c.isspace()))))
def test_escaped_text_reads_back_as_the_same_text(value: str) -> None:
    """The importer (markdown-it) reads an escaped title back to the text that was written. Left out: `*`,
    `_` and `~` stay markdown (the list's own bold titles use them), the importer keeps a code span's text
    without its backticks, and control characters are dropped."""
    section = TAXONOMY.catalog_sections[0]
    entry = Entry(id="e", name="Name", title=value, sections=[section.id], paper_only=True)
    block = render_catalog(TAXONOMY, [entry], [], config=CONFIG)
    result = parse_markdown(block, TAXONOMY, source="README.md")
    [back] = [e for e in result.entries if e.name == "Name"]
    if " — " not in value:  # the separator of a title from its notes: the importer splits there
        assert " ".join((back.title or "").split()) == " ".join(value.split()), inline(value)
