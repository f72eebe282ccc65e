"""Benchmark of issue 10's goals: start-up and scale, as whole `ingest` processes where the user waits.

Figures (best of a few runs; ratio = goal / measured, so >= 1 meets the goal):
- `ingest --help` (goal 0.15 s); `ingest check` on the repository's catalog (0.5 s; best of 3, so the
  report the first run kept is given again, check/memo.py), and the same as a full check (no goal: CI's case,
  or after any change); `ingest review list` on an empty queue (0.4 s);
- a no-op weekly rerun (`ingest run` with nothing new on the loopback arXiv, OPENAI_API_KEY set, so the
  openai backend is chosen but never built) at 1,000 entries (1.2 s) and 20,000 entries (3 s), best and
  median of 5;
- `ingest check` at 20,000 entries (3 s), and with 500 low-confidence proposals queued (at most 0.5 s more),
  both full checks (the kept report removed before each run);
- dedupe: discover() of a 300-paper arXiv answer (parsing it included) against the index of 20,000 entries,
  through the public `discover`/`KnownPapers` calls (0.5 s); building the index is part of every command's
  one read of the root, timed by the no-op reruns;
- the extract stage's per-paper catalog cost (choosing one paper's few-shot examples) at 20,000 entries
  against 100: goal a ratio <= 1.5; and, without a goal, loading the few-shot pool once a run (from its
  cache), and rebuilding it from the run's snapshot after an entry changed (as after an approval).
Run: `python -m bench startup` (a few minutes; most of it is writing the 20,000-entry roots).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

RUNS = 3
SMALL, LARGE, QUEUED, CANDIDATES = 1_000, 20_000, 500, 300


def cli_times(
    root: Path | None, *args: str, env: dict[str, str] | None = None, runs: int = RUNS, full: bool = False
) -> list[float]:
    """The wall times of `runs` runs of `python -m ingest [--root root] args`, whole processes; each must
    succeed. `full`: no run may take the report a previous `check` kept (check/memo.py): each checks all."""
    cmd = [sys.executable, "-m", "ingest", *(["--root", str(root)] if root else []), *args]
    times = []
    for _ in range(runs):
        if full and root is not None:
            cache = (env or os.environ).get("INGEST_CACHE_DIR") or root / ".ingest-cache"
            (Path(cache) / "check.json").unlink(missing_ok=True)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env or dict(os.environ), timeout=600)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return times


def cli_seconds(
    root: Path | None, *args: str, env: dict[str, str] | None = None, runs: int = RUNS, full: bool = False
) -> float:
    """The best wall time of cli_times."""
    return min(cli_times(root, *args, env=env, runs=runs, full=full))


def figure(name: str, value: float, goal: float, unit: str = "s") -> dict[str, Any]:
    return {"name": name, "value": round(value, 3), "unit": unit, "goal": f"<= {goal}", "ratio": goal / value}


def write_root(path: Path, entries: int, proposals: int = 0, *, first: int = 0) -> Path:
    """A root with `entries` synthetic entries (and low-confidence proposals), written with libyaml."""
    import yaml

    from bench.catalog import synthetic_entry
    from ingest.catalog.store import CatalogRoot, model_to_yaml_data
    from ingest.models import Proposal

    root = CatalogRoot(path).create()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for i in range(first, first + entries):
        entry = synthetic_entry(root.taxonomy, i)
        text = yaml.dump(model_to_yaml_data(entry), Dumper=dumper, sort_keys=False, allow_unicode=True)
        (root.entries_dir / f"{entry.id}.yaml").write_text(text, encoding="utf-8")
    root.queue_dir.mkdir(exist_ok=True)
    for i in range(proposals):
        entry = synthetic_entry(root.taxonomy, first + entries + i).model_copy(
            update={"id": f"queued-{i:04d}"}
        )
        proposal = Proposal(
            id=f"queued-{i:04d}", kind="new", title=entry.title or entry.name, entry=entry, confidence=0.4
        )
        text = yaml.dump(model_to_yaml_data(proposal), Dumper=dumper, sort_keys=False, allow_unicode=True)
        (root.queue_dir / f"{proposal.id}.yaml").write_text(text, encoding="utf-8")
    return path


def atom_feed(titles: list[str]) -> bytes:
    """An arXiv answer with one paper per title, published yesterday (inside a run's window)."""
    from xml.sax.saxutils import escape

    when = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = "".join(
        f"""<entry><id>http://arxiv.org/abs/2611.{20000 + i:05d}v1</id><title>{escape(t)}</title>
<updated>{when}</updated><published>{when}</published><summary>An abstract.</summary>
<link href="https://arxiv.org/abs/2611.{20000 + i:05d}v1" rel="alternate" type="text/html"/>
<link href="https://arxiv.org/pdf/2611.{20000 + i:05d}v1" rel="related" type="application/pdf" title="pdf"/>
<category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/><arxiv:primary_category term="cs.CL"/>
<author><name>Bench Author</name></author></entry>
"""
        for i, t in enumerate(titles)
    )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"
xmlns="http://www.w3.org/2005/Atom"><id>bench</id><title>bench</title><updated>{when}</updated>
<opensearch:itemsPerPage>{len(titles)}</opensearch:itemsPerPage>
<opensearch:totalResults>{len(titles)}</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>
{entries}</feed>""".encode()


def start_mirror() -> Any:
    """The tests' loopback arXiv in a thread; every search answers with nothing until routed."""
    from arxiv_mirror import ArxivMirror, _Handler, _Server

    server = _Server(("127.0.0.1", 0), _Handler)
    mirror = ArxivMirror(f"http://127.0.0.1:{server.server_address[1]}")
    server.mirror = mirror
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mirror.route_search(atom_feed([]))
    return mirror


def noop_rerun(name: str, root: Path, env: dict[str, str], goal: float) -> dict[str, Any]:
    """Best and median of 5 reruns. The first run reads and validates every entry once (it sets the
    watermark and keeps the known-papers facts of each entry file in the cache); a rerun of unchanged files
    only lists and stat's them."""
    cli_seconds(root, "run", env=env, runs=1)
    times = cli_times(root, "run", env=env, runs=5)
    median = statistics.median(times)
    # The median in the name too: the bench table shows name and value only.
    return {**figure(f"{name} (median {median:.2f} s)", min(times), goal), "median": round(median, 3)}


def dedupe_seconds(root: Path, mirror: Any) -> float:
    """discover() of CANDIDATES papers (half of them titles of entries) against the root's entries."""
    from ingest.catalog.known import KnownPapers
    from ingest.catalog.store import CatalogRoot
    from ingest.config import Env
    from ingest.paper.discover import discover

    catalog = CatalogRoot(
        root, env=Env.from_mapping({"INGEST_ARXIV_URL": mirror.api_url, "INGEST_ARXIV_DELAY": "0"})
    )
    titles = [
        f"Method {i * 61}: a synthetic on-policy paper" if i % 2 else f"A new idea number {i} on rollouts"
        for i in range(CANDIDATES)
    ]
    mirror.reset()  # first route wins: drop the empty answer of the run benchmarks
    mirror.route_search(atom_feed(titles))
    until = datetime.now(UTC)
    known = KnownPapers.from_root(catalog)  # read once a command; the run benchmarks above time it
    start = time.perf_counter()
    result = discover(
        catalog.config.arxiv,
        known=known,
        since=until - timedelta(days=7),
        until=until,
        queries=["q"],
        max_results=CANDIDATES,
    )
    took = time.perf_counter() - start
    mirror.reset()
    mirror.route_search(atom_feed([]))
    if result.total_seen == 0:
        raise RuntimeError("the dedupe feed gave no paper")
    return took


def examples_seconds(root: Path) -> tuple[float, float, float]:
    """The extract stage's catalog cost, as a run meets it: the few-shot pool loaded once a run from its
    cache (best of RUNS, each from a new root object), the pool rebuilt from the entries the run has read
    already (its snapshot, timed by the no-op reruns) after an entry changed, as after an approval, and
    choosing one paper's examples (every paper)."""
    from ingest.catalog.known import KnownPapers
    from ingest.catalog.records import clear_cache
    from ingest.catalog.store import CatalogRoot
    from ingest.config import Env
    from ingest.jobs.pipeline import EntriesRead, Pipeline, PipelineOptions
    from ingest.models import Candidate

    env = Env.from_mapping({"OPENAI_API_KEY": "bench"})
    candidate = Candidate(arxiv_id="2611.00001", title="Student rollouts for on-policy distillation")
    # An approval writes an entry (here the same data again, so the rendered list stays as it is): the folder
    # changes and the cached pool is stale.
    catalog = CatalogRoot(root, env=env)
    catalog.write_entry(next(iter(catalog.entries().values())))
    clear_cache()
    read_at = time.time_ns()
    known = KnownPapers.from_root(catalog)  # the run's snapshot: read before the extract stage
    _ = known.entries  # the models, as a run that proposes has read them (a no-op run never does)
    pipeline = Pipeline(catalog, PipelineOptions(backend="openai"))
    pipeline.entries_read = EntriesRead(lambda: known.entries.values(), read_at)
    _ = pipeline.chain  # the taxonomy and settings: read by every command, whatever the catalog's size
    start = time.perf_counter()
    pool = pipeline.chain.examples
    rebuild = time.perf_counter() - start
    time.sleep(2.1)  # past the pool's settle time, so the next load saves it
    if not len(Pipeline(CatalogRoot(root, env=env), PipelineOptions(backend="openai")).chain.examples):
        raise RuntimeError("the few-shot pool is empty")

    load = choose = float("inf")
    for _ in range(RUNS):
        clear_cache()  # the in-process parse cache; the disk caches stay, as between two commands
        catalog = CatalogRoot(root, env=env)
        pipeline = Pipeline(catalog, PipelineOptions(backend="openai"))
        _ = pipeline.chain
        start = time.perf_counter()
        pool = pipeline.chain.examples
        loaded = time.perf_counter()
        pool.choose(candidate, k=catalog.config.extract.few_shot)
        load, choose = min(load, loaded - start), min(choose, time.perf_counter() - loaded)
        if pipeline.backend_built:
            raise RuntimeError("choosing examples built the backend")
        if not len(pool):
            raise RuntimeError("the few-shot pool is empty")
    return load, rebuild, choose


def bare_seconds(runs: int = 5) -> float:
    """The best wall time of `python -c pass`: what this machine's interpreter start costs before any of
    ours (the goals assume about 0.02 s; a loaded or slow machine shows here first)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        best = min(best, time.perf_counter() - start)
    return best


def measure() -> list[dict[str, Any]]:
    bare = round(bare_seconds(), 3)
    name = "bare interpreter start, python -c pass"
    rows = [{"name": name, "value": bare, "unit": "s", "goal": None, "ratio": None}]
    rows.append(figure("ingest --help", cli_seconds(None, "--help"), 0.15))
    rows.append(figure("ingest check, repository catalog", cli_seconds(REPO, "check"), 0.5))
    full = cli_seconds(REPO, "check", full=True)  # as in CI, or after any change: no kept report
    name = "ingest check, repository catalog, full check"
    rows.append({"name": name, "value": round(full, 3), "unit": "s", "goal": "(no goal)", "ratio": None})
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        base = Path(tmp)
        empty = write_root(base / "empty", 0)
        rows.append(figure("ingest review list, empty queue", cli_seconds(empty, "review", "list"), 0.4))

        mirror = start_mirror()
        env = {
            **os.environ,
            "INGEST_ARXIV_URL": mirror.api_url,
            "INGEST_ARXIV_PDF_URL": mirror.pdf_url,
            "INGEST_ARXIV_DELAY": "0",
            "OPENAI_API_KEY": "bench",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "INGEST_CACHE_DIR": str(base / "cache"),
        }
        small = write_root(base / "small", SMALL)
        rows.append(noop_rerun(f"no-op rerun, {SMALL:,} entries", small, env, 1.2))

        large = write_root(base / "large", LARGE)
        cli_seconds(large, "render", runs=1)  # check compares the rendered catalog: render it once first
        check_large = cli_seconds(large, "check", runs=2, full=True)
        rows.append(figure(f"ingest check, {LARGE:,} entries", check_large, 3.0))
        rows.append(
            figure(f"dedupe {CANDIDATES} candidates vs {LARGE:,} entries", dedupe_seconds(large, mirror), 0.5)
        )
        hundred = write_root(base / "hundred", 100)
        (_, _, few), (load_many, rebuild_many, many) = examples_seconds(hundred), examples_seconds(large)
        rows.append(
            {
                "name": f"extract stage, one paper's examples, {LARGE:,} vs 100 entries",
                "value": round(many / few, 2),
                "unit": "x",
                "goal": "<= 1.5",
                "ratio": 1.5 / (many / few),
            }
        )
        for name, value in (
            (f"few-shot pool loaded once a run, {LARGE:,} entries", load_many),
            (f"few-shot pool rebuilt from the run's snapshot, {LARGE:,} entries", rebuild_many),
        ):
            row = {"name": f"extract stage, {name}", "value": round(value, 3), "unit": "s"}
            rows.append({**row, "goal": "(no goal)", "ratio": None})
        rows.append(noop_rerun(f"no-op rerun, {LARGE:,} entries", large, env, 3.0))

        write_root(large, 0, proposals=QUEUED, first=LARGE)  # the same root, now with the queue (new papers)
        extra = cli_seconds(large, "check", runs=2, full=True) - check_large
        rows.append(figure(f"check: {QUEUED} queued proposals add", max(extra, 0.001), 0.5))
    return rows


if __name__ == "__main__":
    for row in measure():
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        median = f", median {row['median']} {row['unit']}" if "median" in row else ""
        print(f"{row['name']}: {row['value']} {row['unit']}{median} (goal {row['goal']}, ratio {ratio})")
