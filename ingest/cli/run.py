"""CLI commands: `run` (the weekly job) and `backfill` (extraction for entries with unknown fields)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.table import Table

from ..backfill import backfill
from ..report import RunReport
from ..run import run
from ..store import CatalogRoot
from .ui import console, err_console, interactive, print_json, progress

DATE = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"])
BACKEND = click.Choice(["auto", "openai", "heuristic"])


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _progress(stage: str, item: str) -> None:
    # One plain line per paper: in CI and pipes that is the log; on a terminal it shows the run is alive.
    err_console.print(f"[dim]{stage}:[/] {item}", markup=True, highlight=False)


def _print_report(report: RunReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_json_data())
        return
    table = Table(title=f"run {report.run_id}" + (" (resumed)" if report.resumed else ""))
    table.add_column("stage")
    table.add_column("papers", justify="right")
    for name, count in report.counts().items():
        table.add_row(name, str(count))
    console.print(table)
    for item in sorted(report.proposed, key=lambda p: (p.confidence, p.id)):
        flags = f" [{', '.join(item.flags)}]" if item.flags else ""
        console.print(f"proposed {item.id} ({item.kind}, {item.confidence:.2f}){flags}")
    for failure in report.failed:
        console.print(f"[red]failed[/] {failure.paper} ({failure.stage}): {failure.reason}", markup=True)
    u = report.usage
    console.print(
        f"LLM: {u.calls} calls, {u.prompt_tokens}+{u.completion_tokens} tokens, ${u.cost_usd:.4f}; "
        + ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items())
    )
    console.print(f"report: runs/{report.run_id}.json, runs/{report.run_id}.md")


@click.command("run")
@click.option(
    "--since", type=DATE, default=None, help="Start of the window (default: the last run's watermark)."
)
@click.option("--until", type=DATE, default=None, help="End of the window (default: now).")
@click.option("--backend", type=BACKEND, default=None, help="Extractor (default: the config's, auto).")
@click.option("--model", default=None, help="LLM model name (default: the config's or INGEST_MODEL).")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Papers processed at once.")
@click.option("--max", "max_results", type=click.IntRange(1), default=None, help="Most candidates this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
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
    """The weekly job: discover, screen, download, read, extract, verify, score and propose new papers."""
    root: CatalogRoot = ctx.obj
    root.create()
    with progress("ingest run") as steps:

        def show(stage: str, item: str) -> None:
            if interactive():
                steps.advance(f"{stage}: {item}")  # a rich bar on a terminal
            elif not as_json:
                _progress(stage, item)  # plain lines in CI and pipes

        report = run(
            root,
            since=_utc(since),
            until=_utc(until),
            backend=backend,
            model=model,
            concurrency=concurrency,
            max_results=max_results,
            progress=show,
        )
    _print_report(report, as_json)


@click.command("backfill")
@click.option(
    "--field",
    "fields",
    multiple=True,
    help="Only this field (e.g. axes or axes.teacher_source); repeatable. Default: every unknown.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Most entries this time.")
@click.option("--backend", type=BACKEND, default=None, help="Extractor (default: the config's, auto).")
@click.option("--model", default=None, help="LLM model name.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Papers processed at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
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
    """Extract existing entries whose fields are unknown and propose `update`s through the review queue."""
    root: CatalogRoot = ctx.obj
    root.require()
    report = backfill(
        root,
        fields=list(fields) or None,
        limit=limit,
        backend=backend,
        model=model,
        concurrency=concurrency,
        progress=None if as_json else _progress,
    )
    _print_report(report, as_json)


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""
    cli.add_command(run_cmd)
    cli.add_command(backfill_cmd)
