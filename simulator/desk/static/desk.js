// The desk's page: a view of the stanzas the service sees, and requests to act as users.
// Protocol: see the docstring of simulator.desk (world / stanza / result messages).
"use strict";

const $ = (id) => document.getElementById(id);
const S = {
  world: null, stanzas: [], me: "", chat: "", selected: "",
  clock: { now: 0, at: 0 }, subscribed: new Set(), lastSeen: new Map(),
};
let ws = null;
let nextRef = 1;
const waiting = new Map();

// ------------------------------------------------------------------ connection

function connect() {
  ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => { S.stanzas = []; $("stanzas").textContent = ""; setConn(true); };
  ws.onmessage = (e) => receive(JSON.parse(e.data));
  ws.onclose = () => { setConn(false); setTimeout(connect, 1000); };
}

function setConn(live) {
  $("conn").textContent = live ? "live" : "reconnecting…";
  $("conn").classList.toggle("live", live);
}

function request(op, args = {}) {
  const ref = nextRef++;
  ws.send(JSON.stringify({ op, ref, ...args }));
  return new Promise((resolve, reject) => waiting.set(ref, { resolve, reject }));
}

async function act(op, args = {}) {
  try {
    return await request(op, args);
  } catch (err) {
    toast(`${op}: ${err.message}`);
    return undefined;
  }
}

let toastTimer = 0;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

function receive(msg) {
  if (msg.type === "world") {
    S.world = msg;
    S.clock = { now: msg.now, at: performance.now() };
    tick();
    renderWorld();
    scheduleChat();
  } else if (msg.type === "stanza") {
    S.stanzas.push(msg);
    addStanzaRow(msg);
    scheduleChat();
  } else if (msg.type === "result") {
    const w = waiting.get(msg.ref);
    waiting.delete(msg.ref);
    if (w) { if (msg.ok) w.resolve(msg.value); else w.reject(new Error(msg.error)); }
  }
}

// ------------------------------------------------------------------ names and nodes

function account(jid) { return S.world?.accounts.find((a) => a.jid === jid); }
function group(jid) { return S.world?.groups.find((g) => g.jid === jid); }
function nameOf(jid) {
  if (!jid) return "";
  if (jid === S.me) return "You";
  const a = account(jid);
  if (a) return a.name || a.phone;
  const g = group(jid);
  if (g) return g.subject;
  return jid.split("@")[0];
}
function child(node, tag) { return (node.c || []).find((c) => c.t === tag); }
function attr(node, name) { return (node.a || {})[name]; }
function ids(node) {
  const out = [attr(node, "id")];
  const list = child(node, "list");
  for (const item of list?.c || []) out.push(attr(item, "id"));
  return out.filter(Boolean);
}
function hhmm(t) {
  return new Date(t * 1000).toISOString().slice(11, 16);
}

// ------------------------------------------------------------------ the chats of one user

// Everything the user `me` sent and received, folded into chats keyed by the peer or group.
function chatsOf(me) {
  const chats = new Map();
  const byId = new Map();
  const pendingIq = new Map();
  const chat = (key) => {
    if (!chats.has(key)) chats.set(key, { key, items: [], typing: "", presence: null, unread: 0 });
    return chats.get(key);
  };
  for (const s of S.stanzas) {
    if (s.jid !== me) continue;
    const n = s.node;
    const a = n.a || {};
    if (s.dir === "in" && n.t === "message" && a.to) {
      const m = { kind: "msg", mine: true, id: a.id, from: me, node: n, at: s.at, status: "pending" };
      chat(a.to).items.push(m);
      byId.set(a.id, m);
    } else if (s.dir === "out" && n.t === "ack" && a.class === "message") {
      const m = byId.get(a.id);
      if (m && m.mine && m.status === "pending") m.status = "sent";
    } else if (s.dir === "out" && n.t === "receipt") {
      for (const id of ids(n)) {
        const m = byId.get(id);
        if (!m || !m.mine) continue;
        if (a.type === "read") m.status = "read";
        else if (!a.type && m.status !== "read") m.status = "delivered";
      }
    } else if (s.dir === "out" && n.t === "message" && a.from) {
      const c = chat(a.from);
      const m = {
        kind: "msg", mine: false, id: a.id, from: a.participant || a.from, node: n,
        at: Number(a.t) || s.at, read: false,
      };
      c.items.push(m);
      c.unread += 1;
      if (c.typing === m.from) c.typing = "";
      byId.set(a.id, m);
    } else if (s.dir === "in" && n.t === "receipt" && a.type === "read") {
      for (const id of ids(n)) {
        const m = byId.get(id);
        if (m && !m.mine && !m.read) { m.read = true; chat(a.to).unread -= 1; }
      }
    } else if (s.dir === "out" && n.t === "chatstate" && a.from) {
      const who = a.participant || a.from;
      chat(a.from).typing = child(n, "composing") ? who : "";
    } else if (s.dir === "out" && n.t === "presence" && a.from && a.from !== me) {
      chat(a.from).presence = { type: a.type || "available", last: a.last, at: s.at };
    } else if (s.dir === "out" && n.t === "notification" && a.type === "w:gp2") {
      const line = groupLine(a.participant, n.c?.[0]);
      if (line) chat(a.from).items.push({ kind: "system", text: line, at: s.at, id: a.id });
    } else if (s.dir === "in" && n.t === "iq" && (a.xmlns === "w:g2" || a.xmlns === "w:g")) {
      pendingIq.set(a.id, n);
    } else if (s.dir === "out" && n.t === "iq" && pendingIq.has(a.id)) {
      const ask = pendingIq.get(a.id);
      pendingIq.delete(a.id);
      ownGroupLine(chat, ask, n, s.at);
    }
  }
  return chats;
}

