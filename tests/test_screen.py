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
