"""The strict Atom reader: the same papers as feedparser on arXiv's real answers and on generated ones, and a
one-line `malformed` for every body that is not an Atom feed (hostile ones included)."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.paper.atom import MAX_FEED_BYTES, parse_page

FIELDS = (
    "arxiv_id",
    "version",
    "title",
    "abstract",
    "authors",
    "published",
    "updated",
    "categories",
    "primary_category",
    "comment",
    "journal_ref",
    "doi",
    "pdf_url",
    "abs_url",
)


def _when(parsed: time.struct_time | None) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None


def _one_line(value: Any) -> str | None:
    return " ".join(str(value or "").split()) or None


def feedparser_fields(content: bytes) -> tuple[str, list[dict[str, Any]]]:
    """What the previous reader (feedparser) made of an answer: the total and each paper's fields."""
    parsed = feedparser.parse(content)
    papers = []
    for entry in parsed.entries:
        url = str(entry.get("id", ""))
        if "/abs/" not in url:
            continue
        short = url.rsplit("/abs/", 1)[-1]
        links = entry.get("links", [])
        papers.append(
            {
                "versioned": short,
                "title": _one_line(entry.get("title")) or "",
                "abstract": _one_line(entry.get("summary")) or "",
                # One change on purpose: a name's whitespace is normalised as a title's always was.
                "authors": [n for a in entry.get("authors", []) if (n := _one_line(a.get("name")))],
                "published": _when(entry.get("published_parsed")),
                "updated": _when(entry.get("updated_parsed")),
                "categories": [t.get("term") for t in entry.get("tags", []) if t.get("term")],
                "primary_category": (entry.get("arxiv_primary_category") or {}).get("term") or None,
                "comment": _one_line(entry.get("arxiv_comment")),
                "journal_ref": _one_line(entry.get("arxiv_journal_ref")),
                "doi": _one_line(entry.get("arxiv_doi")),
                "pdf_url": next((x.get("href") for x in links if x.get("title") == "pdf"), None),
                "abs_url": next((x.get("href") for x in links if x.get("rel") == "alternate"), None),
            }
        )
    return str(parsed.feed.get("opensearch_totalresults", "")).strip(), papers


def our_fields(content: bytes) -> tuple[str, list[dict[str, Any]]]:
    page = parse_page(content)
    assert not page.malformed, page.error
    papers = [
        {"versioned": c.versioned_id, **c.model_dump(include=set(FIELDS) - {"arxiv_id", "version"})}
        for c in page.results
    ]
    return str(page.total_results), papers


ANSWERS = [
    "search-testing-start0-max10.xml",
    "idlist-0808.05394-1707.08567.xml",
    "empty-idlist-0000.0000.xml",
    "legacy2016-search-au-del-maestro.xml",
    "legacy2016-idlist-1111.2011v2.xml",
]


@pytest.mark.parametrize("name", ANSWERS)
def test_the_real_answers_read_as_feedparser_read_them(arxiv_api: Path, name: str) -> None:
    content = (arxiv_api / name).read_bytes()
    total, papers = our_fields(content)
    assert (total, papers) == feedparser_fields(content)
    if "empty" not in name:
        assert papers
        assert all(p["title"] and p["published"] and p["pdf_url"] and p["abs_url"] for p in papers)


def test_the_real_answers_keep_dois_journal_refs_and_wrapped_text_on_one_line(arxiv_api: Path) -> None:
    _, current = our_fields((arxiv_api / "search-testing-start0-max10.xml").read_bytes())
    assert sum(1 for p in current if p["doi"]) == 6
    assert sum(1 for p in current if p["journal_ref"]) == 6
    _, legacy = our_fields((arxiv_api / "legacy2016-search-au-del-maestro.xml").read_bytes())
    assert all(p["doi"] and p["journal_ref"] and "\n" not in p["abstract"] for p in legacy)
    assert not legacy[0]["abstract"].startswith(" ")
    (paper,) = our_fields((arxiv_api / "legacy2016-idlist-1111.2011v2.xml").read_bytes())[1]
    assert paper["versioned"] == "1111.2011v2"
    assert "  " not in paper["title"]