const VERBS = { add: "added", remove: "removed", promote: "made admin", demote: "dismissed as admin" };

function groupLine(actor, payload) {
  if (!payload) return "";
  const who = nameOf(actor);
  const members = (payload.c || []).filter((c) => c.t === "participant").map((c) => nameOf(attr(c, "jid")));
  if (payload.t === "create") return `${who} created the group "${attr(child(payload, "group") || payload, "subject") || ""}"`;
  if (payload.t === "subject") return `${who} changed the subject to "${attr(payload, "subject")}"`;
  if (payload.t === "remove" && members.length === 1 && members[0] === who) return `${who} left`;
  if (VERBS[payload.t]) return `${who} ${VERBS[payload.t]} ${members.join(", ")}`;
  return `${who}: ${payload.t}`;
}

function ownGroupLine(chat, ask, answer, at) {
  const what = ask.c?.[0];
  if (!what) return;
  const to = attr(ask, "to") || "";
  if (attr(answer, "type") === "error") {
    const err = child(answer, "error");
    const key = to.endsWith("@g.us") ? to : null;
    if (key) chat(key).items.push({ kind: "system", text: `${what.t} refused: ${attr(err || {}, "code")} ${attr(err || {}, "text")}`, at, id: attr(ask, "id") });
    return;
  }
  const id = attr(ask, "id");
  if (what.t === "create") {
    const g = child(answer, "group");
    const gid = attr(g || {}, "id") || "";
    const key = gid.includes("@") ? gid : `${gid}@g.us`;
    chat(key).items.push({ kind: "system", text: `You created the group "${attr(what, "subject")}"`, at, id });
  } else if (what.t === "subject") {
    chat(to).items.push({ kind: "system", text: `You changed the subject to "${attr(what, "subject")}"`, at, id });
  } else if (what.t === "leave") {
    for (const g of what.c || []) chat(attr(g, "id")).items.push({ kind: "system", text: "You left", at, id });
  } else if (VERBS[what.t]) {
    const members = (what.c || []).map((c) => nameOf(attr(c, "jid")));
    chat(to).items.push({ kind: "system", text: `You ${VERBS[what.t]} ${members.join(", ")}`, at, id });
  }
}

// ------------------------------------------------------------------ rendering: world

