"""The `ingest` command in the test's own process, for the tests whose point is not a process property."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from ingest.cli import cli

Done = subprocess.CompletedProcess[str]


def ingest_here(root: Path, *args: str, env: dict[str, str] | None = None) -> Done:
    """`ingest --root ROOT ARGS` through the CLI's own entry point (click's CliRunner), answered as
    `subprocess.run` answers: the same exit code, stdout and stderr, without an interpreter start and its
    imports (`openai` alone costs 1 to 2.5 s of CPU a process). `env` is set for the command only.

    An exception the CLI does not turn into a message propagates: the test fails with its traceback, as a
    test of the process fails on "Traceback" in its stderr. Keep a subprocess wherever the process is the
    point: exit on a signal, a lock between processes, a memory limit, a read that could block, start-up
    imports, a deadline the whole process must meet, or what a library logs to the real stderr."""
    argv = ["--root", str(root), *args]
    result = CliRunner(env=env).invoke(cli, argv, prog_name="ingest", catch_exceptions=False)
    return subprocess.CompletedProcess(["ingest", *argv], result.exit_code, result.stdout, result.stderr)
