// Kefu agent workspace: live queue over a WebSocket, actions over fetch with the CSRF token.
// Customer text is only ever inserted with textContent, never as HTML.
"use strict";

const state = { csrf: "", queue: { waiting: [], mine: [] }, current: null, ws: null, retry: 0 };
const $ = (id) => document.getElementById(id);
const REASONS = {
  customer_request: "asked for a human",
  failed_answers: "bot could not answer",
  complaint: "complaint",
  frustration: "frustrated",
  admin: "sent by an admin",
};

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    options.headers["X-CSRF-Token"] = state.csrf;
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    location.href = "/agent/login";
    throw new Error("Please log in again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function since(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function lastCustomerText(handoff) {
  const turns = (handoff.summary && handoff.summary.last_turns) || [];
  const said = turns.filter((t) => t.role === "customer");
  return said.length ? said[said.length - 1].text : "";
}

function renderList(listId, items, withClaim) {
  const list = $(listId);
  list.replaceChildren();
  for (const handoff of items) {
    const item = el("li", "item" + (handoff.id === state.current ? " active" : ""));
    item.dataset.id = handoff.id;
    item.id = `${listId}-${handoff.id}`;
    const top = el("div", "item-top");
    top.append(el("strong", "", handoff.customer), el("span", "meta", since(handoff.created_at)));
    const reason = el("div", "meta", REASONS[handoff.reason] || handoff.reason);
    if (handoff.priority > 0) reason.prepend(el("span", "priority", "high"));
    item.append(top, reason, el("div", "preview", lastCustomerText(handoff)));
    if (withClaim) {
      const claim = el("button", "small", "Claim");
      claim.type = "button";
      claim.id = `claim-${handoff.id}`;
      claim.addEventListener("click", (event) => {
        event.stopPropagation();
        claimConversation(handoff.id);
      });
      item.append(claim);
    }
    item.addEventListener("click", () => openConversation(handoff.id));
    list.append(item);
  }
}

async function refreshQueue() {
  state.queue = await api("GET", "/agent/api/queue");
  renderList("queue", state.queue.waiting, true);
  renderList("mine", state.queue.mine, false);
  $("queue-count").textContent = state.queue.waiting.length;
  $("mine-count").textContent = state.queue.mine.length;
  document.title = state.queue.waiting.length
    ? `(${state.queue.waiting.length}) Kefu · Agent workspace`
    : "Kefu · Agent workspace";
}

function renderSummary(summary) {
  const box = $("summary");
  box.replaceChildren();
  if (summary.llm) box.append(el("p", "", summary.llm));
  const facts = el("dl", "facts");
  const add = (name, value) => {
    if (!value) return;
    facts.append(el("dt", "", name), el("dd", "", value));
  };
  add("Reason", REASONS[summary.reason] || summary.reason);
  add("Intent", summary.intent);
  const entities = Object.entries(summary.entities || {}).map(([k, v]) => `${k}: ${v}`);
  add("Details", entities.join(", "));
  box.append(facts);
  const turns = el("ol", "turns");
  for (const turn of summary.last_turns || []) {
    turns.append(el("li", turn.role, `${turn.role === "customer" ? "Customer" : "Bot"}: ${turn.text}`));
  }
  box.append(turns);
}

function appendLine(line) {
  const item = el("li", `line ${line.role}`);
  const label = { customer: "Customer", bot: "Bot", agent: "Agent", note: "Internal note", system: "" };
  if (label[line.role]) item.append(el("span", "who", label[line.role]));
  item.append(el("span", "text", line.text));
  if (line.at) item.append(el("time", "meta", new Date(line.at).toLocaleTimeString()));
  $("transcript").append(item);
  item.scrollIntoView({ block: "end" });
}

