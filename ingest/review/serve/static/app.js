"use strict";
// The review page: keyboard first. Every write sends the session token; the server checks it.
const TOKEN = document.querySelector('meta[name="ingest-token"]').content;
const state = { queue: [], index: 0, view: null, field: 0, editing: false };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function status(text, isError) {
  $("status").textContent = text || "";
  $("status").className = isError ? "error" : "";
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function post(action, body) {
  const response = await fetch("/api/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Ingest-Token": TOKEN },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function loadQueue(keepIndex) {
  const data = await getJSON("/api/queue");
  state.queue = data.proposals;
  if (!keepIndex) state.index = 0;
  state.index = Math.max(0, Math.min(state.index, state.queue.length - 1));
  renderQueue(data.problems, data.broken);
  if (state.queue.length) await openProposal(state.index);
  else showEmpty((data.broken || []).length);
}

function renderQueue(problems, broken) {
  const nav = $("queue");
  nav.replaceChildren(el("div", "meta", `${state.queue.length} proposal(s), weakest first`));
  state.queue.forEach((item, i) => {
    const row = el("div", "q" + (i === state.index ? " current" : ""));
    row.dataset.id = item.id;
    const conf = el("span", "conf" + (item.confidence < 0.6 ? " low" : ""), item.confidence.toFixed(2));
    row.append(conf, " ", el("span", null, item.title));
    if (item.flags.length) row.append(el("div", "flags", item.flags.join(", ")));
    row.addEventListener("click", () => openProposal(i));
    nav.append(row);
  });
  const rejectable = new Map((broken || []).map((item) => [item.problem, item.id]));
  for (const problem of problems || []) {
    const row = el("div", "error", "invalid: " + problem);
    const id = rejectable.get(problem);
    if (id) {
      // A broken file cannot be opened or approved, but it can be rejected with a reason.
      const button = el("button", "reject-broken", "Reject…");
      button.type = "button";
      button.dataset.id = id;
      button.addEventListener("click", () => startReject(id));
      row.append(" ", button);
    }
    nav.append(row);
  }
}

function showEmpty(broken) {
  state.view = null;
  const text = broken
    ? `No proposal to open: ${broken} broken file(s) in the queue, listed on the left, can be rejected.`
    : "The review queue is empty.";
  $("proposal").replaceChildren(el("h2", null, text));
  $("page-image").removeAttribute("src");
  $("marks").replaceChildren();
  $("page-info").textContent = "";
  document.body.dataset.shown = "";
}

async function openProposal(i) {
  if (i < 0 || i >= state.queue.length) return;
  state.index = i;
  state.editing = false;
  document.querySelectorAll(".q").forEach((node, k) => node.classList.toggle("current", k === i));
  const id = state.queue[i].id;
  try {
    state.view = await getJSON("/api/proposal/" + encodeURIComponent(id));
  } catch (error) {
    $("proposal").replaceChildren(el("div", "error", error.message));
    return;
  }
  renderProposal();
  const withQuote = state.view.rows.findIndex((row) => row.quotes.length);
  selectField(withQuote >= 0 ? withQuote : 0);
  document.body.dataset.shown = id;
}

function renderProposal() {
  const view = state.view;
  const s = view.summary;
  const box = $("proposal");
  box.replaceChildren(el("h2", null, s.title));
  const meta = el("div", "meta");
  meta.append(`${s.id} · ${s.kind} · confidence `, el("b", s.confidence < 0.6 ? "low" : "", s.confidence.toFixed(2)));
  if (view.target) meta.append(` · updates ${view.target}`);
  if (s.flags.length) meta.append(" · ", el("span", "flags", s.flags.join(", ")));
  if (view.arxiv_url) {
    const link = el("a", null, " arXiv page");
    link.href = view.arxiv_url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    meta.append(" ·", link);
  }
  box.append(meta);
  if (view.scope) box.append(el("div", "meta", `scope: ${view.scope.verdict} - ${view.scope.reason}`));
  view.rows.forEach((row, k) => {
    const card = el("div", "field");
    card.dataset.field = row.field;
    const head = el("div");
    head.append(el("span", "name", row.field));
    if (row.confidence !== null) {
      head.append(" ", el("span", row.confidence < 0.6 ? "low" : "meta", `confidence ${row.confidence.toFixed(2)}`));
    }
    if (row.flags.length) head.append(" ", el("span", "flags", "[" + row.flags.join(", ") + "]"));
    card.append(head);
    if (row.status === "changed" || row.status === "removed") card.append(el("div", "old", "- " + row.old));
    if (row.status === "same") card.append(el("div", "same", "  " + row.new));
    else if (row.new !== "") card.append(el("div", "new value", "+ " + row.new));
    if (row.support) {
      const note = row.support_note ? ` (${row.support_note})` : "";
      card.append(el("div", "support " + row.support, `support: ${row.support}${note}`));
    }
    for (const quote of row.quotes) {
      const where = quote.cited_page ? `p.${quote.page} (cited p.${quote.cited_page})` : `p.${quote.page}`;
      card.append(el("div", "quote", `${where} “${quote.text}” (${quote.match})`));
    }
    if (row.note) card.append(el("div", "meta", "note: " + row.note));
    card.addEventListener("click", () => selectField(k));
    box.append(card);
  });
}

function selectField(k) {
  const rows = state.view ? state.view.rows : [];
  if (!rows.length) return;
  state.field = Math.max(0, Math.min(k, rows.length - 1));
  const cards = document.querySelectorAll(".field");
  cards.forEach((card, i) => card.classList.toggle("current", i === state.field));
  cards[state.field].scrollIntoView({ block: "nearest" });
  showEvidence(rows[state.field]);
}

function showEvidence(row) {
  const image = $("page-image");
  const marks = $("marks");
  const info = $("page-info");
  marks.replaceChildren();
  const quote = row.quotes[0];
  if (!state.view.has_pdf) {
    image.removeAttribute("src");
    info.replaceChildren("No local PDF for this proposal. ");
    if (state.view.arxiv_url) {
      const link = el("a", null, "Open it on arXiv");
      link.href = state.view.arxiv_url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      info.append(link);
    }
    return;
  }
  if (!quote) {
    info.textContent = "This field has no quote.";
    image.removeAttribute("src");
    return;
  }
  info.textContent = `page ${quote.page} of ${state.view.pages}` + (quote.rects.length ? "" : " (quote not located on the page)");
  image.dataset.page = quote.page;
  image.alt = `page ${quote.page}`;
  if (image.getAttribute("src") !== quote.image) image.src = quote.image;
  for (const [x, y, w, h] of quote.rects) {
    const mark = el("div", "mark");
    Object.assign(mark.style, { left: x * 100 + "%", top: y * 100 + "%", width: w * 100 + "%", height: h * 100 + "%" });
    marks.append(mark);
  }
  const first = marks.firstChild;
  if (first) image.decode().then(() => first.scrollIntoView({ block: "center" })).catch(() => {});
}

async function decide(action, body, done) {
  try {
    await post(action, body);
    status(done);
    await loadQueue(true);
  } catch (error) {
    status(error.message, true);
  }
}

function approve() {
  if (!state.view) return;
  const id = state.view.summary.id;
  decide("approve", { id }, `approved ${id}`);
}

function startReject(brokenId) {
  const id = typeof brokenId === "string" ? brokenId : state.view && state.view.summary.id;
  if (!id) return;
  state.rejecting = id;
  $("reject-id").textContent = id;
  $("reject-form").hidden = false;
  $("reject-reason").value = "";
  $("reject-reason").focus();
}

$("reject-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const reason = $("reject-reason").value.trim();
  if (!reason) return;
  $("reject-form").hidden = true;
  const id = state.rejecting;
  if (!id) return;
  state.rejecting = null;
  decide("reject", { id, reason }, `rejected ${id}`);
});

function startEdit() {
  if (!state.view || state.editing) return;
  const row = state.view.rows[state.field];
  if (!row || !row.editable) return;
  const card = document.querySelectorAll(".field")[state.field];
  const input = el("input");
  input.value = row.new;
  input.setAttribute("aria-label", "new value of " + row.field);
  const note = el("small", "meta", "YAML value · Enter saves · Esc cancels");
  card.append(input, note);
  state.editing = true;
  input.focus();
  input.addEventListener("keydown", async (event) => {
    if (event.key === "Escape") {
      state.editing = false;
      input.remove();
      note.remove();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const id = state.view.summary.id;
      try {
        await post("edit", { id, field: row.field, value: input.value });
        const keep = state.field;
        await openProposal(state.index);
        selectField(keep);
        status(`edited ${row.field} of ${id}`);
      } catch (error) {
        note.textContent = error.message;
        note.className = "error";
      }
    }
  });
}

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT") {
    if (event.key === "Escape" && !$("reject-form").hidden) $("reject-form").hidden = true;
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = {
    n: () => openProposal(state.index + 1),
    p: () => openProposal(state.index - 1),
    j: () => selectField(state.field + 1),
    k: () => selectField(state.field - 1),
    ArrowDown: () => selectField(state.field + 1),
    ArrowUp: () => selectField(state.field - 1),
    a: approve,
    r: startReject,
    e: startEdit,
  };
  const run = keys[event.key];
  if (run) {
    event.preventDefault();
    run();
  }
});

loadQueue(false).catch((error) => status(error.message, true));
