"""The second-sample cross-check of the openai backend, on the loopback server with the real openai client."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llm_server import answer, valid_arguments

from ingest.catalog.store import CatalogRoot
from ingest.config import Env
from ingest.jobs.pipeline import Chain, Pipeline, PipelineOptions
from ingest.jobs.report import RunReport
from ingest.models import Candidate, Flag

GKD = Candidate(arxiv_id="2306.13649", title="On-Policy Distillation of Language Models")


def make_root(path: Path) -> CatalogRoot:
    root = CatalogRoot(path / "root", env=Env.from_mapping(os.environ)).create()
    settings = "extract:\n  cross_check: second-sample\n  cross_check_model: gpt-4o\n  few_shot: 0\n"
    root.config_path.write_text(settings, encoding="utf-8")
    return root


def test_a_second_sample_flags_the_fields_it_disagrees_on_and_its_cost_is_counted(
    tmp_path, llm_server, corpus_paper
):
    gkd = corpus_paper("gkd-2306.13649-iclr2024.pdf", source="2306.13649")
    root = make_root(tmp_path)
    first = valid_arguments(root.taxonomy, gkd, name="GKD")
    second: dict[str, Any] = json.loads(json.dumps(first))
    # The second answer picks another value on every axis: those fields disagree, the rest agree.
    for axis in root.taxonomy.axes:
        second["axes"][axis.id]["values"] = [axis.values[1].id]
    llm_server.script(answer(first, usage=(2000, 500)), answer(second, usage=(1000, 100)))

    ex = Chain(Pipeline(root, PipelineOptions(backend="openai"))).extract(gkd, GKD)

    assert llm_server.calls == 2
    asked = llm_server.requests[1]
    assert asked["model"] == "gpt-4o"
    assert asked["temperature"] == 0.7
    assert llm_server.requests[0]["temperature"] == 0.0
    for axis in root.taxonomy.axes:
        assert Flag.disagreement in ex.entry.evidence[f"axes.{axis.id}"].flags
    assert Flag.disagreement not in ex.entry.evidence["sections"].flags
    assert Flag.disagreement not in ex.entry.evidence["verdicts.c1"].flags
    # Both answers are paid for: gpt-4o-mini for the first, gpt-4o for the second.
    assert ex.usage.calls == 2
    assert ex.usage.prompt_tokens == 3000
    assert abs(ex.usage.cost_usd - ((2000 * 0.15 + 500 * 0.6) + (1000 * 2.5 + 100 * 10.0)) / 1e6) < 1e-9
    # ... and the second one's share is counted apart, for the run report and the terminal.
    assert ex.usage.cross_check_calls == 1
    assert abs(ex.usage.cross_check_cost_usd - (1000 * 2.5 + 100 * 10.0) / 1e6) < 1e-9
    assert ex.usage.cross_check_note() == " (cross-check: 1 call, $0.0035)"
    report = RunReport(run_id="r", started=datetime.now(UTC), usage=ex.usage + ex.usage).to_markdown()
    assert "$0.0082 (cross-check: 2 calls, $0.0070)" in report

    # A rerun is answered from the cache, the second sample included: no call, no cost.
    again = Chain(Pipeline(root, PipelineOptions(backend="openai"))).extract(gkd, GKD)
    assert llm_server.calls == 2
    assert again.usage.cost_usd == 0
    assert again.entry.axes == ex.entry.axes
