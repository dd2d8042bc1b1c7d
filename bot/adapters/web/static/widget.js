/* Kefu web chat: one <script> tag on any site, or the full page at "/".
 *
 *   <script src="https://bot.example.com/widget.js" data-lang="zh" async></script>
 *
 * Options (data-* attributes of the script tag):
 *   data-lang       "zh", "en" or "auto" (the browser's language; default)
 *   data-user-id    the host site's logged-in user id, with
 *   data-user-hash  hex HMAC-SHA256(identity_secret, user id), computed by the host's server
 *   data-title      the header text
 *   data-open       "true": start with the chat open
 *   data-mode       "page": fill the page instead of a floating button (used by "/")
 * Anonymous visitors get a signed visitor token from the server, kept in localStorage so the
 * conversation continues after a reload. Everything is drawn in a shadow root: the host page's
 * styles do not leak in and ours do not leak out.
 */
(() => {
  const script = document.currentScript;
  if (!script) return;
  const opt = script.dataset;
  const base = new URL(script.src, location.href);
  const wsBase = (base.protocol === "https:" ? "wss://" : "ws://") + base.host;
  const storeKey = "kefu-token@" + base.host;
  const langPref = (opt.lang || "auto").toLowerCase();
  const zh = langPref === "auto"
    ? (navigator.language || "zh").toLowerCase().startsWith("zh") : langPref === "zh";
  const ui = zh
    ? {title: "在线客服", sub: "星河电子智能客服", ph: "请输入您的问题，例如：退货需要多久？",
       send: "发送", open: "联系客服", close: "关闭",
       hello: "您好！请问有什么可以帮您？可以问我订单、物流、退换货、保修、发票等问题。",
       sources: "来源", offline: "连接已断开，正在重连…"}
    : {title: "Support", sub: "Xinghe Electronics support",
       ph: "Ask a question, e.g. How do I return an item?", send: "Send", open: "Chat with us",
       close: "Close", hello: "Hello! Ask me about orders, shipping, returns, warranty or invoices.",
       sources: "Sources", offline: "Disconnected, reconnecting…"};
  const pageMode = opt.mode === "page";

  const host = document.createElement("div");
  host.id = "kefu-chat";
  const root = host.attachShadow({mode: "open"});
  root.innerHTML = `<style>
    :host { all: initial; }
    * { box-sizing: border-box; }
    .panel { --accent: #2463eb; font: 15px/1.5 system-ui, "PingFang SC", "Microsoft YaHei",
             sans-serif; background: #f4f6fb; display: flex; flex-direction: column;
             color: #1f2430; }
    .float { position: fixed; right: 20px; bottom: 88px; width: 360px; height: 520px;
             max-width: calc(100vw - 24px); max-height: calc(100vh - 110px); border-radius: 14px;
             box-shadow: 0 12px 40px rgba(0,0,0,.22); overflow: hidden; z-index: 2147483646; }
    .full { position: fixed; inset: 0; }
    .hidden { display: none; }
    header { background: var(--accent); color: #fff; padding: 12px 16px; font-weight: 600;
             display: flex; align-items: center; }
    header small { font-weight: 400; opacity: .85; margin-left: 8px; flex: 1; }
    header button { background: none; border: 0; color: #fff; font-size: 20px; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column;
           gap: 10px; }
    .msg { max-width: 80%; padding: 10px 12px; border-radius: 12px; white-space: pre-wrap;
           box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-wrap: anywhere; }
    .bot { background: #fff; align-self: flex-start; }
    .me { background: #dbe7ff; align-self: flex-end; }
    .sources { margin-top: 6px; font-size: 12px; color: #667; }
    .buttons { margin-top: 8px; display: flex; gap: 6px; flex-wrap: wrap; }
    .buttons button { border: 1px solid var(--accent); color: var(--accent); background: #fff;
                      border-radius: 16px; padding: 4px 12px; cursor: pointer; font: inherit; }
    .draft::after { content: "▍"; color: var(--accent); animation: blink 1s steps(2) infinite; }
    @keyframes blink { to { visibility: hidden; } }
    .typing { color: #889; font-style: italic; align-self: flex-start; }
    form { display: flex; gap: 8px; padding: 12px; background: #fff; border-top: 1px solid #dde; }
    input { flex: 1; padding: 10px; border: 1px solid #ccd; border-radius: 8px; font: inherit; }
    form button { background: var(--accent); color: #fff; border: 0; border-radius: 8px;
                  padding: 0 18px; font: inherit; cursor: pointer; }
    .launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px;
                border-radius: 50%; border: 0; background: #2463eb; color: #fff; font-size: 26px;
                cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25); z-index: 2147483647; }
  </style>
  <button class="launcher" id="launcher" type="button">💬</button>
  <div class="panel" id="panel" role="dialog">
    <header><span id="title"></span><small id="subtitle"></small>
      <button id="close" type="button">×</button></header>
    <div class="log" id="log" aria-live="polite"></div>
    <form id="form" autocomplete="off">
      <input id="text" maxlength="4000" aria-label="message">
      <button id="send" type="submit"></button>
    </form>
  </div>`;
  const $ = (id) => root.getElementById(id);
  const panel = $("panel"), launcher = $("launcher"), log = $("log"), input = $("text");
  $("title").textContent = opt.title || (pageMode ? "Kefu 客服" : ui.title);
  $("subtitle").textContent = ui.sub;
  $("send").textContent = ui.send;
  input.placeholder = ui.ph;
  launcher.title = ui.open;
  $("close").title = ui.close;
  if (pageMode) {
    panel.classList.add("full");
    launcher.classList.add("hidden");
    $("close").classList.add("hidden");
  } else {
    panel.classList.add("float");
    if (opt.open !== "true") panel.classList.add("hidden");
  }
  launcher.onclick = () => { panel.classList.toggle("hidden"); if (!ws) connect(); input.focus(); };
  $("close").onclick = () => panel.classList.add("hidden");

  let ws = null, typing = null;
  const drafts = new Map();  // stream_id -> the bubble an answer is being written into
  function add(cls, text) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function clearTyping() { if (typing) { typing.remove(); typing = null; } }
  function showDelta(frame) {
    clearTyping();
    let draft = drafts.get(frame.stream_id);
    if (!draft) {
      draft = add("bot draft", "");
      drafts.set(frame.stream_id, draft);
    }
    draft.textContent += frame.text;
    log.scrollTop = log.scrollHeight;
  }
  function showReply(frame) {
    clearTyping();
    const div = add("bot", frame.text);
    const draft = frame.replaces && drafts.get(frame.replaces);
    if (draft) {  // the final answer (citations checked) takes the draft's place
      draft.replaceWith(div);
      drafts.delete(frame.replaces);
    }
    const cites = (frame.custom && frame.custom.citations) || [];
    if (cites.length) {
      const s = document.createElement("div");
      s.className = "sources";
      s.textContent = ui.sources + ": " +
        cites.map(c => c.title + (c.section ? " § " + c.section : "")).join("; ");
      div.appendChild(s);
    }
    if (frame.buttons && frame.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of frame.buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.onclick = () => send(b.payload, b.title);
        row.appendChild(btn);
      }
      div.appendChild(row);
    }
  }
  function credentials() {
    const params = new URLSearchParams();
    if (opt.userId && opt.userHash) {
      params.set("user_id", opt.userId);
      params.set("user_hash", opt.userHash);
    } else {
      const token = localStorage.getItem(storeKey);
      if (token) params.set("token", token);
    }
    return params.toString();
  }
  function connect() {
    ws = new WebSocket(`${wsBase}/ws?${credentials()}`);
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "session") {
        if (frame.token && frame.kind === "visitor") localStorage.setItem(storeKey, frame.token);
      } else if (frame.type === "reply") showReply(frame);
      else if (frame.type === "delta") showDelta(frame);
      else if (frame.type === "typing") {
        clearTyping();
        typing = document.createElement("div");
        typing.className = "typing";
        typing.textContent = "…";
        log.appendChild(typing);
      } else if (frame.type === "error") {
        clearTyping();
        if (frame.code === "unauthenticated" && !opt.userId) {
          localStorage.removeItem(storeKey);  // expired: the next connection starts afresh
        } else add("bot", frame.error);
      }
    };
    ws.onclose = () => {
      for (const draft of drafts.values()) draft.classList.remove("draft");
      drafts.clear();  // an answer cut off here arrives whole after reconnecting
      add("bot", ui.offline);
      setTimeout(connect, 2000);
    };
  }
  function send(text, shown) {
    if (!text.trim() || !ws || ws.readyState !== WebSocket.OPEN) return;
    add("me", shown || text);
    ws.send(JSON.stringify({type: "message", text}));
  }
  $("form").onsubmit = (event) => {
    event.preventDefault();
    send(input.value);
    input.value = "";
  };
  add("bot", ui.hello);
  const mount = () => {
    document.body.appendChild(host);
    if (pageMode || opt.open === "true") connect();
  };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
