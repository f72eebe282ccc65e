"""The review page (`ingest review serve`): its HTTP side with httpx, then the page itself in Chromium.

Proposals come from the heuristic backend on real corpus papers (real quotes on real pages); their PDFs sit in
the root's cache as `fetch` leaves them. The browser tests drive Debian's chromium through Playwright; without
either they skip with the reason, and fail under CI.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import PDFS, need_shared
from helpers_queue import extraction, new_root

from ingest.catalog.store import CatalogRoot
from ingest.cli import cli
from ingest.env import Env
from ingest.extract.heuristic import HeuristicBackend
from ingest.extract.score import score
from ingest.extract.verify import verify
from ingest.models import Candidate, Decision, Extraction
from ingest.review.propose import propose
from ingest.review.serve.server import TOKEN_HEADER, ReviewServer, serve_in_thread

REVIEWER = "page-tester"
# (corpus file, arXiv id, title): two catalog papers whose PDFs are "downloaded"; DPO gets no PDF.
PAPERS = [
    ("gkd-2306.13649-iclr2024.pdf", "2306.13649", "On-Policy Distillation of Language Models"),
    ("falcon-2412.12639-aaai2025.pdf", "2412.12639", "Falcon: Faster and Parallel Inference of LLMs"),
]
# Debian's package is `chromium`; Ubuntu's and GitHub's runner images name theirs `chromium-browser` or ship
# Google Chrome: Playwright drives any of them.
CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
    "/usr/bin/chromium",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory, corpus_paper: Any) -> list[Extraction]:
    """The heuristic's scored extractions of PAPERS, made once a module; each test proposes its own copies."""
    made = CatalogRoot(tmp_path_factory.mktemp("extracted") / "cat", env=Env()).create()
    tax, least = made.taxonomy, made.config.check.min_confidence
    out = []
    for file, arxiv_id, title in PAPERS:
        paper = corpus_paper(file, source=arxiv_id)
        candidate = Candidate(arxiv_id=arxiv_id, version=1, title=title)
        raw = HeuristicBackend(tax).extract(paper, candidate, examples=[])
        out.append(score(verify(raw, paper), taxonomy=tax, cross_check=None, min_confidence=least))
    return out


@pytest.fixture
def review_root(tmp_path: Path, extracted: list[Extraction], pdfs: Path) -> CatalogRoot:
    root = new_root(tmp_path / "cat")
    tax = root.taxonomy
    for (file, arxiv_id, _title), scored in zip(PAPERS, extracted, strict=True):
        assert propose(root, scored.model_copy(deep=True), run_id="t1") is not None
        folder = root.cache_dir / "pdf-files"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdfs / file, folder / f"{arxiv_id}v1.pdf")
    propose(root, extraction(tax, paper="2305.18290", name="DPO", confidence=0.5), run_id="t1")
    return root


def _serve(root: CatalogRoot) -> Iterator[ReviewServer]:
    server = ReviewServer(root, "127.0.0.1", 0, reviewer=REVIEWER)
    serve_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(review_root: CatalogRoot) -> Iterator[ReviewServer]:
    yield from _serve(review_root)


def _client(server: ReviewServer) -> httpx.Client:
    return httpx.Client(base_url=server.url.rstrip("/"), timeout=30, trust_env=False)


def _post(server: ReviewServer, action: str, body: dict[str, Any]) -> httpx.Response:
    with _client(server) as client:
        return client.post(f"/api/{action}", json=body, headers={TOKEN_HEADER: server.token})


def _files(root: CatalogRoot) -> dict[str, str]:
    """The root's records and rendered catalog, timestamps masked: what a decision writes."""
    out = {}
    for folder in (root.entries_dir, root.decisions_dir, root.queue_dir):
        for path in sorted(folder.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            out[f"{folder.name}/{path.name}"] = re.sub(r"(?m)^(\s*at:).*$", r"\1 <time>", text)
    readme = root.path / root.config.render.output
    if readme.exists():
        out[readme.name] = readme.read_text(encoding="utf-8")
    return out


# --- the HTTP side ---------------------------------------------------------------------------------------


def test_the_queue_is_weakest_first_and_each_quote_is_located_on_its_page(server: ReviewServer) -> None:
    from PIL import Image

    with _client(server) as client:
        queue = client.get("/api/queue").json()["proposals"]
        assert [p["confidence"] for p in queue] == sorted(p["confidence"] for p in queue)
        # Falcon's kind (new, or a borderline exclusion) is the heuristic's call; its id says which.
        ids = {p["id"] for p in queue}
        assert {"gkd-2306.13649v1", "dpo-2305.18290v2"} < ids
        assert len(ids) == 3
        assert any("2412.12639v1" in i for i in ids)
        view = client.get("/api/proposal/gkd-2306.13649v1").json()
        assert view["has_pdf"]
        assert view["pages"] == 18
        quotes = [q for row in view["rows"] for q in row["quotes"]]
        assert quotes
        assert all(q["rects"] for q in quotes if q["match"] != "not_found")  # every grounded quote is marked
        for q in quotes:
            for x, y, w, h in q["rects"]:
                assert 0 <= x < x + w <= 1
                assert 0 <= y < y + h <= 1
        first = quotes[0]
        png = client.get(first["image"])
        assert png.status_code == 200
        assert png.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png.content))
        assert image.size[0] == pytest.approx(612 * 1.5, abs=2)  # US letter at 1.5 pixels a point
        cached = list((server.root.cache_dir / "pages").glob(f"*-{first['page']}.png"))
        assert len(cached) == 1
        again = client.get(first["image"])
        assert again.content == png.content
        assert server.root.cache_dir in cached[0].parents


