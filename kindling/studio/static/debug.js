// kindling studio: the debugger's pages (start a session, act on it, fork from an item's page).
// Uses el(), getJSON(), postJSON() and lightNodes() from studio.js, loaded before this file.
// Store text only ever goes into the page as text nodes (textContent), never as markup.
// Actions run in the studio's background: a request returns at once, and the session's page
// asks what runs (the action, the nodes, the elapsed time, a backend starting) until it stops.
"use strict";

const DEBUG_WAIT_S = 0.5;
const DEBUG_RETRY_MS = 2000;

function initDebugStart() {
  const form = document.getElementById("debug-start");
  if (!form) return;
  const graph = document.getElementById("debug-graph");
  const config = document.getElementById("debug-config");
  const file = document.getElementById("debug-config-file");
  const showFile = () => {
    const chosen = config.selectedOptions[0];
    file.textContent = chosen && chosen.dataset.file ? chosen.dataset.file : "none: the built-in defaults";
  };
  const shown = () => {
    for (const set of form.querySelectorAll("fieldset.breakpoints")) set.hidden = set.dataset.graph !== graph.value;
    const fits = (option) => option.dataset.graphs.split(" ").includes(graph.value);
    for (const option of config.options) option.hidden = !fits(option);
    if (!fits(config.selectedOptions[0])) config.value = [...config.options].find(fits).value;
    document.getElementById("debug-config-none").hidden = [...config.options].some((o) => o.value && fits(o));
    showFile();
  };
  graph.addEventListener("change", shown);
  config.addEventListener("change", showFile);
  shown();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const set = form.querySelector(`fieldset[data-graph="${graph.value}"]`);
    const checked = (name) => [...set.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
    const value = (id) => document.getElementById(id).value.trim() || null;
    const spec = {
      graph: graph.value, config: config.value || null, item: value("debug-item"),
      query: value("debug-query"), response: value("debug-response"), name: value("debug-name"),
      sets: document.getElementById("debug-sets").value.split("\n").map((line) => line.trim()).filter(Boolean),
      break_before: checked("before"), break_after: checked("after"),
    };
    const status = document.getElementById("debug-status");
    status.textContent = "checking the config ...";
    try {
      const session = await postJSON("/api/debug/sessions", spec);
      window.location.assign(`/debug/${session.id}`);
    } catch (error) {
      status.textContent = `Not started: ${error.message}`;
    }
  });
}

function fieldValue(row) {
  const text = row.querySelector("textarea").value;
  if (row.dataset.string) return text;
  try { return JSON.parse(text); } catch { return text; }
}

function activityText(activity) {
  if (activity.notice) return activity.notice;
  if (activity.running.length) return `running ${activity.running.join(" ∥ ")}`;
  if (activity.action === "start" || activity.action === "fork") return "building the run, its models and its first stop";
  return "between nodes";
}

function renderActivity(view) {
  const box = document.getElementById("debug-activity");
  box.hidden = !view.busy;
  if (!view.busy) return;
  const activity = view.activity;
  document.getElementById("activity-action").textContent = activity.action;
  document.getElementById("activity-what").textContent = activityText(activity);
  document.getElementById("activity-elapsed").textContent = `${Math.round(activity.elapsed_s)} s`;
  lightNodes(activity.running, "running");
  if (activity.running.length) lightNodes([], "current");  // the last stop's next nodes have started
  const stop = document.getElementById("stop-reason");
  if (stop) {  // the stop shown is the one before this action
    stop.classList.add("stale");
    stop.querySelector(".stop-last").hidden = false;
  }
}

function setBusy(busy, starting) {
  for (const button of document.querySelectorAll("#debug-controls button, button.set-field")) {
    button.disabled = busy && (button.dataset.action !== "quit" || starting);
  }
}

function watchSession(id) {
  // each request answers when the action ends, or after DEBUG_WAIT_S: the page shows the stop
  // at once and what runs twice a second
  const status = document.getElementById("debug-status");
  const tick = async () => {
    let pause = 0;
    try {
      const view = await getJSON(`/api/debug/sessions/${id}?wait=${DEBUG_WAIT_S}`);
      if (!view.busy) { window.location.reload(); return; }
      status.textContent = "";
      renderActivity(view);
    } catch (error) {
      status.textContent = `not updated: ${error.message}`;
      pause = DEBUG_RETRY_MS;
    }
    setTimeout(tick, pause);
  };
  tick();
}

function initDebugSession() {
  const controls = document.getElementById("debug-controls");
  if (!controls) return;
  const id = controls.dataset.session;
  const status = document.getElementById("debug-status");
  const act = async (payload) => {
    status.textContent = "";
    setBusy(true, false);
    try {
      const view = await postJSON(`/api/debug/sessions/${id}`, payload);
      if (!view.busy) { window.location.reload(); return; }
      renderActivity(view);
      watchSession(id);
    } catch (error) {
      status.textContent = `Refused: ${error.message}`;
      setBusy(false, false);
    }
  };
  for (const button of controls.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => act({ action: button.dataset.action }));
  }
  for (const button of document.querySelectorAll("button.set-field")) {
    const row = button.closest("tr");
    button.addEventListener("click", () => act({ action: "edit", field: button.dataset.field, value: fieldValue(row) }));
  }
  if (document.getElementById("debug-activity").dataset.busy === "true") watchSession(id);
}

function initForks() {
  for (const button of document.querySelectorAll("button.fork")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = "forking ...";
      try {
        const session = await postJSON("/api/debug/fork", {
          run_id: Number(button.dataset.run), item: button.dataset.item, at: Number(button.dataset.at),
        });
        window.location.assign(`/debug/${session.id}`);
      } catch (error) {
        button.textContent = `not forked: ${error.message}`;
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  initDebugStart();
  initDebugSession();
  initForks();
});
