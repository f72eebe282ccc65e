"""CLI commands: `review list`, `review show`, `review approve`, `review reject`, `review edit`."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .. import review as review_lib
from ..diff import Row, proposal_rows, summary
from ..errors import CatalogError
from ..queue import describe, load_proposal, scan_queue
from ..store import CatalogRoot, InvalidFile
from ..yamlio import dumps_yaml
from .ui import console, err_console, print_json

BAD_FLAGS = {"ungrounded", "injection-suspect", "disagreement"}


def _root(ctx: click.Context) -> CatalogRoot:
    root: CatalogRoot = ctx.obj
    return root.require()


def _problems_exit(root: CatalogRoot, exc: CatalogError) -> None:
    """Every problem of an invalid proposal, one `file:line: message` line each, then exit 1."""
    problems = exc.problems if isinstance(exc, InvalidFile) else [exc]
    for line in describe(problems, root):
        err_console.print(f"[bold red]error:[/] {line}", markup=True, highlight=False)
    if exc.hint:
        err_console.print(f"  ({exc.hint})", highlight=False)
    sys.exit(exc.exit_code)


@click.group("review")
def review() -> None:
    """Work the review queue: nothing merges into the catalog without a reviewer's approval."""


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """The pending proposals, weakest first (lowest confidence, then most flags); broken files: file:line."""
    root = _root(ctx)
    review_lib.try_recover(root)
    queue = scan_queue(root)
    items = [summary(p) for p in queue.weakest_first()]
    problems = describe(queue.problems, root)
    if as_json:
        print_json({"proposals": items, "problems": problems})
        return
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
    for line in problems:
        console.print(Text(f"invalid: {line}", style="bold red"))


def _value(value: Any) -> str:
    if isinstance(value, list | dict):
        return dumps_yaml(value).strip().replace("\n", "\n    ")
    return str(value)


def _print_row(row: Row) -> None:
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
            console.print(Text(f'      p.{quote.page} "{quote.text}" ({quote.match})', style="cyan"))
        if row.evidence.note:
            console.print(Text(f"      note: {row.evidence.note}", style="dim"))


@review.command("show")
@click.argument("proposal_id")
@click.pass_context
def show_cmd(ctx: click.Context, proposal_id: str) -> None:
    """A proposal as a colour diff against the catalog, with each field's evidence (quote, page) and flags."""
    root = _root(ctx)
    path = root.proposal_path(proposal_id)
    if not path.exists():
        root.read_proposal(proposal_id)  # raises the usual "no proposal" error
    try:
        proposal = load_proposal(path, root.taxonomy)
    except CatalogError as exc:
        _problems_exit(root, exc)
        return
    head = Text(f"{proposal.id}  ", style="bold")
    head.append(f"{proposal.kind}", style="magenta")
    head.append(f"  {proposal.title}")
    console.print(head)
    prov = proposal.provenance
    meta = (f"arXiv {proposal.arxiv_id}v{proposal.version}  " if proposal.arxiv_id else "") + (
        f"confidence {proposal.confidence:.2f}  run {prov.run_id}  {prov.backend}/{prov.model}  "
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


@review.command("approve")
@click.argument("proposal_ids", nargs=-1, required=True)
@click.option("--reviewer", default=None, help="Who approves (default: your user name).")
@click.pass_context
def approve_cmd(ctx: click.Context, proposal_ids: tuple[str, ...], reviewer: str | None) -> None:
    """Merge proposals atomically: entry written, proposal removed, decision recorded, catalog rendered."""
    root = _root(ctx)
    decisions = _act(root, review_lib.approve, list(proposal_ids), reviewer=reviewer or getpass.getuser())
    for decision in decisions:
        target = f"entry {decision.entry_id}" if decision.entry_id else "exclusions"
        console.print(f"approved {decision.id} -> {target}")


@review.command("reject")
@click.argument("proposal_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why; recorded in decisions/.")
@click.option("--reviewer", default=None, help="Who rejects (default: your user name).")
@click.pass_context
def reject_cmd(ctx: click.Context, proposal_ids: tuple[str, ...], reason: str, reviewer: str | None) -> None:
    """Reject proposals; the paper is not proposed again unless arXiv has a newer version."""
    root = _root(ctx)
    decisions = _act(
        root, review_lib.reject, list(proposal_ids), reason=reason, reviewer=reviewer or getpass.getuser()
    )
    for decision in decisions:
        console.print(f"rejected {decision.id}: {decision.reason}")


def _run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    click.edit(filename=str(path), editor=editor)


@review.command("edit")
@click.argument("proposal_id")
@click.pass_context
def edit_cmd(ctx: click.Context, proposal_id: str) -> None:
    """Open a copy in $VISUAL/$EDITOR; the edit replaces the proposal only if it validates."""
    root = _root(ctx)
    proposal = _act(root, review_lib.edit, proposal_id, _run_editor)
    if proposal is None:
        console.print(f"{proposal_id}: no change")
    else:
        console.print(f"{proposal_id}: edit accepted")


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    cli.add_command(review)
