// Kefu agent workspace: live queue over a WebSocket, actions over fetch with the CSRF token.
// Customer text is only ever inserted with textContent, never as HTML.
"use strict";

const state = { csrf: "", queue: { waiting: [], mine: [] }, current: null, ws: null, retry: 0 };
const $ = (id) => document.getElementById(id);
// Texts in the agent's language and the configured time zone, rendered into the page.
const TEXTS = JSON.parse(document.getElementById("staff-texts").textContent);
const LANG = document.body.dataset.lang === "zh" ? "zh-CN" : "en";
const ZONE = document.body.dataset.timezone || "UTC";
const ENTITY_KINDS = ["order_numbers", "phones", "emails", "dates", "products", "amounts"];

function t(key, values) {
  const template = TEXTS[key] || key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? values[name] : ""));
}

function reasonText(reason) {
  return TEXTS[`reason.${reason}`] || reason;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(LANG, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
}

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
    throw new Error(t("workspace.log_in_again"));
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
  return minutes < 60
    ? t("workspace.minutes", { m: minutes })
    : t("workspace.hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
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
    const reason = el("div", "meta", reasonText(handoff.reason));
    if (handoff.priority > 0) reason.prepend(el("span", "priority", t("workspace.high")));
    item.append(top, reason, el("div", "preview", lastCustomerText(handoff)));
    if (withClaim) {
      const claim = el("button", "small", t("workspace.claim"));
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
  const title = `Kefu · ${t("workspace.title")}`;
  document.title = state.queue.waiting.length ? `(${state.queue.waiting.length}) ${title}` : title;
}

function entityValue(value) {
  if (value && typeof value === "object") return [value.value, value.currency].filter(Boolean).join(" ");
  return String(value);
}

// The summary as sentences: why it was handed over, what the customer wants, what they mentioned.
function summarySentences(summary) {
  const sentences = [];
  if (summary.reason) {
    sentences.push(TEXTS[`summary.reason.${summary.reason}`] || t("summary.reason.other", { reason: summary.reason }));
  }
  if (summary.intent) {
    const intent = TEXTS[`intent.${summary.intent}`] || summary.intent.replace(/_/g, " ");
    sentences.push(t("summary.intent", { intent }));
  }
  const entities = summary.entities || {};
  const details = [];
  for (const kind of ENTITY_KINDS) {
    const values = (entities[kind] || []).map(entityValue).filter((v) => v);
    if (values.length) details.push(`${t(`entity.${kind}`)} ${values.join(", ")}`);
  }
  if (details.length) sentences.push(t("summary.details", { details: details.join(t("summary.list_separator")) }));
  return sentences;
}

function renderSummary(summary) {
  const box = $("summary");
  box.replaceChildren();
  if (summary.llm) box.append(el("p", "", summary.llm));
  const sentences = el("div", "sentences");
  for (const sentence of summarySentences(summary)) sentences.append(el("p", "", sentence));
  box.append(sentences);
  const turns = el("ol", "turns");
  for (const turn of summary.last_turns || []) {
    turns.append(el("li", turn.role, `${t(`role.${turn.role === "customer" ? "customer" : "bot"}`)}: ${turn.text}`));
  }
  box.append(turns);
}

// "handoff escalated: customer_request" and "rating: 5/5" from the server, in the agent's words.
function systemText(text) {
  const handoff = /^handoff (\w+)(?:: (.*))?$/.exec(text);
  if (handoff && TEXTS[`system.${handoff[1]}`]) {
    return t(`system.${handoff[1]}`, { detail: handoff[2] ? reasonText(handoff[2]) : "" });
  }
  const rating = /^rating: (\d)\/5$/.exec(text);
  return rating ? t("system.rating", { score: rating[1] }) : text;
}

function appendLine(line) {
  const item = el("li", `line ${line.role}`);
  if (line.role !== "system") item.append(el("span", "who", t(`role.${line.role}`)));
  item.append(el("span", "text", line.role === "system" ? systemText(line.text) : line.text));
  if (line.at) item.append(el("time", "meta", clock(line.at)));
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
  const waited = t("workspace.waiting_since", { since: since(handoff.created_at) });
  $("meta").textContent = `${handoff.platform} · ${handoff.key} · ${waited}`;
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
    showBanner(t("workspace.closed"));
    await refreshQueue();
  });
}

async function releaseConversation() {
  const id = state.current;
  await guarded(async () => {
    await api("POST", `/agent/api/handoffs/${id}/release`);
    showBanner(t("workspace.released"));
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
      showBanner(t(frame.action === "cancelled" ? "workspace.went_back" : "workspace.released"));
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
    $("connection").textContent = t("workspace.online");
    $("connection").className = "connection online";
    await refreshQueue().catch(() => {});
    if (state.current !== null) openConversation(state.current);
  };
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = () => {
    $("connection").textContent = t("workspace.reconnecting");
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
