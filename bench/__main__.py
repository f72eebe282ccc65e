"""python -m bench: every benchmark figure of the project in one table (value, goal, ratio), offline.

Each script bench/<name>.py exposes `measure() -> list[dict(name, value, unit, goal, ratio)]`, optionally
with `met: bool`; the goal may be a comparator and a number (">= 0.5"). Each runs in its own subprocess,
so a script that is missing, fails or hangs is skipped with its reason and the others still make the
table. The subprocesses get a proxy that does not exist for every host but 127.0.0.1, so nothing can
reach the internet by accident.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ("startup", "catalog", "reading", "extraction", "pipeline")
REQUIRED = ("name", "value", "unit", "goal", "ratio")
TIMEOUT_SECONDS = 900
# Any request to a host other than loopback goes to this closed port and fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
COMPARATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


def offline_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "INGEST_ARXIV_URL",
        "INGEST_ARXIV_PDF_URL",
        "INGEST_ROOT",
    ):
        env.pop(var, None)
    env.update(
        {
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "ALL_PROXY": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "https_proxy": DEAD_PROXY,
            "all_proxy": DEAD_PROXY,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    return env


def run_one(name: str, out: Path) -> int:
    """In the child: import bench.<name>, call measure(), write its figures (or the error) to `out`."""
    result: dict[str, Any]
    try:
        module = import_module(f"bench.{name}")
        measure = getattr(module, "measure", None)
        if measure is None:
            result = {"error": f"bench/{name}.py has no measure() function"}
        else:
            result = {"figures": measure()}
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        reason = "not written yet" if missing in (f"bench.{name}", "bench") else f"needs module {missing!r}"
        result = {"error": f"bench/{name}.py: {reason}"}
    except Exception as exc:  # any failure of one script must leave the table to the others
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result = {
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            + f" (at {Path(last.filename).name}:{last.lineno})"
        }
    out.write_text(json.dumps(result, default=str))
    return 0


def gather(name: str, timeout: float = TIMEOUT_SECONDS) -> tuple[list[dict[str, Any]], str | None, float]:
    """One script's figures, or the reason it was skipped; and how long it took."""
    if not (REPO / "bench" / f"{name}.py").is_file():
        return [], f"bench/{name}.py is not written yet", 0.0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / "result.json"
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "bench", "--one", name, "--out", str(out)],
                cwd=REPO,
                env=offline_env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return [], f"timed out after {timeout:.0f} s", time.perf_counter() - start
        took = time.perf_counter() - start
        if not out.is_file():
            tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            return [], f"crashed: {tail[:300]}", took
        result = json.loads(out.read_text())
    if "error" in result:
        return [], result["error"], took
    figures = result.get("figures")
    if not isinstance(figures, list):
        return [], "measure() did not return a list", took
    good = [f for f in figures if isinstance(f, dict) and all(k in f for k in REQUIRED)]
    if len(good) < len(figures):
        bad = len(figures) - len(good)
        return good, f"{bad} figure(s) without all of {', '.join(REQUIRED)} left out", took
    return good, None, took


def _goal(figure: dict[str, Any]) -> tuple[str, float] | None:
    """The goal's comparator and number when the goal is written as one, such as "<= 1" or ">= 0.5"."""
    goal = figure.get("goal")
    parts = goal.split() if isinstance(goal, str) else []
    if len(parts) == 2 and parts[0] in COMPARATORS:
        try:
            return parts[0], float(parts[1])
        except ValueError:
            return None
    return None


def ratio(figure: dict[str, Any]) -> float | None:
    """The figure against its goal, oriented so that >= 1 meets it: goal / value for an upper bound,
    value / goal for a lower bound. Scripts orient their ratios differently: the suite recomputes it."""
    goal, value = _goal(figure), figure.get("value")
    if goal is None or not isinstance(value, int | float):
        own = figure.get("ratio")
        return own if isinstance(own, int | float) else None
    op, number = goal
    if op in ("<=", "<"):
        return number / value if value > 0 else None
    if op in (">=", ">"):
        return value / number if number > 0 else None
    return None


def meets(figure: dict[str, Any]) -> bool | None:
    """Whether a figure meets its goal: its own `met`/`ok`, else the goal's comparator, else ratio >= 1."""
    for key in ("met", "ok"):
        if isinstance(figure.get(key), bool):
            return bool(figure[key])
    goal, value = _goal(figure), figure.get("value")
    if goal is not None and isinstance(value, int | float):
        return COMPARATORS[goal[0]](value, goal[1])
    own = ratio(figure)
    return None if own is None or figure.get("goal") is None else own >= 1.0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def machine() -> str:
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · nproc {len(os.sched_getaffinity(0))} · "
        f"Python {platform.python_version()} · {platform.platform()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scripts", nargs="*", help=f"which scripts to run (default: all of {', '.join(SCRIPTS)})"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, help="seconds per script")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(args.one, args.out)

    names = args.scripts or list(SCRIPTS)
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    console = Console(stderr=True)
    for name in names:
        console.print(f"bench: running bench/{name}.py ...", highlight=False)
        figures, reason, took = gather(name, args.timeout)
        rows += [{"script": name, **f, "ratio": ratio(f), "meets_goal": meets(f)} for f in figures]
        if reason:
            skipped.append((name, reason))
        console.print(f"bench: {name} done in {took:.1f} s", highlight=False)

    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "figures": rows,
                    "skipped": [{"script": s, "reason": r} for s, r in skipped],
                },
                indent=2,
                default=str,
            )
        )
        return 0
    out = Console(highlight=False, width=max(Console().width, 140))
    out.print(f"ingest benchmarks · {machine()}")
    table = Table()
    for col in ("script", "figure", "value", "goal", "ratio", "goal met"):
        table.add_column(col, justify="left" if col in ("script", "figure") else "right")
    for r in rows:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r["meets_goal"]]
        unit = f" {r['unit']}" if r.get("unit") else ""
        table.add_row(
            r["script"],
            str(r["name"]),
            f"{_fmt(r['value'])}{unit}",
            f"{_fmt(r['goal'])}{unit}" if r["goal"] is not None else "-",
            _fmt(r["ratio"]),
            met,
        )
    out.print(table)
    for name, reason in skipped:
        some = any(r["script"] == name for r in rows)
        out.print(f"{'note on' if some else 'skipped'} bench/{name}.py: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
