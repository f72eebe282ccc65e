"""The GitHub workflows: valid per the schema, zizmor-clean, least privilege, data never code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers_github import as_github_runs

from ingest.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ["ci.yml", "weekly-ingest.yml", "review-comment.yml", "suggest-paper.yml"]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(name: str) -> Any:
    return load_yaml(WORKFLOWS / name)


def _steps(workflow: Any) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def _schema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema's command (its console script's entry point), run in this process: its import and
    GitHub's schemas cost ~0.5 s of CPU a process start, a validation ~0.05 s."""
    from check_jsonschema import main

    args = ["--builtin-schema", schema, str(path)]
    done = CliRunner().invoke(main, args, prog_name="check-jsonschema", catch_exceptions=False)
    return subprocess.CompletedProcess(args, done.exit_code, done.stdout, done.stderr)


def test_every_workflow_is_listed_here() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_workflow_validates_against_the_github_workflow_schema(name: str) -> None:
    done = _schema("vendor.github-workflows", WORKFLOWS / name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok" in done.stdout


def test_the_suggest_a_paper_form_validates_against_the_issue_form_schema() -> None:
    form = REPO / ".github" / "ISSUE_TEMPLATE" / "suggest-paper.yml"
    done = _schema("vendor.github-issue-forms", form)
    assert done.returncode == 0, done.stdout + done.stderr
    assert load_yaml(form)["name"] == "Suggest a paper"


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: 3\n        run: [1]\n"
    )
    done = _schema("vendor.github-workflows", broken)
    assert done.returncode == 1
    assert "Schema validation errors were encountered" in done.stdout + done.stderr


