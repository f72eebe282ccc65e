"""Benchmark of the catalog core: importing the real list, and rendering + checking 1,000 synthetic entries.

Figures (best of three runs, each on a fresh temporary root; budgets from the "Catalog core" issue):
- `import-markdown` of the real AwesomeOPD list (113 rows) into a new root, files written: budget 1 s;
- `render` (README.md written) then `check` (every file validated, the catalog re-rendered and compared) of a
  root with 1,000 synthetic entries spread over the taxonomy's sections, in one process, as after
  `review approve`: budget 1 s;
- `check` alone of the same root in a fresh process (nothing parsed before), as CI runs it: budget 1 s.
At scale (issue 10; BENCH_SCALE_ENTRIES, default 20,000, sets the size):
- `check` of 20,000 synthetic entries, cold: goal 3 s;
- the same with 500 queued proposals whose fields are flagged (check gives their lines): 0.5 s above;
- dedupe of 300 candidates (found by title) against the 20,000 entries' index: goal 0.5 s.
Ratio = budget / measured time, so a ratio >= 1 meets the budget. Run: `python bench/catalog.py`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.catalog.known import KnownPapers, Snapshot  # noqa: E402
from ingest.catalog.records import clear_cache  # noqa: E402
from ingest.catalog.store import CatalogRoot, model_to_yaml_data  # noqa: E402
from ingest.check.run import check_root  # noqa: E402 - after the path above, so a checkout runs without install
from ingest.markdown.render import render_root  # noqa: E402
from ingest.models import Candidate, Entry, FieldEvidence, Flag, Link, LinkKind, Proposal, Verdict  # noqa: E402
from ingest.taxonomy import Taxonomy  # noqa: E402

SEED_LIST = REPO.parent / "shared" / "corpus" / "awesomeopd" / "README.md"
BUDGET_SECONDS = 1.0
SYNTHETIC = 1000
RUNS = 3
SCALE_ENTRIES = int(os.environ.get("BENCH_SCALE_ENTRIES", "20000"))
SCALE_PROPOSALS = 500
SCALE_CANDIDATES = 300


def synthetic_entry(taxonomy: Taxonomy, i: int) -> Entry:
    """A plausible entry: a primary section and sometimes a cross-list, details, links, verdicts, axes."""
    sections = taxonomy.catalog_sections
    primary = sections[i % len(sections)]
    listed = [primary.id] + ([sections[(i * 7 + 3) % len(sections)].id] if i % 5 == 0 else [])
    listed = list(dict.fromkeys(s for s in taxonomy.section_ids if s in listed))  # taxonomy order, no repeats
    aid = f"25{i % 12 + 1:02d}.{10000 + i:05d}"
    details = {primary.id: {c: f"value {i % 13}" for c in primary.detail_names(keep_prose=False)}}
    criteria = taxonomy.criteria
    return Entry(
        id=f"synthetic-{i:04d}",
        name=f"Method {i}",
        title=f"Method {i}: a synthetic on-policy paper",
        url=f"https://github.com/example/method-{i}" if i % 2 else f"https://arxiv.org/abs/{aid}",
        date=f"{2023 + i % 4}.{i % 12 + 1:02d}",
        org=f"Lab {i % 37}",
        stars_repo=f"example/method-{i}" if i % 2 else None,
        paper_only=not i % 2,
        links=[
            Link(kind=LinkKind.arxiv, url=f"https://arxiv.org/abs/{aid}", label=f"arXiv {aid}", arxiv_id=aid)
        ],
        sections=listed,
        details={k: v for k, v in details.items() if v},
        axes={a.id: [a.values[i % len(a.values)].id] for a in taxonomy.axes},
        verdicts={
            c.id: Verdict(value="partial" if i % 9 == 0 and n == 0 else "yes") for n, c in enumerate(criteria)
        },
        evidence={f"axes.{taxonomy.axes[0].id}": FieldEvidence(confidence=0.9)} if i % 3 == 0 else {},
    )


def best_of(runs: int, setup: Callable[[Path], Any], timed: Callable[[Any], Any]) -> tuple[float, Any]:
    """The fastest of `runs` runs of `timed(setup(fresh temporary folder))`, and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
            prepared = setup(Path(tmp))
            start = time.perf_counter()
            result = timed(prepared)
            best = min(best, time.perf_counter() - start)
    return best, result


def figure(name: str, seconds: float, detail: str, budget: float = BUDGET_SECONDS) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(seconds, 4),
        "unit": "s",
        "goal": f"<= {budget}",
        "ratio": round(budget / seconds, 2) if seconds > 0 else None,
        "met": seconds <= budget,
        "detail": detail,
    }


def measure_import() -> dict[str, Any]:
    from ingest.markdown.importer import import_markdown

    if not SEED_LIST.is_file():
        raise FileNotFoundError(f"needs the real list at {SEED_LIST} (the repository's ../shared folder)")
    from ingest.catalog.store import bundled
    from ingest.markdown.importer import parse_markdown
    from ingest.taxonomy import load_taxonomy

    seconds, result = best_of(
        RUNS, lambda tmp: CatalogRoot(tmp / "root"), lambda root: import_markdown(root, SEED_LIST)
    )
    taxonomy = load_taxonomy(bundled("taxonomy.yaml"))
    text = SEED_LIST.read_text(encoding="utf-8")
    parse, _ = best_of(RUNS, lambda tmp: None, lambda _: parse_markdown(text, taxonomy))
    rows = sum(result.rows_by_section.values())
    return figure(
        "import-markdown of the real list",
        seconds,
        f"{rows} rows, {len(result.entries)} entries; parsing {parse:.2f} s, the rest is loading the "
        f"taxonomy and writing {len(result.entries)} YAML files",
    )