function renderWorld() {
  const w = S.world;
  const bot = $("bot");
  bot.classList.toggle("died", w.bot_state === "died");
  bot.textContent = w.bot ? `bot ${nameOf(w.bot)} (${w.bot_target}): ${w.bot_state}` : "no bot: real clients connect over TCP";
  bot.title = w.bot_error || "";
  if (w.bot_state === "died" && w.bot_error && !S.botDeathShown) {
    S.botDeathShown = true;
    toast(`the bot died: ${w.bot_error.trim().split("\n").pop()}`);
  }
  $("advance").hidden = !w.can_advance;
  $("save").hidden = !w.recording;
  renderFaults(w.faults || []);

  const me = $("me");
  const keep = me.value;
  me.replaceChildren(new Option("— pick a user —", ""));
  for (const a of w.accounts) {
    if (a.jid === w.bot) continue;
    const o = new Option(`${a.name || a.phone} · ${a.phone}${a.played ? " ●" : ""}`, a.jid);
    me.add(o);
  }
  me.value = keep;

  const party = $("f-party");
  const pkeep = party.value;
  party.replaceChildren(new Option("all parties", ""));
  for (const a of w.accounts) party.add(new Option(a.name || a.phone, a.jid));
  party.value = pkeep;

  const mine = account(S.me);
  $("me-actions").hidden = !mine;
  if (mine) {
    $("online").textContent = mine.online ? "Go offline" : "Go online";
    $("logout").textContent = mine.played ? "Log out" : "Log in";
  }
  const members = $("group-members");
  const checked = new Set([...members.querySelectorAll("input:checked")].map((i) => i.value));
  members.replaceChildren(Object.assign(document.createElement("legend"), { textContent: "Members" }));
  for (const a of w.accounts) {
    if (a.jid === S.me) continue;
    const label = document.createElement("label");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: a.jid, checked: checked.has(a.jid) });
    label.append(box, a.name || a.phone);
    members.append(label);
  }
}

function renderFaults(faults) {
  $("fault-count").textContent = faults.length ? `(${faults.length})` : "";
  $("faults").replaceChildren(...faults.map((f) => {
    const li = document.createElement("li");
    li.dataset.fault = f.id;
    const text = Object.assign(document.createElement("span"), {
      textContent: `#${f.id} ${f.description} · ${f.hits} hit${f.hits === 1 ? "" : "s"}${f.held ? ` · ${f.held} held` : ""}`,
    });
    const clear = Object.assign(document.createElement("button"), { type: "button", textContent: "Clear" });
    clear.setAttribute("aria-label", `clear fault ${f.id}`);
    clear.onclick = () => act("fault_clear", { id: f.id });
    li.append(text, clear);
    return li;
  }));
}

// ------------------------------------------------------------------ rendering: chats

let chatQueued = false;
function scheduleChat() {
  if (chatQueued) return;
  chatQueued = true;
  requestAnimationFrame(() => { chatQueued = false; keepFocus(renderChats); });
}

// Lists are rebuilt on every change; keyboard focus stays on the same message or chat.
function keepFocus(render) {
  const active = document.activeElement;
  const id = active?.closest("#messages") ? active.dataset.id : null;
  const chat = active?.closest("#chats") ? active.dataset.chat : null;
  render();
  if (id) document.querySelector(`#messages [data-id="${CSS.escape(id)}"]`)?.focus();
  if (chat) document.querySelector(`#chats [data-chat="${CSS.escape(chat)}"]`)?.focus();
}

function renderChats() {
  if (!S.world) return;
  const chats = S.me ? chatsOf(S.me) : new Map();
  const list = $("chats");
  list.textContent = "";
  $("chats-title").textContent = S.me ? "Chats" : "The world";
  if (!S.me) renderOverview(list);
  if (S.me) {
    const keys = [];
    for (const a of S.world.accounts) if (a.jid !== S.me) keys.push(a.jid);
    for (const g of S.world.groups) if (g.participants.some((p) => p.jid === S.me) || chats.has(g.jid)) keys.push(g.jid);
    for (const k of chats.keys()) if (!keys.includes(k)) keys.push(k);
    for (const key of keys) {
      const c = chats.get(key);
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.chat = key;
      b.setAttribute("aria-current", String(key === S.chat));
      const name = document.createElement("span");
      name.className = "name";
      const a = account(key);
      const dot = document.createElement("span");
      dot.className = `dot${a && a.online ? " on" : ""}`;
      name.append(dot, (key.endsWith("@g.us") ? "Group · " : "") + nameOf(key) + (key === S.world.bot ? " (bot)" : ""));
      b.append(name);
      if (c && c.unread > 0) b.append(Object.assign(document.createElement("span"), { className: "unread", textContent: c.unread }));
      const last = c?.items.at(-1);
      b.append(Object.assign(document.createElement("span"), { className: "preview", textContent: c?.typing ? "typing…" : last ? preview(last) : "" }));
      b.onclick = () => openChat(key);
      li.append(b);
      list.append(li);
    }
  }
  renderChat(chats.get(S.chat));
}

