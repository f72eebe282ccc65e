"""Running a workflow step's own `run:` script under bash as a GitHub runner does, for the loop tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ingest.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"


def load_workflow(name: str) -> Any:
    return load_yaml(WORKFLOWS / name)


def as_github_runs(
    script: str, cwd: Path, env: dict[str, str], tmp: Path
) -> subprocess.CompletedProcess[str]:
    """`script` under bash as a runner runs it: `ingest` on PATH (this checkout; tmp/bin may also hold a
    fake `gh`), GITHUB_OUTPUT and RUNNER_TEMP files; the caller maps an unset secret or variable to ""."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "ingest"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m ingest "$@"\n')
    shim.chmod(0o755)
    (tmp / "runner").mkdir(exist_ok=True)
    full = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp / "runner"),
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )
