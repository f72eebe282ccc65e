"""`ingest add REF...`: the whole chain from the command line, one bad REF reported and the others go on."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import PDFS
from llm_server import ValidAnswers, share_text_cache

from ingest.catalog.queue import scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.cli import cli

FALCON = "falcon-2412.12639-aaai2025.pdf"


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)


def test_add_offline_prints_the_entry_with_evidence_and_flags(tmp_path, corpus_paper, corpus_text_cache):
    corpus_paper(FALCON)  # parsed once per session; copied into this test's cache
    share_text_cache(corpus_text_cache, Path(os.environ["INGEST_CACHE_DIR"]))
    result = run(tmp_path / "root", "add", str(PDFS / FALCON))

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Falcon (2412.12639)" in out
    assert "backend heuristic" in out
    assert "sections: speculative-decoding" in out
    # The code link's quote is the sentence that announces it, up to the URL.
    assert re.search(r"“[^”]*https://github\.com/Bestpay-inc/Falcon\.?” \(p\. 1, exact\)", out), out
    assert "[low-confidence, heuristic]" in out
    assert (tmp_path / "root" / "taxonomy.yaml").is_file()  # add created the root
    # Fields in the entry file's order, the axes in the taxonomy's: what a reviewer reads first comes first.
    fields = [
        line.split(":")[0].strip() for line in out.splitlines() if line.startswith("  ") and ": " in line
    ]
    fields = [f for f in fields if not f.startswith(("backend", "“"))]
    assert fields[:2] == ["name", "title"]
    axes = [f for f in fields if f.startswith("axes.")]
    taxonomy = CatalogRoot(tmp_path / "root").taxonomy
    assert axes == [f"axes.{a.id}" for a in taxonomy.axes]
    assert fields.index("sections") < fields.index(axes[0]) < fields.index("verdicts.c1")
    assert fields[-1] == "scope"


def test_one_bad_ref_is_one_line_and_the_others_go_on(tmp_path, corpus_paper, corpus_text_cache):
    corpus_paper(FALCON)
    share_text_cache(corpus_text_cache, Path(os.environ["INGEST_CACHE_DIR"]))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"<html>not a pdf</html>")
    result = run(tmp_path / "root", "add", "not-a-ref", str(broken), str(PDFS / FALCON))

    assert result.exit_code == 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("not-a-ref" in e for e in errors)
    assert any("broken.pdf" in e and "not a PDF" in e for e in errors)
    assert "Falcon (2412.12639)" in result.stdout


def test_nothing_good_exits_with_the_failures_code(tmp_path):
    result = run(tmp_path / "root", "add", "not-a-ref")
    assert result.exit_code == 2
    assert "not-a-ref" in result.stderr


def test_add_json_with_the_openai_backend(tmp_path, llm_server, corpus_paper, corpus_text_cache):
    paper = corpus_paper(FALCON, source="2412.12639")
    share_text_cache(corpus_text_cache, Path(os.environ["INGEST_CACHE_DIR"]))
    root = tmp_path / "root"
    run(root, "add", "--help")

    llm_server.default = ValidAnswers(
        CatalogRoot(root).create().taxonomy, {"2412.12639": paper}, name="Falcon"
    )
    result = run(root, "add", "--backend", "openai", "--model", "gpt-4o", "--json", str(PDFS / FALCON))

    assert result.exit_code == 0, result.stderr
    [item] = json.loads(result.stdout)
    ex = item["extraction"]
    assert item["ok"]
    assert ex["backend"] == "openai"
    assert ex["model"] == "gpt-4o"
    assert ex["entry"]["name"] == "Falcon"
    assert ex["usage"]["calls"] == 1
    quote = ex["entry"]["evidence"]["sections"]["quotes"][0]
    assert quote["match"] == "exact"
    assert quote["page"] >= 1
    assert llm_server.requests[0]["model"] == "gpt-4o"


def test_an_unreachable_llm_endpoint_exits_3(tmp_path, monkeypatch, corpus_paper, corpus_text_cache):
    import socket

    corpus_paper(FALCON)
    share_text_cache(corpus_text_cache, Path(os.environ["INGEST_CACHE_DIR"]))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    root = tmp_path / "root"
    root.mkdir()
    (root / "ingest.yaml").write_text("extract:\n  retries: 0\n", encoding="utf-8")
    result = run(root, "add", str(PDFS / FALCON))
    assert result.exit_code == 3
    assert "could not reach the LLM endpoint" in result.stderr


def test_a_paper_the_root_holds_is_not_extracted_again_and_one_that_adds_nothing_is_not_proposed(
    tmp_path, corpus_paper, corpus_text_cache
):
    gkd = "gkd-2306.13649-iclr2024.pdf"
    corpus_paper(gkd)
    share_text_cache(corpus_text_cache, Path(os.environ["INGEST_CACHE_DIR"]))
    root = tmp_path / "root"
    first = run(root, "add", str(PDFS / gkd))
    assert first.exit_code == 0, first.output
    (proposal,) = scan_queue(CatalogRoot(root)).proposals
    # Queued: the PDF and the arXiv id (no lookup: the REF names the paper) are held before any extraction.
    again = run(root, "add", str(PDFS / gkd), "2306.13649", "--json")
    assert again.exit_code == 0, again.output
    assert f"not extracted 2306.13649: already in the review queue as {proposal.id}" in again.stderr
    assert json.loads(again.stdout) == [
        {  # one line for the paper, with the first REF that named it
            "ref": str(PDFS / gkd),
            "paper": "2306.13649",
            "ok": True,
            "not_extracted": f"already in the review queue as {proposal.id}",
        }
    ]
    assert [p.id for p in scan_queue(CatalogRoot(root)).proposals] == [proposal.id]
    # Approved: the paper is extracted again (it might fill what its entry lacks) but adds nothing.
    approved = run(root, "review", "approve", proposal.id, "--reviewer", "t")
    assert approved.exit_code == 0, approved.output
    third = run(root, "add", str(PDFS / gkd))
    assert third.exit_code == 0, third.output
    assert f"not proposed 2306.13649: in the catalog as {proposal.entry.id}" in third.stderr
    assert scan_queue(CatalogRoot(root)).proposals == []
