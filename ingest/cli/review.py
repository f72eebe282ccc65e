"""CLI commands: `review list`, `show`, `approve`, `reject`, `edit` (and `serve`, in cli/serve.py)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ingest.catalog.queue import describe, load_proposal, scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import console, err_console, interactive, print_json
from ingest.errors import CatalogError, InvalidFile, UsageError
from ingest.review.diff import Row, proposal_rows, summary
from ingest.yamlio import dumps_yaml

if TYPE_CHECKING:
    from ingest.models import FieldEvidence, Quote

# rich and review/decide.py (the models, the index) are imported by the commands that use them: `review list`
# on an empty queue needs neither.

BAD_FLAGS = {"ungrounded", "injection-suspect", "disagreement"}


def _root(ctx: click.Context) -> CatalogRoot:
    root: CatalogRoot = ctx.obj
    return root.require()


def _problems_exit(root: CatalogRoot, exc: CatalogError) -> None:
    """Every problem of an invalid proposal, one `file:line: message` line each, then exit 1."""
    from rich.markup import escape

    problems = exc.problems if isinstance(exc, InvalidFile) else [exc]
    for line in describe(problems, root):
        err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, highlight=False)
    hint = exc.hint
    if hint is None and Path(exc.file).parent.name == root.queue_dir.name:
        hint = f"repair it with `ingest review edit {Path(exc.file).stem}`, then run again"
    if hint:
        err_console.print(f"  ({hint})", markup=False, highlight=False)
    sys.exit(exc.exit_code)


@click.group("review", short_help="Work the review queue: list, show, decide.")
def review() -> None:
    """Work the review queue: nothing merges into the catalog without a reviewer's approval."""