// No user picked yet: every account (a button plays it) and every group with its members.
function renderOverview(list) {
  for (const a of S.world.accounts) {
    const li = document.createElement("li");
    const b = Object.assign(document.createElement("button"), { type: "button" });
    const name = Object.assign(document.createElement("span"), { className: "name" });
    name.append(Object.assign(document.createElement("span"), { className: `dot${a.online ? " on" : ""}` }), a.name || a.phone);
    const isBot = a.jid === S.world.bot;
    b.append(name, Object.assign(document.createElement("span"), { className: "preview", textContent: isBot ? `${a.phone} · the bot` : `${a.phone}${a.status ? ` · ${a.status}` : ""}` }));
    b.disabled = isBot;
    b.onclick = () => { $("me").value = a.jid; $("me").dispatchEvent(new Event("change")); };
    li.append(b);
    list.append(li);
  }
  for (const g of S.world.groups) {
    const li = document.createElement("li");
    li.className = "group-info";
    li.append(Object.assign(document.createElement("span"), { className: "name", textContent: `Group · ${g.subject}` }));
    li.append(Object.assign(document.createElement("span"), { className: "preview", textContent: g.participants.map((p) => nameOf(p.jid) + (p.admin ? " (admin)" : "")).join(", ") }));
    list.append(li);
  }
}

function preview(item) {
  if (item.kind === "system") return item.text;
  const body = child(item.node, "body");
  if (body) return body.d ?? "";
  const media = child(item.node, "media");
  return media ? `[${attr(media, "type")}]` : `[${item.node.t}]`;
}

function renderChat(c) {
  const open = Boolean(S.me && S.chat);
  const isGroup = S.chat.endsWith("@g.us");
  $("peer").textContent = open ? nameOf(S.chat) + (S.chat === S.world.bot ? " (bot)" : "") : "No chat open";
  $("text").disabled = !open;
  $("send").disabled = !open;
  $("last-seen").hidden = !open || isGroup;
  $("block").hidden = !open || isGroup;
  $("mark-read").hidden = !open;
  const mine = account(S.me);
  $("block").textContent = mine && mine.blocked.includes(S.chat) ? "Unblock" : "Block";
  renderPeerState(c, isGroup);
  renderGroupAdmin(isGroup ? group(S.chat) : null);

  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.textContent = "";
  for (const item of c?.items || []) list.append(item.kind === "system" ? systemRow(item) : messageRow(item, isGroup));
  if (atBottom) list.scrollTop = list.scrollHeight;
  const typing = $("typing");
  typing.hidden = !(c && c.typing);
  if (c && c.typing) typing.textContent = `${nameOf(c.typing)} is typing…`;
}

function renderPeerState(c, isGroup) {
  const el = $("peer-state");
  el.classList.toggle("typing", Boolean(c && c.typing));
  if (!S.chat) { el.textContent = ""; return; }
  if (isGroup) {
    const g = group(S.chat);
    el.textContent = c && c.typing ? `${nameOf(c.typing)} is typing…` : g ? g.participants.map((p) => nameOf(p.jid)).join(", ") : "";
    return;
  }
  if (c && c.typing) { el.textContent = "typing…"; return; }
  const p = c?.presence;
  if (p && p.type === "available") { el.textContent = "online"; return; }
  if (p && p.last && /^\d+$/.test(p.last)) { el.textContent = `last seen ${hhmm(Number(p.last))} UTC`; return; }
  const seen = S.lastSeen.get(`${S.me} ${S.chat}`);
  el.textContent = seen ? `last seen ${hhmm(seen)} UTC` : p ? "offline" : "";
}

function systemRow(item) {
  const li = document.createElement("li");
  li.className = "system";
  li.textContent = item.text;
  li.dataset.id = item.id || "";
  return li;
}