def test_zizmor_finds_nothing_of_medium_or_high_severity() -> None:
    if not shutil.which("zizmor"):
        pytest.skip("zizmor is not installed (pip install zizmor)")
    done = subprocess.run(
        ["zizmor", "--offline", "--min-severity", "medium", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_and_checkouts_keep_no_credentials(name: str) -> None:
    for step in _steps(_load(name)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", NAMES)
def test_every_script_runs_under_bash_with_pipefail_as_the_tests_run_it(name: str) -> None:
    # Unset, GitHub runs `bash -e {0}`: a failing command inside a pipe would pass unnoticed there, while
    # these tests (helpers_github.as_github_runs) run the scripts with -o pipefail.
    assert _load(name)["defaults"] == {"run": {"shell": "bash"}}


@pytest.mark.parametrize("name", NAMES)
def test_no_expression_is_spliced_into_a_script(name: str) -> None:
    for step in _steps(_load(name)):
        assert "${{" not in step.get("run", ""), step.get("name")


def test_ci_checks_the_catalog_without_any_variable_and_tests_with_the_corpus_only_where_it_is() -> None:
    ci = _load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    catalog = ci["jobs"]["catalog"]
    assert "vars." not in str(catalog)
    assert "if" not in catalog
    runs = [s.get("run", "") for s in catalog["steps"]]
    assert "ingest check --format github" in runs
    assert any("ingest render" in r and "git diff --quiet" in r and "Suggest a paper" in r for r in runs)
    test = ci["jobs"]["test"]
    corpus = next(s for s in test["steps"] if s.get("with", {}).get("repository"))
    assert corpus["if"] == "vars.INGEST_CORPUS_REPO != ''"
    tests = next(s for s in test["steps"] if s.get("run", "").startswith("pytest"))
    assert "INGEST_CORPUS_REPO" in tests["env"]["INGEST_REQUIRE_CORPUS"]


def test_weekly_ingest_reads_in_one_job_and_writes_in_another() -> None:
    weekly = _load("weekly-ingest.yml")
    assert set(weekly["on"]) == {"schedule", "workflow_dispatch"}
    assert weekly["on"]["schedule"][0]["cron"].split()[4] == "1"  # weekly, on one weekday
    assert "pull_request_target" not in (WORKFLOWS / "weekly-ingest.yml").read_text()
    assert weekly["permissions"] == {}
    ingest = weekly["jobs"]["ingest"]
    assert ingest["permissions"] == {"contents": "read", "pull-requests": "read"}
    writer = weekly["jobs"]["pull-request"]
    assert writer["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert writer["needs"] == "ingest"
    assert "proposed" in writer["if"]  # nothing new: no pull request
    script = next(s["run"] for s in writer["steps"] if "run" in s)
    assert "git push" in script
    assert "--force" not in script
    assert " -f " not in script
    assert "+HEAD" not in script
    assert "INGEST_PR_TOKEN" in str(writer)


def test_the_openai_key_reaches_only_the_run_step() -> None:
    weekly = _load("weekly-ingest.yml")
    assert "env" not in weekly
    with_key = [s for s in _steps(weekly) if "OPENAI_API_KEY" in str(s)]
    assert len(with_key) == 1
    step = with_key[0]
    assert step["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert "ingest run" in step["run"]
    assert "vars.OPENAI_BASE_URL" in step["env"]["OPENAI_BASE_URL"]
    assert "vars.INGEST_MODEL" in step["env"]["INGEST_MODEL"]
    for job in weekly["jobs"].values():
        assert "env" not in job


def test_the_cache_is_restored_and_saved_even_when_the_run_fails() -> None:
    steps = _load("weekly-ingest.yml")["jobs"]["ingest"]["steps"]
    uses = [str(s.get("uses", "")) for s in steps]
    restore = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))
    save = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save@"))
    run = next(i for i, s in enumerate(steps) if "ingest run" in s.get("run", ""))
    assert restore < run < save
    assert steps[save]["if"] == "always()"
    assert steps[save]["with"]["key"] == steps[restore]["with"]["key"]


def test_the_schedule_is_kept_alive() -> None:
    keepalive = _load("weekly-ingest.yml")["jobs"]["keepalive"]
    assert keepalive["permissions"] == {"actions": "write"}
    assert "/actions/workflows/weekly-ingest.yml/enable" in keepalive["steps"][0]["run"]


def test_review_comments_act_only_for_writers_on_our_branches_with_the_comment_as_data() -> None:
    workflow = _load("review-comment.yml")
    assert set(workflow["on"]) == {"issue_comment"}
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["decide"]
    for association in ("OWNER", "MEMBER", "COLLABORATOR"):
        assert association in job["if"]
    assert "github.event.issue.pull_request" in job["if"]
    steps = job["steps"]
    guard = steps[0]["run"]
    assert "isCrossRepository" in guard
    assert "ingest/*" in guard
    decide = next(s for s in steps if "github comment" in s.get("run", ""))
    assert decide["env"]["COMMENT_BODY"] == "${{ github.event.comment.body }}"
    assert '"$COMMENT_BODY"' in decide["run"]
    assert "--root pr" in decide["run"]  # the pull request's branch is data
    install = next(s for s in steps if s.get("name") == "Install")
    assert install["run"] == "pip install ./tool"  # the code that runs is the default branch's


def test_suggest_a_paper_runs_on_a_maintainers_label_and_takes_only_the_id() -> None:
    workflow = _load("suggest-paper.yml")
    assert workflow["on"] == {"issues": {"types": ["labeled"]}}
    add = workflow["jobs"]["add"]
    assert "ingest:add" in add["if"]
    assert add["permissions"] == {"contents": "read", "pull-requests": "read"}
    ref = add["steps"][0]
    assert "grep -oE" in ref["run"]
    assert ref["env"]["ISSUE_BODY"] == "${{ github.event.issue.body }}"
    assert "ingest add" in next(s["run"] for s in add["steps"] if s.get("id") == "add")
    writer = workflow["jobs"]["pull-request"]
    assert "gh pr create" in writer["steps"][-1]["run"]
    assert "#$ISSUE" in writer["steps"][-1]["run"]  # linked to the issue


def _step_script(workflow: str, command: str) -> tuple[str, dict[str, Any]]:
    """The `run:` script of the step that runs `command`, and the names of its `env:`."""
    step = next(s for s in _steps(_load(workflow)) if command in s.get("run", ""))
    return step["run"], step.get("env", {})


def _git_catalog(path: Path) -> tuple[Any, list[str]]:
    """A fresh catalog root committed in a new git repository (as a fork's checkout is), and the git
    command that commits in it."""
    from helpers_queue import new_root

    root = new_root(path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=root.path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root.path, check=True)
    subprocess.run([*git, "commit", "-qm", "catalog"], cwd=root.path, check=True)
    return root, git


def test_the_weekly_run_step_works_on_a_fork_without_the_openai_secret(tmp_path: Path, arxiv_mirror) -> None:
    # A fresh fork has no OPENAI_API_KEY secret; GitHub then maps it to "". The step must run the offline
    # heuristic and say so, not fail every Monday with "the openai backend needs OPENAI_API_KEY".
    from datetime import UTC, datetime, timedelta

    from helpers_queue import new_root

    root = new_root(tmp_path / "cat")
    # The maintainer's cap in ingest.yaml holds on a scheduled run (no `max` input): the workflow used to
    # pass --max 50 whatever ingest.yaml said.
    config = root.config_path.read_text()
    assert "  max_results: 200\n" in config
    root.config_path.write_text(config.replace("  max_results: 200\n", "  max_results: 1\n"))
    gkd, hy = "2306.13649", "2512.24092"  # tuning-half corpus papers; GKD was submitted first
    arxiv_mirror.list_paper(gkd, submitted=datetime.now(UTC) - timedelta(days=3))
    arxiv_mirror.list_paper(hy, submitted=datetime.now(UTC) - timedelta(days=2))
    script, env = _step_script("weekly-ingest.yml", "ingest run")
    assert set(env) >= {"OPENAI_API_KEY", "OPENAI_BASE_URL", "INGEST_MODEL", "SINCE", "MAX"}
    # what a scheduled run gets: an unset secret, variable or input is ""
    unset = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "INGEST_MODEL": "", "SINCE": "", "MAX": ""}
    done = as_github_runs(script, root.path, unset, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::notice title=No OPENAI_API_KEY::" in done.stdout
    assert "proposed=1" in (tmp_path / "output").read_text()
    [proposal] = [root.read_proposal(p.stem) for p in root.queue_dir.glob("*.yaml")]
    assert proposal.arxiv_id == gkd
    assert proposal.provenance.backend == "heuristic"
    assert "the cap of 1 candidates stopped discovery" in done.stderr


def test_the_suggest_paper_step_works_on_a_fork_without_the_openai_secret(
    tmp_path: Path, arxiv_mirror
) -> None:
    root, _ = _git_catalog(tmp_path / "cat")
    script, env = _step_script("suggest-paper.yml", "ingest add")
    assert "OPENAI_API_KEY" in env
    unset = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "INGEST_MODEL": "", "PAPER": "2306.13649"}
    done = as_github_runs(script, root.path, unset, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proposed=1" in (tmp_path / "output").read_text()
    patch = (tmp_path / "runner" / "handover" / "changes.patch").read_text()
    assert "review_queue/" in patch
    assert "backend: heuristic" in patch


def _fake_gh(tmp: Path) -> Path:
    """A `gh` on PATH that records its arguments, one per line, instead of calling GitHub."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp / "gh-calls"
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{calls}"\n')
    gh.chmod(0o755)
    return calls


def _job_script(job: str) -> tuple[str, dict[str, Any]]:
    step = _load("suggest-paper.yml")["jobs"][job]["steps"][-1]
    return step["run"], step.get("env", {})


def test_a_suggestion_that_adds_nothing_or_fails_is_answered_on_the_issue_with_the_reason(
    tmp_path: Path, arxiv_mirror
) -> None:
    root, git = _git_catalog(tmp_path / "cat")
    script, _ = _step_script("suggest-paper.yml", "ingest add")
    unset = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "INGEST_MODEL": ""}
    first = as_github_runs(script, root.path, {**unset, "PAPER": "2306.13649"}, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr

    # The proposal's pull request merged, the same paper is suggested again while the proposal waits in the
    # queue: nothing to propose, and the reason.
    subprocess.run([*git, "add", "-A"], cwd=root.path, check=True)
    subprocess.run([*git, "commit", "-qm", "the suggestion's pull request"], cwd=root.path, check=True)
    output = tmp_path / "output"
    output.write_text("")
    again = as_github_runs(script, root.path, {**unset, "PAPER": "2306.13649"}, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["proposed"] == "0"
    assert outputs["why"].startswith("not extracted 2306.13649: already in the review queue as ")
    calls = _fake_gh(tmp_path)
    answer, env = _job_script("pull-request")
    assert env["WHY"] == "${{ needs.add.outputs.why }}"
    mapped = {"ISSUE": "7", "PAPER": "2306.13649", "PROPOSED": "0", "WHY": outputs["why"], "GH_TOKEN": "x"}
    done = as_github_runs(answer, root.path, {**mapped, "GITHUB_REPOSITORY": "o/r"}, tmp_path)
    assert done.returncode == 0, done.stderr
    body = calls.read_text().splitlines()[-1]
    assert body == f"Nothing new to propose for arXiv 2306.13649: {outputs['why']}"

    # A paper arXiv does not know: the add step fails with ingest's one line, and another job says it.
    output.write_text("")
    failed = as_github_runs(script, root.path, {**unset, "PAPER": "2999.00001"}, tmp_path)
    assert failed.returncode != 0
    error = dict(line.split("=", 1) for line in output.read_text().splitlines())["error"]
    assert "2999.00001" in error
    assert not error.startswith("error: ")
    job = _load("suggest-paper.yml")["jobs"]["answer-failure"]
    assert job["needs"] == "add"
    assert "failure()" in job["if"]
    assert job["permissions"] == {"issues": "write"}
    answer, env = _job_script("answer-failure")
    assert env["ERROR"] == "${{ needs.add.outputs.error }}"
    run = {"ISSUE": "7", "ERROR": error, "GH_TOKEN": "x", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}
    done = as_github_runs(answer, root.path, {**run, "GITHUB_SERVER_URL": "https://github.com"}, tmp_path)
    assert done.returncode == 0, done.stderr
    body = calls.read_text().splitlines()[-1]
    assert body.startswith(f"ingest could not propose this paper: {error}. Log: ")
    assert "https://github.com/o/r/actions/runs/42" in body
