"""Review commands in a pull-request comment (`/ingest approve ID…`, `/ingest approve all`,
`/ingest reject ID… because TEXT`), run with the same approve/reject as `ingest review`, the commenter
recorded as the reviewer.

The comment is data from anyone who can comment on a public repository: it is only ever split into words
and matched against proposal ids (slugs, models.ID_RE); nothing of it reaches a shell, a YAML parser or the
reply except ids that match and a count. The reason of a rejection is stored as a plain YAML string.
Commenters without write access (author association other than OWNER, MEMBER or COLLABORATOR) are ignored,
whatever they write; the workflow checks the same before it runs at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal

from ingest.catalog.store import CatalogRoot, read_model
from ingest.errors import IngestError
from ingest.models import ID_RE, Decision
from ingest.review.decide import approve, reject

WRITE_ACCESS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
PREFIX = "/ingest"
MAX_BODY = 65536  # GitHub's own limit on a comment; anything longer is not read
MAX_COMMANDS = 10
MAX_IDS = 200
MAX_REASON = 2000
MAX_PROBLEMS_SHOWN = 20
ID_HINT = "ids are like `gkd-2306.13649v1` or `update-gkd-2306.13649v2`"
_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_BECAUSE = re.compile(r"\s+because\s+", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")
USAGE = "`/ingest approve ID…`, `/ingest approve all` or `/ingest reject ID… because TEXT`"


@dataclass(frozen=True)
class Command:
    """One `/ingest` line: approve or reject these ids (or every queued proposal), with a reason to reject."""

    action: Literal["approve", "reject"]
    ids: tuple[str, ...] = ()
    all: bool = False
    reason: str | None = None


@dataclass
class Parsed:
    commands: list[Command] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What a comment did; `reply` is the markdown answer to post (empty: say nothing)."""

    acted: bool = False
    approved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reply: str = ""


def _shown(word: str) -> str:
    """A word of the comment as the reply may show it: an id, or nothing that markdown or a shell reads."""
    return f"`{word}`" if ID_RE.match(word) else "a word that is no proposal id"


def _ids(words: list[str], parsed: Parsed) -> tuple[str, ...]:
    ids = []
    for word in words[:MAX_IDS]:
        word = word.strip(",")
        if ID_RE.match(word) and ".." not in word:
            ids.append(word)
        elif word:
            parsed.problems.append(f"ignored {_shown(word)}: {ID_HINT}")
    return tuple(dict.fromkeys(ids))


def _command(rest: str, parsed: Parsed) -> Command | None:
    verb, args = [*rest.split(None, 1), "", ""][:2]
    verb = verb.lower()
    if verb == "approve":
        words = args.split()
        if [w.lower() for w in words] == ["all"]:
            return Command("approve", all=True)
        ids = _ids(words, parsed)
        return Command("approve", ids) if ids else None
    if verb == "reject":
        found = _BECAUSE.search(" " + args)
        if not found:
            parsed.problems.append("a rejection needs a reason: `/ingest reject ID… because TEXT`")
            return None
        head, reason = (" " + args)[: found.start()], (" " + args)[found.end() :]
        reason = " ".join(reason.split())[:MAX_REASON]
        if not reason:
            parsed.problems.append("a rejection needs a reason: `/ingest reject ID… because TEXT`")
            return None
        ids = _ids(head.split(), parsed)
        return Command("reject", ids, reason=reason) if ids else None
    parsed.problems.append(f"unknown command: use {USAGE}")
    return None


def parse_comment(body: str) -> Parsed:
    """The `/ingest` lines of a comment (outside code blocks; at most MAX_COMMANDS), as commands."""
    parsed = Parsed()
    fenced = False
    for line in body[:MAX_BODY].splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        # split() cuts at any Unicode space: a command pasted with no-break spaces, or typed `/Ingest`, is
        # still the command its writer meant (a look-alike letter is not: that stays an unknown word)
        words = line.split(None, 1)
        if fenced or not words or words[0].lower() != PREFIX:
            continue
        if len(parsed.commands) >= MAX_COMMANDS:
            parsed.problems.append(f"only the first {MAX_COMMANDS} commands of a comment are run")
            break
        command = _command(words[1] if len(words) > 1 else "", parsed)
        if command is not None:
            parsed.commands.append(command)
    return parsed


