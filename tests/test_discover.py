"""discover: the real arXiv answers via a loopback server, dedup against the catalog, `ingest add` refs."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.catalog.known import Known, KnownPapers
from ingest.catalog.store import CatalogRoot
from ingest.config import ArxivConfig, Env, load_config
from ingest.errors import CatalogError, ServiceError, UsageError
from ingest.models import Decision, Entry, Exclusion, Link
from ingest.paper.discover import discover, lookup, resolve_ref

WINDOW = {"since": datetime(2026, 1, 1, tzinfo=UTC), "until": datetime(2026, 2, 1, tzinfo=UTC)}


@pytest.fixture
def config(arxiv_mirror, tmp_path: Path) -> ArxivConfig:
    """The bundled config with the environment applied (INGEST_ARXIV_URL -> the mirror, delay 0)."""
    return load_config(tmp_path / "missing.yaml", Env.from_mapping(os.environ)).arxiv


def test_real_search_answer_gives_its_ten_papers(arxiv_mirror, config: ArxivConfig) -> None:
    arxiv_mirror.route_search("search-testing-start0-max10.xml")
    result = discover(config, known=KnownPapers(), queries=["testing"], max_results=10, **WINDOW)
    assert len(result.candidates) == 10
    first = result.candidates[0]
    assert first.arxiv_id == "2202.12139"
    assert first.version == 1
    assert any("Aurora Ramírez" in c.authors for c in result.candidates)
    assert sum(1 for c in result.candidates if c.doi) == 6
    query = arxiv_mirror.api_requests()[0]["search_query"]
    assert "submittedDate:[202601010000 TO 202602010000]" in query
    assert "cat:cs.CL" in query


def test_legacy_2016_search_answer_parses(arxiv_mirror, config: ArxivConfig) -> None:
    arxiv_mirror.route_search("legacy2016-search-au-del-maestro.xml")
    result = discover(config, known=KnownPapers(), queries=["au:del_maestro"], max_results=10, **WINDOW)
    ids = [c.arxiv_id for c in result.candidates]
    assert len(ids) == 10
    assert "cond-mat/0412498" in ids
    assert all("  " not in c.title and c.journal_ref for c in result.candidates)


def test_empty_answer_means_no_new_papers(arxiv_mirror, config: ArxivConfig) -> None:
    arxiv_mirror.route_search("empty-idlist-0000.0000.xml")
    result = discover(config, known=KnownPapers(), queries=['abs:"nothing"'], **WINDOW)
    assert result.candidates == []
    assert result.total_seen == 0


def test_error_feed_is_a_service_error_not_a_paper(arxiv_mirror, config: ArxivConfig) -> None:
    with pytest.raises(ServiceError, match="incorrect id format for abc") as info:
        lookup(config, ["abc"])
    assert info.value.exit_code == 3
    assert len(arxiv_mirror.api_requests()) == 1  # a 400 is not retried


def test_id_list_with_a_missing_id_gives_the_other(arxiv_mirror, config: ArxivConfig) -> None:
    found = lookup(config, ["0808.05394", "1707.08567"])
    assert [c.versioned_id for c in found] == ["1707.08567v1"]
    assert found[0].title.startswith("Proceedings of Workshop AEW10")


def test_legacy_id_list_with_version_parses(arxiv_mirror, config: ArxivConfig) -> None:
    (paper,) = lookup(config, ["1111.2011v2"])
    assert paper.version == 2
    assert paper.title.startswith("Quantum Criticality for Extended Nodes")
    assert "\n" not in paper.title


def test_api_outage_is_a_service_error_after_retries(arxiv_mirror, config: ArxivConfig) -> None:
    arxiv_mirror.fail_api(503)
    with pytest.raises(ServiceError, match="HTTP 503"):
        discover(config, known=KnownPapers(), queries=["x"], **WINDOW)
    assert len(arxiv_mirror.api_requests()) == 4


def test_paging_follows_total_results(arxiv_mirror, config: ArxivConfig) -> None:
    config.page_size = 2
    mid = datetime(2026, 1, 15, tzinfo=UTC)
    arxiv_mirror.route_search(
        ids=["2306.13649", "2412.12639", "1503.02531", "2211.17192", "2203.02155"], published=mid
    )
    result = discover(config, known=KnownPapers(), queries=["q"], max_results=3, **WINDOW)
    pages = [(p["start"], p["max_results"]) for p in arxiv_mirror.api_requests()]
    # The whole window is read (oldest first); --max then keeps the earliest 3 and holds the watermark back.
    assert pages == [("0", "2"), ("2", "2"), ("4", "2")]
    assert len(result.candidates) == 3
    assert result.per_query == {"q": 5}
    assert result.watermark == mid
    assert result.capped
    assert "cap of 3" in result.capped
    arxiv_mirror.reset()
    arxiv_mirror.route_search(ids=["2306.13649", "2412.12639", "1503.02531"])
    result = discover(config, known=KnownPapers(), queries=["q"], **WINDOW)
    assert len(result.candidates) == 3
    assert len(arxiv_mirror.api_requests()) == 2


@pytest.fixture
def catalog(tmp_path: Path) -> CatalogRoot:
    # The environment as the CLI resolves it (tests ask for arxiv_mirror first: it points at the mirror).
    root = CatalogRoot(tmp_path / "root", env=Env.from_mapping(os.environ)).create()
    root.write_entry(
        Entry(
            id="gkd",
            name="GKD",
            title="On-Policy Distillation of Language Models",
            sections=["x"],
            links=[Link(kind="arxiv", url="https://arxiv.org/abs/2306.13649v1", arxiv_id="2306.13649")],
        )
    )
    root.write_entry(
        Entry(
            id="no-id",
            name="Falcon",
            sections=["x"],
            title="Falcon: Faster and Parallel Inference of Large Language Models Through Enhanced "
            "Semi-Autoregressive Drafting and Custom-Designed Decoding Tree",
        )
    )
    root.write_exclusion(
        Exclusion(id="hinton", title="Distilling", arxiv_id="1503.02531", reason="off-policy KD")
    )
    root.write_decision(
        Decision(
            id="sd",
            action="rejected",
            kind="new",
            arxiv_id="2211.17192",
            version=2,
            at=datetime(2026, 1, 1, tzinfo=UTC),
            reason="not OPD",
        )
    )
    return root


def test_known_papers_are_skipped_and_a_new_version_is_an_update(arxiv_mirror, catalog: CatalogRoot) -> None:
    ids = ["2306.13649", "2412.12639", "1503.02531", "2211.17192", "2203.02155"]
    arxiv_mirror.route_search(ids=ids, versions={"2306.13649": 3})
    known = KnownPapers.from_root(catalog)
    assert known.ids["2306.13649"] == Known("entry", 1, "gkd")
    result = discover(catalog.config.arxiv, known=known, queries=["q"], **WINDOW)
    assert [c.arxiv_id for c in result.candidates] == ["2203.02155"]
    assert [(c.arxiv_id, c.status, c.known_entry, c.version) for c in result.updates] == [
        ("2306.13649", "update", "gkd", 3)
    ]
    # Falcon by fuzzy title (its entry has no arXiv id), Hinton excluded, the rejected paper at the same
    # version.
    assert sorted(result.skipped_known) == ["1503.02531", "2211.17192", "2412.12639"]


def test_a_rejected_paper_returns_with_a_new_version(arxiv_mirror, catalog: CatalogRoot) -> None:
    arxiv_mirror.route_search(ids=["2211.17192"], versions={"2211.17192": 3})
    result = discover(catalog.config.arxiv, known=KnownPapers.from_root(catalog), queries=["q"], **WINDOW)
    assert [(c.arxiv_id, c.status) for c in result.candidates] == [("2211.17192", "new")]


def test_resolve_ref_accepts_ids_urls_and_local_pdfs(arxiv_mirror, config: ArxivConfig, pdfs: Path) -> None:
    assert resolve_ref("2306.13649", config).title.startswith("On-Policy Distillation of Language Models")
    assert resolve_ref("https://arxiv.org/abs/1503.02531v1", config).versioned_id == "1503.02531v1"
    assert resolve_ref("arXiv:2412.12639", config).arxiv_id == "2412.12639"
    local = resolve_ref(str(pdfs / "gkd-2306.13649-iclr2024.pdf"), config)
    assert local.local_pdf
    assert local.arxiv_id == "2306.13649"
    with pytest.raises(UsageError, match="neither an arXiv id"):
        resolve_ref("not a paper", config)
    with pytest.raises(UsageError, match="arXiv has no paper"):
        resolve_ref("0808.05394", config)


def test_local_pdf_id_comes_from_the_stamp_when_the_name_has_none(tmp_path: Path, pdfs: Path) -> None:
    copy = tmp_path / "paper.pdf"
    copy.write_bytes((pdfs / "hinton-kd-1503.02531v1.pdf").read_bytes())
    ref = resolve_ref(str(copy), ArxivConfig())
    assert (ref.arxiv_id, ref.version, ref.key) == ("1503.02531", 1, "1503.02531")


def test_calls_are_spaced_by_the_politeness_delay(arxiv_mirror, config: ArxivConfig) -> None:
    config.delay_seconds = 0.3
    lookup(config, ["1503.02531"])
    start = time.monotonic()
    lookup(config, ["2306.13649"])  # a second search right after the first still waits its turn
    assert time.monotonic() - start >= 0.25


def test_an_update_already_in_the_queue_is_not_proposed_again(arxiv_mirror, catalog: CatalogRoot) -> None:
    from ingest.models import FieldChange, Proposal

    catalog.write_proposal(
        Proposal(
            id="gkd-v3",
            kind="update",
            arxiv_id="2306.13649",
            version=3,
            title="GKD",
            target="gkd",
            changes=[FieldChange(field="links", old=None, new="v3")],
        )
    )
    known = KnownPapers.from_root(catalog)
    assert known.ids["2306.13649"] == Known("entry", 3, "gkd")
    arxiv_mirror.route_search(ids=["2306.13649"], versions={"2306.13649": 3})
    result = discover(catalog.config.arxiv, known=known, queries=["q"], **WINDOW)
    assert result.updates == []
    assert result.skipped_known == ["2306.13649"]


def test_broken_files_still_make_their_papers_known(arxiv_mirror, catalog: CatalogRoot) -> None:
    catalog.queue_dir.mkdir()
    # A proposal whose YAML no longer parses, and one that parses but breaks the schema.
    (catalog.queue_dir / "mystery.yaml").write_text("id: mystery\narxiv_id: 2203.02155\nkind: [new\n")
    (catalog.queue_dir / "bad-kind.yaml").write_text("id: bad-kind\narxiv_id: '2412.12639'\nkind: maybe\n")
    # An entry with a field the schema does not know, still naming its arXiv link.
    gkd = catalog.entry_path("gkd")
    gkd.write_text(gkd.read_text() + "stars: many\n")
    known = KnownPapers.from_root(catalog)
    assert known.ids["2203.02155"].where == "queue"
    assert known.ids["2412.12639"].where == "queue"
    assert known.ids["2306.13649"] == Known("entry", None, "gkd")  # no version: never offered an update
    arxiv_mirror.route_search(ids=["2306.13649", "2412.12639", "2203.02155"], versions={"2306.13649": 3})
    result = discover(catalog.config.arxiv, known=known, queries=["q"], **WINDOW)
    assert result.candidates == []
    assert result.updates == []
    assert sorted(result.skipped_known) == ["2203.02155", "2306.13649", "2412.12639"]


def test_a_broken_entry_that_names_no_paper_is_an_error_with_its_file_and_line(catalog: CatalogRoot) -> None:
    (catalog.entries_dir / "mystery.yaml").write_text("id: mystery\nname: [unclosed\n")
    with pytest.raises(CatalogError, match=r"mystery\.yaml:\d+: .*could be proposed again"):
        KnownPapers.from_root(catalog)