def measure_render_check() -> list[dict[str, Any]]:
    template = Path(tempfile.mkdtemp(prefix="bench-catalog-template-")) / "root"
    built = CatalogRoot(template).create()
    for i in range(SYNTHETIC):
        built.write_entry(synthetic_entry(built.taxonomy, i))

    def setup(tmp: Path) -> CatalogRoot:
        shutil.copytree(template, tmp / "root")
        return CatalogRoot(tmp / "root")  # a fresh object: taxonomy and config are read inside the timing

    def timed(root: CatalogRoot) -> Any:
        render_root(root)
        return check_root(root)

    def cold_check(root: CatalogRoot) -> Any:
        render_root(root)
        clear_cache()
        fresh = CatalogRoot(root.path)
        start = time.perf_counter()
        report = check_root(fresh)
        cold.append(time.perf_counter() - start)
        return report

    cold: list[float] = []
    seconds, report = best_of(RUNS, setup, timed)
    if report.errors:
        raise RuntimeError(f"the synthetic root is not clean: {report.errors[0]}")
    clear_cache()
    best_of(RUNS, setup, cold_check)
    shutil.rmtree(template.parent, ignore_errors=True)
    return [
        figure(
            f"render + check of {SYNTHETIC:,} synthetic entries",
            seconds,
            f"{len(report.warnings)} warnings, 0 errors; one process",
        ),
        figure(
            f"check alone of {SYNTHETIC:,} synthetic entries, cold",
            min(cold),
            "a fresh process, as CI runs it",
        ),
    ]


def write_fast(path: Path, data: Any) -> None:
    """libyaml's dumper: 20,000 files through ruamel's round-trip dumper would take a minute of setup."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True))


def scale_root(folder: Path, entries: int, proposals: int) -> CatalogRoot:
    """A root of `entries` synthetic entries (every other one without an arXiv id, as hand-listed resources
    are) and `proposals` queued new proposals whose fields are flagged, so check reports their lines."""
    root = CatalogRoot(folder).create()
    taxonomy = root.taxonomy
    for i in range(entries):
        entry = synthetic_entry(taxonomy, i)
        if i % 2:
            entry = entry.model_copy(update={"links": [], "url": None})
        write_fast(root.entry_path(entry.id), model_to_yaml_data(entry))
    for i in range(proposals):
        entry = synthetic_entry(taxonomy, entries + i)
        flagged = FieldEvidence(confidence=0.3, flags=[Flag.ungrounded])
        entry = entry.model_copy(update={"evidence": {f"axes.{taxonomy.axes[0].id}": flagged}})
        proposal = Proposal(
            id=f"prop-{i:04d}", kind="new", arxiv_id=entry.arxiv_ids[0], title=entry.title or "", entry=entry
        )
        write_fast(root.proposal_path(proposal.id), model_to_yaml_data(proposal))
    return root


def cold_check_seconds(root: CatalogRoot) -> float:
    best = float("inf")
    for _ in range(RUNS):
        clear_cache()
        fresh = CatalogRoot(root.path)
        start = time.perf_counter()
        check_root(fresh)
        best = min(best, time.perf_counter() - start)
    return best


def measure_scale() -> list[dict[str, Any]]:
    n = SCALE_ENTRIES
    with tempfile.TemporaryDirectory(prefix="bench-catalog-scale-") as tmp:
        plain = scale_root(Path(tmp) / "plain", n, 0)
        queued = scale_root(Path(tmp) / "queued", n, SCALE_PROPOSALS)
        without = cold_check_seconds(plain)
        with_queue = cold_check_seconds(queued)
        start = time.perf_counter()
        known = KnownPapers.from_snapshot(Snapshot.read(plain))
        built = time.perf_counter() - start
        # Candidates whose titles are near (reworded) or far from the catalog's: every one goes to the index.
        candidates = [
            Candidate(
                arxiv_id=f"2601.{i:05d}",
                version=1,
                title=f"A synthetic on-policy paper: Method {i * 2 + 1}" if i % 2 else f"Unrelated work {i}",
            )
            for i in range(SCALE_CANDIDATES)
        ]
        start = time.perf_counter()
        statuses = [known.classify(c)[0] for c in candidates]
        dedupe = time.perf_counter() - start
    return [
        figure(f"check of {n:,} entries, cold", without, "one process, nothing parsed before", budget=3.0),
        figure(
            f"check with {SCALE_PROPOSALS} flagged proposals, above the same without",
            max(with_queue - without, 0.0),
            f"{with_queue:.2f} s with, {without:.2f} s without",
            budget=0.5,
        ),
        figure(
            f"dedupe of {SCALE_CANDIDATES} candidates against {n:,} entries",
            dedupe,
            f"{statuses.count('known')} known by title; the index built in {built:.2f} s (read included)",
            budget=0.5,
        ),
    ]


def measure() -> list[dict[str, Any]]:
    """The figures for `python -m bench`: name, value, unit, goal, ratio (and met, detail)."""
    return [measure_import(), *measure_render_check(), *measure_scale()]


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="catalog core (bench/catalog.py)", title_justify="left")
    for column in ("figure", "value", "goal", "ratio", "met", "detail"):
        table.add_column(column)
    for row in measure():
        table.add_row(
            row["name"],
            f"{row['value']} {row['unit']}",
            f"{row['goal']} {row['unit']}",
            f"{row['ratio']}x",
            "yes" if row["met"] else "NO",
            row["detail"],
        )
    Console().print(table)


if __name__ == "__main__":
    main()
