// kindling studio: training charts, drawn with the bundled uPlot (static/vendor/uplot).
// The server plans the charts (which series, units, meanings, how the y axis is ranged) and
// hands their data over in <script type="application/json" class="chart-data"> blocks; this
// file draws them: hover values in the legend, TensorBoard-style smoothing (the raw line kept
// faint), drag to zoom and double-click to zoom out, a log scale for y, whole-number step ticks,
// the watch alerts' steps and the reference length band. Labels only ever reach the page as text.
"use strict";

(() => {
  const SETTINGS = "kindling-studio-charts";
  const state = { smoothing: 0.6, log: false };
  const specs = new Map(); // chart id -> the server's chart record
  const plots = new Map(); // chart id -> uPlot instance
  const WIDTH = 400, HEIGHT = 200, MIN_TICK_GAP = 56;

  function loadSettings() {
    try {
      const saved = JSON.parse(window.localStorage.getItem(SETTINGS) || "{}");
      if (typeof saved.smoothing === "number" && saved.smoothing >= 0 && saved.smoothing < 1) state.smoothing = saved.smoothing;
      if (typeof saved.log === "boolean") state.log = saved.log;
    } catch { /* storage off or unreadable: the defaults */ }
  }

  function saveSettings() {
    try { window.localStorage.setItem(SETTINGS, JSON.stringify(state)); } catch { /* storage off */ }
  }

  // A number in a few characters: 0, 0.37, 1e-7, 2.5k, 1.2M (as the server's captions write it).
  function compact(value, digits = 4) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "–";
    if (value === 0) return "0";
    const size = Math.abs(value);
    for (const [limit, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
      if (size >= limit && size < limit * 1e3) return `${+(value / limit).toPrecision(digits)}${suffix}`;
    }
    return String(+value.toPrecision(digits));
  }

  // Tick labels with just enough digits that neighbouring ticks read differently.
  function tickLabels(ticks) {
    for (let digits = 3; digits <= 10; digits++) {
      const labels = ticks.map((t) => compact(t, digits));
      if (new Set(labels).size === labels.length) return labels;
    }
    return ticks.map((t) => String(t));
  }

  // TensorBoard's smoothing: an exponential moving average, debiased so it starts at the first
  // value; a missing value stays missing.
  function smooth(values, weight) {
    let last = 0, seen = 0;
    return values.map((v) => {
      if (v === null || !Number.isFinite(v)) return v;
      last = last * weight + (1 - weight) * v;
      seen += 1;
      return last / (1 - weight ** seen);
    });
  }

  // Whole-number steps between min and max: a 1, 2 or 5 × 10^k stride, at most `count` ticks.
  function integerTicks(min, max, count) {
    const lo = Math.ceil(min - 1e-9), hi = Math.floor(max + 1e-9);
    if (hi < lo) return [];
    let stride = 1;
    for (let scale = 1; ; scale *= 10) {
      const found = [1, 2, 5].map((m) => m * scale).find((s) => Math.floor((hi - lo) / s) + 1 <= Math.max(count, 2));
      if (found) { stride = found; break; }
    }
    const ticks = [];
    for (let t = Math.ceil(lo / stride) * stride; t <= hi; t += stride) ticks.push(t);
    return ticks;
  }

  // The y range of what is on screen, as the server's policy says: its fixed bounds and zero
  // included, and at least `min_share` of the largest value, so a small wobble looks small.
  function honestRange(policy, dataMin, dataMax) {
    if (dataMin === null || dataMax === null || !Number.isFinite(dataMin) || !Number.isFinite(dataMax)) return [0, 1];
    let lo = dataMin, hi = dataMax;
    if (policy.lo !== null) lo = Math.min(lo, policy.lo);
    if (policy.hi !== null) hi = Math.max(hi, policy.hi);
    if (policy.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    const floor = policy.zero || (policy.lo !== null && lo === policy.lo) ? lo : null;
    const need = policy.min_share * Math.max(Math.abs(lo), Math.abs(hi));
    if (hi - lo < need) {
      const pad = (need - (hi - lo)) / 2;
      const below = floor !== null ? Math.min(pad, lo - floor) : pad;
      lo -= below;
      hi += pad * 2 - below;
    }
    if (hi - lo === 0) { const half = Math.abs(hi) * 0.1 || 1; lo -= half; hi += half; }
    const margin = (hi - lo) * 0.05;
    const bottom = floor !== null && lo === floor ? lo : lo - margin;
    const top = policy.hi !== null && hi === policy.hi ? hi : hi + margin;
    return [bottom, top];
  }

  function faint(colour) {
    const n = parseInt(colour.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, 0.35)`;
  }

  // The legend says the values under the cursor; with the cursor off the chart, the last ones.
  function lastOf(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && Number.isFinite(values[i])) return values[i];
    return null;
  }

  function legendValue(u, v, sidx, idx) {
    const value = idx === null || idx === undefined ? lastOf(u.data[sidx]) : v;
    return value === null || value === undefined ? "–" : compact(value, 5);
  }

  function stepValue(u, v, sidx, idx) {
    if (idx === null || idx === undefined) return u.data[0].length ? `${u.data[0][u.data[0].length - 1]} (last)` : "–";
    return v === null || v === undefined ? "–" : String(v);
  }

  function seriesOf(spec) {
    const out = [{ label: "step", value: stepValue }];
    const data = [spec.x];
    for (const line of spec.series) {
      if (state.smoothing > 0) {
        out.push({ label: `${line.label} (raw)`, stroke: faint(line.colour), width: 1, class: "raw", value: legendValue, spanGaps: true });
        data.push(line.values);
        out.push({ label: line.label, stroke: line.colour, width: 2, value: legendValue, spanGaps: true });
        data.push(smooth(line.values, state.smoothing));
      } else {
        out.push({ label: line.label, stroke: line.colour, width: 1.5, value: legendValue, spanGaps: true });
        data.push(line.values);
      }
    }
    return { series: out, data };
  }

  // The reference band under the lines, the alert steps as dashed lines over them.
  function marks(spec) {
    const band = (u) => {
      if (!spec.band) return;
      const ctx = u.ctx, { left, width } = u.bbox;
      const top = u.valToPos(spec.band[1], "y", true), bottom = u.valToPos(spec.band[0], "y", true);
      ctx.save();
      ctx.fillStyle = "rgba(0, 158, 115, 0.12)";
      ctx.fillRect(left, Math.min(top, bottom), width, Math.abs(bottom - top));
      ctx.restore();
    };
    const alerts = (u) => {
      const ctx = u.ctx, { top, height } = u.bbox;
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1.5 * window.devicePixelRatio;
      for (const alert of spec.alerts) {
        if (alert.step < u.scales.x.min || alert.step > u.scales.x.max) continue;
        const x = u.valToPos(alert.step, "x", true);
        ctx.strokeStyle = alert.action === "stop" ? "#D55E00" : "#E69F00";
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      }
      ctx.restore();
    };
    return { hooks: { drawClear: [band], draw: [alerts] } };
  }

  function options(spec, figure, width, series) {
    const log = state.log && spec.log_ok;
    figure.dataset.scale = log ? "log" : "linear";
    figure.dataset.alerts = spec.alerts.map((a) => a.step).join(" ");
    return {
      width, height: HEIGHT, series, plugins: [marks(spec)],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      scales: {
        x: { time: false, range: (u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]) },
        y: log ? { distr: 3, log: 10 } : { range: (u, min, max) => honestRange(spec.y, min, max) },
      },
      axes: [
        {
          label: "step", labelSize: 18,
          splits: (u, i, min, max) => integerTicks(min, max, Math.floor(u.bbox.width / window.devicePixelRatio / MIN_TICK_GAP)),
          values: (u, splits) => { const labels = splits.map(String); figure.dataset.xTicks = labels.join(" "); return labels; },
        },
        {
          label: spec.unit || "", labelSize: spec.unit ? 18 : 0, size: 58,
          values: (u, splits) => { const labels = tickLabels(splits); figure.dataset.yTicks = labels.join(" "); return labels; },
        },
      ],
    };
  }

  function draw(figure) {
    const id = figure.dataset.chart, spec = specs.get(id);
    const holder = figure.querySelector(".chart-plot");
    if (!spec || !holder || !figure.isConnected || figure.offsetParent === null) return; // hidden: drawn when shown
    const old = plots.get(id);
    const zoom = old && old.scales.x.min !== null ? [old.scales.x.min, old.scales.x.max] : null;
    const zoomed = old && zoom && (zoom[0] > spec.x[0] || zoom[1] < spec.x[spec.x.length - 1]);
    if (old) old.destroy();
    const width = Math.max(280, Math.min(WIDTH, holder.clientWidth || WIDTH));
    const { series, data } = seriesOf(spec);
    const plot = new uPlot(options(spec, figure, width, series), data, holder);
    if (zoomed) plot.setScale("x", { min: zoom[0], max: zoom[1] });
    plots.set(id, plot);
    const note = figure.querySelector(".chart-log-note");
    if (state.log && !spec.log_ok && !note) {
      figure.querySelector("figcaption").append(Object.assign(document.createElement("span"),
        { className: "chart-log-note", textContent: "linear: a log scale needs values above 0" }));
    } else if (note && !(state.log && !spec.log_ok)) {
      note.remove();
    }
    figure.dataset.drawn = "true";
  }

  function readSpecs() {
    for (const block of document.querySelectorAll("script.chart-data")) {
      if (block.dataset.read) continue;
      block.dataset.read = "true";
      try {
        for (const spec of JSON.parse(block.textContent)) specs.set(spec.id, spec);
      } catch { /* a malformed block draws nothing; the captions still say the figures */ }
    }
  }

  function drawAll() {
    readSpecs();
    for (const [id, plot] of plots) {
      if (!plot.root.isConnected) { plot.destroy(); plots.delete(id); }
    }
    for (const figure of document.querySelectorAll("figure.chart[data-chart]")) draw(figure);
  }

  function initControls() {
    const panel = document.getElementById("chart-controls");
    if (!panel) return;
    panel.hidden = false;
    const slider = document.getElementById("chart-smoothing");
    const shown = document.getElementById("chart-smoothing-value");
    const log = document.getElementById("chart-log");
    slider.value = String(state.smoothing);
    shown.textContent = state.smoothing.toFixed(2);
    log.checked = state.log;
    slider.addEventListener("input", () => {
      state.smoothing = Number(slider.value);
      shown.textContent = state.smoothing.toFixed(2);
      saveSettings();
      drawAll();
    });
    log.addEventListener("change", () => {
      state.log = log.checked;
      saveSettings();
      drawAll();
    });
  }

  function init() {
    if (!document.querySelector("script.chart-data") || typeof uPlot === "undefined") return;
    loadSettings();
    initControls();
    drawAll();
    document.addEventListener("toggle", drawAll, true); // a folded chart is drawn when opened
    // the run page swaps in new charts while a run is live (studio.js): draw those too
    const wrap = document.getElementById("charts-wrap");
    if (wrap) {
      new MutationObserver(() => { initControls(); drawAll(); }).observe(wrap, { childList: true });
    }
  }

  document.addEventListener("DOMContentLoaded", init);
})();
