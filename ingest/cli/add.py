"""CLI command `ingest add REF...`: papers through the whole chain, printed with their evidence and flags."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import (
    BACKEND_HELP,
    CONCURRENCY_HELP,
    MODEL_HELP,
    console,
    err_console,
    print_json,
    progress,
)
from ingest.errors import IngestError
from ingest.extract.backend import BACKENDS
from ingest.jobs.add import AddResult, add
from ingest.jobs.pipeline import PaperOutcome, PipelineOptions
from ingest.models import Entry, Extraction

QUOTE_CHARS = 160


def _value(extraction: Extraction, path: str) -> str:
    entry = extraction.entry
    head, _, rest = path.partition(".")
    if head == "axes":
        return ", ".join(entry.axes.get(rest, []))
    if head == "verdicts":
        v = entry.verdicts.get(rest)
        return f"{v.value}" + (f" ({v.note})" if v and v.note else "") if v else ""
    if head == "details":
        section, _, column = rest.partition(".")
        return entry.details.get(section, {}).get(column, "")
    if head == "sections":
        return ", ".join(entry.sections)
    if head == "links":
        return ", ".join(link.url for link in entry.links)
    if head == "scope":
        return f"{extraction.scope.verdict}: {extraction.scope.reason}"
    return str(getattr(entry, head, "") or "")


def _reading_order(entry: Entry, path: str) -> tuple[int, int]:
    """Fields in the order of the entry file: name and title first, axes and verdicts in the entry's (the
    taxonomy's) order, scope (not an entry field) last."""
    fields = list(Entry.model_fields)
    head, _, rest = path.partition(".")
    group = getattr(entry, head, None)
    keys = list(group) if isinstance(group, dict) else []
    return (
        fields.index(head) if head in fields else len(fields),
        keys.index(rest) if rest in keys else len(keys),
    )


def print_extraction(extraction: Extraction) -> None:
    """One extracted entry: a head line, then every field with its value, confidence, flags and quotes."""
    e = extraction.entry
    who = extraction.backend + (f" {extraction.model}" if extraction.model else "")
    flags = ", ".join(extraction.flags) or "none"
    console.print(f"[bold]{escape(e.name)}[/] ({escape(extraction.paper)}) — {escape(e.title or '')}")
    console.print(
        f"  backend {escape(who)} · prompt {extraction.prompt_hash} · confidence {extraction.confidence:.2f}"
        f" · flags: {escape(flags)} · {extraction.usage.calls} calls, "
        f"{extraction.usage.prompt_tokens + extraction.usage.completion_tokens} tokens, "
        f"${extraction.usage.cost_usd:.4f}" + (" (cached)" if extraction.usage.cached else "")
    )
    for path, ev in sorted(e.evidence.items(), key=lambda item: _reading_order(e, item[0])):
        mark = f" [{', '.join(ev.flags)}]" if ev.flags else ""
        console.print(f"  {path}: {escape(_value(extraction, path))}  ({ev.confidence:.2f}){escape(mark)}")
        for q in ev.quotes:
            where = f"p. {q.page}" + (f", cited p. {q.cited_page}" if q.cited_page else "") + f", {q.match}"
            text = q.text if len(q.text) <= QUOTE_CHARS else q.text[:QUOTE_CHARS] + "…"
            console.print(f"      “{escape(text)}” ({where})")


def _json(result: AddResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"ref": ref, "ok": False, "error": str(exc)} for ref, exc in result.bad_refs]
    out += [{"ref": ref, "paper": paper, "ok": True, "not_extracted": why} for ref, paper, why in result.held]
    known = dict(result.known)
    for o in result.outcomes:
        out.append(
            {
                "ref": o.candidate.local_pdf or o.candidate.key,
                "paper": o.candidate.key,
                "ok": o.ok,
                "error": str(o.error) if o.error else None,
                "stage": o.error.stage if o.error else None,
                "extraction": o.extraction.model_dump(mode="json") if o.extraction else None,
                "not_proposed": known.get(o.extraction.paper) if o.extraction else None,
            }
        )
    return out


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""

    @cli.command("add", short_help="Extract arXiv ids, URLs or PDFs into the queue.")
    @click.argument("refs", nargs=-1, required=True)
    @click.option("--backend", type=click.Choice(BACKENDS), default=None, help=BACKEND_HELP)
    @click.option("--model", metavar="NAME", help=MODEL_HELP)
    @click.option("--concurrency", type=click.IntRange(min=1), metavar="N", help=CONCURRENCY_HELP)
    @click.option("--json", "as_json", is_flag=True, help="Print the results as JSON for scripts.")
    @click.pass_obj
    def add_command(
        root: CatalogRoot,
        refs: tuple[str, ...],
        backend: str | None,
        model: str | None,
        concurrency: int | None,
        as_json: bool,
    ) -> None:
        """Run arXiv ids, arXiv URLs or local PDF paths through download, read, extract, verify and score,
        and print each extracted entry with its evidence (quote and page) and flags.

        A REF that fails is reported on one line and the others go on. Exit code: 0 when at least one REF went
        through; when none did, the first failure's code (1 a paper failed, 2 bad usage, 3 a service was
        unreachable). Creates the root if missing; proposals go to review_queue/. A paper already waiting
        in the queue, or excluded, is not extracted again (no LLM call); one that adds nothing to its catalog
        entry is not proposed; each says why."""
        options = PipelineOptions(backend=backend, model=model, concurrency=concurrency)
        with progress("extracting") as steps:
            steps.total(len(refs))

            def done(outcome: PaperOutcome) -> None:
                steps.advance(outcome.candidate.key)

            result = add(root, list(refs), options, on_done=done)
        for ref, exc in result.failures:
            err_console.print(
                f"[bold red]error:[/] {escape(_one_line(ref, exc))}", markup=True, highlight=False
            )
        if as_json:
            print_json(_json(result))
        else:
            for outcome in result.ok:
                assert outcome.extraction is not None
                print_extraction(outcome.extraction)
            spent = result.usage
            console.print(
                f"{len(result.ok)} of {len(refs)} REFs extracted · {spent.calls} LLM calls · "
                f"{spent.prompt_tokens + spent.completion_tokens} tokens · ${spent.cost_usd:.4f}"
                f"{spent.cross_check_note()}"
            )
        for proposal in result.proposals:
            err_console.print(
                f"proposed {proposal.id} ({proposal.kind}): see `ingest review show {proposal.id}`"
            )
        for _, paper, why in result.held:
            err_console.print(f"not extracted {paper}: {why}", markup=False, highlight=False)
        for paper, why in result.known:
            err_console.print(f"not proposed {paper}: {why}", markup=False, highlight=False)
        click.get_current_context().exit(result.exit_code)


def _one_line(ref: str, exc: IngestError) -> str:
    """The error named by its REF once: most messages already start with (or quote) it."""
    text = str(exc)
    return text if ref in text else f"{ref}: {text}"
