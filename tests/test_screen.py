"""screen: a cheap scope decision on title and abstract, before any download; borderline goes on."""

from __future__ import annotations

import json
import os

from llm_server import answer, error, screen_arguments, user_text

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.extract.backend import make_backend
from ingest.extract.heuristic import HeuristicBackend
from ingest.extract.screen import goes_on, screen
from ingest.models import Candidate
from ingest.yamlio import load_yaml

OPD = Candidate(
    arxiv_id="2306.13649",
    title="On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes",
    abstract="Knowledge distillation (KD) is widely used for compressing a "
    "teacher model ... we train the student on its self-generated output sequences.",
)
PPO = Candidate(
    arxiv_id="1707.06347",
    title="Proximal Policy Optimization Algorithms",
    abstract="We propose a new family of policy gradient methods for reinforcement learning.",
)


def make_root(tmp_path, config: str = "") -> CatalogRoot:
    # The environment as the CLI resolves it: llm_server points OPENAI_* at itself.
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping(os.environ)).create()
    root.config_path.write_text(config, encoding="utf-8")
    return root


def test_heuristic_screen_keeps_opd_and_drops_ppo(tmp_path):
    root = make_root(tmp_path)
    backend = HeuristicBackend(root.taxonomy)
    assert screen(OPD, backend, root.taxonomy).verdict == "in"
    out = screen(PPO, backend, root.taxonomy)
    assert out.verdict == "out"
    assert out.reason
    assert not goes_on(out)


def test_llm_screen_sends_only_title_and_abstract_as_data(tmp_path, llm_server):
    root = make_root(tmp_path)
    llm_server.script(answer(screen_arguments("in", 0.95), usage=(150, 20)))
    scope = screen(OPD, make_backend("openai", root), root.taxonomy)
    assert scope.verdict == "in"
    assert goes_on(scope)
    request = llm_server.requests[0]
    assert request["tools"][0]["function"]["name"] == "ScreenAnswer"
    text = user_text(request)
    start, end = text.index('<paper id="2306.13649">'), text.rindex("</paper>")
    assert start < text.index("self-generated output sequences") < end


def test_confident_out_is_out_and_unsure_out_is_borderline(tmp_path, llm_server):
    root = make_root(tmp_path)
    backend = make_backend("openai", root)
    llm_server.script(answer(screen_arguments("out", 0.9)))
    assert screen(PPO, backend, root.taxonomy).verdict == "out"
    llm_server.script(answer(screen_arguments("out", 0.2)))
    other = PPO.model_copy(update={"arxiv_id": "1707.00001"})  # not the cached answer
    unsure = screen(other, backend, root.taxonomy)
    assert unsure.verdict == "borderline"
    assert goes_on(unsure)


def test_a_failed_screen_never_drops_the_paper(tmp_path, llm_server):
    root = make_root(tmp_path, "extract:\n  retries: 0\n")
    llm_server.script(error(500))
    scope = screen(PPO, make_backend("openai", root), root.taxonomy)
    assert scope.verdict == "borderline"
    assert "screening failed" in scope.reason
    assert json.dumps(llm_server.requests[0])  # the request was made, and failed


def test_a_runs_llm_line_counts_its_screening_calls(tmp_path, arxiv_mirror, llm_server):
    # The run's "LLM: N calls, ..., $total" line and report counted only the extraction calls: a run that
    # screened 2 papers and extracted 2 said "2 calls" after 4 requests (and their cost) to the endpoint.
    from datetime import UTC, datetime, timedelta

    from helpers_run import invoke
    from llm_server import ValidAnswers

    from ingest.paper.read import read_pdf

    root = make_root(tmp_path)
    gkd = "2306.13649"  # a tuning-half corpus paper, not in a new root's catalog
    arxiv_mirror.list_paper(gkd, submitted=datetime.now(UTC) - timedelta(days=2))
    text = read_pdf(arxiv_mirror.papers[gkd].file, source=gkd)
    llm_server.default = ValidAnswers(root.taxonomy, {gkd: text})
    result = invoke(root.path, "run", "--backend", "openai", "--model", "test-model", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [p["paper"] for p in report["proposed"]] == [gkd]
    screens = [r for r in llm_server.requests if "ScreenAnswer" in json.dumps(r)]
    assert len(screens) == 1
    assert llm_server.calls == 2  # the screen, then the extraction
    assert report["usage"]["calls"] == llm_server.calls
    assert report["usage"]["prompt_tokens"] == 2 * 1200  # llm_server's usage per answer
    markdown = (root.runs_dir / f"{report['run_id']}.md").read_text()
    assert "LLM: 2 calls, 2400 prompt + 600 completion tokens" in markdown
    # The screening's cost is the report's; the scope written with the proposal stays as it was.
    [proposal] = [load_yaml(p) for p in root.queue_dir.glob("*.yaml")]
    assert set(proposal["scope"]) == {"verdict", "reason", "confidence"}
