"""CLI command `review serve`: the local review page, with each quote highlighted on its PDF page."""

from __future__ import annotations

import click

from ingest.catalog.store import CatalogRoot
from ingest.cli.ui import err_console


@click.command("serve", short_help="A local review page: quotes highlighted on their PDF pages.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0: any free port."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The interface to listen on; anything but 127.0.0.1 shows the queue to that network.",
)
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
@click.option("--reviewer", default=None, help="Who decides (default: your user name).")
@click.pass_context
def serve_cmd(ctx: click.Context, port: int, host: str, no_browser: bool, reviewer: str | None) -> None:
    """Serve the review queue on a local page, weakest proposal first, until Ctrl-C.

    Each proposal shows its fields as a diff against the catalog with confidence, flags and support; beside
    the field, the PDF page of its quote rendered by PDFium with the quote highlighted (a proposal without
    a downloaded PDF links to arXiv). Keys: n/p proposal, j/k field, a approve, r reject (asks a reason),
    e edit the field's value. Decisions go through the same library calls and lock as `review approve`,
    `reject` and `edit`. Exit codes: 0 stopped; 2 not a catalog root, or the port is taken."""
    from ingest.errors import UsageError
    from ingest.review.serve.server import ReviewServer

    root: CatalogRoot = ctx.obj
    try:
        server = ReviewServer(root.require(), host, port, reviewer=reviewer)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pass another --port (0: any free one)",
        ) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"warning: listening on {host}: others on that network can see the queue", markup=False
        )
    click.echo(f"review page: {server.url}  (Ctrl-C stops it)")  # flushed: a pipe reads the address at once
    server.warm()
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
