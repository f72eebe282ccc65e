"""The `ingest` command line: a thin layer that parses arguments, calls one library function and prints.

Errors become user messages only here: an IngestError prints one line and exits with its code
(0 success, 1 check found errors, 2 bad usage or configuration, 3 a required service was unreachable).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from ingest.catalog.store import CatalogRoot
from ingest.cli import add, catalog, evaluate, fetch, github, review, run
from ingest.cli.ui import err_console
from ingest.errors import IngestError


class IngestGroup(click.Group):
    """Turns IngestError into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IngestError as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True
            )
            ctx.exit(exc.exit_code)
        except OSError as exc:
            # A path the user gave or the disk refused (a folder where a file belongs, permissions, a full
            # disk): one line that names the file, not a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            err_console.print(
                f"[bold red]error:[/] {escape(where + (exc.strerror or str(exc)))} (check the path and its "
                "permissions, then run again)",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
            ctx.exit(2)


@click.group(
    cls=IngestGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 success; 1 check found errors, or every paper failed; 2 bad usage or "
    "configuration; 3 arXiv or the LLM endpoint could not be reached. `ingest COMMAND --help` and "
    "docs/CLI.md have the details.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    envvar="INGEST_ROOT",
    show_default=True,
    metavar="DIR",
    help="The catalog root (taxonomy.yaml, entries/, review_queue/ ...); INGEST_ROOT sets it too.",
)
@click.version_option(package_name="ingest")
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Keep a curated research catalog current: find papers on arXiv, extract them with evidence,
    and merge only what a reviewer approves."""
    # Libraries log their retries ("API call failed on attempt 1"); ingest reports the outcome itself.
    for name in ("instructor", "httpx", "openai"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ctx.obj = CatalogRoot(root)


for module in (catalog, fetch, add, run, review, evaluate, github):
    module.register(cli)


def main() -> None:
    cli(prog_name="ingest")


if __name__ == "__main__":  # pragma: no cover
    main()