function messageRow(m, isGroup) {
  const li = document.createElement("li");
  li.className = `msg${m.mine ? " mine" : ""}`;
  li.tabIndex = 0;
  li.dataset.id = m.id;
  li.setAttribute("role", "button");
  li.setAttribute("aria-pressed", String(S.selected === m.id));
  if (m.mine) li.dataset.status = m.status;
  if (isGroup && !m.mine) li.append(Object.assign(document.createElement("div"), { className: "author", textContent: nameOf(m.from) }));
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = hhmm(m.at);
  if (m.mine) {
    const ticks = document.createElement("span");
    ticks.className = "ticks";
    ticks.textContent = { pending: "…", sent: "✓", delivered: "✓✓", read: "✓✓" }[m.status];
    ticks.title = m.status;
    ticks.setAttribute("aria-label", m.status);
    meta.append(ticks);
  }
  li.append(meta, ...payload(m.node));
  li.onclick = () => select(m.id);
  li.onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(m.id); } };
  return li;
}

function payload(node) {
  const body = child(node, "body");
  if (body) return [Object.assign(document.createElement("span"), { className: "body", textContent: body.d ?? "[binary]" })];
  const media = child(node, "media");
  if (!media) return [document.createTextNode(`[${node.t} ${attr(node, "type") || ""}]`)];
  const type = attr(media, "type");
  const out = [];
  if (type === "image") {
    const img = document.createElement("img");
    img.src = `media?url=${encodeURIComponent(attr(media, "url") || "")}`;
    img.alt = attr(media, "caption") || attr(media, "file") || "image";
    out.push(img);
  } else if (type === "location") {
    out.push(document.createTextNode(`Location: ${attr(media, "name") || "Location"} (${attr(media, "latitude")}, ${attr(media, "longitude")})`));
  } else if (type === "vcard") {
    const card = child(media, "vcard") || {};
    out.push(document.createTextNode(`Contact: ${attr(card, "name") || "Contact"}`));
    out.push(Object.assign(document.createElement("div"), { className: "card", textContent: card.d || "" }));
  } else {
    const link = document.createElement("a");
    link.href = `media?url=${encodeURIComponent(attr(media, "url") || "")}`;
    link.download = attr(media, "file") || type;
    link.textContent = `File: ${attr(media, "file") || type} (${type}, ${attr(media, "size") || "?"} bytes)`;
    out.push(link);
  }
  const caption = attr(media, "caption");
  if (caption && type !== "location") out.push(Object.assign(document.createElement("div"), { textContent: caption }));
  return out;
}

function renderGroupAdmin(g) {
  const panel = $("group-admin");
  panel.hidden = !g;
  if (!g) return;
  const meAdmin = g.participants.some((p) => p.jid === S.me && p.admin);
  const list = $("members");
  list.textContent = "";
  for (const p of g.participants) {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("span"), { textContent: `${nameOf(p.jid)}${p.admin ? " (admin)" : ""}` }));
    if (meAdmin && p.jid !== S.me) {
      li.append(memberButton(p.admin ? "Demote" : "Promote", p.admin ? "group_demote" : "group_promote", p.jid, g));
      li.append(memberButton("Remove", "group_remove", p.jid, g));
    }
    list.append(li);
  }
  const add = $("add-member");
  const keep = add.value;
  add.replaceChildren();
  for (const a of S.world.accounts) if (!g.participants.some((p) => p.jid === a.jid)) add.add(new Option(a.name || a.phone, a.jid));
  add.value = keep;
}

function memberButton(label, op, jid, g) {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: label });
  b.setAttribute("aria-label", `${label} ${nameOf(jid)}`);
  b.onclick = () => act(op, { as: S.me, group: g.jid, jids: [jid] });
  return b;
}

// ------------------------------------------------------------------ inspector

function matches(s) {
  const party = $("f-party").value;
  const tag = $("f-tag").value;
  const text = $("f-text").value.trim().toLowerCase();
  if (party && s.jid !== party) return false;
  if (tag && s.node.t !== tag) return false;
  return !text || s.text.toLowerCase().includes(text) || nameOf(s.jid).toLowerCase().includes(text);
}

const knownTags = new Set();
function addStanzaRow(s) {
  if (!knownTags.has(s.node.t)) {
    knownTags.add(s.node.t);
    $("f-tag").add(new Option(s.node.t, s.node.t));
  }
  $("count").textContent = `(${S.stanzas.length})`;
  if (!matches(s)) return;
  const list = $("stanzas");
  const follow = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(stanzaRow(s));
  if (follow) list.scrollTop = list.scrollHeight;
}