@review.command("list", short_help="The pending proposals, weakest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """The pending proposals, weakest first (lowest confidence, then most flags); broken files: file:line.

    Exit codes: 0 listed (broken proposal files are listed, not fatal); 2 not a catalog root."""
    root = _root(ctx)
    if root.review_journals():  # a decision a crash left half-done (the check of decide.try_recover, first)
        from ingest.review.decide import try_recover

        try_recover(root)
    queue = scan_queue(root)
    items = [summary(p) for p in queue.weakest_first()]
    problems = describe(queue.problems, root)
    if as_json:
        print_json({"proposals": items, "problems": problems})
        return
    if not items:
        console.print("review queue: empty", markup=False)
    elif not interactive():
        # Plain tab-separated lines for pipes and CI logs (rich would expand the tabs).
        click.echo(f"review queue: {len(items)} proposal(s)")
        for item in items:
            flags = ",".join(item["flags"]) or "-"
            click.echo(f"{item['id']}\t{item['kind']}\t{item['confidence']:.2f}\t{flags}\t{item['title']}")
    else:
        _print_table(items)
    for line in problems:
        console.print(f"invalid: {line}", style="bold red", markup=False)
    if problems:
        console.print("repair with `ingest review edit ID`, or see `ingest check`", markup=False)


def _print_table(items: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"review queue: {len(items)} proposal(s)", show_lines=False)
    for header in ("id", "kind", "conf.", "flags", "title"):
        table.add_column(header, overflow="fold")
    for item in items:
        conf = item["confidence"]
        flags = Text(", ".join(item["flags"]), style="bold yellow" if item["flags"] else "")
        table.add_row(
            item["id"],
            item["kind"],
            Text(f"{conf:.2f}", style="red" if conf < 0.6 else "green"),
            flags,
            item["title"],
        )
    console.print(table)


def _value(value: Any) -> str:
    """A value as the YAML file spells it (true, not True), so the diff reads like the file."""
    if isinstance(value, list | dict):
        return dumps_yaml(value).strip().replace("\n", "\n    ")
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def _print_row(row: Row) -> None:
    from rich.text import Text

    label = Text(f"{row.field}", style="bold")
    if row.flags:
        label.append(
            "  [" + ", ".join(map(str, row.flags)) + "]",
            style="bold red" if BAD_FLAGS & set(map(str, row.flags)) else "bold yellow",
        )
    if row.evidence is not None:
        label.append(
            f"  confidence {row.evidence.confidence:.2f}",
            style="red" if row.evidence.confidence < 0.6 else "dim",
        )
    console.print(label)
    if row.status in ("changed", "removed"):
        console.print(Text(f"  - {_value(row.old)}", style="red"))
    if row.status == "same":
        console.print(Text(f"    {_value(row.new)}", style="dim"))
    elif row.new is not None:
        console.print(Text(f"  + {_value(row.new)}", style="green"))
    if row.evidence is not None:
        for quote in row.evidence.quotes:
            status = _quote_status(quote, row.evidence)
            console.print(Text(f'      p.{quote.page} "{quote.text}" ({status})', style="cyan"))
        if row.evidence.note:
            console.print(Text(f"      note: {row.evidence.note}", style="dim"))


def _quote_status(quote: Quote, evidence: FieldEvidence) -> str:
    """Where the quote was found, and whether the field's quotes back its value ("exact · does not say x")."""
    if evidence.support is None:
        return str(quote.match)
    return f"{quote.match} · {evidence.support_note or evidence.support}"


def _row_json(row: Row) -> dict[str, Any]:
    evidence = row.evidence
    return {
        "field": row.field,
        "status": row.status,
        "old": row.old,
        "new": row.new,
        "flags": [str(f) for f in row.flags],
        "confidence": evidence.confidence if evidence else None,
        "quotes": [q.model_dump(mode="json") for q in evidence.quotes] if evidence else [],
        "support": evidence.support if evidence else None,
        "support_note": evidence.support_note if evidence else None,
    }


@review.command("show", short_help="A proposal as a diff, with its evidence.")
@click.argument("proposal_id")
@click.option("--json", "as_json", is_flag=True, help="Print the proposal and its diff rows as JSON.")
@click.pass_context
def show_cmd(ctx: click.Context, proposal_id: str, as_json: bool) -> None:
    """A proposal as a colour diff against the catalog, with each field's evidence (quote, page) and flags.

    Exit codes: 0 shown; 1 the proposal file is invalid (FILE:LINE: message); 2 no such proposal."""
    root = _root(ctx)
    path = root.proposal_path(proposal_id)
    if not path.exists():
        root.read_proposal(proposal_id)  # raises the usual "no proposal" error
    try:
        proposal = load_proposal(path, root.taxonomy)
    except CatalogError as exc:
        _problems_exit(root, exc)
        return
    if as_json:
        rows = [_row_json(row) for row in proposal_rows(root, proposal)]
        print_json({"proposal": proposal.model_dump(mode="json"), "rows": rows})
        return
    from rich.text import Text

    head = Text(f"{proposal.id}  ", style="bold")
    head.append(f"{proposal.kind}", style="magenta")
    head.append(f"  {proposal.title}")
    console.print(head)
    prov = proposal.provenance
    meta = (f"arXiv {proposal.arxiv_id}v{proposal.version}  " if proposal.arxiv_id else "") + (
        f"confidence {proposal.confidence:.2f}  run {prov.run_id}  {prov.backend}/{prov.model or '-'}  "
        f"tokens {prov.prompt_tokens}+{prov.completion_tokens}  ${prov.cost_usd:.4f}"
    )
    console.print(Text(meta, style="dim"))
    if proposal.target:
        console.print(Text(f"updates entry {proposal.target}", style="magenta"))
    if proposal.resubmission_of:
        console.print(Text(f"new version of rejected {proposal.resubmission_of}", style="bold yellow"))
    if proposal.flags:
        console.print(Text("flags: " + ", ".join(map(str, proposal.flags)), style="bold yellow"))
    if proposal.scope is not None:
        console.print(Text(f"scope: {proposal.scope.verdict} - {proposal.scope.reason}", style="dim"))
    console.print()
    for row in proposal_rows(root, proposal):
        _print_row(row)


def _act(root: CatalogRoot, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(root, *args, **kwargs)
    except CatalogError as exc:
        _problems_exit(root, exc)


@review.command("approve", short_help="Merge proposals into the catalog.")
@click.argument("proposal_ids", nargs=-1, required=True)
@click.option("--reviewer", default=None, help="Who approves (default: your user name).")
@click.pass_context
def approve_cmd(ctx: click.Context, proposal_ids: tuple[str, ...], reviewer: str | None) -> None:
    """Merge proposals atomically: entry written, proposal removed, decision recorded, catalog rendered.

    Exit codes: 0 merged; 1 a proposal is invalid (nothing merged); 2 no such proposal."""
    from ingest.review.decide import approve

    root = _root(ctx)
    decisions = _act(root, approve, list(proposal_ids), reviewer=reviewer or getpass.getuser())
    for decision in decisions:
        target = f"entry {decision.entry_id}" if decision.entry_id else "exclusions"
        console.print(f"approved {decision.id} -> {target}", markup=False)


@review.command("reject", short_help="Reject proposals, with a reason.")
@click.argument("proposal_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why; recorded in decisions/.")
@click.option("--reviewer", default=None, help="Who rejects (default: your user name).")
@click.pass_context
def reject_cmd(ctx: click.Context, proposal_ids: tuple[str, ...], reason: str, reviewer: str | None) -> None:
    """Reject proposals; the paper is not proposed again unless arXiv has a newer version.

    The reason and reviewer are recorded in decisions/. A broken proposal (bad YAML, a value outside the
    taxonomy) can be rejected too: its decision keeps what can be read of it (id, arXiv id). Exit codes:
    0 rejected; 2 no such proposal, or an empty reason."""
    from ingest.review.decide import reject

    root = _root(ctx)
    decisions = _act(
        root, reject, list(proposal_ids), reason=reason, reviewer=reviewer or getpass.getuser()
    )
    for decision in decisions:
        console.print(f"rejected {decision.id}: {decision.reason}", markup=False)


def _editor() -> str | None:
    """$VISUAL or $EDITOR; without either, click's default (vi, nano...) needs a terminal to work in."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "no editor: set EDITOR (or VISUAL) to an editor command",
            hint="e.g. EDITOR=nano, or run in a terminal",
        )
    return editor


def _run_editor(path: Path, editor: str | None) -> None:
    try:
        click.edit(filename=str(path), editor=editor)
    except click.ClickException as exc:  # the editor is missing or exited non-zero
        raise UsageError(
            f"editing {path.stem} failed: {exc.format_message()}",
            hint="check EDITOR/VISUAL; the proposal is unchanged",
        ) from exc


@review.command("edit", short_help="Edit a proposal in $EDITOR; kept only if valid.")
@click.argument("proposal_id")
@click.pass_context
def edit_cmd(ctx: click.Context, proposal_id: str) -> None:
    """Open a copy in $VISUAL/$EDITOR; the edit replaces the proposal only if it validates.

    An invalid edit is refused with FILE:LINE and kept in .ingest-journal/edits/ for another try; the queue
    is unchanged. Exit codes:
    0 accepted or no change; 1 the edit is invalid; 2 no such proposal, or no working editor."""
    from ingest.review.decide import edit, edit_copy_path

    root = _root(ctx)
    editor = _editor()
    kept = edit_copy_path(root, proposal_id)
    if kept.is_file():
        err_console.print(f"{proposal_id}: reopening your kept edit {kept}", markup=False, highlight=False)
    proposal = _act(root, edit, proposal_id, lambda path: _run_editor(path, editor))
    if proposal is None:
        console.print(f"{proposal_id}: no change", markup=False)
    else:
        console.print(f"{proposal_id}: edit accepted", markup=False)


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    from ingest.cli.serve import serve_cmd

    review.add_command(serve_cmd)
    cli.add_command(review)
