"""Property-based: every loader and the CLI against random and adversarial YAML (hypothesis).

Each loader (entries, queue, decisions, exclusions, taxonomy, config, state, run journal) turns any document
into a valid record or a one-line IngestError that names the file (and, for a document that parses, the
line). The CLI (`check`, `review list`, `review show`, `review approve`) answers every such root with exit
code 0, 1 or 2, no traceback and bounded memory: the cases run in one child process under RLIMIT_AS, and its
peak resident memory is measured. Example counts are bounded (profile `ci`, the default here) so that the
whole module stays well under 40 s on two cores; HYPOTHESIS_PROFILE=thorough runs ten times more.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers_queue import catalog_entry, extraction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalog.queue import load_proposal
from ingest.catalog.records import clear_cache, read_model
from ingest.catalog.store import CatalogRoot, model_to_yaml_data
from ingest.config import Config, Env, load_config
from ingest.errors import CatalogError, IngestError
from ingest.jobs.journal import load_journal
from ingest.models import Decision, Entry, Exclusion, RunState
from ingest.review.propose import propose
from ingest.taxonomy import load_taxonomy
from ingest.yamlio import load_yaml

REPO = Path(__file__).resolve().parents[1]
settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "thorough", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
CLI_CASES = 10  # roots the CLI is run on, in one child process
MAX_RSS_MB = 600  # the alias bomb of issue 11 took over 2 GB; a bounded loader stays near the interpreter's
AS_LIMIT = 3 * 1024**3  # the child's address space: a runaway expansion fails there instead of the machine

# --- documents ----------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)

HOSTILE = [
    # a 350-byte alias bomb (issue 11): nine levels of nine aliases
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=1)),
    "[" * 20000 + "]" * 20000,
    "{a: " * 3000 + "1" + "}" * 3000,
    "id: " + "x" * 1_100_000,
    "id: a\nid: b\n",
    "id: x\n\tname: y\n",
    "\ufeffid: x\nname: y\n",
    "id: !!python/object/apply:os.system ['echo pwned']\n",
    "--- \nid: a\n---\nid: b\n",
    "id: x\naxes:\n  teacher-source: {a: 1}\n",
    "id: x\naxes:\n  teacher-source: [[a, [b]]]\n",
    "- just\n- a\n- list\n",
    "just a string",
    "",
    "~",
    "id: [unclosed\n",
    "id: 'unterminated\n",
    "? [complex, key]\n: value\n",
    "id: &anchor x\nname: *anchor\n",
    "id: 1e999\nname: .nan\n",
    "id: x\nname: '\x00\x07'\n",
    "id: x\nlinks:\n  - {kind: code, url: 'javascript:alert(1)'}\n",
    "id: x\nat: 2024-13-45T99:99:99\n",
]


class _Dumper(yaml.SafeDumper):
    """PyYAML resolves YAML 1.1 and leaves "4E6813" plain; ingest reads YAML 1.2, where that is a float (inf).
    Such strings are quoted, so a valid record dumps as a valid record."""


_NUMBER_12 = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "'" if _NUMBER_12.fullmatch(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a nested value (to replace one of them with a wrong type)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            out += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            out += paths(inner, (*prefix, i))
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: replaced(v, rest, new) if k == head else v for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """A valid record with one field (at any depth) replaced by a random value: wrong types, mappings..."""
    where = draw(st.sampled_from(paths(base)))
    return dump(replaced(base, where, draw(values)))


def documents(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    text = st.one_of(
        values.map(dump),
        mutated(base),
        st.sampled_from(HOSTILE),
        st.text(max_size=200),
        st.tuples(mutated(base), st.sampled_from(HOSTILE)).map(lambda pair: pair[0] + pair[1]),
    )
    return st.one_of(text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300))


# --- valid records to start from ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = CatalogRoot(tmp_path_factory.mktemp("seed") / "root", env=Env.from_mapping({})).create()
    taxonomy = root.taxonomy
    proposal = propose(root, extraction(taxonomy), run_id="seed")
    assert proposal is not None
    decision = Decision(id="p", action="approved", kind="new", entry_id="gkd", at=datetime.now(UTC))
    exclusion = Exclusion(id="x", title="Out of scope", reason="not distillation", arxiv_id="2401.00001")
    return {
        "root": root,
        "entry": model_to_yaml_data(catalog_entry(taxonomy)),
        "proposal": model_to_yaml_data(proposal),
        "decision": model_to_yaml_data(decision),
        "exclusion": model_to_yaml_data(exclusion),
        "state": {"watermark": "2026-01-01T00:00:00Z", "failures": {}, "history": []},
        "config": Config().model_dump(mode="json"),
        "taxonomy": small_taxonomy(json.loads(json.dumps(load_yaml(root.taxonomy_path), default=str))),
        "journal": {"report": {}, "candidates": None, "scopes": {}, "done": {}, "downloaded": []},
    }


def small_taxonomy(data: dict[str, Any]) -> dict[str, Any]:
    """The bundled taxonomy with every cue list cut to 4 words, 2 detail groups and 4 implications: still
    valid and of the same shape at every depth, but a tenth of its 40 KB, so that each mutated document
    parses in milliseconds and the examples go to structure, not to the thousand words of its lists."""
    out = json.loads(json.dumps(data))
    cues = out["cues"]
    for key, value in cues.items():
        if isinstance(value, list) and value and isinstance(value[0], str):
            cues[key] = value[:4]
        elif isinstance(value, dict):
            for sub, words in value.items():
                if isinstance(words, list):
                    value[sub] = words[:4]
    cues["details"] = cues["details"][:2]
    out["implications"] = out["implications"][:4]
    return out


def assert_one_line(exc: IngestError, path: Path) -> None:
    """The promise: one line, naming the file; a document that parsed also has its line."""
    text = str(exc)
    assert "\n" not in text, text
    assert path.name in text, text
    if isinstance(exc, CatalogError) and not any(
        word in text for word in ("larger than", "not UTF-8", "cannot be read", "JSON", "cannot resume")
    ):
        assert exc.line is not None, text


def run_loader(path: Path, data: bytes, load: Callable[[Path], Any]) -> None:
    path.write_bytes(data)
    clear_cache()
    try:
        load(path)
    except IngestError as exc:
        assert_one_line(exc, path)


LOADERS: dict[str, tuple[str, Callable[[CatalogRoot, Path], Any]]] = {
    "entry": ("entries/e.yaml", lambda root, p: read_model(p, Entry, within=root.path)),
    "proposal": ("review_queue/q.yaml", lambda root, p: load_proposal(p, root.taxonomy)),
    "decision": ("decisions/d.yaml", lambda root, p: read_model(p, Decision, within=root.path)),
    "exclusion": ("exclusions/x.yaml", lambda root, p: read_model(p, Exclusion, within=root.path)),
    "state": ("state.yaml", lambda root, p: read_model(p, RunState, within=root.path)),
    "config": ("ingest.yaml", lambda root, p: load_config(p)),
    "taxonomy": ("taxonomy.yaml", lambda root, p: load_taxonomy(p)),
}


def placed(
    made: dict[str, Any], kind: str, tmp_path: Path
) -> tuple[CatalogRoot, Path, Callable[[CatalogRoot, Path], Any]]:
    """A fresh root, where in it a record of `kind` lives (a queue file is named after its proposal's id),
    and the loader that reads it."""
    relative, load = LOADERS[kind]
    if kind == "proposal":
        relative = f"review_queue/{made[kind]['id']}.yaml"
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping({})).create()
    path = root.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return root, path, load


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_each_record_mutated_below_loads_as_it_is(made: dict[str, Any], tmp_path: Path, kind: str) -> None:
    # A base that is already invalid would stop every mutation at its first error, deeper checks untried.
    root, path, load = placed(made, kind, tmp_path)
    path.write_text(dump(made[kind]), encoding="utf-8")
    clear_cache()
    assert load(root, path) is not None


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_every_loader_gives_a_record_or_one_line_with_file_and_line(
    made: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    root, path, load = placed(made, kind, tmp_path)

    @given(documents(made[kind]))
    def check(data: bytes) -> None:
        run_loader(path, data, lambda p: load(root, p))

    check()


def test_the_run_journal_gives_a_journal_or_one_line(made: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "run.json"

    as_json = mutated(made["journal"]).map(lambda t: json.dumps(yaml.safe_load(t), default=str))

    @given(st.one_of(values.map(lambda v: json.dumps(v, default=str)), as_json, st.text(max_size=100)))
    def check(text: str) -> None:
        run_loader(path, text.encode("utf-8", "surrogatepass"), load_journal)

    check()


# --- the CLI, in one child process with a memory limit ------------------------------------------------------

CHILD = r"""
import json, resource, sys, traceback
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
from click.testing import CliRunner
from ingest.cli import cli

results = []
for root, args in json.loads(open(sys.argv[1]).read()):
    r = CliRunner().invoke(cli, ["--root", root, *args], catch_exceptions=True)
    escaped = None
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        escaped = "".join(traceback.format_exception(r.exception))[-2000:]
    results.append({"args": args, "root": root, "code": r.exit_code, "escaped": escaped,
                    "stderr": r.stderr[-500:], "stdout_tail": r.stdout[-300:]})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"results": results, "peak_mb": peak}))
