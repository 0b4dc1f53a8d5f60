// kindling studio: item selection with node lighting, the principle editor, live runs.
// The debugger's pages are driven by debug.js, which uses el(), getJSON(), postJSON() and
// lightNodes() from here.
// Store text only ever goes into the page as text nodes (textContent), never as markup.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail ? JSON.stringify(body.detail) : response.statusText);
  return body;
}

async function postJSON(url, payload) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail ? JSON.stringify(body.detail) : response.statusText);
  return body;
}

function lightNodes(names, cls) {
  for (const node of document.querySelectorAll("#graph [data-node]")) {
    node.classList.toggle(cls, names.includes(node.dataset.node));
  }
}

function renderCall(call) {
  const head = el("header", {}, el("strong", { class: "role" }, call.role), " ",
    el("code", {}, call.template), ` · ${call.model} · attempt ${call.attempt} · ${call.latency_ms} ms`);
  return el("article", { class: call.error ? "call call-error" : "call", "data-call": call.id }, head,
    call.error ? el("p", { class: "error" }, call.error) : null,
    el("details", {}, el("summary", {}, "prompt input"), el("pre", {}, pretty(call.input))),
    el("h5", {}, "raw output"), el("pre", { class: "raw" }, call.raw_output || ""),
    call.parsed_output === null ? null : el("h5", {}, "parsed output"),
    call.parsed_output === null ? null : el("pre", {}, pretty(call.parsed_output)));
}

function renderItem(runId, data) {
  const panel = document.getElementById("item-panel");
  panel.hidden = false;
  document.getElementById("item-title").replaceChildren(
    el("a", { href: `/runs/${runId}/items/${encodeURIComponent(data.item.key)}`, title: data.about }, data.heading));
  document.getElementById("item-fields").replaceChildren(el("pre", { class: "fields" }, pretty(data.item)));
  const path = document.getElementById("item-path");
  const steps = data.path.length ? data.path : data.call_nodes;
  path.replaceChildren(...steps.map((name) => {
    const li = el("li", { tabindex: "0", "data-node": name }, name);
    li.addEventListener("click", () => lightNodes([name], "selected"));
    return li;
  }));
  document.getElementById("item-calls").replaceChildren(...(data.calls.length
    ? data.calls.map(renderCall) : [el("p", { class: "muted" }, "No agent calls recorded.")]));
  lightNodes(data.lit, "lit");
  lightNodes(data.current || [], "current");
  lightNodes([], "selected");
}

function initItems() {
  const table = document.getElementById("items");
  if (!table || !document.getElementById("item-panel")) return;
  const runId = table.dataset.run;
  table.addEventListener("click", async (event) => {
    const link = event.target.closest("a.item-link");
    if (!link) return;
    event.preventDefault();
    for (const row of table.querySelectorAll("tr.selected")) row.classList.remove("selected");
    link.closest("tr").classList.add("selected");
    try {
      renderItem(runId, await getJSON(`/api/runs/${runId}/items/${encodeURIComponent(link.dataset.item)}`));
    } catch (error) {
      document.getElementById("item-calls").replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
}

function initEditor() {
  const form = document.getElementById("editor");
  const status = document.getElementById("editor-status");
  if (!form || !status) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = {
      parent_id: Number(form.dataset.parent),
      text: document.getElementById("editor-text").value,
      name: document.getElementById("editor-name").value || null,
      feedback: document.getElementById("editor-feedback").value || null,
    };
    let saved;
    try {
      saved = await postJSON("/api/principles", payload);
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
      return;
    }
    const existing = saved.created ? "" : `Version #${saved.id} already holds exactly these rules; nothing new was saved. `;
    if (document.getElementById("editor-activate").checked) {
      try {
        await postJSON(`/api/principles/${saved.id}/activate`, {});
      } catch (error) {
        status.textContent = `${existing}#${saved.id} was not activated: ${error.message}`;
        return;
      }
    }
    if (!saved.created) {
      status.textContent = existing + (document.getElementById("editor-activate").checked ? `#${saved.id} is now active.` : "");
      return;
    }
    window.location.assign(`/principles/${saved.id}`);
  });
  const activate = document.getElementById("activate");
  activate.addEventListener("click", async () => {
    try {
      const version = await postJSON(`/api/principles/${activate.dataset.version}/activate`, {});
      status.textContent = `#${version.id} is now the active ${version.kind} version.`;
      activate.disabled = true;
    } catch (error) {
      status.textContent = `Not activated: ${error.message}`;
    }
  });
}

const LIVE_EVERY_MS = 2000;

function renderLive(runId, live) {
  const counts = Object.entries(live.items).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`);
  document.getElementById("live-counts").textContent =
    `${live.status} · items: ${counts.join(", ") || "none yet"}${live.steps ? ` · ${live.steps} training steps logged` : ""}`;
  document.getElementById("run-status").textContent = live.status;
  document.getElementById("live-flight").replaceChildren(...live.in_flight.map((it) =>
    el("p", { class: "in-flight" }, "in flight: ",
      el("a", { href: `/runs/${runId}/items/${encodeURIComponent(it.key)}` }, it.key),
      it.before.length ? ` · before ${it.before.join(", ")}` : " · starting")));
  document.getElementById("live-verdicts").replaceChildren(...live.verdicts.map((v) =>
    el("li", { "data-verdict": v.id },
      el("a", { href: `/runs/${runId}/items/${encodeURIComponent(v.key)}` }, v.key),
      ` → ${v.verdict === null ? v.status : v.verdict}`,
      v.label === null || v.verdict === null ? "" : (v.verdict === v.label ? " (agrees with label)" : " (label says " + v.label + ")"))));
}

async function refreshCharts(runId) {
  const wrap = document.getElementById("charts-wrap");
  if (!wrap) { window.location.reload(); return; }
  const response = await fetch(`/runs/${runId}/charts`, { credentials: "same-origin" });
  if (!response.ok) return;
  // the fragment is rendered (and escaped) by the server's templates, like the page itself;
  // parsed as an inert document (no scripts run) and its nodes moved in
  const fragment = new DOMParser().parseFromString(await response.text(), "text/html");
  wrap.replaceChildren(...fragment.body.childNodes);
}

function initLive() {
  const panel = document.getElementById("live");
  if (!panel) return;
  const runId = panel.dataset.run;
  let steps = -1;
  const tick = async () => {
    try {
      const live = await getJSON(`/api/runs/${runId}/live`);
      renderLive(runId, live);
      if (live.steps !== steps) {
        if (steps >= 0) await refreshCharts(runId);
        steps = live.steps;
      }
      if (live.status !== "running") { window.location.reload(); return; }
    } catch (error) {
      document.getElementById("live-counts").textContent = `not updated: ${error.message}`;
    }
    setTimeout(tick, LIVE_EVERY_MS);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  initLive();
  initItems();
  initEditor();
});