function showConversation(detail) {
  const handoff = detail.handoff;
  state.current = handoff.id;
  const mine = handoff.state === "assigned";
  $("placeholder").hidden = true;
  $("detail").hidden = false;
  $("banner").hidden = true;
  $("customer").textContent = handoff.customer;
  $("meta").textContent = `${handoff.platform} · ${handoff.key} · waiting since ${since(handoff.created_at)}`;
  $("claim").hidden = mine;
  $("release").hidden = !mine;
  $("composer").hidden = !mine;
  $("error").textContent = "";
  renderSummary(detail.summary || {});
  $("transcript").replaceChildren();
  detail.transcript.forEach(appendLine);
  for (const list of ["queue", "mine"]) {
    for (const item of $(list).children) item.classList.toggle("active", Number(item.dataset.id) === handoff.id);
  }
  if (mine) $("message").focus();
}

function showBanner(text) {
  $("banner").textContent = text;
  $("banner").hidden = false;
  $("composer").hidden = true;
  $("release").hidden = true;
}

async function guarded(action) {
  $("error").textContent = "";
  try {
    await action();
  } catch (error) {
    $("error").textContent = error.message;
    if (!$("composer").hidden) return;
    showBanner(error.message);
  }
}

async function openConversation(id) {
  await guarded(async () => showConversation(await api("GET", `/agent/api/handoffs/${id}`)));
}

async function claimConversation(id) {
  await guarded(async () => {
    showConversation(await api("POST", `/agent/api/handoffs/${id}/claim`));
    await refreshQueue();
  });
}

async function sendText(kind) {
  const text = $("message").value.trim();
  if (!text || state.current === null) return;
  await guarded(async () => {
    const path = `/agent/api/handoffs/${state.current}/${kind === "note" ? "notes" : "messages"}`;
    appendLine(await api("POST", path, { text }));
    $("message").value = "";
  });
}

async function closeConversation() {
  const id = state.current;
  await guarded(async () => {
    await api("POST", `/agent/api/handoffs/${id}/close`, { resolution: $("resolution").value });
    $("resolution").value = "";
    showBanner("Closed. The customer was asked for a rating and is back with the bot.");
    await refreshQueue();
  });
}

async function releaseConversation() {
  const id = state.current;
  await guarded(async () => {
    await api("POST", `/agent/api/handoffs/${id}/release`);
    showBanner("Released to the queue.");
    await refreshQueue();
  });
}

function onFrame(frame) {
  if (frame.type === "queue") {
    refreshQueue().catch(() => {});
  } else if (frame.type === "message") {
    if (frame.handoff_id === state.current) appendLine(frame.line);
    else document.getElementById(`mine-${frame.handoff_id}`)?.classList.add("unread");
  } else if (frame.type === "handoff") {
    if (frame.handoff_id === state.current) {
      showBanner(frame.action === "cancelled" ? "The customer went back to the bot." : "Released to the queue.");
    }
    refreshQueue().catch(() => {});
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/agent/ws?csrf=${encodeURIComponent(state.csrf)}`);
  state.ws = ws;
  ws.onopen = async () => {
    state.retry = 0;
    $("connection").textContent = "online";
    $("connection").className = "connection online";
    await refreshQueue().catch(() => {});
    if (state.current !== null) openConversation(state.current);
  };
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = () => {
    $("connection").textContent = "reconnecting…";
    $("connection").className = "connection offline";
    state.retry = Math.min(state.retry + 1, 6);
    setTimeout(connect, 500 * 2 ** state.retry);
  };
}

async function start() {
  const me = await api("GET", "/agent/api/me");
  state.csrf = me.csrf;
  $("agent-name").textContent = me.name;
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendText("message");
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendText("message");
    }
  });
  $("note").addEventListener("click", () => sendText("note"));
  $("close").addEventListener("click", closeConversation);
  $("release").addEventListener("click", releaseConversation);
  $("claim").addEventListener("click", () => claimConversation(state.current));
  $("logout").addEventListener("click", async () => {
    await api("POST", "/agent/logout").catch(() => {});
    location.href = "/agent/login";
  });
  setInterval(() => state.ws && state.ws.readyState === WebSocket.OPEN && state.ws.send("ping"), 20000);
  setInterval(() => refreshQueue().catch(() => {}), 60000);
  await refreshQueue();
  connect();
}

start();