"""

FOLDERS = {"entry": "entries", "proposal": "review_queue", "decision": "decisions", "exclusion": "exclusions"}


def test_the_cli_answers_hostile_roots_with_0_1_or_2_no_traceback_and_bounded_memory(
    made: dict[str, Any], tmp_path: Path
) -> None:
    cases: list[tuple[str, list[str]]] = []
    roots: list[Path] = []

    @settings(max_examples=CLI_CASES)
    @given(st.sampled_from(sorted(FOLDERS)), st.data())
    def collect(kind: str, data: st.DataObject) -> None:
        root = CatalogRoot(tmp_path / f"r{len(roots)}", env=Env.from_mapping({})).create()
        roots.append(root.path)
        valid = propose(root, extraction(root.taxonomy, paper="2306.13649"), run_id="seed")
        assert valid is not None
        folder = root.path / FOLDERS[kind]
        folder.mkdir(exist_ok=True)
        doc = data.draw(documents(made[kind]))
        (folder / "hostile.yaml").write_bytes(doc)
        commands = [["check"], ["review", "list"], ["review", "show", "hostile"]]
        commands.append(["review", "show", valid.id])
        for args in [*commands, ["review", "approve", "hostile"]]:
            cases.append((str(root.path), args))

    collect()
    for hostile in HOSTILE[:4]:  # the bomb, the deep nestings and the huge scalar, in every folder, always
        for kind, folder in FOLDERS.items():
            root = CatalogRoot(tmp_path / f"h{len(roots)}", env=Env.from_mapping({})).create()
            roots.append(root.path)
            (root.path / folder).mkdir(exist_ok=True)
            (root.path / folder / "hostile.yaml").write_text(hostile, encoding="utf-8")
            cases += [(str(root.path), ["check"]), (str(root.path), ["review", "show", "hostile"])]
            last = ["review", "approve", "hostile"] if kind == "proposal" else ["review", "list"]
            cases.append((str(root.path), last))
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps(cases), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(spec), str(AS_LIMIT)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    for result in report["results"]:
        assert result["escaped"] is None, result
        assert result["code"] in (0, 1, 2), result
        assert "Traceback" not in result["stderr"], result
        if result["args"][-1] == "hostile" and result["code"]:  # each problem one line naming the file
            errors = [line for line in result["stderr"].splitlines() if line.startswith("error:")]
            assert errors, result
            assert all("hostile" in line for line in errors), result
    print(f"{len(report['results'])} CLI runs; peak resident memory {report['peak_mb']} MB")
    assert report["peak_mb"] < MAX_RSS_MB


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("ingest.yaml", '"bad\\nkey": 1\n'),
        ("ingest.yaml", 'extract:\n  "mo\\rdel\\u0007": 1\n'),
        ("entries/e.yaml", 'id: e\n"na\\nme": x\n'),
    ],
)
def test_a_key_with_a_line_break_is_still_a_one_line_error(tmp_path: Path, relative: str, text: str) -> None:
    # Found by the property test above: a key from a hostile file went into the message as it was.
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping({})).create()
    path = root.path / relative
    path.write_text(text, encoding="utf-8")
    load = LOADERS["config" if relative == "ingest.yaml" else "entry"][1]
    with pytest.raises(IngestError) as caught:
        load(root, path)
    assert_one_line(caught.value, path)
    if relative == "ingest.yaml":  # the config names the unknown key: shown, escaped
        assert "\\n" in str(caught.value) or "\\r" in str(caught.value)