function stanzaRow(s) {
  const li = document.createElement("li");
  li.dataset.seq = s.seq;
  li.dataset.jid = s.jid;
  li.dataset.tag = s.node.t;
  li.dataset.ids = ids(s.node).join(" ");
  if (S.selected && ids(s.node).includes(S.selected)) li.classList.add("hl");
  const d = document.createElement("details");
  const sum = document.createElement("summary");
  const dir = s.dir === "in" ? "tx" : "rx";
  sum.append(
    `${new Date(s.at * 1000).toISOString().slice(11, 19)} `,
    Object.assign(document.createElement("span"), { className: `dir ${dir}`, textContent: dir }),
    " ",
    Object.assign(document.createElement("span"), { className: "who", textContent: nameOf(s.jid) === "You" ? account(s.jid)?.name || s.jid : nameOf(s.jid) }),
    ` ${s.text}`,
  );
  d.append(sum, Object.assign(document.createElement("pre"), { textContent: s.pretty }));
  li.append(d);
  return li;
}

function renderInspector() {
  const list = $("stanzas");
  list.textContent = "";
  for (const s of S.stanzas) if (matches(s)) list.append(stanzaRow(s));
  list.scrollTop = list.scrollHeight;
}

function select(id) {
  S.selected = S.selected === id ? "" : id;
  for (const li of $("stanzas").children) li.classList.toggle("hl", Boolean(S.selected) && li.dataset.ids.split(" ").includes(S.selected));
  for (const m of $("messages").querySelectorAll(".msg")) m.setAttribute("aria-pressed", String(m.dataset.id === S.selected));
  $("stanzas").querySelector("li.hl")?.scrollIntoView({ block: "nearest" });
}

// ------------------------------------------------------------------ actions

async function openChat(key) {
  S.chat = key;
  S.selected = "";
  scheduleChat();
  if (!key.endsWith("@g.us") && !S.subscribed.has(`${S.me} ${key}`)) {
    S.subscribed.add(`${S.me} ${key}`);
    await act("subscribe", { as: S.me, jid: key });
  }
  $("text").focus();
}

let typingTimer = 0;
let typingTo = "";
function typed() {
  if (!S.chat) return;
  if (typingTo !== S.chat) { typingTo = S.chat; act("chatstate", { as: S.me, to: S.chat, state: "composing" }); }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 3000);
}
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingTo) { const to = typingTo; typingTo = ""; act("chatstate", { as: S.me, to, state: "paused" }); }
}

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?$/i.exec(text.trim());
  if (!m) return NaN;
  const unit = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 }[(m[2] || "s").toLowerCase()];
  return Number(m[1]) * unit;
}

async function advance(seconds) {
  const now = await act("advance", { seconds });
  if (now !== undefined) { S.clock = { now, at: performance.now() }; tick(); }
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",", 2)[1] || "");
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function formArgs(form) {
  const args = {};
  for (const [k, v] of new FormData(form)) args[k] = v;
  for (const k of ["latitude", "longitude"]) if (k in args) args[k] = Number(args[k]);
  if ("numbers" in args) args.numbers = args.numbers.split(/[\s,]+/).filter(Boolean);
  if ("jids" in args) args.jids = [args.jids];
  return args;
}

