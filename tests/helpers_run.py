"""What the run, crash and end-to-end tests share: corpus papers, a scripted LLM answering for them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers_queue import catalog_entry
from llm_server import completion, screen_arguments, user_text, valid_arguments

from ingest.catalog.store import CatalogRoot
from ingest.models import Link, LinkKind, PaperText
from ingest.paper.read import read_pdf
from ingest.taxonomy import Taxonomy

# Small corpus papers that the catalog does not list (fast to parse), and one it does.
NEW = {"1503.02531": "Hinton KD", "2505.14464": "NACA", "2503.21776": "Video-R1"}
KNOWN = "2306.13649"  # GKD: in ../shared/corpus/awesomeopd/README.md
_PAPER_ID = re.compile(r'<paper id="([^"]+)">')
_TEXTS: dict[str, PaperText] = {}


def paper_texts(papers: dict[str, Any]) -> dict[str, PaperText]:
    """The corpus papers' texts, parsed once per test process (the LLM stand-in quotes them)."""
    for arxiv_id in NEW:
        if arxiv_id not in _TEXTS:
            _TEXTS[arxiv_id] = read_pdf(papers[arxiv_id].file, source=arxiv_id)
    return _TEXTS


def responder(
    taxonomy: Taxonomy,
    texts: dict[str, PaperText],
    *,
    low: str | None = None,
    delay_for: dict[str, float] | None = None,
) -> Callable[[dict[str, Any]], Any]:
    """Valid answers for whichever paper a request is about; `low` gets a weak, low-confidence answer."""
    from llm_server import Reply

    def answer(request: dict[str, Any]) -> Any:
        if "ScreenAnswer" in json.dumps(request):
            return completion(request, json.dumps(screen_arguments("in")))
        found = _PAPER_ID.search(user_text(request))
        paper = found.group(1) if found else ""
        if paper not in texts:
            return Reply(status=404, body={"error": {"message": f"no paper {paper!r}"}})
        confidence = 0.3 if paper == low else 0.95
        args = valid_arguments(
            taxonomy,
            texts[paper],
            name=NEW[paper],
            title=f"{NEW[paper]}: a corpus paper",
            confidence=confidence,
        )
        body = completion(request, json.dumps(args))
        delay = (delay_for or {}).get(paper, 0.0)
        return Reply(body=body, delay=delay) if delay else body

    return answer


def requests_about(requests: list[dict[str, Any]], paper: str) -> int:
    """How many extraction requests the LLM server got for this paper."""
    return sum(
        1 for r in requests if f'<paper id="{paper}">' in user_text(r) and "ScreenAnswer" not in json.dumps(r)
    )


def ingest_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "ingest", "--root", str(root), *args]


def spawn(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ingest_cmd(root, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL: no handler runs, nothing is flushed or cleaned up, as when a machine dies."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ingest_cmd(root, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def invoke(root: Path, *args: str) -> Any:
    """The next command, in this process (CliRunner): faster than a subprocess, same code path."""
    from click.testing import CliRunner

    from ingest.cli import cli

    return CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    # Generous: on a loaded CI machine a spawned run needs a while to reach the point waited for.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def queue_ids(root: CatalogRoot) -> list[str]:
    return sorted(p.stem for p in root.queue_dir.glob("*.yaml"))


def arxiv_ids_in_queue(root: CatalogRoot) -> list[str]:
    return sorted(root.read_proposal(i).arxiv_id or "" for i in queue_ids(root))


def catalog_knows_v1(root: CatalogRoot, arxiv_ids: list[str]) -> None:
    """An entry for each paper, linked to its v1: a run that finds a later version proposes an update."""
    for arxiv_id in arxiv_ids:
        url = f"https://arxiv.org/abs/{arxiv_id}"
        link = Link(kind=LinkKind.arxiv, url=url, arxiv_id=arxiv_id, version=1)
        root.write_entry(
            catalog_entry(
                root.taxonomy,
                id=f"e{arxiv_id.replace('.', '-')}",
                name=NEW[arxiv_id],
                title=NEW[arxiv_id],
                links=[link],
            )
        )
