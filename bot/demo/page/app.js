// The demo page: one person's view of the demo workspace. Message and modal HTML comes rendered
// (and escaped) from the server; this script only places it, and sends what the person does to
// the page's backend, which signs it and forwards it to the bot as Slack would.
"use strict";

const S = {
  config: null,
  me: null,
  channel: null,
  thread: null, // {channel, ts}
  version: null,
  data: null,
  seen: {},
  modalKey: null,
  switching: false, // this page asked for a mode switch and waits for it
  appTab: "home", // in the app's conversation: its Home tab or its Messages
  homeKey: null,
  poller: null,
  ready: false, // the page has its settings and its first state: sending works
  waiting: [], // what was typed before that, sent in order once ready
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// An emoji the page ships as an image (no colour emoji font is needed to see it).
function icon(name) {
  return el("img", { class: "emoji", src: `/static/emoji/${name}.svg`, alt: "", draggable: "false" });
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function post(path, body) {
  const response = await fetch("/ui/" + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, user: S.me }),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (!response.ok && !data.error) data.error = "HTTP " + response.status;
  return data;
}

// ---- polling -------------------------------------------------------------------------

async function pollLoop() {
  const mine = {};
  S.poller = mine;
  while (S.poller === mine) {
    const since = S.version === null ? "" : String(S.version);
    try {
      const response = await fetch(`/ui/state?user=${encodeURIComponent(S.me)}&since=${since}`);
      if (S.poller !== mine) return;
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      S.version = data.version;
      S.data = data;
      render();
      if (!S.ready) becomeReady();
    } catch (e) {
      if (S.poller !== mine) return;
      document.body.classList.add("offline");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function restartPolling() {
  S.version = null;
  S.poller = null;
  pollLoop();
}

// ---- rendering -----------------------------------------------------------------------

function channelName(id) {
  const channel = (S.data?.channels || []).find((c) => c.id === id);
  if (!channel) return id;
  return channel.im ? channel.name : "#" + channel.name;
}

function renderSidebar() {
  const lists = { channels: $("channel-list"), dms: $("dm-list") };
  lists.channels.replaceChildren();
  lists.dms.replaceChildren();
  const latest = {};
  for (const m of S.data.messages) {
    if (!m.thread_ts || m.thread_ts === m.ts || m.broadcast) {
      latest[m.channel] = Math.max(latest[m.channel] || 0, parseFloat(m.ts));
    }
  }
  for (const channel of S.data.channels) {
    const active = channel.id === S.channel;
    if (active) S.seen[channel.id] = latest[channel.id] || 0;
    const unread = !active && (latest[channel.id] || 0) > (S.seen[channel.id] || 0);
    const button = el("button", {
      type: "button",
      class: (active ? "active " : "") + (unread ? "unread" : ""),
      dataset: { channel: channel.id },
      onclick: () => switchChannel(channel.id),
    }, ...(channel.im ? [icon("key"), " " + channel.name] : ["# " + channel.name]));
    (channel.im ? lists.dms : lists.channels).append(el("li", {}, button));
  }
  const people = $("people");
  people.replaceChildren();
  for (const person of S.config.people) {
    people.append(el("button", {
      type: "button",
      class: "person" + (person.id === S.me ? " active" : ""),
      dataset: { user: person.id },
      title: "Act as " + person.name,
      onclick: () => switchUser(person.id),
    }, avatarOf(person), el("span", {}, person.name, el("small", {}, person.role))));
  }
}

function avatarOf(person) {
  const node = el("span", { class: "avatar" }, person.name[0]);
  node.style.background = person.color;
  return node;
}

function messageNode(m, inThread) {
  const node = el("div", {
    class: "msg" + (m.ephemeral ? " ephemeral" : "") + (m.html.startsWith('<div class="command-echo"') ? " command" : ""),
    dataset: { key: m.key, channel: m.channel, ts: m.ts },
  });
  node.innerHTML = m.html; // rendered and escaped by the server
  if (!inThread && m.replies > 0) {
    const label = m.replies === 1 ? "1 reply" : `${m.replies} replies`;
    const main = node.querySelector(".msg-main") || node;
    main.append(el("button", {
      type: "button", class: "replies-link", dataset: { threadTs: m.ts },
      onclick: () => openThread(m.channel, m.ts),
    }, label));
  }
  return node;
}

function renderList(container, messages, inThread) {
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  const existing = new Map([...container.children].filter((c) => c.dataset.key).map((c) => [c.dataset.key, c]));
  const keep = new Set();
  let previous = null;
  for (const m of messages) {
    const signature = m.rev + "|" + m.replies + "|" + m.html.length + "|" + m.html;
    let node = existing.get(m.key);
    if (!node || node.dataset.signature !== signature || node.dataset.inThread !== String(inThread)) {
      const fresh = messageNode(m, inThread);
      fresh.dataset.signature = signature;
      fresh.dataset.inThread = String(inThread);
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    if (inThread && S.thread && m.ts === S.thread.ts) node.classList.add("parent");
    keep.add(m.key);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (expected !== node) container.insertBefore(node, expected);
    previous = node;
  }
  for (const [key, node] of existing) if (!keep.has(key)) node.remove();
  for (const child of [...container.children]) if (!child.dataset.key) child.remove();
  if (!messages.length) {
    container.append(el("div", { class: "empty" }, ...emptyText()));
  }
  if (nearBottom || container.dataset.stuck !== "1") {
    container.scrollTop = container.scrollHeight;
    container.dataset.stuck = "1";
  }
}

function emptyText() {
  if (S.channel === S.config.digest_channel) {
    const code = el("code", {}, S.config.command + " digest");
    return ["The compliance digest is posted here on schedule. Type ", code, " to post one now."];
  }
  const code = el("code", {}, S.config.command + " check all");
  return ["No messages yet. Type ", code, " below to audit the simulated Organization."];
}

function isApp(id) {
  return (S.data?.channels || []).some((c) => c.id === id && c.im);
}

// The app's conversation has two tabs, as in Slack: Home (the view the bot publishes with
// views.publish when it gets app_home_opened) and Messages.
function renderHome() {
  const onHome = isApp(S.channel) && S.appTab === "home";
  $("app-tabs").hidden = !isApp(S.channel);
  for (const tab of $("app-tabs").querySelectorAll("[data-tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === S.appTab));
  }
  $("home").hidden = !onHome;
  $("messages").hidden = onHome;
  document.querySelector(".composer").hidden = onHome;
  if (!onHome) return;
  const home = S.data.home;
  const key = home ? home.view_id + "|" + home.hash : "";
  if (key === S.homeKey && $("home").childElementCount) return;
  S.homeKey = key;
  if (home) $("home").innerHTML = home.html; // rendered and escaped by the server
  else $("home").replaceChildren(el("div", { class: "empty" }, "Opening the Home tab…"));
}

function openAppTab(tab) {
  S.appTab = tab;
  S.homeKey = null;
  render();
  post("home", { tab }).then((result) => {
    if (result.error) toast(result.error);
    else if (result.problem || result.status !== 200) {
      toast("rootkey did not handle app_home_opened (" + (result.problem || result.status) + ")");
    }
  });
}

function renderChannel() {
  const channel = (S.data.channels || []).find((c) => c.id === S.channel);
  $("channel-name").textContent = channelName(S.channel);
  $("channel-topic").textContent = channel ? channel.topic : "";
  $("composer").placeholder = `Message ${channelName(S.channel)}  —  try ${S.config.command} check all`;
  const shown = S.data.messages.filter(
    (m) => m.channel === S.channel && (!m.thread_ts || m.thread_ts === m.ts || m.broadcast),
  );
  renderList($("messages"), shown, false);
}

function renderThread() {
  const pane = $("thread");
  if (!S.thread) { pane.hidden = true; return; }
  const parent = S.data.messages.find((m) => m.channel === S.thread.channel && m.ts === S.thread.ts);
  if (!parent) { S.thread = null; pane.hidden = true; return; }
  pane.hidden = false;
  $("thread-channel").textContent = channelName(S.thread.channel);
  const shown = S.data.messages.filter(
    (m) => m.channel === S.thread.channel && (m.ts === S.thread.ts || m.thread_ts === S.thread.ts),
  );
  shown.sort((a, b) => (a.ts === S.thread.ts ? -1 : b.ts === S.thread.ts ? 1 : 0));
  renderList($("thread-messages"), shown, true);
}

function renderModal() {
  const root = $("modal-root");
  const modal = S.data.modal;
  if (!modal) {
    S.modalKey = null;
    root.hidden = true;
    root.replaceChildren();
    return;
  }
  const key = modal.view_id + "|" + modal.hash;
  if (key === S.modalKey) return; // keep what the person is typing
  S.modalKey = key;
  root.innerHTML = modal.html; // rendered and escaped by the server
  root.hidden = false;
  const first = root.querySelector("input:not([type=radio]):not([type=checkbox]), textarea, select");
  if (first) first.focus();
}

function renderInfo() {
  const info = S.data?.info || S.config.info || {};
  const box = $("sim-info");
  box.replaceChildren();
  if (info.accounts) {
    box.append("Simulated AWS Organization: ", el("b", {}, `${info.accounts} accounts`));
    if (info.mode) box.append(" · remediation: ", el("b", {}, info.mode));
    box.append(el("br"), "the real rootkey bot · no Slack, no AWS");
  }
  // The remediation mode: assume-root (rootkey deletes the key) or tracked (the production
  // default: the root user deletes it, rootkey verifies). Switching restarts the bot.
  const other = (info.modes || []).find((m) => m !== info.mode);
  const button = $("switch-mode");
  if (info.switching) {
    $("sim-mode").textContent = `restarting in ${info.switching}…`;
    button.disabled = true;
  } else {
    $("sim-mode").textContent = info.mode || "";
    button.disabled = !other || S.switching;
    button.textContent = other ? `Switch to ${other}` : "Switch mode";
    button.dataset.mode = other || "";
  }
}

// The simulated root user: choices filled once from the settings.
function fillSimulation() {
  const info = S.config.info || {};
  const accounts = $("root-account");
  for (const name of info.members || []) accounts.append(el("option", { value: name }, name));
  const actions = $("root-action");
  for (const [value, label] of Object.entries(info.root_actions || {})) {
    actions.append(el("option", { value }, label));
  }
}

async function switchMode() {
  const mode = $("switch-mode").dataset.mode;
  if (!mode) return;
  S.switching = true;
  $("switch-mode").disabled = true;
  try {
    const result = await post("mode", { mode });
    if (result.error) toast(result.error);
  } finally {
    S.switching = false;
    renderInfo();
  }
}

async function rootActivity() {
  const button = $("root-go");
  button.disabled = true;
  try {
    const result = await post("root-activity", {
      account: $("root-account").value, action: $("root-action").value,
    });
    toast(result.error ? "Refused: " + result.error : result.done);
  } finally {
    button.disabled = false;
  }
}

function render() {
  document.body.classList.remove("offline");
  if (!S.data.channels.some((c) => c.id === S.channel)) S.channel = S.config.default_channel;
  renderSidebar();
  renderChannel();
  renderHome();
  renderInfo();
  renderThread();
  renderModal();
}

// ---- navigation ----------------------------------------------------------------------

function switchChannel(id) {
  S.channel = id;
  S.thread = null;
  $("messages").dataset.stuck = "0";
  if (isApp(id)) openAppTab("home"); // Slack opens an app on its Home tab
  else render();
}

function switchUser(id) {
  if (id === S.me) return;
  S.me = id;
  S.modalKey = null;
  S.homeKey = null;
  localStorage.setItem("rootkey-demo-user", id);
  $("messages").replaceChildren();
  $("thread-messages").replaceChildren();
  $("messages").dataset.stuck = "0";
  restartPolling();
}

function openThread(channel, ts) {
  S.thread = { channel, ts };
  $("thread-messages").replaceChildren();
  $("thread-messages").dataset.stuck = "0";
  render();
}

// ---- collecting input ----------------------------------------------------------------

function readElement(node) {
  const type = node.dataset.type;
  if (node.classList.contains("bk-choices")) {
    const checked = [...node.querySelectorAll("input:checked")].map((i) => i.value);
    return type === "checkboxes" ? { values: checked } : { value: checked[0] ?? null };
  }
  if (node.tagName === "SELECT") {
    const chosen = [...node.selectedOptions].map((o) => o.value).filter((v) => v !== "");
    return node.multiple ? { values: chosen } : { value: chosen[0] ?? null };
  }
  return { value: node.value };
}

function collect(container) {
  const values = {};
  for (const node of container.querySelectorAll("[data-action-id][data-type]")) {
    if (node.tagName === "BUTTON") continue;
    const block = node.dataset.blockId;
    values[block] = values[block] || {};
    values[block][node.dataset.actionId] = readElement(node);
  }
  return values;
}

function containerOf(node) {
  const home = node.closest(".home-view");
  if (home) return { box: home, ref: { type: "view", view_id: home.dataset.viewId } };
  const modal = node.closest(".modal");
  if (modal) return { box: modal, ref: { type: "view", view_id: modal.dataset.viewId } };
  const message = node.closest(".msg");
  if (message) return { box: message, ref: { type: "message", channel: message.dataset.channel, ts: message.dataset.ts } };
  return null;
}

// ---- actions -------------------------------------------------------------------------

async function sendAction(node, choice) {
  const where = containerOf(node);
  if (!where) return;
  if (node.tagName === "BUTTON") node.disabled = true;
  try {
    const result = await post("action", {
      container: where.ref,
      block_id: node.dataset.blockId,
      action_id: node.dataset.actionId,
      state: collect(where.box),
      ...(choice || {}),
    });
    if (result.error) toast("Could not send the click: " + result.error);
    else if (result.problem || result.status !== 200) {
      node.classList.add("failed");
      toast("rootkey did not handle the click (" + (result.problem || result.status) + ")");
    }
  } finally {
    if (node.tagName === "BUTTON") node.disabled = false;
  }
  if (node.dataset.url) window.open(node.dataset.url, "_blank", "noopener");
}

function confirmFirst(button) {
  const spec = button.parentElement.querySelector(".bk-confirm");
  if (!spec) return sendAction(button);
  const root = $("confirm-root");
  const yes = el("button", { type: "button", class: "bk-button " + (spec.dataset.style === "danger" ? "bk-danger" : "bk-primary") });
  yes.innerHTML = spec.querySelector(".bk-confirm-yes").innerHTML;
  const no = el("button", { type: "button", class: "bk-button" });
  no.innerHTML = spec.querySelector(".bk-confirm-no").innerHTML;
  const title = el("div", { class: "dialog-title" });
  title.innerHTML = spec.querySelector(".bk-confirm-title").innerHTML;
  const text = el("div", { class: "dialog-text" });
  text.innerHTML = spec.querySelector(".bk-confirm-text").innerHTML;
  const close = () => { root.hidden = true; root.replaceChildren(); };
  no.addEventListener("click", close);
  yes.addEventListener("click", () => { close(); sendAction(button); });
  root.replaceChildren(el("div", { class: "dialog", role: "dialog", "aria-modal": "true" }, title, text, el("div", { class: "dialog-foot" }, no, yes)));
  root.hidden = false;
  yes.focus();
}

async function submitModal(modal) {
  for (const box of modal.querySelectorAll(".bk-error")) { box.hidden = true; box.textContent = ""; }
  const button = modal.querySelector(".modal-submit");
  button.disabled = true;
  try {
    const result = await post("submit", { view_id: modal.dataset.viewId, values: collect(modal) });
    if (result.errors) {
      for (const [blockId, message] of Object.entries(result.errors)) {
        const block = modal.querySelector(`.bk-input-block[data-block-id="${CSS.escape(blockId)}"] .bk-error`);
        if (block) { block.textContent = message; block.hidden = false; }
        else toast(message);
      }
    } else if (result.failed || result.error) {
      toast(result.failed || result.error);
    } else if (result.closed) {
      $("modal-root").hidden = true;
    }
  } finally {
    button.disabled = false;
  }
}

// Typed before the page could send it (the first second of a slow load): kept, shown as
// waiting, and sent once the page has its state; never cleared unsent.
function becomeReady() {
  S.ready = true;
  $("composer-hint").textContent = "";
  const waiting = S.waiting.splice(0);
  (async () => { for (const text of waiting) await runCommand(text); })();
}

async function runCommand(text) {
  const hint = $("composer-hint");
  if (!S.ready) {
    S.waiting.push(text);
    hint.textContent = "connecting … " + S.waiting.join(", ") + " will be sent";
    return;
  }
  hint.textContent = "sending " + text + " …";
  const isCommand = text.startsWith("/");
  const result = isCommand
    ? await post("command", { channel: S.channel, text })
    : await post("message", { channel: S.channel, text });
  hint.textContent = "";
  if (result.error) toast(result.error);
  $("messages").dataset.stuck = "0";
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("button");
  if (!target) return;
  if (target.classList.contains("modal-submit")) {
    submitModal(target.closest(".modal"));
  } else if (target.classList.contains("modal-close") || target.classList.contains("modal-x")) {
    const modal = target.closest(".modal");
    $("modal-root").hidden = true;
    S.modalKey = null;
    post("close", { view_id: modal.dataset.viewId });
  } else if (target.classList.contains("bk-button") && target.dataset.actionId) {
    confirmFirst(target);
  }
});

document.addEventListener("change", (event) => {
  const node = event.target;
  if (node.tagName !== "SELECT" || !node.classList.contains("bk-select")) return;
  if (node.closest(".bk-input-block")) return; // part of a form: sent on submit
  sendAction(node, readElement(node));
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (!$("confirm-root").hidden) { $("confirm-root").hidden = true; return; }
  if (!$("log-root").hidden) { $("log-root").hidden = true; return; }
  const modal = document.querySelector("#modal-root .modal");
  if (modal && !$("modal-root").hidden) modal.querySelector(".modal-x").click();
});

$("composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("composer");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  runCommand(text);
});

$("thread-close").addEventListener("click", () => { S.thread = null; render(); });
for (const tab of $("app-tabs").querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => openAppTab(tab.dataset.tab));
}

// An image that finishes loading makes its list taller: keep a list that was at the bottom there.
for (const id of ["messages", "thread-messages"]) {
  const list = $(id);
  list.addEventListener("scroll", () => {
    const gap = list.scrollHeight - list.scrollTop - list.clientHeight;
    list.dataset.atBottom = gap < 80 ? "1" : "0";
  });
  list.addEventListener("load", (event) => {
    if (event.target.tagName === "IMG" && list.dataset.atBottom !== "0") {
      list.scrollTop = list.scrollHeight;
    }
  }, true);
}

// ---- the audit log (python -m bot log, run by the demo against the bot's database) ------

const LOG_COLUMNS = ["at", "request_id", "account_id", "actor", "event", "from_state", "to_state", "detail"];

function personName(id) {
  const person = S.config.people.find((p) => p.id === id);
  return person ? person.name : id;
}

async function showAuditLog() {
  const root = $("log-root");
  const body = el("div", { class: "log-body" }, "Loading…");
  const close = el("button", { type: "button", class: "bk-button", onclick: () => { root.hidden = true; } }, "Close");
  const csv = el("a", { class: "bk-button", href: "/ui/audit-log?format=csv", download: "rootkey-audit-log.csv" }, "Download CSV");
  root.replaceChildren(el("div", { class: "dialog wide", role: "dialog", "aria-modal": "true" },
    el("div", { class: "dialog-title" }, "Remediation audit log"),
    el("div", { class: "log-note" }, "Every request's transitions, as ", el("code", {}, "python -m bot log"), " exports them from the bot's database."),
    body,
    el("div", { class: "dialog-foot" }, csv, close)));
  root.hidden = false;
  let rows;
  try {
    const response = await fetch("/ui/audit-log?format=json");
    rows = await response.json();
    if (!response.ok) throw new Error(rows.error || "HTTP " + response.status);
  } catch (e) {
    body.textContent = "Could not export the log: " + e.message;
    return;
  }
  if (!rows.length) {
    body.textContent = "No entries yet: request a remediation on a finding first.";
    return;
  }
  const head = el("tr", {}, ...LOG_COLUMNS.map((c) => el("th", {}, c.replace("_", " "))));
  const lines = rows.map((row) => el("tr", {}, ...LOG_COLUMNS.map((c) => {
    const value = row[c] === null || row[c] === undefined ? "" : String(row[c]);
    if (c !== "actor") return el("td", {}, value);
    // As the export has it: the name stored with the line, beside the id.
    return el("td", {}, row.actor_name ? `${row.actor_name} (${value})` : personName(value));
  })));
  body.replaceChildren(el("table", { class: "log-table" }, el("thead", {}, head), el("tbody", {}, ...lines)));
}

$("open-log").addEventListener("click", showAuditLog);
$("switch-mode").addEventListener("click", switchMode);
$("root-go").addEventListener("click", rootActivity);

async function start() {
  S.config = await (await fetch("/ui/config")).json();
  $("team-name").textContent = S.config.team;
  const stored = localStorage.getItem("rootkey-demo-user");
  const wanted = new URLSearchParams(location.search).get("as") || stored;
  S.me = S.config.people.some((p) => p.id === wanted) ? wanted : S.config.people[0].id;
  S.channel = S.config.default_channel;
  const chips = $("suggestions");
  for (const example of ["check all", "digest", "status", "help"]) {
    const text = `${S.config.command} ${example}`;
    chips.append(el("button", { type: "button", class: "chip", onclick: () => runCommand(text) }, text));
  }
  renderInfo();
  fillSimulation();
  pollLoop();
}

start();
