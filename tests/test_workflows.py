"""The GitHub workflows: valid per the GitHub-workflow schema, least privilege, the key in one step only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.catalog.yamlio import load_yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def _load(name: str) -> Any:
    return load_yaml(WORKFLOWS / name)


def _check_jsonschema() -> list[str]:
    exe = shutil.which("check-jsonschema")
    return [exe] if exe else [sys.executable, "-m", "check_jsonschema"]


@pytest.mark.parametrize("name", ["ci.yml", "weekly-ingest.yml"])
def test_workflow_validates_against_the_github_workflow_schema(name: str) -> None:
    done = subprocess.run(
        [*_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok" in done.stdout


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: 3\n        run: [1]\n"
    )
    done = subprocess.run(
        [*_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1


def test_ci_runs_tests_and_the_github_check_on_push_and_pull_request() -> None:
    ci = _load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert any(r.startswith("pytest") for r in runs)
    assert "ingest check --format github" in runs
    assert ci["permissions"] == {"contents": "read"}


def test_weekly_ingest_is_scheduled_and_dispatchable_never_on_pull_request_target() -> None:
    weekly = _load("weekly-ingest.yml")
    triggers = weekly["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"].split()[4] == "1"  # weekly, on one weekday
    text = (WORKFLOWS / "weekly-ingest.yml").read_text()
    assert "pull_request_target" not in text
    assert dict(weekly["permissions"]) == {"contents": "write", "pull-requests": "write"}
    for job in weekly["jobs"].values():
        assert "permissions" not in job  # no job widens them


def test_the_openai_key_reaches_only_the_run_step() -> None:
    weekly = _load("weekly-ingest.yml")
    assert "env" not in weekly
    steps = [s for job in weekly["jobs"].values() for s in job["steps"]]
    with_secret = [s for s in steps if "secrets." in str(s)]
    assert len(with_secret) == 1
    step = with_secret[0]
    assert step["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert "ingest run" in step["run"]
    assert "vars.OPENAI_BASE_URL" in step["env"]["OPENAI_BASE_URL"]
    assert "vars.INGEST_MODEL" in step["env"]["INGEST_MODEL"]
    for job in weekly["jobs"].values():
        assert "env" not in job


def test_weekly_ingest_uploads_the_report_and_opens_one_pull_request_with_it_as_body() -> None:
    weekly = _load("weekly-ingest.yml")
    steps = [s for job in weekly["jobs"].values() for s in job["steps"]]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"].startswith("runs")
    pr = next(s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request"))
    assert pr["with"]["branch"]  # one fixed branch: a later run updates the same pull request
    assert "steps.run.outputs.report" in pr["with"]["body-path"]
    assert "review_queue/" in pr["with"]["add-paths"]
    assert "entries/" not in pr["with"]["add-paths"]  # nothing merges without a reviewer
