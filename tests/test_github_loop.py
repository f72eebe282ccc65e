"""The GitHub loop walked end to end with real parts: each workflow step's own script under bash, a fake `gh`,
a git repository with a bare "GitHub" remote, the loopback arXiv mirror; two weeks and a reviewer between."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers_github import as_github_runs, load_workflow
from helpers_queue import new_root

REPO_NAME = "o/r"
GKD, HY = "2306.13649", "2512.24092"  # tuning-half corpus papers
UNSET = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "INGEST_MODEL": "", "SINCE": "", "MAX": ""}


class Loop:
    """A fork on "GitHub" (a bare repository the push URL is redirected to) and a runner's temp folders."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        self.calls = tmp / "gh-calls"
        self.answers = tmp / "gh-answers"
        self.answers.mkdir()
        self.runs = 0
        url = f"https://x-access-token:x@github.com/{REPO_NAME}.git"
        self.env = {
            "GITHUB_REPOSITORY": REPO_NAME,
            "GH_TOKEN": "x",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{self.origin}.insteadOf",
            "GIT_CONFIG_VALUE_0": url,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
        bin_dir = tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        gh = bin_dir / "gh"
        # records its arguments; answers `gh A B …` with the file gh-answers/A-B (/ as _) when there is one
        gh.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{self.calls}"\necho "--" >> "{self.calls}"\n'
            f'key="$(printf "%s-%s" "$1" "$2" | tr / _)"\n'
            f'if [ -f "{self.answers}/$key" ]; then cat "{self.answers}/$key"; fi\n'
        )
        gh.chmod(0o755)

    def git(self, cwd: Path, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=self._git_env())
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _git_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def checkout(self, ref: str, path: str = "") -> Path:
        """actions/checkout (`path:` in a new workspace): a fresh clone at `ref` ('': default)."""
        self.runs += 1
        where = self.tmp / f"checkout-{self.runs}" / path
        self.git(self.tmp, "clone", "-q", str(self.origin), str(where))
        if ref:
            self.git(where, "checkout", "-q", ref)
        return where

    def step(self, workflow: str, job: str, name_or_command: str, cwd: Path, env: dict[str, str]) -> Any:
        steps = load_workflow(workflow)["jobs"][job]["steps"]
        step = next(s for s in steps if name_or_command in s.get("name", "") + s.get("run", ""))
        run_dir = self.tmp / f"job-{self.runs}"
        run_dir.mkdir(exist_ok=True)
        (run_dir / "bin").mkdir(exist_ok=True)
        (run_dir / "bin" / "gh").write_bytes((self.tmp / "bin" / "gh").read_bytes())
        (run_dir / "bin" / "gh").chmod(0o755)
        done = as_github_runs(step["run"], cwd, {**self.env, **env}, run_dir)
        return done

    def outputs(self) -> dict[str, str]:
        path = self.tmp / f"job-{self.runs}" / "output"
        text = path.read_text() if path.exists() else ""
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def gh_calls(self) -> list[list[str]]:
        text = self.calls.read_text() if self.calls.exists() else ""
        return [c.strip("\n").splitlines() for c in text.split("--\n") if c.strip()]


@pytest.fixture
def loop(tmp_path: Path) -> Loop:
    loop = Loop(tmp_path)
    root = new_root(tmp_path / "fork")
    loop.git(root.path, "init", "-q", "-b", "main")
    loop.git(root.path, "add", "-A")
    loop.git(root.path, "commit", "-qm", "the list")
    loop.git(tmp_path, "clone", "-q", "--bare", str(root.path), str(loop.origin))
    return loop


def weekly(loop: Loop, between: Callable[[], None] = lambda: None) -> dict[str, str]:
    """One scheduled weekly-ingest run: job ingest, then job pull-request when something was proposed."""
    wf = "weekly-ingest.yml"
    find = loop.step(wf, "ingest", "Find the open weekly", loop.tmp, {})
    assert find.returncode == 0, find.stderr
    found = loop.outputs()
    branch = found["branch"]
    work = loop.checkout(branch)
    take = loop.step(wf, "ingest", "Take in the proposals", work, {"OTHERS": found["others"]})
    assert take.returncode == 0, take.stderr
    run = loop.step(wf, "ingest", "ingest run", work, UNSET)
    assert run.returncode == 0, run.stdout + run.stderr
    out = loop.outputs() | {"branch": branch, "others": found["others"]}
    back = loop.step(wf, "ingest", "Give back", work, {})
    assert back.returncode == 0, back.stderr
    if out["proposed"] == "0":
        return out
    check = loop.step(wf, "ingest", "ingest check", work, {})
    handover = loop.step(wf, "ingest", "pr-body", work, {})
    assert handover.returncode == 0, handover.stderr
    hand = loop.tmp / f"job-{loop.runs}" / "runner" / "handover"
    write = loop.checkout(branch)
    between()  # what else happens to the branch while the job runs
    runner = loop.tmp / f"job-{loop.runs}" / "runner" / "handover"
    runner.mkdir(parents=True)
    for f in hand.iterdir():
        (runner / f.name).write_bytes(f.read_bytes())
    env = {"BRANCH": branch, "PROPOSED": out["proposed"], "RUN_ID": str(100 + loop.runs)}
    pushed = loop.step(wf, "pull-request", "git push", write, env)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    return out | {"check": check.stdout, "body": (hand / "body.md").read_text()}


