"""Benchmark of the weekly run end to end: peak memory over the ten corpus PDFs, and the cost of a rerun.

It starts the tests' loopback arXiv mirror (tests/arxiv_mirror.py: the search answers a feed of corpus
PDFs 1-10, the PDF host serves them) and the tests' OpenAI-compatible server (tests/llm_server.py: a valid
answer whose quotes are real sentences of each paper), then runs `ingest run --backend openai` twice in a
subprocess against a fresh root. Figures: the first run's peak memory (resident set of the child's whole
process tree, sampled from /proc every 50 ms, never below the child's own ru_maxrss from os.wait4), and
the LLM calls and PDF downloads of the second run, counted on the servers (goal 0 and 0). Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the tests' loopback servers, importable outside pytest

import arxiv_mirror  # noqa: E402 - needs the path above
import llm_server  # noqa: E402

from ingest.catalog.store import CatalogRoot, bundled  # noqa: E402
from ingest.paper.readers import read_many  # noqa: E402
from ingest.taxonomy import load_taxonomy  # noqa: E402

PAPERS = range(1, 11)  # MANIFEST.md files 1-10: four catalog papers and six in-domain ones
PEAK_RSS_GOAL_MB = 1024.0  # a run must fit a small CI runner next to everything else
DEAD_PROXY = "http://127.0.0.1:9"


class Servers:
    """The loopback arXiv mirror and LLM server, started for one benchmark."""

    def __init__(self, read_cache: Path) -> None:
        corpus = [p for p in arxiv_mirror.corpus_papers().values() if p.number in PAPERS]
        self.ids = [p.arxiv_id for p in sorted(corpus, key=lambda p: p.number)]
        self.httpd = arxiv_mirror._Server(("127.0.0.1", 0), arxiv_mirror._Handler)
        self.mirror = arxiv_mirror.ArxivMirror(f"http://127.0.0.1:{self.httpd.server_address[1]}")
        self.httpd.mirror = self.mirror
        self.mirror.route_search(ids=self.ids)
        threading.Thread(target=self.httpd.serve_forever, name="arxiv-mirror", daemon=True).start()
        # The LLM's answers quote the papers: the server reads them once, into a cache the runs do not use.
        texts = read_many([(p.file, p.arxiv_id) for p in corpus], read_cache, workers=2)
        papers = {t.source: t for t in texts if not isinstance(t, Exception)}
        self.llm = llm_server.LLMServer().start()
        self.llm.default = llm_server.ValidAnswers(load_taxonomy(bundled("taxonomy.yaml")), papers)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.llm.stop()

    def env(self, cache: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INGEST_"))}
        env.update(
            {
                "INGEST_ARXIV_URL": self.mirror.api_url,
                "INGEST_ARXIV_PDF_URL": self.mirror.pdf_url,
                "INGEST_ARXIV_DELAY": "0",
                "INGEST_CACHE_DIR": str(cache),
                "OPENAI_BASE_URL": self.llm.base_url,
                "OPENAI_API_KEY": "bench-key",
                "CI": "1",
                "HTTP_PROXY": DEAD_PROXY,
                "HTTPS_PROXY": DEAD_PROXY,
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        return env


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc (Linux), in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


def run_ingest(root: Path, env: dict[str, str]) -> tuple[int, float, float, float, str]:
    """`ingest run` in a child: exit code, seconds, peak RSS of its process tree and of its largest process
    (MB), and its stderr's last line."""
    cmd = [sys.executable, "-m", "ingest", "--root", str(root), "run", "--backend", "openai"]
    start = time.perf_counter()
    peak_tree = 0.0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=root.parent)
        done = threading.Event()

        def sample() -> None:
            # pypdf reads in worker processes: their memory counts too, so sample the whole tree.
            nonlocal peak_tree
            while not done.wait(0.05):
                peak_tree = max(peak_tree, _tree_rss_mb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    # ru_maxrss (kB on Linux): the largest single process among the child and the children it waited for.
    largest = usage.ru_maxrss / 1024
    return proc.returncode, time.perf_counter() - start, max(peak_tree, largest), largest, (tail or [""])[0]


def measure() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        base = Path(tmp)
        servers = Servers(base / "server-read-cache")
        try:
            env = servers.env(base / "cache")
            root = base / "root"
            code, took, peak_mb, largest_mb, tail = run_ingest(root, env)
            if code != 0:
                raise RuntimeError(f"first `ingest run` exited {code}: {tail}")
            first_calls, first_pdfs = servers.llm.calls, len(servers.mirror.pdf_requests())
            proposals = len(CatalogRoot(root).files(CatalogRoot(root).queue_dir))
            code, rerun_took, _, _, tail = run_ingest(root, env)
            if code != 0:
                raise RuntimeError(f"second `ingest run` exited {code}: {tail}")
            rerun_calls = servers.llm.calls - first_calls
            rerun_pdfs = len(servers.mirror.pdf_requests()) - first_pdfs
        finally:
            servers.stop()
    papers = len(servers.ids)
    return [
        figure(
            f"peak RSS of `ingest run` over {papers} corpus PDFs, process tree (largest process "
            f"{largest_mb:.0f} MB; {first_pdfs} downloads, {first_calls} LLM calls, {proposals} proposals, "
            f"{took:.1f} s)",
            round(peak_mb, 1),
            "MB",
            PEAK_RSS_GOAL_MB,
        ),
        figure(
            f"LLM calls on an immediate rerun of `ingest run` ({rerun_took:.1f} s)", rerun_calls, "calls", 0
        ),
        figure("PDF downloads on an immediate rerun of `ingest run`", rerun_pdfs, "downloads", 0),
    ]


def figure(name: str, value: float, unit: str, at_most: float) -> dict[str, Any]:
    """A row in the suite's convention (as bench/reading.py): goal "<= N", ratio value / N, met."""
    ratio = round(value / at_most, 3) if at_most else None
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "goal": f"<= {at_most:g}",
        "ratio": ratio,
        "met": value <= at_most,
    }


if __name__ == "__main__":
    for figure in measure():
        goal = f"goal {figure['goal']}, ratio {figure['ratio']}"
        print(f"{figure['name']}: {figure['value']} {figure['unit']} ({goal})")