def test_the_error_feed_is_its_message_not_a_paper(arxiv_api: Path) -> None:
    page = parse_page((arxiv_api / "error-400-idlist-abc.xml").read_bytes())
    assert page.api_error == "incorrect id format for abc"
    assert page.results == []
    assert not page.malformed


def test_a_paper_titled_error_is_a_paper_not_the_error_feed(arxiv_api: Path) -> None:
    # Only the entry's id (under /api/errors) marks arXiv's error feed; a real paper may be titled "Error".
    real = (arxiv_api / "idlist-0808.05394-1707.08567.xml").read_bytes()
    entry = real.index(b"<entry>")
    start, end = real.index(b"<title>", entry), real.index(b"</title>", entry)
    page = parse_page(real[:start] + b"<title>Error" + real[end:])
    assert not page.api_error
    assert not page.malformed
    assert [c.title for c in page.results] == ["Error", *[c.title for c in parse_page(real).results][1:]]


# --- generated answers: both eras' layouts, text that needs escaping, optional arXiv elements -------------


def _feedparser_redecodes(text: str) -> bool:
    """feedparser takes text that is valid UTF-8 read as Latin-1 ("Â¡") for mojibake and changes it ("¡");
    ours keeps what the feed says (test_text_that_looks_like_mojibake_is_kept)."""
    try:
        return text.encode("iso-8859-1").decode("utf-8") != text
    except UnicodeError:
        return False


TEXT = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=40,
    )
    .filter(str.strip)
    .filter(lambda t: not _feedparser_redecodes(t))
)
WHEN = st.datetimes(min_value=datetime(1991, 8, 14), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
PAPER = st.fixed_dictionaries(
    {
        "number": st.integers(10000, 99999),
        "version": st.integers(1, 12),
        "title": st.lists(TEXT, min_size=1, max_size=3),  # wrapped over lines, as in 2016
        "summary": st.lists(TEXT, min_size=1, max_size=3),
        "authors": st.lists(TEXT, max_size=3),
        "published": WHEN,
        "updated": WHEN,
        "doi": st.none() | TEXT,
        "journal_ref": st.none() | TEXT,
        "comment": st.none() | TEXT,
    }
)


def _arxiv(tag: str, text: str, legacy: bool) -> str:
    xmlns = ' xmlns:arxiv="http://arxiv.org/schemas/atom"' if legacy else ""
    return f"<arxiv:{tag}{xmlns}>{escape(text)}</arxiv:{tag}>"


def generated_answer(papers: list[dict[str, Any]], legacy: bool) -> bytes:
    """An answer in the layout of either era: per-element namespaces and wrapped text (2016) or not."""
    entries = []
    for p in papers:
        vid = f"2401.{p['number']}v{p['version']}"
        extra = "".join(_arxiv(t, p[t], legacy) for t in ("doi", "journal_ref", "comment") if p[t])
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        xmlns = ' xmlns:arxiv="http://arxiv.org/schemas/atom"' if legacy else ""
        entries.append(
            f"<entry><id>http://arxiv.org/abs/{vid}</id><updated>{p['updated'].strftime(fmt)}</updated>"
            f"<published>{p['published'].strftime(fmt)}</published>"
            f"<title>{escape(chr(10).join(p['title']))}</title>"
            f"<summary>  {escape(chr(10).join(p['summary']))}\n</summary>"
            + "".join(f"<author><name>{escape(a)}</name></author>" for a in p["authors"])
            + extra
            + f'<link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>'
            f'<link title="pdf" href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf"/>'
            f'<arxiv:primary_category{xmlns} term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>'
            f'<category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>'
            f"<category term={quoteattr('cs.LG')}/></entry>"
        )
    ns = (
        ""
        if legacy
        else (
            ' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"'
        )
    )
    total_ns = ' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"' if legacy else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"{ns}>'
        f"<title>arXiv Query</title><opensearch:totalResults{total_ns}>{len(papers) + 7}"
        f"</opensearch:totalResults>{''.join(entries)}</feed>"
    ).encode()


