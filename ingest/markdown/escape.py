"""Catalog text made safe for the rendered list: markdown tables, raw HTML, links and the render markers.

Everything written from an entry (a name, a title, a model's note, an exclusion's reason) goes through
`inline`: one line, control characters dropped; `|`, `[` and `]` escaped (no markdown link comes out of
text); outside code spans (which show their text as is and render no HTML) a stray backtick escaped, `<`
and `>` as entities (no `<script>`, no `<img onerror>`, no `<!-- ... -->` marker comes out of data), a
backslash doubled, and an `&` that would start an entity written as `&amp;`. markdown-it (the importer)
decodes all of these back to the same text. A link is written only when its URL is http or https
(`safe_url`); anything else (`javascript:`, `file:`, `data:`, a relative path) is dropped and `check`
reports it. The render markers are matched only as whole lines (`find_markers`), so a marker inside a cell
is text, never a marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SAFE_SCHEMES = ("http", "https")
ENTITY_RE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CODE_SPAN_RE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
# Text that `inline` gives back unchanged: words of no special character, single spaces between them. Most
# cells are such text, and a render at 20,000 entries writes a quarter of a million cells.
PLAIN_RE = re.compile(r"[^\s\\&<>`\[\]|\x00-\x1f\x7f]+(?: [^\s\\&<>`\[\]|\x00-\x1f\x7f]+)*")
# Characters a URL must not hold (spaces, controls, what breaks a markdown link or an HTML attribute), and
# the common http(s) URL whose host urlsplit would find: both checked without urlsplit's cost.
URL_UNSAFE_RE = re.compile(r'[\s<>"`\\\x00-\x1f]')
PLAIN_HTTP_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#].*)?", re.IGNORECASE | re.DOTALL)


def _text(text: str) -> str:
    text = text.replace("\\", "\\\\")
    text = ENTITY_RE.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("`", "\\`")
    # `[x](javascript:…)` in a note would be a link: brackets are text here, links come from link data only
    return text.replace("[", "\\[").replace("]", "\\]")


def inline(text: str) -> str:
    """`text` on one line, safe inside a GFM table cell or a list item; reads back as the same text."""
    if PLAIN_RE.fullmatch(text):
        return text
    text = CONTROL_RE.sub("", " ".join(text.split()))  # NUL and other controls: never meant, never shown
    out, at = [], 0
    for span in CODE_SPAN_RE.finditer(text):  # a code span shows its text as is and renders no HTML
        out += [_text(text[at : span.start()]), span.group(0)]
        at = span.end()
    out.append(_text(text[at:]))
    return "".join(out).replace("|", "\\|")  # GFM splits cells on `|` even inside a code span


def safe_url(url: str | None) -> bool:
    """An absolute http(s) URL with a host, and nothing a markdown link or an HTML attribute breaks on."""
    if not url or URL_UNSAFE_RE.search(url):
        return False
    if PLAIN_HTTP_RE.fullmatch(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.hostname)


def is_marker_line(line: str, marker: str) -> bool:
    """The line is the marker itself (surrounding spaces and a CR allowed), not text that contains it."""
    return line.strip() == marker.strip()


@dataclass
class MarkerScan:
    """The 1-based lines of every begin and end marker line of a file (and the offsets where they start)."""

    begins: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    begin_offsets: list[int] = field(default_factory=list)
    end_offsets: list[int] = field(default_factory=list)

    def problem(self, begin: str, end: str) -> tuple[int | None, str] | None:
        """(line, message) when the markers are not exactly one begin line followed by one end line."""
        if not self.begins and not self.ends:
            return None, f"no {begin} … {end} marker lines"
        if not self.begins:
            return self.ends[0], f"an end marker {end} without a begin marker line"
        if not self.ends:
            return self.begins[0], f"a begin marker {begin} without an end marker line"
        if len(self.begins) > 1:
            return self.begins[1], f"the begin marker {begin} again (first at line {self.begins[0]})"
        if len(self.ends) > 1:
            return self.ends[1], f"the end marker {end} again (first at line {self.ends[0]})"
        if self.ends[0] < self.begins[0]:
            return self.ends[0], f"the end marker comes before the begin marker (line {self.begins[0]})"
        return None


def _line_starts_holding(text: str, words: list[str]) -> list[int]:
    """The start offsets of the lines that contain one of `words` (found with str.find, not line by line:
    a rendered catalog of 20,000 entries has some 50,000 lines)."""
    starts: set[int] = set()
    for word in words:
        at = text.find(word)
        while at != -1:
            start = text.rfind("\n", 0, at) + 1
            starts.add(start)
            end = text.find("\n", at)
            at = -1 if end == -1 else text.find(word, end)
    return sorted(starts)


def find_markers(text: str, begin: str, end: str) -> MarkerScan:
    scan = MarkerScan()
    words = [begin.strip(), end.strip()]
    if not all(words):  # an empty marker is on every line: look at each one
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    else:
        starts = _line_starts_holding(text, words)
    number, counted = 1, 0
    for start in starts:
        number += text.count("\n", counted, start)
        counted = start
        stop = text.find("\n", start)
        line = text[start : len(text) if stop == -1 else stop]
        if is_marker_line(line, begin):
            scan.begins.append(number)
            scan.begin_offsets.append(start)
        elif is_marker_line(line, end):
            scan.ends.append(number)
            scan.end_offsets.append(start)
    return scan


def marker_offsets(text: str, begin: str, end: str) -> tuple[int, int] | None:
    """(start, end): the offsets just after the begin marker line's marker and at the start of the end
    marker line; None unless the file has exactly one begin line followed by one end line."""
    scan = find_markers(text, begin, end)
    if scan.problem(begin, end) is not None:
        return None
    b_at, e_at = scan.begin_offsets[0], scan.end_offsets[0]
    start = b_at + text.index(begin.strip(), b_at) + len(begin.strip()) - b_at
    return start, e_at + text.index(end.strip(), e_at) - e_at
