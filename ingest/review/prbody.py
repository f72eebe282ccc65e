"""The weekly pull request's body: every queued proposal with its fields, confidence, flags and quotes.

Each quote links to its page of the PDF version the proposal was read from
(`https://arxiv.org/pdf/<id>v<n>#page=<p>`), so a reviewer checks it in the browser. Paper text is data: it
is shown in table cells with the characters markdown and HTML act on escaped.
"""

from __future__ import annotations

from typing import Any

from ingest.catalog.queue import scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.models import Entry, FieldEvidence, Proposal, Quote
from ingest.review.commands import USAGE

QUOTE_CHARS = 240
# GitHub refuses a longer pull-request body: `gh pr create` then fails after the push, and no pull request
# opens (the next week finds none open and starts over from the default branch)
MAX_BODY = 65536
PDF_URL = "https://arxiv.org/pdf/{id}v{version}#page={page}"


def _plain(value: Any) -> str:
    if isinstance(value, dict) and "url" in value:  # a link: its URL and version, as the list shows it
        return str(value["url"]) + (f" (v{value['version']})" if value.get("version") else "")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def cell(value: Any) -> str:
    """A value as one table cell: on one line, with what markdown and HTML act on escaped."""
    value = _plain(value)
    text = " ".join(str(value).split())
    for char, code in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("@", "&#64;")):
        text = text.replace(char, code)
    return text


def quote_link(proposal: Proposal, quote: Quote) -> str:
    text = quote.text if len(quote.text) <= QUOTE_CHARS else quote.text[: QUOTE_CHARS - 1] + "…"
    shown = f"p. {quote.page}: “{cell(text)}”"
    if not proposal.arxiv_id:
        return shown
    url = PDF_URL.format(id=proposal.arxiv_id, version=proposal.version or 1, page=quote.page)
    return f"[p. {quote.page}]({url}): “{cell(text)}”"


def _fields(entry: Entry) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": entry.name, "date": entry.date, "org": entry.org}
    fields["sections"] = entry.sections
    fields.update({f"axes.{k}": v for k, v in entry.axes.items()})
    fields.update({f"verdicts.{k}": v.value for k, v in entry.verdicts.items()})
    for section, details in entry.details.items():
        fields.update({f"details.{section}.{k}": v for k, v in details.items()})
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def _evidence(proposal: Proposal, evidence: FieldEvidence | None) -> tuple[str, str]:
    if evidence is None:
        return "—", "—"
    quotes = "<br>".join(quote_link(proposal, q) for q in evidence.quotes) or "no quote"
    flags = f" ⚑ {', '.join(str(f) for f in evidence.flags)}" if evidence.flags else ""
    return f"{evidence.confidence:.2f}{flags}", quotes


def proposal_section(proposal: Proposal) -> list[str]:
    flags = ", ".join(str(f) for f in proposal.flags) or "none"
    paper = f"arXiv {proposal.arxiv_id}v{proposal.version or 1}" if proposal.arxiv_id else "no arXiv id"
    lines = [
        f"#### `{proposal.id}` · {proposal.kind} · confidence {proposal.confidence:.2f}",
        "",
        f"**{cell(proposal.title)}** · {paper} · flags: {flags}",
        "",
    ]
    if proposal.kind == "exclude" and proposal.exclusion is not None:
        return [*lines, f"Out of scope: {cell(proposal.exclusion.reason)}", ""]
    entry = proposal.entry
    evidence = entry.evidence if entry is not None else {}
    if proposal.kind == "update":
        rows = {c.field: f"{cell('—' if c.old is None else c.old)} → {cell(c.new)}" for c in proposal.changes}
    else:
        rows = {k: cell(v) for k, v in _fields(entry).items()} if entry is not None else {}
    lines += ["| field | value | confidence | evidence |", "|---|---|---|---|"]
    for name, value in rows.items():
        confidence, quotes = _evidence(proposal, evidence.get(name))
        lines.append(f"| {name} | {value} | {confidence} | {quotes} |")
    return [*lines, ""]


def _fit(text: str, budget: int, note: str) -> str:
    """`text`, or as many of its lines as fit in `budget` characters followed by `note`."""
    if len(text) <= budget:
        return text
    cut = text[: max(0, budget - len(note))]
    return cut[: cut.rfind("\n") + 1] + note


def _ids_line(proposals: list[Proposal]) -> str:
    ids = ", ".join(f"`{p.id}`" for p in proposals)
    return (
        f"- {len(proposals)} more proposal(s), not shown here (a pull request body holds {MAX_BODY} "
        f"characters; `ingest review show ID` on this branch shows one): {ids}"
    )


def pull_request_body(
    root: CatalogRoot, report_markdown: str = "", check_summary: str = "", *, limit: int = MAX_BODY
) -> str:
    """The run report, every proposal in the queue (weakest first), the check results and how to decide,
    within `limit` characters: the report and the check results take at most a quarter each, and the
    proposals that do not fit are listed by id, so each can still be decided by comment."""
    queue = scan_queue(root)
    proposals = sorted(queue.proposals, key=lambda p: (p.confidence, -len(p.flags), p.id))
    report = _fit(report_markdown.rstrip(), limit // 4, "\n… (the whole report: the run's job summary)")
    check = _fit(
        check_summary.rstrip(), limit // 4, "\n… (all results: the run's job summary, or `ingest check`)"
    )
    head = [report, ""] if report else []
    head += [f"### In the review queue: {len(proposals)} proposal(s)", ""]
    tail = []
    for broken in queue.broken_files:
        fix = f"`ingest review edit {broken.path.stem}`"
        tail.append(f"- `{broken.path.name}` does not load: fix it with {fix}")
    if check:
        tail += ["", "### `ingest check`", "", check, ""]
    tail += [
        "",
        "### Decide here",
        "",
        f"Comment {USAGE} (one command per line; commenters with write access). Each decision is committed "
        "to this branch with you as the reviewer in decisions/. Merging lands the approved entries and the "
        "re-rendered list; proposals without a decision stay in the queue.",
    ]
    room = limit - len("\n".join(head + tail)) - 16
    shown: list[str] = []
    for n, proposal in enumerate(proposals):
        section = proposal_section(proposal)
        rest = proposals[n + 1 :]
        needed = len("\n".join(section)) + 1 + (len(_ids_line(rest)) + 1 if rest else 0)
        if needed > room:
            shown.append(_ids_line(proposals[n:]))
            break
        shown += section
        room -= len("\n".join(section)) + 1
    body = "\n".join(head + shown + tail).rstrip() + "\n"
    return body if len(body) <= limit else body[: limit - 2] + "…\n"  # only ids beyond any sane queue
