"""`ingest github …`: what the GitHub workflows call (the pull-request body, review comments), and the run's
health in the job summary, the step outputs and warning annotations. The GITHUB_* environment is read here
only, never in the library.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

import click

from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import console, err_console
from ingest.jobs.health import nothing_new_sentence
from ingest.jobs.report import RunReport

# check, the pull-request body and the comment commands are imported by the commands that use them:
# `ingest run` imports this module for publish_run alone.


def _escape_annotation(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _append(variable: str, text: str) -> None:
    """Append to a file GitHub names in the environment (shared by every step: never overwrite)."""
    target = os.environ.get(variable)
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(text)


def publish_run(report: RunReport, *, as_json: bool = False) -> None:
    """After `ingest run`: the health warnings loud, the report in the job summary, outputs for the workflow,
    and the one sentence of a run with nothing new (stdout holds only the JSON under --json)."""
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    for warning in report.health:
        if in_actions:  # the runner reads workflow commands from both streams
            out = sys.stderr if as_json else sys.stdout
            out.write(f"::warning title=ingest run::{_escape_annotation(warning)}\n")
            out.flush()
        err_console.print(f"warning: {warning}", markup=False, highlight=False)
    if report.capped:
        err_console.print(f"note: {report.capped}", markup=False, highlight=False)
    why = ""
    if not report.proposed:
        why = (
            nothing_new_sentence(report)
            if not report.committed
            else f"Nothing to review: {len(report.failed)} paper(s) failed and are retried by the next run."
        )
        if not as_json:
            console.print(why, markup=False)
    _append("GITHUB_STEP_SUMMARY", report.to_markdown() + (f"\n**{why}**\n" if why else "") + "\n")
    _append(
        "GITHUB_OUTPUT",
        f"proposed={len(report.proposed)}\ncommitted={'true' if report.committed else 'false'}\n"
        f"report=runs/{report.run_id}.md\n",
    )


@click.group("github", short_help="What the GitHub workflows call.")
def github_group() -> None:
    """Commands for the workflows in .github/workflows: the weekly pull request's body and the review
    commands of its comments."""


@github_group.command("pr-body", short_help="Write the weekly pull request's body.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A run's runs/ID.json. Default: the newest in runs/.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Default: stdout.")
@click.pass_context
def pr_body_cmd(ctx: click.Context, report_path: Path | None, out: Path | None) -> None:
    """The run report, every queued proposal (fields, confidence, flags, quotes linked to their PDF page),
    the `ingest check` results, and how to decide with comment commands.

    Exit codes: 0 written; 2 not a root."""
    from ingest.check.format import step_summary
    from ingest.check.run import check_root
    from ingest.review.prbody import pull_request_body

    root: CatalogRoot = ctx.obj.require()
    if report_path is None:
        reports = [p for p in root.runs_dir.glob("*.json") if p.name.count(".") == 1]
        report_path = max(reports, key=lambda p: p.stem) if reports else None
    report = ""
    if report_path is not None:
        report = RunReport.model_validate(json.loads(report_path.read_text(encoding="utf-8"))).to_markdown()
    body = pull_request_body(root, report, step_summary(check_root(root)))
    if out is None:
        sys.stdout.write(body)
    else:
        out.write_text(body, encoding="utf-8")


@github_group.command("comment", short_help="Run the /ingest commands of a pull-request comment.")
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    required=True,
    help="The comment's text ('-' for stdin); it is data, never run.",
)
@click.option("--author", required=True, metavar="LOGIN", help="The commenter's GitHub login.")
@click.option(
    "--association",
    required=True,
    metavar="ASSOCIATION",
    help="The commenter's author_association; only OWNER, MEMBER and COLLABORATOR are obeyed.",
)
@click.option(
    "--reply-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the answer here too.",
)
@click.pass_context
def comment_cmd(
    ctx: click.Context, body_file: TextIO, author: str, association: str, reply_file: Path | None
) -> None:
    """Approve or reject queued proposals as `ingest review` does, with the commenter as the reviewer.

    Prints the answer to post (nothing for a commenter without write access) and sets the step output
    acted=true|false.

    Exit codes: 0 handled (what could not be done is in the answer); 2 not a root."""
    from ingest.review.commands import handle_comment

    root: CatalogRoot = ctx.obj.require()
    outcome = handle_comment(root, body_file.read(), author=author, association=association)
    if reply_file is not None:
        reply_file.write_text(outcome.reply, encoding="utf-8")
    sys.stdout.write(outcome.reply)
    _append("GITHUB_OUTPUT", f"acted={'true' if outcome.acted else 'false'}\n")


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    cli.add_command(github_group)