def queued_ids(root: CatalogRoot) -> list[str]:
    return sorted(p.stem for p in root.queue_dir.glob("*.yaml")) if root.queue_dir.is_dir() else []


def handle_comment(root: CatalogRoot, body: str, *, author: str, association: str) -> Outcome:
    """Run a comment's commands on the root, as `author`; nothing for a commenter without write access."""
    if association.upper() not in WRITE_ACCESS or not _LOGIN_RE.match(author):
        return Outcome(reply="")  # not a reviewer: no decision, and no answer that could be used to spam
    parsed = parse_comment(body)
    outcome = Outcome(problems=list(parsed.problems))
    reviewer = f"{author} (GitHub)"
    for command in parsed.commands:
        queued = set(queued_ids(root))
        ids = sorted(queued) if command.all else list(command.ids)
        for proposal_id in ids:
            if proposal_id not in queued:
                outcome.problems.append(_not_queued(root, proposal_id))
                continue
            try:  # one at a time: a proposal that cannot be approved does not hold back the others
                if command.action == "approve":
                    approve(root, [proposal_id], reviewer=reviewer)
                    outcome.approved.append(proposal_id)
                else:
                    reject(root, [proposal_id], reason=command.reason or "", reviewer=reviewer)
                    outcome.rejected.append(proposal_id)
            except IngestError as exc:
                # the runner's checkout path means nothing on the pull request: files relative to the root
                text = str(exc).replace(f"{root.path}{os.sep}", "")
                first = " ".join(text.split())[:300].replace("`", "'")
                outcome.problems.append(f"`{proposal_id}` not done: {first}")
    outcome.acted = bool(outcome.approved or outcome.rejected)
    outcome.reply = _reply(outcome, author, len(parsed.commands))
    return outcome


def _not_queued(root: CatalogRoot, proposal_id: str) -> str:
    """Why an id is not in the queue: its decision (a re-delivered comment, a second reviewer), or a typo."""
    path = root.decision_path(proposal_id)
    if path.is_file():
        try:
            decision = read_model(path, Decision)
        except IngestError:
            return f"`{proposal_id}` was already decided (decisions/{path.name}): nothing to do"
        # the reviewer's name is data a local `--reviewer` set: shown without what markdown acts on
        who = re.sub(r"[^\w .()-]", "", decision.reviewer or "")[:80].strip() or "a reviewer"
        when = f"{decision.at:%Y-%m-%d}"
        return f"`{proposal_id}` was already {decision.action} by {who} on {when}: nothing to do"
    return f"`{proposal_id}` is not in review_queue/ (a typo? the ids are in the pull request's body)"


def _reply(outcome: Outcome, author: str, commands: int) -> str:
    if not commands and not outcome.problems:
        return ""
    lines = [f"Review by {author}:", ""]
    if outcome.approved:
        lines.append("- approved: " + ", ".join(f"`{i}`" for i in outcome.approved))
    if outcome.rejected:
        rejected = ", ".join(f"`{i}`" for i in outcome.rejected)
        lines.append(f"- rejected: {rejected} (the reason is in decisions/)")
    # GitHub refuses a comment over 65536 characters: ten commands of 200 words each could make one
    problems = list(dict.fromkeys(outcome.problems))
    lines += [f"- {p}" for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"- … and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s) not shown")
    if outcome.acted:
        lines += ["", "Committed to this branch; merging the pull request lands the approved entries."]
    else:
        lines += ["", "Nothing was changed."]
    return "\n".join(lines) + "\n"
