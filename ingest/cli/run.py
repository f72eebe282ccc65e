"""CLI commands: `run` (the weekly job) and `backfill` (extraction for entries with unknown fields)."""

from __future__ import annotations

from datetime import datetime

import click

from ingest.catalog.store import CatalogRoot
from ingest.cli.github import publish_run
from ingest.cli.ui import (
    BACKEND_HELP,
    CONCURRENCY_HELP,
    DATE,
    DATE_HELP,
    MODEL_HELP,
    console,
    err_console,
    interactive,
    print_json,
    progress,
    window,
)
from ingest.extract.backend import BACKENDS
from ingest.jobs.pipeline import PipelineOptions
from ingest.jobs.report import RunReport
from ingest.jobs.run import run
from ingest.taxonomy import Taxonomy


def _progress(stage: str, item: str) -> None:
    # One plain line per paper: in CI and pipes that is the log; on a terminal it shows the run is alive.
    if not interactive():  # no style to show: a plain line, without importing rich
        err_console.print(f"{stage}: {item}", markup=False, highlight=False)
        return
    from rich.markup import escape

    err_console.print(f"[dim]{escape(stage)}:[/] {escape(item)}", markup=True, highlight=False)


def exit_code(report: RunReport) -> int:
    """1 when papers failed and none got through; a run with some failures still did its job."""
    return 1 if report.failed and not report.extracted and not report.proposed else 0


# What a backfill does of the run's stages: it discovers and screens nothing.
BACKFILL_COUNTS = ("downloaded", "extracted", "proposed", "flagged", "failed")


def _print_report(report: RunReport, as_json: bool, only: tuple[str, ...] | None = None) -> None:
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False)
    if as_json:
        print_json(report.to_json_data())
        return
    title = (report.run_id if only else f"run {report.run_id}") + (" (resumed)" if report.resumed else "")
    counts = {name: n for name, n in report.counts().items() if only is None or name in only}
    if interactive():
        from rich.table import Table

        table = Table(title=title)
        table.add_column("stage")
        table.add_column("papers", justify="right")
        for name, count in counts.items():
            table.add_row(name, str(count))
        console.print(table)
    else:
        console.print(f"{title}: " + ", ".join(f"{name} {n}" for name, n in counts.items()), markup=False)
    for item in sorted(report.proposed, key=lambda p: (p.confidence, p.id)):
        flags = f" [{', '.join(item.flags)}]" if item.flags else ""
        console.print(f"proposed {item.id} ({item.kind}, {item.confidence:.2f}){flags}", markup=False)
    for name, why in report.still_unknown.items():
        reasons = ", ".join(f"{reason} {n}" for reason, n in why.items())
        console.print(f"still unknown {name}: {sum(why.values())} ({reasons})", markup=False)
    for failure in report.failed:
        from rich.markup import escape

        console.print(
            f"[red]failed[/] {escape(failure.paper)} ({escape(failure.stage)}): {escape(failure.reason)}",
            markup=True,
        )
    u = report.usage
    console.print(
        f"LLM: {u.calls} calls, {u.prompt_tokens}+{u.completion_tokens} tokens, ${u.cost_usd:.4f}"
        f"{u.cross_check_note()}; "
        + ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items()),
        markup=False,
    )
    console.print(f"report: runs/{report.run_id}.json, runs/{report.run_id}.md", markup=False)
    if report.proposed:
        console.print("next: `ingest review list`", markup=False)


@click.command("run", short_help="The weekly job: discover, extract, propose.")
@click.option(
    "--since",
    type=DATE,
    metavar="DATE",
    default=None,
    help=f"Start of the window ({DATE_HELP}). Default: the last watermark less arxiv.overlap_days, else "
    "arxiv.lookback_days ago.",
)
@click.option(
    "--until", type=DATE, metavar="DATE", default=None, help=f"End of the window ({DATE_HELP}). Default: now."
)
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help=BACKEND_HELP)
@click.option("--model", metavar="NAME", default=None, help=MODEL_HELP)
@click.option("--concurrency", type=click.IntRange(1), metavar="N", default=None, help=CONCURRENCY_HELP)
@click.option(
    "--max",
    "max_results",
    type=click.IntRange(1),
    metavar="N",
    default=None,
    help="Most candidates this run; the watermark then stops at the first paper left out. Default: "
    "arxiv.max_results in ingest.yaml.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON for scripts.")
