/* LoreForge web UI, part 2 (the model half): the loss charts — a run's curve drawn once and then grown point by
   point from the run's event stream (never rebuilt), two runs' curves together — the training form's method
   fields, the blind test's vote keys, and the chat box (Enter sends, Shift+Enter breaks a line).
   Plain ES2017 beside htmx and uPlot (vendored); no build step. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];  // whole steps on the x axis
  const COLORS = { loss: "#2f6fde", eval: "#d9822b", lr: "#1f8a4c", a: "#2f6fde", b: "#c2410c" };

  // -- a run's curve: records keyed by step; a train record and an eval record may share a step ---------------
  function Curve() { this.steps = []; this.loss = []; this.evalLoss = []; this.lr = []; this.at = new Map(); }
  Curve.prototype.add = function (records) {
    records.forEach((r) => {
      const step = r.current_steps;
      if (typeof step !== "number") return;
      let i = this.at.get(step);
      if (i === undefined) {
        i = this.steps.length;
        if (i && step < this.steps[i - 1]) { this.insert(step); i = this.at.get(step); }
        else { this.steps.push(step); this.loss.push(null); this.evalLoss.push(null); this.lr.push(null); this.at.set(step, i); }
      }
      if (typeof r.loss === "number") this.loss[i] = r.loss;
      if (typeof r.eval_loss === "number") this.evalLoss[i] = r.eval_loss;
      if (typeof r.lr === "number") this.lr[i] = r.lr;
    });
  };
  Curve.prototype.insert = function (step) {  // out of order (rare): rebuild the index around the new step
    const rows = this.steps.map((s, i) => [s, this.loss[i], this.evalLoss[i], this.lr[i]]);
    rows.push([step, null, null, null]);
    rows.sort((x, y) => x[0] - y[0]);
    this.steps = rows.map((r) => r[0]); this.loss = rows.map((r) => r[1]);
    this.evalLoss = rows.map((r) => r[2]); this.lr = rows.map((r) => r[3]);
    this.at = new Map(this.steps.map((s, i) => [s, i]));
  };

  function width(box) { return Math.max(320, Math.min(box.clientWidth || 800, 1100)); }

  function lossChart(box, curve) {
    const opts = {
      width: width(box), height: 280,
      scales: { x: { time: false } },
      axes: [{ label: box.dataset.labelStep, incrs: STEPS }, { size: 60 }],
      series: [{ label: box.dataset.labelStep },
        { label: box.dataset.labelLoss, stroke: COLORS.loss, width: 2, spanGaps: true, points: { show: false } },
        { label: box.dataset.labelEval, stroke: COLORS.eval, width: 2, spanGaps: true, dash: [6, 4], points: { show: true, size: 7, fill: COLORS.eval } }],
    };
    return new uPlot(opts, [curve.steps, curve.loss, curve.evalLoss], box);
  }

  function lrChart(box, curve, label) {
    return new uPlot({
      width: width(box), height: 120, scales: { x: { time: false } }, legend: { show: true },
      axes: [{ incrs: STEPS }, { size: 60, values: (u, vals) => vals.map((v) => v.toExponential(1)) }],
      series: [{}, { label: label, stroke: COLORS.lr, width: 1.5, spanGaps: true }],
    }, [curve.steps, curve.lr], box);
  }

  function runChart() {
    const box = $("[data-loss-chart]");
    const data = $("#curve-data");
    if (!box || !data || !window.uPlot) return;
    const curve = new Curve();
    curve.add(JSON.parse(data.textContent));
    const empty = document.createElement("p");
    empty.className = "empty chart-empty"; empty.textContent = box.dataset.empty;
    box.before(empty);
    const plot = lossChart(box, curve);
    const lrBox = $("[data-lr-chart]");
    const lr = lrBox ? lrChart(lrBox, curve, box.dataset.labelLr) : null;
    const show = () => { empty.hidden = curve.steps.length > 0; };
    const redraw = () => {  // the same chart objects, with the grown columns
      plot.setData([curve.steps, curve.loss, curve.evalLoss]);
      if (lr) lr.setData([curve.steps, curve.lr]);
      show();
      box.dataset.points = String(curve.steps.length);
    };
    show();
    box.dataset.points = String(curve.steps.length);
    box.addEventListener("htmx:sseBeforeMessage", (event) => {
      event.preventDefault();  // nothing to swap: the points go into the chart
      const records = JSON.parse(event.detail.data);
      if (event.detail.type === "reset") Object.assign(curve, new Curve());
      curve.add(records);
      redraw();
    });
    window.addEventListener("resize", () => { plot.setSize({ width: width(box), height: 280 }); if (lr) lr.setSize({ width: width(lrBox), height: 120 }); });
  }

  function compareChart() {
    const box = $("[data-compare-chart]");
    const data = $("#compare-data");
    if (!box || !data || !window.uPlot) return;
    const d = JSON.parse(data.textContent);
    const a = new Curve(), b = new Curve();
    a.add(d.a); b.add(d.b);
    const steps = Array.from(new Set(a.steps.concat(b.steps))).sort((x, y) => x - y);
    const col = (curve, key) => steps.map((s) => { const i = curve.at.get(s); return i === undefined ? null : curve[key][i]; });
    new uPlot({
      width: width(box), height: 300, scales: { x: { time: false } }, axes: [{ incrs: STEPS }, { size: 60 }],
      series: [{},
        { label: `${box.dataset.labelA} · ${box.dataset.labelLoss}`, stroke: COLORS.a, width: 2, spanGaps: true },
        { label: `${box.dataset.labelA} · ${box.dataset.labelEval}`, stroke: COLORS.a, dash: [6, 4], spanGaps: true, points: { show: true, size: 6 } },
        { label: `${box.dataset.labelB} · ${box.dataset.labelLoss}`, stroke: COLORS.b, width: 2, spanGaps: true },
        { label: `${box.dataset.labelB} · ${box.dataset.labelEval}`, stroke: COLORS.b, dash: [6, 4], spanGaps: true, points: { show: true, size: 6 } }],
    }, [steps, col(a, "loss"), col(a, "evalLoss"), col(b, "loss"), col(b, "evalLoss")], box);
  }

  // -- a run that ends: show its final state (metrics, best checkpoint, merge) --------------------------------
  document.addEventListener("htmx:sseClose", (event) => {
    const live = event.target.closest && event.target.closest(".run-live");
    if (live && event.detail && event.detail.type === "message") setTimeout(() => window.location.reload(), 800);
  });

  // -- the training form: fields of the other methods step aside ----------------------------------------------
  function methodFields() {
    const select = $("[data-method]");
    if (!select) return;
    $$("[data-only]").forEach((field) => { field.hidden = field.dataset.only !== select.value; });
  }
  document.addEventListener("change", (event) => { if (event.target.matches("[data-method]")) methodFields(); });
  document.addEventListener("htmx:afterSettle", methodFields);

  // -- a model picker shows the input of the kind chosen (base model, run, model config) ----------------------
  function pickers() {
    $$("[data-pick]").forEach((pick) => {
      const kind = ($("input[type=radio]:checked", pick) || {}).value || "base";
      $$("[data-for-kind]", pick).forEach((label) => { label.hidden = label.dataset.forKind !== kind; });
    });
  }
  document.addEventListener("change", (event) => { if (event.target.closest("[data-pick]")) pickers(); });

  // -- the blind test: 1 left, 2 right, 3 both good, 4 both bad; the chat box: Enter sends ---------------------
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const box = event.target.closest && event.target.closest("[data-chat-input]");
    if (box && event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      const form = box.form;
      if (form && box.value.trim()) htmx.trigger(form, "submit");
      return;
    }
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const vote = $(`[data-vote-key="${event.key}"]`);
    if (vote && !vote.disabled) { vote.click(); event.preventDefault(); }
  });

  // -- a chat answer that streams keeps its pane scrolled to the end ------------------------------------------
  document.addEventListener("htmx:sseMessage", (event) => {
    const pane = event.target.closest && event.target.closest("[data-scroll]");
    if (pane) pane.scrollTop = pane.scrollHeight;
    const log = event.target.id === "run-log" ? event.target : null;
    if (log) log.scrollTop = log.scrollHeight;
  });

  document.addEventListener("DOMContentLoaded", () => {
    runChart();
    compareChart();
    methodFields();
    pickers();
    const log = $("#run-log");
    if (log) log.scrollTop = log.scrollHeight;
  });
})();