def comment(
    loop: Loop,
    branch: str,
    body: str,
    *,
    association: str = "OWNER",
    cross: bool = False,
    permission: str = "write",
    between: Callable[[], None] = lambda: None,
) -> str:
    """One review-comment.yml run on the pull request of `branch`: the reply posted."""
    wf = "review-comment.yml"
    info = {"headRefName": branch, "isCrossRepository": cross, "state": "OPEN"}
    (loop.answers / "pr-view").write_text(json.dumps(info))
    (loop.answers / f"api-repos_{REPO_NAME.replace('/', '_')}_collaborators_alice_permission").write_text(
        permission + "\n"
    )
    guard = loop.step(wf, "decide", "must be one of ours", loop.tmp, {"PR": "5", "AUTHOR": "alice"})
    assert guard.returncode == 0, guard.stderr
    ours = loop.outputs().get("branch", "")
    if not ours:
        return ""
    pr = loop.checkout(ours, "pr")
    between()  # what else happens to the branch while this job runs
    decide_env = {"COMMENT_BODY": body, "AUTHOR": "alice", "ASSOCIATION": association}
    decide = loop.step(wf, "decide", "github comment", pr.parent, decide_env)
    committed = "skipped"
    if loop.outputs().get("acted") == "true":
        push = loop.step(wf, "decide", "git push", pr, {"BRANCH": ours, "AUTHOR": "alice"})
        committed = "success" if push.returncode == 0 else "failure"
    run = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42", "PR": "5"}
    outcome = "success" if decide.returncode == 0 else "failure"
    answer = loop.step(wf, "decide", "gh pr comment", pr, {**run, "OUTCOME": outcome, "COMMITTED": committed})
    assert answer.returncode == 0, answer.stderr
    reply = loop.tmp / f"job-{loop.runs}" / "runner" / "reply.md"
    return reply.read_text() if reply.exists() else ""


def files(loop: Loop, ref: str, folder: str) -> list[str]:
    out = loop.git(loop.origin, "ls-tree", "--name-only", f"{ref}:{folder}") if ref else ""
    return sorted(n for n in out.splitlines() if n.endswith(".yaml"))


