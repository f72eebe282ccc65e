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
    """The 1-based lines of every begin and end marker line of a file."""

    begins: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

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


def find_markers(text: str, begin: str, end: str) -> MarkerScan:
    scan = MarkerScan()
    for number, line in enumerate(text.split("\n"), start=1):
        if is_marker_line(line, begin):
            scan.begins.append(number)
        elif is_marker_line(line, end):
            scan.ends.append(number)
    return scan


def marker_offsets(text: str, begin: str, end: str) -> tuple[int, int] | None:
    """(start, end): the offsets just after the begin marker line's marker and at the start of the end
    marker line; None unless the file has exactly one begin line followed by one end line."""
    scan = find_markers(text, begin, end)
    if scan.problem(begin, end) is not None:
        return None
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    b_line, e_line = scan.begins[0], scan.ends[0]
    b_text = text[starts[b_line - 1] : starts[b_line] - 1]
    start = starts[b_line - 1] + b_text.index(begin.strip()) + len(begin.strip())
    e_text = text[starts[e_line - 1] : starts[e_line] - 1]
    return start, starts[e_line - 1] + e_text.index(end.strip())
