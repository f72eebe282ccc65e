"""Review by pull-request comment: `/ingest approve|reject` parsed as data, run as `ingest review` runs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_queue import catalog_entry, extraction, new_root, root_files

from ingest.catalog.store import CatalogRoot, read_model
from ingest.cli import cli
from ingest.models import UNKNOWN, Decision, Flag
from ingest.review.commands import MAX_COMMANDS, handle_comment, parse_comment, queued_ids
from ingest.review.propose import propose

DPO, PPO = "dpo-2305.18290v2", "ppo-1707.06347v2"


@pytest.fixture
def queued(tmp_path: Path) -> CatalogRoot:
    """One catalog entry and three proposals: two new papers and an update of the entry."""
    root = new_root(tmp_path / "cat")
    tax = root.taxonomy
    root.write_entry(catalog_entry(tax, axes={tax.axes[0].id: [UNKNOWN]}))
    propose(
        root,
        extraction(tax, paper="2305.18290", name="DPO", confidence=0.35, flags=[Flag.low_confidence]),
        run_id="r1",
    )
    propose(root, extraction(tax, paper="1707.06347", name="PPO", confidence=0.9), run_id="r1")
    propose(root, extraction(tax, paper="2306.13649", version=1, name="GKD"), run_id="r1")
    return root



def test_parse_approve_ids_approve_all_and_reject_with_a_reason() -> None:
    parsed = parse_comment(
        "Looks good.\n/ingest approve dpo-2305.18290v2, ppo-1707.06347v2\n"
        "  /ingest approve all\n/ingest reject gkd-x because not on-policy: the teacher samples\n"
    )
    assert parsed.problems == []
    [first, second, third] = parsed.commands
    assert (first.action, first.ids) == ("approve", (DPO, PPO))
    assert (second.action, second.all) == ("approve", True)
    assert (third.action, third.ids, third.reason) == (
        "reject",
        ("gkd-x",),
        "not on-policy: the teacher samples",
    )


def test_parse_ignores_quoted_code_and_other_text_and_needs_a_reason_to_reject() -> None:
    parsed = parse_comment(
        "```\n/ingest approve all\n```\n> quoting /ingest approve all\n/ingestapprove x\n/ingest reject a b\n"
        "/ingest frobnicate a\n"
    )
    assert parsed.commands == []
    assert any("needs a reason" in p for p in parsed.problems)
    assert any("unknown command" in p for p in parsed.problems)


@pytest.mark.parametrize(
    "hostile",
    [
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        "a;rm -rf /",
        "../../entries/gkd",
        "x' OR '1'='1",
        "!!python/object/apply:os.system ['id']",
        "{a: b}",
        "[link](javascript:alert(1))",
        "@everyone",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_hostile_words_are_never_ids_and_never_echoed(hostile: str) -> None:
    parsed = parse_comment(f"/ingest approve {hostile}")
    assert parsed.commands == []  # no word of it is an id: nothing to approve
    assert parsed.problems  # said so, without repeating it
    for problem in parsed.problems:
        assert hostile not in problem
        assert "$(" not in problem
        assert "<img" not in problem
        assert "@everyone" not in problem


def test_a_very_long_comment_is_read_only_up_to_githubs_limit_and_a_few_commands() -> None:
    body = ("/ingest approve all\n" * 50) + "x" * 200_000 + "\n/ingest approve late-one\n"
    parsed = parse_comment(body)
    assert len(parsed.commands) == MAX_COMMANDS
    assert all(c.all for c in parsed.commands)
    assert any("first 10 commands" in p for p in parsed.problems)


def test_approve_by_id_records_the_commenter_as_reviewer(queued: CatalogRoot) -> None:
    outcome = handle_comment(queued, f"/ingest approve {DPO}", author="ana-r", association="MEMBER")
    assert outcome.approved == [DPO]
    assert outcome.acted
    decision = read_model(queued.decision_path(DPO), Decision)
    assert (decision.action, decision.reviewer) == ("approved", "ana-r (GitHub)")
    assert queued.read_entry("dpo").provenance.by == "ana-r (GitHub)"
    assert DPO not in queued_ids(queued)
    assert "approved: `dpo-2305.18290v2`" in outcome.reply
    assert "DPO" in (queued.path / "README.md").read_text()  # re-rendered, as `ingest review approve` does


def test_reject_keeps_a_hostile_reason_as_plain_data(queued: CatalogRoot) -> None:
    reason = "not on-policy; $(rm -rf ~) `id` | tee x\n: {yaml: [1, 2]} !!python/object <b>@everyone</b> # no"
    outcome = handle_comment(
        queued, f"/ingest reject {PPO} because {reason}", author="bo", association="OWNER"
    )
    assert outcome.rejected == [PPO]
    decision = read_model(queued.decision_path(PPO), Decision)
    assert decision.action == "rejected"
    assert decision.reason == "not on-policy; $(rm -rf ~) `id` | tee x"  # one line: the command's own line
    assert "rm -rf" not in outcome.reply
    assert not (Path.home() / "x").exists()


def test_approve_all_takes_every_queued_proposal(queued: CatalogRoot) -> None:
    before = queued_ids(queued)
    assert len(before) == 3
    outcome = handle_comment(queued, "/ingest approve all", author="ana", association="COLLABORATOR")
    assert sorted(outcome.approved) == before
    assert queued_ids(queued) == []


@pytest.mark.parametrize(
    "association", ["CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "NONE", "member; OWNER", ""]
)
def test_commenters_without_write_access_change_nothing(queued: CatalogRoot, association: str) -> None:
    before = root_files(queued)
    outcome = handle_comment(queued, "/ingest approve all", author="mallory", association=association)
    assert not outcome.acted
    assert outcome.reply == ""
    assert root_files(queued) == before


def test_unknown_ids_and_a_forged_login_are_refused(queued: CatalogRoot) -> None:
    before = root_files(queued)
    outcome = handle_comment(queued, "/ingest approve no-such-1 ../x", author="ana", association="OWNER")
    assert not outcome.acted
    assert any("`no-such-1` is not in review_queue/" in p for p in outcome.problems)
    assert "Nothing was changed." in outcome.reply
    assert "../x" not in outcome.reply
    forged = handle_comment(queued, "/ingest approve all", author="ana\n::set-output", association="OWNER")
    assert not forged.acted
    assert root_files(queued) == before


def test_the_cli_takes_the_body_from_stdin_and_sets_the_step_output(
    queued: CatalogRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    result = CliRunner().invoke(
        cli,
        [
            "--root",
            str(queued.path),
            "github",
            "comment",
            "--body-file",
            "-",
            "--author",
            "ana",
            "--association",
            "MEMBER",
        ],
        input=f"thanks!\n/ingest reject {DPO} because duplicate of an entry\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"rejected: `{DPO}`" in result.stdout
    assert output.read_text() == "acted=true\n"


def test_a_shell_passes_the_comment_as_data(queued: CatalogRoot, tmp_path: Path) -> None:
    """As the workflow does: the body in an environment variable, written to a file, never expanded."""
    marker = tmp_path / "pwned"
    body = f"/ingest reject {PPO} because $(touch {marker}) `touch {marker}`"
    done = subprocess.run(
        ["bash", "-c", 'printf "%s" "$COMMENT_BODY" > "$BODY_FILE"'],
        env={**os.environ, "COMMENT_BODY": body, "BODY_FILE": str(tmp_path / "body.txt")},
        check=True,
    )
    assert done.returncode == 0
    result = CliRunner().invoke(
        cli,
        [
            "--root",
            str(queued.path),
            "github",
            "comment",
            "--body-file",
            str(tmp_path / "body.txt"),
            "--author",
            "ana",
            "--association",
            "OWNER",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert read_model(queued.decision_path(PPO), Decision).reason == f"$(touch {marker}) `touch {marker}`"


def test_the_pull_request_body_lists_fields_confidence_flags_and_page_links(queued: CatalogRoot) -> None:
    result = CliRunner().invoke(
        cli, ["--root", str(queued.path), "github", "pr-body"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    body = result.stdout
    assert f"#### `{DPO}` · new · confidence 0.35" in body
    assert "flags: low-confidence" in body
    assert "[p. 3](https://arxiv.org/pdf/2305.18290v2#page=3)" in body
    assert "| name | DPO |" in body
    assert "update" in body  # the update of the catalog entry, as old → new
    assert body.index(DPO) < body.index(PPO)  # weakest first
    assert "/ingest approve all" in body
    assert "### `ingest check`" in body


def test_a_redelivered_approve_or_an_approve_after_a_rejection_says_who_decided(queued: CatalogRoot) -> None:
    # Before: both answered "`ID` is not in review_queue/ (decided, or a typo)", with no way to tell which.
    first = handle_comment(queued, f"/ingest approve {DPO}", author="ana", association="OWNER")
    assert first.acted
    before = root_files(queued)
    again = handle_comment(queued, f"/ingest approve {DPO}", author="ana", association="OWNER")
    assert not again.acted  # the re-delivered webhook commits nothing
    assert root_files(queued) == before
    [problem] = again.problems
    assert problem.startswith(f"`{DPO}` was already approved by ana (GitHub) on 20")
    assert problem.endswith(": nothing to do")
    handle_comment(queued, f"/ingest reject {PPO} because off topic", author="bo", association="OWNER")
    late = handle_comment(queued, f"/ingest approve {PPO}", author="ana", association="OWNER")
    assert late.problems[0].startswith(f"`{PPO}` was already rejected by bo (GitHub) on ")
    assert PPO not in queued_ids(queued)
    typo = handle_comment(queued, "/ingest approve gkd-2306.13649v9", author="ana", association="OWNER")
    assert "is not in review_queue/ (a typo?" in typo.problems[0]
    assert read_model(queued.decision_path(DPO), Decision).reviewer == "ana (GitHub)"


def test_a_reviewer_name_from_a_local_decision_is_shown_without_markup(queued: CatalogRoot) -> None:
    from ingest.review.decide import reject

    reject(queued, [DPO], reason="dup", reviewer="[me](javascript:alert(1)) <b>@everyone</b> `x`")
    outcome = handle_comment(queued, f"/ingest approve {DPO}", author="ana", association="OWNER")
    [problem] = outcome.problems
    assert problem.startswith(f"`{DPO}` was already rejected by me(javascriptalert(1)) beveryoneb x on ")
    for char in "[]<>@`":
        assert char not in problem.split(" by ", 1)[1]


def test_the_answer_to_a_comment_full_of_unknown_ids_stays_postable(queued: CatalogRoot) -> None:
    # Before: ten lines of 200 unknown ids (a comment within GitHub's 65536 characters) made a 139 KB
    # answer that GitHub refuses to post, so the reviewer got no answer at all.
    line = "/ingest approve " + " ".join(f"Ärger{i}" for i in range(200))
    body = f"{line}\n/ingest approve {DPO}\n" + f"{line}\n" * 8
    outcome = handle_comment(queued, body, author="a", association="OWNER")
    assert outcome.approved == [DPO]
    assert len(outcome.reply) < 5000
    assert "- approved: `dpo-2305.18290v2`" in outcome.reply
    assert outcome.reply.count("ignored a word that is no proposal id") == 1  # the same line once
    ids = "/ingest approve " + " ".join(f"no-such-{i}" for i in range(200))
    many = handle_comment(queued, ids, author="a", association="OWNER")
    assert len(many.reply.splitlines()) < 30
    assert "- … and 180 more problem(s) not shown" in many.reply


def test_the_hint_for_a_word_that_is_no_id_shows_ids_as_the_queue_names_them(queued: CatalogRoot) -> None:
    # Before: "ids are like `new-gkd-2306.13649v1`", a prefix no proposal id has.
    outcome = handle_comment(queued, "/ingest approve GKD", author="a", association="OWNER")
    [problem] = outcome.problems
    examples = re.findall(r"`([^`]+)`", problem)
    assert examples == ["gkd-2306.13649v1", "update-gkd-2306.13649v2"]
    assert queued_ids(queued) == [DPO, PPO, "update-gkd-2306.13649v1"]  # as propose names new and update


def test_a_command_with_no_break_spaces_or_a_capital_is_read_and_a_look_alike_letter_is_not() -> None:
    # Before: "/ingest\u00a0approve ID" (pasted from a rendered page) or "/Ingest approve ID" got no answer
    # at all: the workflow ran (GitHub's contains() ignores case) and the comment was silently skipped.
    pasted = (f"/ingest\u00a0approve\u00a0{DPO}", f"/Ingest approve {DPO}", f"\u3000/INGEST approve\t{DPO}")
    for body in pasted:
        parsed = parse_comment(body)
        assert [(c.action, c.ids) for c in parsed.commands] == [("approve", (DPO,))], body
    reject = parse_comment(f"/ingest reject {DPO}\u00a0because\u00a0a survey")
    assert [(c.action, c.reason) for c in reject.commands] == [("reject", "a survey")]
    cyrillic = parse_comment(f"/ingest \u0430pprove {DPO}")  # a Cyrillic a
    assert cyrillic.commands == []
    assert any("unknown command" in p for p in cyrillic.problems)
    for other in ("/ingestion approve x", "> /ingest approve x", "/ingest"):
        assert parse_comment(other).commands == []


def test_approving_a_proposal_edited_to_a_value_the_taxonomy_does_not_know_names_the_file_in_the_root(
    queued: CatalogRoot,
) -> None:
    # A reviewer edited the proposal on the branch (a commit on the pull request) to an unknown axis value.
    path = queued.queue_dir / f"{DPO}.yaml"
    axis = queued.taxonomy.axes[0]
    text = path.read_text()
    value = f"    {axis.id}:\n      - {{}}\n"
    edited = text.replace(value.format(axis.values[0].id), value.format("made-up"), 1)
    assert edited != text
    path.write_text(edited)
    outcome = handle_comment(queued, f"/ingest approve {DPO}", author="ana", association="OWNER")
    assert not outcome.acted
    [problem] = outcome.problems
    # Before: the runner's absolute checkout path, e.g. /home/runner/work/r/r/pr/review_queue/…
    assert problem.startswith(f"`{DPO}` not done: review_queue/{DPO}.yaml:")
    assert "'made-up' is not in its vocabulary" in problem
    assert str(queued.path) not in outcome.reply
    assert DPO in queued_ids(queued)


def test_a_long_queue_makes_a_body_github_accepts_with_every_id_still_decidable(tmp_path: Path) -> None:
    # Before: 60 flagged proposals made a 108 KB body; GitHub refuses one over 65536 characters, so
    # `gh pr create` failed after the push and the week's pull request never opened.
    root = new_root(tmp_path / "cat")
    for i in range(60):
        extracted = extraction(
            root.taxonomy,
            paper=f"2401.{10000 + i}",
            version=1,
            name=f"Method{i} with a long name",
            title="A title " * 25,
            confidence=0.3,
            flags=[Flag.low_confidence],
        )
        propose(root, extracted, run_id="r1")
    report = "## ingest run\n\n" + "| row | of the report |\n" * 3000
    output = tmp_path / "body.md"
    result = CliRunner().invoke(
        cli, ["--root", str(root.path), "github", "pr-body", "--out", str(output)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    body = output.read_text()
    assert len(body) <= 65536
    for proposal_id in queued_ids(root):
        assert f"`{proposal_id}`" in body
    shown = body.count("\n#### `")
    assert 10 < shown < 60
    assert f"- {60 - shown} more proposal(s), not shown here" in body
    assert "… (all results: the run's job summary, or `ingest check`)" in body
    assert body.rstrip().endswith("proposals without a decision stay in the queue.")

    from ingest.review.prbody import pull_request_body

    long_report = pull_request_body(root, report)
    assert len(long_report) <= 65536
    assert "… (the whole report: the run's job summary)" in long_report
