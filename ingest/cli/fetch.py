"""CLI command `ingest fetch`: discover the window's papers on arXiv and download their PDFs (no LLM)."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape

from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import DATE, DATE_HELP, console, err_console, interactive, print_json, progress, window
from ingest.jobs.fetch import FetchReport, fetch


def _as_json(report: FetchReport) -> dict[str, object]:
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "seen": report.total_seen,
        "skipped_known": report.skipped_known,
        "downloads": report.downloads,
        "papers": [
            {
                "arxiv_id": i.candidate.arxiv_id,
                "version": i.candidate.version,
                "title": i.candidate.title,
                "status": i.candidate.status,
                "known_entry": i.candidate.known_entry,
                "outcome": i.outcome,
                "pdf": str(i.path) if i.path else None,
                "error": i.error,
                "retried": i.retried,
            }
            for i in report.items
        ],
    }


def _print(report: FetchReport) -> None:
    from rich.table import Table

    head = (
        f"{len(report.items)} papers from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC "
        f"({report.total_seen} seen, {len(report.skipped_known)} known, {report.downloads} downloaded)"
    )
    if not interactive():
        # Plain tab-separated lines for pipes and CI logs (rich would expand the tabs).
        click.echo(head)
        for i in report.items:
            click.echo(
                f"{i.candidate.versioned_id or i.candidate.key}\t{i.candidate.status}\t{i.outcome}\t"
                f"{i.candidate.title}"
            )
        return
    table = Table(title=head, title_justify="left")
    for column in ("arXiv id", "status", "PDF", "title"):
        table.add_column(column, overflow="fold")
    for i in report.items:
        table.add_row(
            i.candidate.versioned_id or i.candidate.key,
            i.candidate.status + (f" of {i.candidate.known_entry}" if i.candidate.known_entry else ""),
            i.outcome,
            i.candidate.title,
        )
    console.print(table)


def register(cli: click.Group) -> None:
    """Add this module's commands to the `ingest` group."""

    @cli.command("fetch", short_help="Discover and download new papers (no LLM).")
    @click.option(
        "--since",
        type=DATE,
        metavar="DATE",
        help=f"Start of the window ({DATE_HELP}). Default: the last successful run's watermark, else "
        "arxiv.lookback_days ago.",
    )
    @click.option(
        "--until", type=DATE, metavar="DATE", help=f"End of the window ({DATE_HELP}). Default: now."
    )
    @click.option(
        "--query",
        "queries",
        multiple=True,
        metavar="QUERY",
        help="An arXiv query (API syntax, e.g. 'abs:\"on-policy distillation\"') instead of arxiv.queries; "
        "repeatable.",
    )
    @click.option(
        "--max",
        "max_results",
        type=click.IntRange(min=1),
        metavar="N",
        help="Most papers to take. Default: arxiv.max_results in ingest.yaml.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON for scripts.")
    @click.pass_obj
    def fetch_command(
        root: CatalogRoot,
        since: datetime | None,
        until: datetime | None,
        queries: tuple[str, ...],
        max_results: int | None,
        as_json: bool,
    ) -> None:
        """Find new papers on arXiv for the catalog's queries and download their PDFs (no LLM).

        A paper that fails to download is printed on one line and recorded in state.yaml, and the next fetch
        retries it. fetch does not move the watermark (only `ingest run` does). Creates the root if
        missing.

        Exit codes: 0 done (papers that failed are listed); 1 every download failed; 2 bad usage or
        configuration; 3 arXiv could not be reached (nothing changed)."""
        since, until = window(since, until)
        with root.created_for_command(), progress("downloading") as steps:
            report = fetch(
                root,
                since=since,
                until=until,
                queries=list(queries) or None,
                max_results=max_results,
                on_total=steps.total,
                on_item=steps.advance,
            )
        for item in report.failures:
            err_console.print(
                f"[bold red]error:[/] {escape(item.error or '')}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
        if as_json:
            print_json(_as_json(report))
        else:
            _print(report)
        if report.failures and len(report.failures) == len(report.items):
            click.get_current_context().exit(1)
