// kindling studio: the debugger's pages (start a session, act on it, fork from an item's page).
// Uses el(), getJSON(), postJSON() and lightNodes() from studio.js, loaded before this file.
// Store text only ever goes into the page as text nodes (textContent), never as markup.
"use strict";

function initDebugStart() {
  const form = document.getElementById("debug-start");
  if (!form) return;
  const graph = document.getElementById("debug-graph");
  const config = document.getElementById("debug-config");
  const shown = () => {
    for (const set of form.querySelectorAll("fieldset.breakpoints")) set.hidden = set.dataset.graph !== graph.value;
    const fits = (option) => option.dataset.graphs.split(" ").includes(graph.value);
    for (const option of config.options) option.hidden = !fits(option);
    if (!fits(config.selectedOptions[0])) config.value = [...config.options].find(fits).value;
    document.getElementById("debug-config-none").hidden = [...config.options].some((o) => o.value && fits(o));
  };
  graph.addEventListener("change", shown);
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
    status.textContent = "starting (the first stop comes before the first node) ...";
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

function initDebugSession() {
  const controls = document.getElementById("debug-controls");
  if (!controls) return;
  const id = controls.dataset.session;
  const status = document.getElementById("debug-status");
  const act = async (payload, busy) => {
    status.textContent = busy;
    for (const button of document.querySelectorAll("#debug-controls button, button.set-field")) button.disabled = true;
    try {
      await postJSON(`/api/debug/sessions/${id}`, payload);
      window.location.reload();
    } catch (error) {
      status.textContent = `Refused: ${error.message}`;
      for (const button of document.querySelectorAll("#debug-controls button, button.set-field")) button.disabled = false;
    }
  };
  for (const button of controls.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => act({ action: button.dataset.action }, `${button.dataset.action} ...`));
  }
  for (const button of document.querySelectorAll("button.set-field")) {
    const row = button.closest("tr");
    button.addEventListener("click", () => act({ action: "edit", field: button.dataset.field, value: fieldValue(row) }, `setting ${button.dataset.field} ...`));
  }
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