@click.pass_context
def run_cmd(
    ctx: click.Context,
    since: datetime | None,
    until: datetime | None,
    backend: str | None,
    model: str | None,
    concurrency: int | None,
    max_results: int | None,
    as_json: bool,
) -> None:
    """The weekly job: discover, screen, download, read, extract, verify, score and propose new papers.

    Proposals go to review_queue/, the report to runs/. A killed run resumes where it stopped. Creates the
    root if missing.

    Exit codes: 0 done (papers that failed are listed and retried by the next run); 1 every paper failed;
    2 bad usage or configuration, or another run holds the lock; 3 arXiv or the LLM endpoint could not be
    reached (nothing changed)."""
    since, until = window(since, until)
    root: CatalogRoot = ctx.obj
    with root.created_for_command(), progress("ingest run") as steps:

        def show(stage: str, item: str) -> None:
            if interactive():
                steps.advance(f"{stage}: {item}")  # a rich bar on a terminal
            elif not as_json:
                _progress(stage, item)  # plain lines in CI and pipes

        report = run(
            root,
            PipelineOptions(backend=backend, model=model, concurrency=concurrency),
            since=since,
            until=until,
            max_results=max_results,
            progress=show,
        )
    _print_report(report, as_json)
    publish_run(report, as_json=as_json)
    ctx.exit(exit_code(report))


def _known_fields(taxonomy: Taxonomy) -> list[str]:
    """What --field accepts: the groups and each axis and criterion, as backfill names them."""
    return (
        ["axes", "verdicts"]
        + [f"axes.{a.id}" for a in taxonomy.axes]
        + [f"verdicts.{c.id}" for c in taxonomy.criteria]
    )


@click.command("backfill", short_help="Propose values for entries' unknown fields.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="FIELD",
    help="Only this field (axes, verdicts, or one of them, e.g. axes.teacher_source); repeatable. "
    "Default: every unknown field.",
)
@click.option("--limit", type=click.IntRange(1), metavar="N", default=None, help="Most entries this time.")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help=BACKEND_HELP)
@click.option("--model", metavar="NAME", default=None, help=MODEL_HELP)
@click.option("--concurrency", type=click.IntRange(1), metavar="N", default=None, help=CONCURRENCY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON for scripts.")
@click.pass_context
def backfill_cmd(
    ctx: click.Context,
    fields: tuple[str, ...],
    limit: int | None,
    backend: str | None,
    model: str | None,
    concurrency: int | None,
    as_json: bool,
) -> None:
    """Extract existing entries whose fields are unknown and propose `update`s through the review queue.

    Only entries with an arXiv id and no update already queued are taken.

    Exit codes: 0 done (papers that failed are listed); 1 every paper failed; 2 bad usage or configuration, or
    another run holds the lock; 3 arXiv or the LLM endpoint could not be reached (nothing changed)."""
    from ingest.jobs.backfill import backfill  # here: `ingest run` does not need it

    root: CatalogRoot = ctx.obj
    root.require()
    known = _known_fields(root.taxonomy)
    for name in fields:
        if name not in known:
            raise click.BadParameter(
                f"{name!r} is no field backfill fills; use one of {', '.join(known)}", param_hint="'--field'"
            )
    report = backfill(
        root,
        PipelineOptions(backend=backend, model=model, concurrency=concurrency),
        fields=list(fields) or None,
        limit=limit,
        progress=None if as_json else _progress,
    )
    _print_report(report, as_json, only=BACKFILL_COUNTS)
    ctx.exit(exit_code(report))


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    cli.add_command(run_cmd)
    cli.add_command(backfill_cmd)