@settings(max_examples=40, deadline=None, database=None)  # no .hypothesis folder in the repository
@given(st.lists(PAPER, max_size=4, unique_by=lambda p: p["number"]), st.booleans())
def test_generated_answers_read_as_feedparser_reads_them(papers: list[dict[str, Any]], legacy: bool) -> None:
    content = generated_answer(papers, legacy)
    assert our_fields(content) == feedparser_fields(content)


def test_text_that_looks_like_mojibake_is_kept() -> None:
    paper = {
        "number": 12345,
        "version": 2,
        "title": ["CafÃ© Â¡Hola!"],
        "summary": ["x"],
        "authors": ["JosÃ©"],
        "published": datetime(2024, 1, 2),
        "updated": datetime(2024, 1, 3),
        "doi": None,
        "journal_ref": None,
        "comment": None,
    }
    (found,) = parse_page(generated_answer([paper], legacy=False)).results
    assert found.title == "CafÃ© Â¡Hola!"
    assert found.authors == ["JosÃ©"]
    assert found.published == datetime(2024, 1, 2, tzinfo=UTC)


# --- bodies that are not arXiv's feed ------------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
    + b']><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2101.00001v1</id>'
    b"<title>&j;</title></entry></feed>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2101.00001v1</id>'
    b"<title>T &x; end</title></entry></feed>"
)
CAPTCHA = b"<!DOCTYPE html><html><head><title>arXiv</title></head><body><p>Are you human?</p></body></html>"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (LAUGHS, "amplification"),  # libxml2's own limit stops the expansion before the DTD rule
        (XXE, "DTD"),
        (CAPTCHA, "DTD"),
        (b"<html><body><p>Service unavailable</body></html>", "not well-formed"),
        (b"<html><body>Service unavailable</body></html>", "not an Atom feed (its root element is <html>)"),
        (b'<rss version="2.0"><channel/></rss>', "not an Atom feed"),
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"error": "rate limited"}', "not well-formed"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>', "not well-formed"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&undefined;</title></feed>', "not well-formed"),
    ],
)
def test_a_body_that_is_not_an_atom_feed_is_malformed_in_one_line(body: bytes, says: str) -> None:
    page = parse_page(body)
    assert page.malformed
    assert page.results == []
    assert says in page.error
    assert "\n" not in page.error
    assert "root:" not in page.error  # no file of this machine's leaks into the message


def test_a_truncated_real_answer_is_malformed_not_half_a_page(arxiv_api: Path) -> None:
    content = (arxiv_api / "search-testing-start0-max10.xml").read_bytes()
    for cut in (len(content) // 2, len(content) - 10, 200):
        page = parse_page(content[:cut])
        assert page.malformed, cut
        assert "not well-formed" in page.error


def test_a_huge_answer_is_refused_before_parsing() -> None:
    page = parse_page(b"<feed>" + b" " * MAX_FEED_BYTES + b"</feed>")
    assert page.malformed
    assert f"more than the {MAX_FEED_BYTES:,}" in page.error


def test_stray_latin1_bytes_in_a_utf8_feed_read_as_replacement_characters(arxiv_api: Path) -> None:
    content = (arxiv_api / "search-testing-start0-max10.xml").read_bytes()
    assert "Ramírez".encode() in content
    page = parse_page(content.replace("Ramírez".encode(), "Ramírez".encode("latin-1")))
    assert not page.malformed, page.error
    assert len(page.results) == 10
    assert any("Ram\ufffdrez" in a for c in page.results for a in c.authors)


def test_a_feed_in_another_declared_encoding_reads(arxiv_api: Path) -> None:
    text = (arxiv_api / "legacy2016-idlist-1111.2011v2.xml").read_text(encoding="utf-8")
    content = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    assert our_fields(content) == our_fields(text.encode("utf-8"))