function wire() {
  $("me").onchange = async (e) => {
    stopTyping();
    S.me = e.target.value;
    S.chat = "";
    renderWorld();
    scheduleChat();
    if (S.me) await act("login", { user: S.me });
    renderWorld();
    scheduleChat();
  };
  $("online").onclick = () => act("presence", { as: S.me, type: account(S.me)?.online ? "unavailable" : "available" });
  $("logout").onclick = () => act(account(S.me)?.played ? "logout" : "login", { user: S.me });
  $("compose").onsubmit = async (e) => {
    e.preventDefault();
    const text = $("text").value;
    if (!text.trim() || !S.chat) return;
    $("text").value = "";
    typingTo = "";
    clearTimeout(typingTimer);
    await act("send", { as: S.me, to: S.chat, text });
  };
  $("text").oninput = typed;
  $("attach").onclick = () => {
    const box = $("attachments");
    box.hidden = !box.hidden;
    $("attach").setAttribute("aria-expanded", String(!box.hidden));
  };
  $("media").onchange = async (e) => {
    const file = e.target.files[0];
    if (!file || !S.chat) return;
    const data = await readFile(file);
    e.target.value = "";
    await act("send_media", { as: S.me, to: S.chat, name: file.name, mimetype: file.type, data });
  };
  $("picture").onchange = async (e) => {
    const file = e.target.files[0];
    if (!file || !S.me) return;
    const data = await readFile(file);
    e.target.value = "";
    if (await act("picture", { as: S.me, data }) !== undefined) toast("picture set");
  };
  for (const form of document.querySelectorAll("form[data-op]")) {
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (!S.me) { toast("pick a user first"); return; }
      const op = form.dataset.op;
      const args = { as: S.me, to: S.chat, group: S.chat, ...formArgs(form) };
      const value = await act(op, args);
      if (value === undefined) return;
      if (op === "sync") toast(`on the service: ${Object.keys(value.existing).join(", ") || "nobody"}`);
      if (op !== "group_add") form.reset();
    };
  }
  $("group-create").onsubmit = async (e) => {
    e.preventDefault();
    if (!S.me) { toast("pick a user first"); return; }
    const form = e.target;
    const participants = [...form.querySelectorAll("input:checked")].map((i) => i.value);
    const gjid = await act("group_create", { as: S.me, subject: form.subject.value, participants });
    if (gjid) { form.reset(); openChat(gjid); }
  };
  $("leave").onclick = () => act("group_leave", { as: S.me, group: S.chat });
  $("block").onclick = () => act("block", { as: S.me, jid: S.chat, blocked: $("block").textContent === "Block" });
  $("last-seen").onclick = async () => {
    const seconds = await act("last_seen", { as: S.me, jid: S.chat });
    if (seconds !== undefined) { S.lastSeen.set(`${S.me} ${S.chat}`, serviceNow() - seconds); scheduleChat(); }
  };
  $("mark-read").onclick = () => {
    const c = chatsOf(S.me).get(S.chat);
    const unread = (c?.items || []).filter((m) => m.kind === "msg" && !m.mine && !m.read);
    const byAuthor = new Map();
    for (const m of unread) {
      const key = S.chat.endsWith("@g.us") ? m.from : "";
      if (!byAuthor.has(key)) byAuthor.set(key, []);
      byAuthor.get(key).push(m.id);
    }
    for (const [participant, list] of byAuthor) act("read", { as: S.me, to: S.chat, ids: list, participant });
  };
  $("fault-add").onsubmit = async (e) => {
    e.preventDefault();
    const form = e.target;
    const args = { action: form.action.value, selector: form.selector.value };
    if (form.times.value.trim()) args.times = Number(form.times.value);
    if (form.seconds.value.trim()) args.seconds = Number(form.seconds.value);
    if (args.action === "iq-error") args.code = 500;
    if (args.action === "stream-error") args.reason = "system-shutdown";
    const fault = await act("fault", args);
    if (fault) { toast(`fault #${fault.id} set: ${fault.description}`); form.reset(); }
  };
  $("fault-clear").onclick = () => act("fault_clear", {});
  $("disconnect").onclick = async () => {
    const user = S.chat && !S.chat.endsWith("@g.us") ? S.chat : S.me;
    if (!user) { toast("pick a user or open a chat first"); return; }
    const jid = await act("disconnect", { user });
    if (jid) toast(`${nameOf(jid)} disconnected`);
  };
  $("restart").onclick = async () => {
    const dropped = await act("restart", {});
    if (dropped !== undefined) toast(`service restarted: ${dropped} connection${dropped === 1 ? "" : "s"} dropped`);
  };
  for (const b of document.querySelectorAll("[data-advance]")) b.onclick = () => advance(Number(b.dataset.advance));
  $("advance").onsubmit = (e) => {
    e.preventDefault();
    const seconds = parseDuration($("advance-by").value);
    if (!(seconds > 0)) { toast("advance by a duration such as 90s, 20m, 2h or 1d"); return; }
    advance(seconds);
  };
  for (const id of ["f-party", "f-tag"]) $(id).onchange = renderInspector;
  $("f-text").oninput = renderInspector;
}

function serviceNow() { return S.clock.now + (performance.now() - S.clock.at) / 1000; }

function tick() {
  if (S.clock.now) $("clock").textContent = new Date(serviceNow() * 1000).toISOString().replace("T", " ").slice(0, 19);
}

// Escape clears the selected message; "/" jumps to the stanza search.
document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (e.key === "Escape" && S.selected) select(S.selected);
  else if (e.key === "/" && !typing) { e.preventDefault(); $("f-text").focus(); }
});

wire();
connect();
setInterval(tick, 500);
