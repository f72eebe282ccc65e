"""The `ingest` command line: a thin layer that parses arguments, calls one library function and prints.

Errors become user messages only here: an IngestError prints one line and exits with its code
(0 success, 1 check found errors, 2 bad usage or configuration, 3 a required service was unreachable).
The environment is read here once and handed down as settings (CatalogRoot.env). Each command's module is
imported only when that command runs, so `ingest --help` imports neither pydantic nor an LLM client.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
from pathlib import Path
from typing import Any

import click

from ingest.errors import IngestError

# command -> (module under ingest.cli that registers it, its short help for `ingest --help`).
# tests/test_layers.py checks that each short help is the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("add", "Extract arXiv ids, URLs or PDFs into the queue."),
    "backfill": ("run", "Propose values for entries' unknown fields."),
    "check": ("catalog", "Validate the root; flag low-confidence fields."),
    "eval": ("evaluate", "Score the extractor against the approved catalog."),
    "fetch": ("fetch", "Discover and download new papers (no LLM)."),
    "github": ("github", "What the GitHub workflows call."),
    "import-markdown": ("catalog", "Bootstrap entries/ from an existing list's markdown."),
    "render": ("catalog", "Write the catalog markdown from entries/."),
    "review": ("review", "Work the review queue: list, show, decide."),
    "run": ("run", "The weekly job: discover, extract, propose."),
}


def load_commands(module: str) -> dict[str, click.Command]:
    """The commands that ingest.cli.<module> registers (importing it: the heavy imports happen here)."""
    group = click.Group()
    importlib.import_module(f"ingest.cli.{module}").register(group)
    return dict(group.commands)


class IngestGroup(click.Group):
    """Loads a command's module when it runs; turns IngestError into a one-line message and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands.update(load_commands(COMMANDS[cmd_name][0]))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS: `ingest --help` imports no command module."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:  # a bad option of `ingest` itself (`--root FILE`)
            _usage_line(exc)
            raise click.exceptions.Exit(exc.exit_code) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # click's own form is three lines (usage, a "Try" line, the error); every ingest error is one.
            _usage_line(exc)
            ctx.exit(exc.exit_code)
        except IngestError as exc:
            from rich.markup import escape

            from ingest.cli.ui import err_console

            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True
            )
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Ctrl-C outside a step that says what it finished (review approve/reject do): click's bare
            # "Aborted!" left a maintainer guessing whether the root was damaged. Every write is atomic.
            from ingest.cli.ui import err_console

            err_console.print(
                "error: interrupted (Ctrl-C): every file ingest writes is replaced whole, so what it "
                "finished is kept and nothing is half-written (run the command again to finish)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            ctx.exit(130)
        except OSError as exc:
            # A path the user gave or the disk refused (a folder where a file belongs, permissions, a full
            # disk): one line that names the file, not a traceback.
            from rich.markup import escape

            from ingest.cli.ui import err_console

            where = f"{exc.filename}: " if exc.filename else ""
            todo = "check the path and its permissions, then run again"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                todo = "free space on that disk, then run the command again: what it finished is kept"
            elif exc.errno == errno.EROFS:
                todo = "that file system is read-only: remount it writable or work in a copy, then run again"
            err_console.print(
                f"[bold red]error:[/] {escape(where + (exc.strerror or str(exc)))} ({todo})",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
            ctx.exit(2)


def _usage_line(exc: click.UsageError) -> None:
    """A bad option, argument or command as one line on stderr, naming the help that lists the right ones."""
    where = exc.ctx.command_path if exc.ctx is not None else "ingest"
    message = " ".join(exc.format_message().split())
    click.echo(f"error: {message} (see `{where} --help`)", err=True)


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
    from ingest.cli.ui import show_status

    show_status()  # ingest's own retries and waits are shown, on stderr
    # The one place the environment is read: the library gets it as settings (CatalogRoot.env).
    from ingest.catalog.store import CatalogRoot
    from ingest.env import Env

    ctx.obj = CatalogRoot(root, env=Env.from_mapping(os.environ))


def main() -> None:
    # ingest uses no pydantic plugin; looking for one reads every installed distribution's entry points when
    # the first model is validated (tens of ms a command). A user who wants plugins sets the variable.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    cli(prog_name="ingest")


if __name__ == "__main__":  # pragma: no cover
    main()
