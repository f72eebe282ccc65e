"""The local review page's HTTP server: the queue as JSON, page images, and decisions through review.decide.

It listens on 127.0.0.1 unless told otherwise. A write (approve, reject, edit) must carry the session's token
in the X-Ingest-Token header with a JSON body, and every request must name this server in its Host header:
another site can neither read the token nor send such a request (a JSON POST with a custom header needs a
CORS preflight, which this server never grants), and a DNS-rebinding page fails the Host check. Nothing a
request names becomes a path: proposals are looked up by id in the queue, pages by number.
"""

from __future__ import annotations

import gc
import getpass
import json
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.catalog.queue import describe, load_proposal, scan_queue
from ingest.catalog.store import CatalogRoot
from ingest.errors import CatalogError, IngestError
from ingest.models import Entry, Exclusion, Proposal
from ingest.review import decide
from ingest.review.diff import Row, proposal_rows, summary
from ingest.review.serve import evidence
from ingest.yamlio import load_yaml, loads_yaml, write_yaml

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
TOKEN_HEADER = "X-Ingest-Token"
MAX_BODY = 1 << 20
Marks = dict[tuple[int, str], list[evidence.Rect]]


def _yaml_text(value: Any) -> str:
    """A value as the YAML file spells it (true, not True; a list in flow style on one line)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)  # JSON is YAML flow style
    return str(value)


class ReviewServer(ThreadingHTTPServer):
    """One catalog root's review page; `token` authorises writes for this session only."""

    daemon_threads = True

    def __init__(self, root: CatalogRoot, host: str, port: int, *, reviewer: str | None = None) -> None:
        self.root = root
        self.token = secrets.token_urlsafe(32)
        self.reviewer = reviewer or getpass.getuser()
        super().__init__((host, port), _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            # A bulk read freezes what it built (catalog/diskcache.py: right for a command that ends); a
            # server that lives for hours hands it back to the collector after each request instead.
            gc.unfreeze()

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return (host.decode() if isinstance(host, bytes) else str(host)), int(port)

    @property
    def url(self) -> str:
        host, port = self.host_port
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def allowed_hosts(self) -> set[str]:
        """The Host headers a browser sends for this server (a rebinding attacker's name is not one)."""
        host, port = self.host_port
        names = {host, f"[{host}]", "localhost"} if host in ("127.0.0.1", "::1") else {host, f"[{host}]"}
        return {f"{name}:{port}" for name in names}

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser closed the tab or moved on while an image was on its way: nothing to report
        super().handle_error(request, client_address)

    # -- data -------------------------------------------------------------------------------------------

    def queue(self) -> dict[str, Any]:
        decide.try_recover(self.root, warn=lambda _message: None)
        scanned = scan_queue(self.root)
        lines = describe(scanned.problems, self.root)
        queue = self.root.queue_dir.resolve()
        # A broken proposal file can still be rejected (decide.reject records what it can read of it), so
        # the page offers that beside its problem instead of leaving the reviewer to the command line.
        broken = [
            {"id": Path(problem.file).stem, "problem": line}
            for problem, line in zip(scanned.problems, lines, strict=True)
            if Path(problem.file).suffix == ".yaml" and Path(problem.file).resolve().parent == queue
        ]
        return {
            "proposals": [summary(p) for p in scanned.weakest_first()],
            "problems": lines,
            "broken": broken,
        }

    def proposal(self, proposal_id: str) -> Proposal:
        path = self.root.proposal_path(proposal_id)  # checks the id: no path leaves the queue folder
        if not path.is_file():
            raise LookupError(f"no proposal {proposal_id!r} in the queue")
        return load_proposal(path, self.root.taxonomy)

    def proposal_view(self, proposal_id: str) -> dict[str, Any]:
        proposal = self.proposal(proposal_id)
        pdf = evidence.proposal_pdf(self.root, proposal)
        rows = proposal_rows(self.root, proposal)
        marks = self._marks(rows, pdf)
        first = next((q.page for row in rows if row.evidence for q in row.evidence.quotes), None)
        if pdf is not None and first is not None:
            self._prefetch(pdf, first)
        return {
            "summary": summary(proposal),
            "arxiv_url": evidence.arxiv_page(proposal),
            "has_pdf": pdf is not None,
            "pages": evidence.page_total(pdf) if pdf is not None else 0,
            "target": proposal.target,
            "scope": proposal.scope.model_dump(mode="json") if proposal.scope else None,
            "rows": [self._row(proposal, row, pdf, marks) for row in rows],
        }

    def _marks(self, rows: list[Row], pdf: Path | None) -> Marks:
        """The highlight of each quote of the proposal, (page, quote) -> rectangles; each page loaded once."""
        if pdf is None:
            return {}
        pages = evidence.page_total(pdf)
        wanted: dict[int, list[str]] = {}
        for row in rows:
            for quote in row.evidence.quotes if row.evidence else []:
                if 1 <= quote.page <= pages and quote.text not in wanted.setdefault(quote.page, []):
                    wanted[quote.page].append(quote.text)
        marks: Marks = {}
        for page, quotes in wanted.items():
            for text, rects in zip(quotes, evidence.quote_rects(pdf, page, quotes), strict=True):
                marks[(page, text)] = rects
        return marks

    def warm(self, limit: int = 20) -> threading.Thread:
        """Render, in the background, the first quote's page of the first `limit` proposals of the queue,
        so a proposal opens with its page image at once (a page with large images renders in about 1 s)."""

        def run() -> None:
            for item in self.queue()["proposals"][:limit]:
                try:
                    proposal = self.proposal(item["id"])
                    pdf = evidence.proposal_pdf(self.root, proposal)
                    rows = proposal_rows(self.root, proposal)
                    page = next((q.page for r in rows if r.evidence for q in r.evidence.quotes), None)
                    if pdf is not None and page is not None and page <= evidence.page_total(pdf):
                        evidence.page_png(pdf, page, self.root.cache_dir)
                except Exception:  # best effort: the page reports a broken proposal when it is opened
                    continue

        thread = threading.Thread(target=run, daemon=True, name="warm-pages")
        thread.start()
        return thread

    def _prefetch(self, pdf: Path, page: int) -> None:
        """Render the first quote's page while the browser is still reading the JSON."""
        threading.Thread(
            target=evidence.page_png, args=(pdf, page, self.root.cache_dir), daemon=True, name="prefetch"
        ).start()

    def _row(self, proposal: Proposal, row: Row, pdf: Path | None, marks: Marks) -> dict[str, Any]:
        ev = row.evidence
        data = ev.model_dump(mode="json") if ev is not None else {}
        quotes = []
        for quote in ev.quotes if ev is not None else []:
            rects = marks.get((quote.page, quote.text), [])
            quotes.append(
                {
                    "text": quote.text,
                    "page": quote.page,
                    "match": str(quote.match),
                    "score": quote.score,
                    "cited_page": quote.cited_page,
                    "image": f"/api/page/{proposal.id}/{quote.page}.png" if pdf is not None else None,
                    "rects": [[r.x, r.y, r.w, r.h] for r in rects],
                }
            )
        return {
            "field": row.field,
            "status": row.status,
            "old": _yaml_text(row.old),
            "new": _yaml_text(row.new),
            "editable": proposal.kind != "exclude" or row.field in ("reason",),
            "flags": [str(f) for f in row.flags],
            "confidence": ev.confidence if ev is not None else None,
            "note": ev.note if ev is not None else None,
            # The support check's result ("supported", "weak", "unsupported") when the extraction has one.
            "support": data.get("support"),
            "support_note": data.get("support_note"),
            "quotes": quotes,
        }

    def page_image(self, proposal_id: str, number: int) -> Path:
        pdf = evidence.proposal_pdf(self.root, self.proposal(proposal_id))
        if pdf is None or not 1 <= number <= evidence.page_total(pdf):
            raise LookupError(f"no page {number} of a local PDF for {proposal_id}")
        return evidence.page_png(pdf, number, self.root.cache_dir)

    # -- decisions: the same library calls (and so the same lock and journal) as `ingest review ...` ----

    def approve(self, body: dict[str, Any]) -> dict[str, Any]:
        decisions = decide.approve(self.root, [str(body["id"])], reviewer=self.reviewer)
        return {"approved": [d.id for d in decisions]}

    def reject(self, body: dict[str, Any]) -> dict[str, Any]:
        reason = str(body.get("reason") or "")
        decisions = decide.reject(self.root, [str(body["id"])], reason=reason, reviewer=self.reviewer)
        return {"rejected": [d.id for d in decisions]}

    def edit(self, body: dict[str, Any]) -> dict[str, Any]:
        proposal_id, field, text = str(body["id"]), str(body["field"]), str(body.get("value", ""))
        kind = self.proposal(proposal_id).kind
        changed = decide.edit(self.root, proposal_id, _field_setter(kind, field, text), keep_failed=False)
        return {"edited": changed is not None}


def _field_setter(kind: str, field: str, text: str) -> Callable[[Path], None]:
    """An `editor` for decide.edit that sets one dotted field ("axes.signal") in the proposal's copy.

    `text` is a YAML value ("[a, b]", "true"); where the field holds text, what the reviewer typed stays text
    ("2023.05" is a date string there, not a number). Empty text is null."""
    parsed = loads_yaml(text) if text.strip() else None
    model = Exclusion if kind == "exclude" else Entry
    info = model.model_fields.get(field.split(".")[0])
    text_field = field.startswith("details.") or (info is not None and info.annotation in (str, str | None))

    def value_for(old: Any) -> Any:
        scalar = not isinstance(parsed, list | dict | str) and text.strip()
        return text.strip() if scalar and (text_field or isinstance(old, str)) else parsed

    def set_in(data: dict[str, Any], dotted: str) -> None:
        *heads, last = dotted.split(".")
        for head in heads:
            if not isinstance(data.get(head), dict):
                data[head] = {}
            data = data[head]
        data[last] = value_for(data.get(last))

    def editor(copy: Path) -> None:
        data = load_yaml(copy)
        if kind == "exclude":
            set_in(data.setdefault("exclusion", {}), field)
        else:
            if isinstance(data.get("entry"), dict):
                set_in(data["entry"], field)
            for change in data.get("changes") or []:
                if isinstance(change, dict) and change.get("field") == field:
                    change["new"] = value_for(change.get("new"))
        write_yaml(copy, data)

    return editor


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the URL and errors, not every image request

    def _send(self, status: int, body: bytes, content_type: str, *, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header(
            "Content-Security-Policy", "default-src 'self'; img-src 'self'; frame-ancestors 'none'"
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _host_ok(self) -> bool:
        if self.headers.get("Host", "") in self.server.allowed_hosts():
            return True
        self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "unknown Host: open the address ingest printed"})
        return False

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.strip("/").split("/")] if path != "/" else []
        try:
            if not parts:
                page = resources.files(__package__).joinpath("static", "page.html").read_text("utf-8")
                html = page.replace("{{TOKEN}}", self.server.token)
                self._send(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8")
            elif parts[0] == "static" and len(parts) == 2 and parts[1] in STATIC:
                data = resources.files(__package__).joinpath("static", parts[1]).read_bytes()
                self._send(HTTPStatus.OK, data, STATIC[parts[1]] + "; charset=utf-8")
            elif parts == ["api", "queue"]:
                self._json(HTTPStatus.OK, self.server.queue())
            elif parts[:2] == ["api", "proposal"] and len(parts) == 3:
                self._json(HTTPStatus.OK, self.server.proposal_view(parts[2]))
            elif parts[:2] == ["api", "page"] and len(parts) == 4 and parts[3].removesuffix(".png").isdigit():
                png = self.server.page_image(parts[2], int(parts[3].removesuffix(".png")))
                self._send(HTTPStatus.OK, png.read_bytes(), "image/png", cache=True)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page {path}"})
        except (LookupError, CatalogError) as exc:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except IngestError as exc:
            self._json(HTTPStatus.CONFLICT, {"error": str(exc)})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        # Read the whole body first, even of a refused request: on a kept-alive connection, unread bytes
        # would be taken for the next request.
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "a request body of up to 1 MiB"})
            return
        raw = self.rfile.read(length)
        if not self._host_ok():
            return
        actions = {
            "/api/approve": self.server.approve,
            "/api/reject": self.server.reject,
            "/api/edit": self.server.edit,
        }
        action = actions.get(urlsplit(self.path).path)
        if action is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "no such action"})
            return
        sent = self.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(sent.encode(), self.server.token.encode()):
            self._json(HTTPStatus.FORBIDDEN, {"error": "missing or wrong session token: reload the page"})
            return
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send JSON"})
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict) or "id" not in body:
                raise ValueError("send a JSON object with the proposal id")
            self._json(HTTPStatus.OK, action(body))
        except LookupError as exc:
            status = HTTPStatus.BAD_REQUEST if isinstance(exc, KeyError) else HTTPStatus.NOT_FOUND
            self._json(status, {"error": f"bad request: {exc}"})
        except ValueError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"bad request: {exc}"})
        except IngestError as exc:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})


def start(root: CatalogRoot, *, host: str = "127.0.0.1", port: int = 0) -> ReviewServer:
    """The server, bound (port 0: any free port), not serving yet: serve_forever() or serve_in_thread()."""
    return ReviewServer(root.require(), host, port)


def serve_in_thread(server: ReviewServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="review-page")
    thread.start()
    return thread


__all__ = ["ReviewServer", "serve_in_thread", "start"]