def test_a_proposal_without_a_local_pdf_links_to_arxiv(server: ReviewServer) -> None:
    with _client(server) as client:
        view = client.get("/api/proposal/dpo-2305.18290v2").json()
        assert view["has_pdf"] is False
        assert view["arxiv_url"] == "https://arxiv.org/abs/2305.18290v2"
        assert all(q["image"] is None for row in view["rows"] for q in row["quotes"])
        assert client.get("/api/page/dpo-2305.18290v2/1.png").status_code == 404


def test_writes_need_the_session_token_json_and_this_servers_host(server: ReviewServer) -> None:
    before = _files(server.root)
    body = {"id": "gkd-2306.13649v1"}
    with _client(server) as client:
        assert client.post("/api/approve", json=body).status_code == 403
        assert client.post("/api/approve", json=body, headers={TOKEN_HEADER: "guess"}).status_code == 403
        form = client.post(
            "/api/approve",
            content=b"id=gkd-2306.13649v1",
            headers={TOKEN_HEADER: server.token, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415
        rebound = client.get("/api/queue", headers={"Host": f"attacker.example:{server.host_port[1]}"})
        assert rebound.status_code == 421
        page = client.get("/")
        assert server.token in page.text  # only a page served from here carries the token
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert _files(server.root) == before


def test_the_server_hands_frozen_objects_back_to_the_collector_after_each_request(
    server: ReviewServer,
) -> None:
    import gc
    import time

    from ingest.catalog.diskcache import bulk

    with bulk():
        made = [[i] for i in range(1000)]  # what a bulk read builds is frozen when it ends
    assert gc.get_freeze_count() >= len(made)
    with _client(server) as client:
        assert client.get("/api/queue").status_code == 200
    deadline = time.monotonic() + 5
    while gc.get_freeze_count() and time.monotonic() < deadline:
        time.sleep(0.05)  # the request's thread unfreezes after it has answered
    assert gc.get_freeze_count() == 0


def test_no_request_reaches_a_file_outside_the_queue_and_the_cache(server: ReviewServer) -> None:
    with _client(server) as client:
        for path in (
            "/api/proposal/..%2F..%2Ftaxonomy",
            "/api/proposal/..",
            "/api/page/gkd-2306.13649v1/0.png",
            "/api/page/gkd-2306.13649v1/19.png",
            "/api/page/..%2Fentries%2Fgkd/1.png",
            "/static/..%2F..%2F..%2Fpyproject.toml",
            "/static/page.html",
            "/etc/passwd",
        ):
            response = client.get(path)
            assert response.status_code in (404, 409), path
            assert "application/json" in response.headers["content-type"], path


def test_an_edit_on_the_page_is_validated_like_review_edit(server: ReviewServer) -> None:
    root = server.root
    queue_file = root.proposal_path("gkd-2306.13649v1")
    before = queue_file.read_text(encoding="utf-8")
    axis = root.taxonomy.axes[0].id
    bad = _post(
        server, "edit", {"id": "gkd-2306.13649v1", "field": f"axes.{axis}", "value": "[no-such-value]"}
    )
    assert bad.status_code == 422
    assert "is not in its vocabulary" in bad.json()["error"]
    assert queue_file.read_text(encoding="utf-8") == before  # the queue is unchanged
    missing = _post(server, "edit", {"id": "no-such-proposal", "field": "name", "value": "x"})
    assert missing.status_code == 404
    good = _post(server, "edit", {"id": "gkd-2306.13649v1", "field": "name", "value": "GKD (edited)"})
    assert good.json() == {"edited": True}
    proposal = root.read_proposal("gkd-2306.13649v1")
    assert proposal.edited
    assert proposal.entry is not None
    assert proposal.entry.name == "GKD (edited)"
    # Typed into a text field, "2023.06" stays the text it is (YAML alone would make it a number).
    dated_edit = {"id": "gkd-2306.13649v1", "field": "date", "value": "2023.06"}
    assert _post(server, "edit", dated_edit).status_code == 200
    dated = root.read_proposal("gkd-2306.13649v1").entry
    assert dated is not None
    assert dated.date == "2023.06"


def test_decisions_on_the_page_write_what_the_cli_writes(review_root: CatalogRoot, tmp_path: Path) -> None:
    twin = CatalogRoot(tmp_path / "twin")
    shutil.copytree(review_root.path, twin.path)
    for server in _serve(review_root):
        assert _post(server, "approve", {"id": "gkd-2306.13649v1"}).json() == {
            "approved": ["gkd-2306.13649v1"]
        }
        rejected = _post(server, "reject", {"id": "dpo-2305.18290v2", "reason": "not on-policy"})
        assert rejected.json() == {"rejected": ["dpo-2305.18290v2"]}
        falcon = next(p.stem for p in review_root.queue_dir.glob("*2412.12639v1.yaml"))
        assert _post(server, "reject", {"id": falcon, "reason": " "}).status_code == 422
    runner = CliRunner()
    for args in (
        ["review", "approve", "gkd-2306.13649v1", "--reviewer", REVIEWER],
        ["review", "reject", "dpo-2305.18290v2", "--reason", "not on-policy", "--reviewer", REVIEWER],
    ):
        result = runner.invoke(cli, ["--root", str(twin.path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert _files(review_root) == _files(twin)
    assert "entries/gkd.yaml" in _files(review_root)


# --- in a real browser ------------------------------------------------------------------------------------


def need_browser() -> Any:
    """Playwright's sync API, with Debian's chromium to drive; skip without them (fail under CI)."""
    reason = None
    try:
        from playwright import sync_api
    except ImportError:
        reason = "needs Playwright for Python (pip install -e '.[test]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = "needs a chromium browser (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    return sync_api


def _fraction_boxes(page: Any, selector: str) -> list[tuple[float, float, float, float]]:
    """The boxes of `selector`'s elements as fractions of the page image (left, top, right, bottom)."""
    boxes: list[list[float]] = page.eval_on_selector_all(
        selector,
        """(els) => { const img = document.getElementById("page-image").getBoundingClientRect();
           return els.map((e) => { const r = e.getBoundingClientRect();
             return [(r.left - img.left) / img.width, (r.top - img.top) / img.height,
                     (r.right - img.left) / img.width, (r.bottom - img.top) / img.height]; }); }""",
    )
    return [(b[0], b[1], b[2], b[3]) for b in boxes]


Box = tuple[float, float, float, float]


def _pdfium_hits(pdf: Path, number: int, quote: str) -> list[tuple[Box, Box]]:
    """PDFium's own search for the quote's first words on the page: for each hit, the boxes of its first and
    last characters, as fractions of the page (left, top, right, bottom)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        page = doc[number - 1]
        width, height = page.get_size()
        textpage = page.get_textpage()

        def box(i: int) -> Box:
            left, bottom, right, top = textpage.get_charbox(i)
            return left / width, (height - top) / height, right / width, (height - bottom) / height

        words = quote.split()
        for size in (4, 3, 2):
            search = textpage.search(" ".join(words[:size]), match_case=False)
            hits = []
            while found := search.get_next():
                start, count = found
                hits.append((box(start), box(start + count - 1)))
            if hits:
                return hits
        raise AssertionError(f"PDFium finds no start of {quote!r} on page {number}")
    finally:
        doc.close()


def _browser(sync_api: Any) -> Any:
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    return playwright, browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module's browser tests (its start costs seconds of CPU): each test opens its
    own page in a new context, so no cookie, storage or page state passes from one test to the next. The
    corpus first: every browser test shows its papers, so a fork without it skips them, browser or not."""
    need_shared(PDFS)
    playwright, chromium = _browser(need_browser())
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@contextmanager
def _queue_page(server: ReviewServer, browser: Any) -> Iterator[Any]:
    """The review page in chromium, opened on the server with its first proposal shown."""
    page = browser.new_page(bypass_csp=True)
    try:
        page.goto(server.url)
        page.wait_for_function("document.body.dataset.shown")
        yield page
    finally:
        page.close()


def test_in_chromium_the_quote_is_highlighted_on_its_page_and_keys_edit_approve_and_reject(
    server: ReviewServer, pdfs: Path, tmp_path: Path, browser: Any
) -> None:
    root = server.root
    # bypass_csp: Playwright evaluates its waits as strings, which the page's CSP forbids scripts to do.
    page = browser.new_page(viewport={"width": 1500, "height": 1000}, bypass_csp=True)
    try:
        page.goto(server.url)
        page.wait_for_function("document.body.dataset.shown")
        shown = page.evaluate("document.body.dataset.shown")
        with _client(server) as client:
            queue = client.get("/api/queue").json()["proposals"]
            view = client.get(f"/api/proposal/{shown}").json()
        assert shown == queue[0]["id"]  # the weakest first
        rows = view["rows"]
        start = next(i for i, row in enumerate(rows) if row["quotes"])
        target = next(i for i, row in enumerate(rows) if row["quotes"] and len(row["quotes"][0]["text"]) > 40)
        for _ in range(target - start):
            page.keyboard.press("j")
        quote = rows[target]["quotes"][0]
        page.wait_for_function(
            "(n) => { const img = document.getElementById('page-image');"
            " return img.dataset.page === String(n) && img.complete && img.naturalWidth > 0; }",
            arg=quote["page"],
        )
        assert page.locator(".field.current .name").inner_text() == rows[target]["field"]
        marks = _fraction_boxes(page, ".mark")
        assert marks, "the quote is highlighted"
        pdf = root.cache_dir / "pdf-files" / f"{view['summary']['arxiv_id']}v1.pdf"
        tolerance = 0.006  # about 5 pixels of the page image
        first = marks[0]
        union = [min(m[0] for m in marks), min(m[1] for m in marks)]
        union += [max(m[2] for m in marks), max(m[3] for m in marks)]
        # The highlight starts on the quote's first character as PDFium's own search places it, and covers
        # the characters of the words it found.
        hits = [
            (head, tail)
            for head, tail in _pdfium_hits(pdf, quote["page"], quote["text"])
            if abs(first[0] - head[0]) < tolerance and abs(first[1] - head[1]) < tolerance
        ]
        assert hits, (first, quote["text"])
        head, tail = hits[0]
        for corner in (head, tail):
            assert union[0] - tolerance <= corner[0] <= corner[2] <= union[2] + tolerance
            assert union[1] - tolerance <= corner[1] <= corner[3] <= union[3] + tolerance
        assert union[3] - union[1] < 0.25  # a sentence, not the page

        # The README's screenshot: the page image blurred, so it shows layout and the mark, not the paper.
        page.add_style_tag(content="#page-image { filter: blur(3px); }")
        page.set_viewport_size({"width": 1500, "height": 640})
        page.keyboard.press("j")
        page.keyboard.press("k")  # scroll the current field and its highlight into the smaller window
        page.wait_for_function("document.getElementById('page-image').complete")
        shot = tmp_path / "review-page.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        readme_shot = os.environ.get("INGEST_REVIEW_SCREENSHOT")  # docs/review-page.png is made this way
        if readme_shot:
            shutil.copyfile(shot, readme_shot)

        # Edit the name in place, approve this proposal, reject the next: all by keyboard.
        name = next(i for i, row in enumerate(rows) if row["field"] == "name")
        for _ in range(abs(target - name)):
            page.keyboard.press("k" if target > name else "j")
        assert page.locator(".field.current .name").inner_text() == "name"
        page.keyboard.press("e")
        page.locator(".field.current input").fill("Edited by keyboard")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('edited name')")
        page.keyboard.press("a")
        page.wait_for_function(f"document.getElementById('status').textContent === 'approved {shown}'")
        page.wait_for_function(f"document.body.dataset.shown && document.body.dataset.shown !== '{shown}'")
        second = page.evaluate("document.body.dataset.shown")
        page.keyboard.press("r")
        page.locator("#reject-reason").fill("out of scope for the catalog")
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.getElementById('status').textContent === 'rejected {second}'")
    finally:
        page.close()

    remaining = [p.stem for p in root.queue_dir.glob("*.yaml")]
    assert shown not in remaining
    assert second not in remaining
    assert len(remaining) == 1
    approved = Decision.model_validate(_yaml(root.decision_path(shown)))
    assert (approved.action, approved.reviewer, approved.edited) == ("approved", REVIEWER, True)
    assert approved.entry_id is not None
    entry = root.read_entry(approved.entry_id)
    assert entry.name == "Edited by keyboard"
    assert entry.provenance is not None
    assert entry.provenance.source == "edited"
    rejected = Decision.model_validate(_yaml(root.decision_path(second)))
    assert (rejected.action, rejected.reason) == ("rejected", "out of scope for the catalog")


def test_in_chromium_a_proposal_without_a_pdf_shows_the_arxiv_link(
    server: ReviewServer, browser: Any
) -> None:
    with _queue_page(server, browser) as page:
        page.locator(".q[data-id='dpo-2305.18290v2']").click()
        page.wait_for_function("document.body.dataset.shown === 'dpo-2305.18290v2'")
        link = page.locator("#page-info a")
        assert link.get_attribute("href") == "https://arxiv.org/abs/2305.18290v2"
        assert "No local PDF" in page.locator("#page-info").inner_text()


def test_in_chromium_a_broken_proposal_is_listed_and_can_be_rejected(
    server: ReviewServer, browser: Any
) -> None:
    root = server.root
    broken = root.queue_dir / "broken-2401.00001v1.yaml"
    broken.write_text("id: broken-2401.00001v1\narxiv_id: '2401.00001'\n  title: misindented\n", "utf-8")
    with _client(server) as client:
        listed = client.get("/api/queue").json()["broken"]
    assert [item["id"] for item in listed] == ["broken-2401.00001v1"]
    assert listed[0]["problem"].startswith("review_queue/broken-2401.00001v1.yaml")

    with _queue_page(server, browser) as page:
        page.locator("button.reject-broken[data-id='broken-2401.00001v1']").click()
        assert page.locator("#reject-id").inner_text() == "broken-2401.00001v1"
        page.locator("#reject-reason").fill("the extraction file is damaged")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "document.getElementById('status').textContent === 'rejected broken-2401.00001v1'"
        )
        # The status is set before the queue is reloaded: wait for the list without the broken file.
        page.wait_for_function("!document.querySelector('button.reject-broken')")

    assert not broken.exists()
    decision = Decision.model_validate(_yaml(root.decision_path("broken-2401.00001v1")))
    assert (decision.action, decision.reason) == ("rejected", "the extraction file is damaged")


def _yaml(path: Path) -> Any:
    from ingest.yamlio import load_yaml

    return load_yaml(path)


def test_the_command_serves_the_queue_on_loopback_until_stopped(review_root: CatalogRoot) -> None:
    import socket
    import subprocess
    import sys

    command = [sys.executable, "-m", "ingest", "--root", str(review_root.path), "review", "serve"]
    with subprocess.Popen(
        [*command, "--port", "0", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            found = re.match(r"review page: (http://127\.0\.0\.1:\d+/) ", line)
            assert found, line
            with httpx.Client(base_url=found.group(1), trust_env=False, timeout=30) as client:
                queue = client.get("/api/queue").json()
            assert len(queue["proposals"]) == 3
        finally:
            process.terminate()
            process.wait(timeout=30)
    with socket.socket() as holder:  # a port another program holds: one line and exit 2
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        taken = subprocess.run(
            [*command, "--port", port, "--no-browser"], capture_output=True, text=True, timeout=60
        )
    assert taken.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    assert "--port" in taken.stderr


def test_a_paper_added_from_a_local_pdf_shows_its_pages(tmp_path: Path, pdfs: Path) -> None:
    # The README's quickstart: `ingest add some.pdf`, then `review serve`. The page finds a PDF by arXiv id
    # in the cache, where only a download used to put one: a paper added from a file showed no page.
    root = new_root(tmp_path / "cat")
    local = tmp_path / "papers" / "2306.13649v3.pdf"  # named like the README's, which gives its arXiv id
    local.parent.mkdir()
    shutil.copyfile(pdfs / "gkd-2306.13649-iclr2024.pdf", local)
    added = CliRunner().invoke(cli, ["--root", str(root.path), "add", str(local), "--backend", "heuristic"])
    assert added.exit_code == 0, added.output
    [proposal_id] = [p.stem for p in root.queue_dir.glob("*.yaml")]
    assert proposal_id.endswith("2306.13649v3")
    # The root as `ingest review serve` opens it: with the environment's settings (the cache folder).
    for server in _serve(CatalogRoot(root.path, env=Env.from_mapping(os.environ))):
        with _client(server) as client:
            view = client.get(f"/api/proposal/{proposal_id}").json()
            assert view["has_pdf"], view
            assert view["pages"] == 18
            quote = next(q for row in view["rows"] for q in row["quotes"] if q["rects"])
            png = client.get(quote["image"])
            assert png.status_code == 200
            assert png.headers["content-type"] == "image/png"
    # the user's file is left as it was
    assert local.read_bytes() == (pdfs / "gkd-2306.13649-iclr2024.pdf").read_bytes()
