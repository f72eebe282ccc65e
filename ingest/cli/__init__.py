"""The `ingest` command line: a thin layer that parses arguments, calls one library function and prints.

Errors become user messages only here: an IngestError prints one line and exits with its code
(0 success, 1 check found errors, 2 bad usage or configuration, 3 a required service was unreachable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import IngestError
from ..store import CatalogRoot
from . import add, catalog, evaluate, fetch, review, run
from .ui import err_console


class IngestGroup(click.Group):
    """Turns IngestError into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IngestError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            ctx.exit(exc.exit_code)


@click.group(cls=IngestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    envvar="INGEST_ROOT",
    show_default=True,
    help="The catalog root (taxonomy.yaml, entries/, review_queue/ ...).",
)
@click.version_option(package_name="ingest")
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Keep a curated research catalog current: find papers on arXiv, extract them with evidence,
    and merge only what a reviewer approves."""
    ctx.obj = CatalogRoot(root)


for module in (catalog, fetch, add, run, review, evaluate):
    module.register(cli)


def main() -> None:
    cli(prog_name="ingest")


if __name__ == "__main__":  # pragma: no cover
    main()