def branches(loop: Loop) -> list[str]:
    refs = loop.git(loop.origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(r for r in refs.split() if r != "main")


def test_two_weeks_with_an_open_pull_request_and_a_reviewer_between(loop: Loop, arxiv_mirror) -> None:
    arxiv_mirror.list_paper(GKD, submitted=datetime.now(UTC) - timedelta(days=3))
    first = weekly(loop)
    assert first["proposed"] == "1"
    [branch] = branches(loop)
    assert branch.startswith("ingest/weekly-")
    assert files(loop, branch, "review_queue") == ["gkd-2306.13649v1.yaml"]
    create = loop.gh_calls()[-1]
    assert create[:2] == ["pr", "create"]
    assert "`gkd-2306.13649v1` · new" in first["body"]
    assert "::warning file=review_queue/gkd-2306.13649v1.yaml" in first["check"]

    reply = comment(loop, branch, "/ingest approve gkd-2306.13649v1")
    assert "- approved: `gkd-2306.13649v1`" in reply
    assert files(loop, branch, "decisions") == ["gkd-2306.13649v1.yaml"]

    # The second Monday: the pull request is still open (gh finds its branch); a new paper is listed.
    arxiv_mirror.list_paper(HY, submitted=datetime.now(UTC) - timedelta(days=1))
    (loop.answers / "pr-list").write_text(branch + "\n")
    second = weekly(loop)
    assert second["proposed"] == "1"  # GKD, queued and then approved on the branch, is not proposed again
    assert branches(loop) == [branch]  # no second pull request
    assert files(loop, branch, "review_queue") == ["hy-mt1.5-2512.24092v1.yaml"]
    assert files(loop, branch, "decisions") == ["gkd-2306.13649v1.yaml"]  # the reviewer's decision kept
    assert files(loop, branch, "entries") == ["gkd.yaml"]
    log = loop.git(loop.origin, "log", "--format=%s", branch).splitlines()
    assert log[:3] == [
        "ingest run: 1 new proposal(s)",
        "review: decisions by alice (pull-request comment)",
        "ingest run: 1 new proposal(s)",
    ]
    edit = loop.gh_calls()[-1]
    assert edit[:3] == ["pr", "edit", branch]
    assert "hy-mt1.5-2512.24092v1" in second["body"]
    assert "`gkd-2306.13649v1` ·" not in second["body"]


def test_a_decision_lands_on_a_branch_that_moved_and_a_refused_push_is_not_reported_as_committed(
    loop: Loop, arxiv_mirror
) -> None:
    arxiv_mirror.list_paper(GKD, submitted=datetime.now(UTC) - timedelta(days=3))
    arxiv_mirror.list_paper(HY, submitted=datetime.now(UTC) - timedelta(days=2))
    assert weekly(loop)["proposed"] == "2"
    [branch] = branches(loop)

    def weekly_pushes_meanwhile() -> None:
        other = loop.checkout(branch)
        (other / "NOTE.md").write_text("another commit on the branch\n")
        loop.git(other, "add", "-A")
        loop.git(other, "commit", "-qm", "meanwhile")
        loop.git(other, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")

    # Before: the push was refused (the branch had moved since the checkout), the decision was lost, and
    # the answer still said "Committed to this branch".
    reply = comment(loop, branch, "/ingest approve gkd-2306.13649v1", between=weekly_pushes_meanwhile)
    assert "- approved: `gkd-2306.13649v1`" in reply
    log = loop.git(loop.origin, "log", "--format=%s", branch).splitlines()
    assert log[:2] == ["review: decisions by alice (pull-request comment)", "meanwhile"]
    assert files(loop, branch, "decisions") == ["gkd-2306.13649v1.yaml"]

    # A push GitHub refuses (a protected branch, a revoked token): the answer says nothing changed.
    hook = loop.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    reply = comment(loop, branch, "/ingest reject hy-mt1.5-2512.24092v1 because a translation report")
    assert reply.startswith("Nothing was changed: the decisions could not be pushed to this branch")
    assert "https://github.com/o/r/actions/runs/42" in reply
    assert "Committed" not in reply
    assert files(loop, branch, "decisions") == ["gkd-2306.13649v1.yaml"]
    assert loop.gh_calls()[-1][:2] == ["pr", "comment"]


def first_week(loop: Loop, arxiv_mirror: Any) -> str:
    """GKD listed on arXiv and the weekly run's pull request opened on it: its branch."""
    arxiv_mirror.list_paper(GKD, submitted=datetime.now(UTC) - timedelta(days=3))
    weekly(loop)
    [branch] = branches(loop)
    return branch


def test_the_weekly_run_lands_on_its_open_branch_after_a_reviewer_committed_to_it_meanwhile(
    loop: Loop, arxiv_mirror
) -> None:
    branch = first_week(loop, arxiv_mirror)
    arxiv_mirror.list_paper(HY, submitted=datetime.now(UTC) - timedelta(days=1))
    (loop.answers / "pr-list").write_text(branch + "\n")

    def reviewer_decides_meanwhile() -> None:
        assert "approved" in comment(loop, branch, "/ingest approve gkd-2306.13649v1")

    # Before: the write job's push was refused (not a fast-forward) and the week's proposals never
    # reached the pull request.
    second = weekly(loop, between=reviewer_decides_meanwhile)
    assert second["proposed"] == "1"
    log = loop.git(loop.origin, "log", "--format=%s", branch).splitlines()
    assert log[:2] == ["ingest run: 1 new proposal(s)", "review: decisions by alice (pull-request comment)"]
    assert files(loop, branch, "review_queue") == ["hy-mt1.5-2512.24092v1.yaml"]
    assert files(loop, branch, "decisions") == ["gkd-2306.13649v1.yaml"]


@pytest.mark.parametrize(
    ("association", "cross", "permission"),
    [("MEMBER", False, "read"), ("MEMBER", False, "triage"), ("OWNER", True, "admin")],
)
def test_an_organization_member_who_may_only_read_or_a_fork_pull_request_decides_nothing(
    loop: Loop, arxiv_mirror, association: str, cross: bool, permission: str
) -> None:
    branch = first_week(loop, arxiv_mirror)
    head = loop.git(loop.origin, "rev-parse", branch)
    # Before: an organization member with read access only (author association MEMBER) could approve.
    reply = comment(
        loop, branch, "/ingest approve all", association=association, cross=cross, permission=permission
    )
    assert reply == ""
    assert loop.git(loop.origin, "rev-parse", branch) == head
    assert files(loop, branch, "review_queue") == ["gkd-2306.13649v1.yaml"]
    assert loop.gh_calls()[-1][:2] != ["pr", "comment"]
    writer = comment(loop, branch, "/ingest approve all", association="MEMBER", permission="write")
    assert "- approved: `gkd-2306.13649v1`" in writer


def suggest(loop: Loop, paper: str, issue: str) -> dict[str, str]:
    """suggest-paper.yml on an issue labeled ingest:add: `ingest add` on the default branch, then its branch
    ingest/suggest-ISSUE and pull request, or the answer on the issue."""
    wf = "suggest-paper.yml"
    work = loop.checkout("")
    take = loop.step(wf, "add", "Take in the proposals", work, {})
    assert take.returncode == 0, take.stderr
    unset = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "INGEST_MODEL": "", "PAPER": paper}
    add = loop.step(wf, "add", "ingest add", work, unset)
    assert add.returncode == 0, add.stderr
    out = loop.outputs()
    if out["proposed"] != "1":
        env = {"ISSUE": issue, "PAPER": paper, "PROPOSED": out["proposed"], "WHY": out["why"]}
        answered = loop.step(wf, "pull-request", "gh pr create", loop.tmp, env)
        assert answered.returncode == 0, answered.stderr
        return out
    hand = loop.tmp / f"job-{loop.runs}" / "runner" / "handover"
    write = loop.checkout("")
    runner = loop.tmp / f"job-{loop.runs}" / "runner" / "handover"
    runner.mkdir(parents=True)
    for f in hand.iterdir():
        (runner / f.name).write_bytes(f.read_bytes())
    env = {"ISSUE": issue, "PAPER": paper, "PROPOSED": "1", "WHY": ""}
    opened = loop.step(wf, "pull-request", "gh pr create", write, env)
    assert opened.returncode == 0, opened.stderr
    return out


def test_the_weekly_run_does_not_propose_again_a_paper_waiting_in_a_suggested_papers_pull_request(
    loop: Loop, arxiv_mirror
) -> None:
    arxiv_mirror.list_paper(GKD, submitted=datetime.now(UTC) - timedelta(days=3))
    arxiv_mirror.list_paper(HY, submitted=datetime.now(UTC) - timedelta(days=2))
    suggest(loop, GKD, "7")
    assert files(loop, "ingest/suggest-7", "review_queue") == ["gkd-2306.13649v1.yaml"]
    (loop.answers / "pr-list").write_text("ingest/suggest-7\n")
    # Before: the weekly run, on the default branch, proposed GKD again in its own pull request (two
    # reviews of one paper; whichever merged second brought back a proposal already decided).
    out = weekly(loop)
    assert out["others"].split() == ["ingest/suggest-7"]
    assert out["proposed"] == "1"
    [weekly_branch] = [b for b in branches(loop) if b.startswith("ingest/weekly-")]
    assert files(loop, weekly_branch, "review_queue") == ["hy-mt1.5-2512.24092v1.yaml"]
    assert "gkd-2306.13649v1" not in out["body"]
    assert "gkd-2306.13649v1" not in out["check"]
    assert files(loop, "ingest/suggest-7", "review_queue") == ["gkd-2306.13649v1.yaml"]  # left as it was
    assert "review_queue" not in loop.git(loop.origin, "ls-tree", "--name-only", "main").split()


def test_a_suggested_paper_waiting_in_the_open_weekly_pull_request_is_answered_not_proposed_twice(
    loop: Loop, arxiv_mirror
) -> None:
    branch = first_week(loop, arxiv_mirror)
    (loop.answers / "pr-list").write_text(branch + "\n")
    # Before: `ingest add` on the default branch proposed GKD again in an ingest/suggest-7 pull request.
    out = suggest(loop, GKD, "7")
    assert out["proposed"] == "0"
    assert out["why"].startswith("not extracted 2306.13649: already in the review queue as gkd-2306.13649v1")
    assert branches(loop) == [branch]
    issue = loop.gh_calls()[-1]
    assert issue[:3] == ["issue", "comment", "7"]
    assert issue[-1].startswith("Nothing new to propose for arXiv 2306.13649: not extracted 2306.13649:")
    work = loop.tmp / f"checkout-{loop.runs}"
    assert loop.git(work, "status", "--porcelain") == ""  # what was taken in is gone again
