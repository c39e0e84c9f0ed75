/* LoreForge web UI: the little script the pages need beside htmx — htmx settings, the selection bar of the
   lists, confirmations on buttons, the upload queue (one request per file, with its progress), the preset
   picker, keyboard review (j/k/c/e/x, / and ?), copy buttons, the split-at-cursor helper, and the usage chart.
   No build step: plain ES2017, served as is. */
(function () {
  "use strict";

  // Errors (4xx/5xx) are swapped into the action's message slot like any answer; 204 swaps nothing.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];
  htmx.config.historyCacheSize = 0;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // -- confirmations on submit buttons (data-confirm): the form's own request waits for the answer --------
  document.addEventListener("htmx:confirm", (event) => {
    const submitter = event.detail.triggerEvent && event.detail.triggerEvent.submitter;
    const question = submitter && submitter.dataset.confirm;
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });
  document.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (submitter && submitter.dataset.confirm && !event.target.hasAttribute("hx-post") && !window.confirm(submitter.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // -- HX-Trigger events of a request whose element was replaced while it ran (say, a button of an item view
  //    that reloaded) are dispatched by htmx on that detached element and never reach the page: send them
  //    again from the body, where the lists listen (htmx:beforeSwap fires on the target, still on the page).
  document.addEventListener("htmx:beforeSwap", (event) => {
    const elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    const header = event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Trigger");
    if (!elt || elt.isConnected || !header || header.startsWith("{")) return;
    header.split(",").forEach((name) => htmx.trigger(document.body, name.trim()));
  });

  // -- a job that ends refreshes the lists and the running-jobs indicator ---------------------------------
  document.addEventListener("htmx:sseClose", (event) => {
    if (event.detail && event.detail.type === "message") {
      htmx.trigger(document.body, "lf-changed");
      htmx.trigger(document.body, "lf-job");
    }
  });

  // -- list selection ---------------------------------------------------------------------------------------
  function updateCount(form) {
    const label = $("[data-selected-count]", form);
    if (!label) return;
    const all = $("[data-all-matching]", form);
    const n = $$("input[name=ids]:checked", form).length;
    label.textContent = all && all.checked ? "" : (n ? label.dataset.template.replace("{n}", n) : "");
  }
  document.addEventListener("change", (event) => {
    const box = event.target;
    const form = box.form;
    if (!form) return;
    if (box.matches("[data-check-page]")) $$("input[name=ids]", form).forEach((b) => { b.checked = box.checked; });
    if (box.matches("[data-all-matching]")) {
      $$("input[name=ids]", form).forEach((b) => { b.checked = box.checked; b.disabled = box.checked; });
      const page = $("[data-check-page]", form);
      if (page) { page.checked = box.checked; page.disabled = box.checked; }
    }
    updateCount(form);
  });

  // -- uploads: each file its own request to the JSON API, with progress and its result --------------------
  // postFile is shared with modes.js (the image uploader): `fields` go with the file, `report(item, result,
  // body)` shows a good answer; an error shows `failed` and the server's message.
  function postFile(url, list, file, { name, fields, failed, report }) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    const result = document.createElement("span");
    result.className = "result";
    item.append(label, bar, result);
    list.append(item);
    return new Promise((resolve) => {
      const data = new FormData();
      data.append("files", file, name);
      Object.entries(fields || {}).forEach(([key, value]) => data.append(key, value));
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded * 100) / e.total); };
      xhr.onload = () => {
        bar.value = 100;
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { message: xhr.statusText }; }
        if (xhr.status >= 400) { item.className = "failed"; result.textContent = failed + ": " + (body.message || xhr.status); }
        else report(item, result, body);
        resolve();
      };
      xhr.onerror = () => { item.className = "failed"; result.textContent = failed; resolve(); };
      xhr.send(data);
    });
  }
  window.LoreForge = { postFile };

  function uploadOne(form, list, file) {
    return postFile(form.dataset.url, list, file, {
      name: file.name,
      fields: { split: $("input[name=split]", form).checked ? "true" : "false" },
      failed: list.dataset.failed,
      report: (item, result, body) => {
        const one = (body.items || [])[0] || {};
        item.className = one.status;
        result.textContent = list.dataset[one.status] + (one.status === "added" ? " · " + list.dataset.chunks.replace("{n}", one.chunks) : "")
          + (one.error ? ": " + one.error : "");
      },
    });
  }
  async function uploadAll(form, files) {
    const list = $("#upload-list");
    for (const file of files) await uploadOne(form, list, file);  // one at a time: each file is one body under the limit
    htmx.trigger(document.body, "lf-uploaded");
  }
  document.addEventListener("change", (event) => {
    if (event.target.id === "upload-files" && event.target.files.length) {
      uploadAll(event.target.form, Array.from(event.target.files));
      event.target.value = "";
    }
  });
  ["dragover", "dragleave", "drop"].forEach((kind) => document.addEventListener(kind, (event) => {
    const zone = event.target.closest && event.target.closest(".dropzone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.toggle("over", kind === "dragover");
    if (kind === "drop" && event.dataTransfer.files.length) uploadAll(zone, Array.from(event.dataTransfer.files));
  }));

  // -- the provider preset fills base URL and key variable (unless the user typed their own) ----------------
  function fillPreset(select) {
    const option = select.selectedOptions[0];
    const form = select.form;
    if (!option) return;
    [["[data-base-url]", option.dataset.baseUrl], ["[data-key-env]", option.dataset.keyEnv]].forEach(([sel, value]) => {
      const input = $(sel, form);
      if (!input.value || input.value === input.dataset.filled) { input.value = value || ""; input.dataset.filled = value || ""; }
    });
    const notes = $("[data-preset-notes]");
    if (notes) notes.textContent = option.dataset.notes || "";
  }
  document.addEventListener("change", (event) => { if (event.target.matches("[data-preset]")) fillPreset(event.target); });

  // -- copy buttons, split at the cursor ------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const input = $(copy.dataset.copy);
      input.select();
      (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject()).catch(() => document.execCommand("copy"));
      copy.classList.add("done");
    }
    if (event.target.closest("[data-take-cursor]")) {
      const text = $("[data-split-source]");
      $("[data-split-position]").value = text.selectionStart || "";
    }
    if (event.target.closest("[data-shortcuts]")) $("#shortcuts-dialog").showModal();
  });

  // -- keyboard review --------------------------------------------------------------------------------------
  function rows() { return $$("table[data-keys] tbody tr"); }
  function current() { return document.activeElement && document.activeElement.closest("table[data-keys] tbody tr"); }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(current());
    const next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step))];
    next.tabIndex = -1; next.focus(); next.scrollIntoView({ block: "nearest" });
  }
  function press(key) {
    const target = $(`[data-key="${key}"]`);
    if (target) { target.click(); return true; }
    return false;
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (typing) { if (event.key === "Escape") event.target.blur(); return; }
    const row = current();
    switch (event.key) {
      case "j": if (!press("j")) move(1); break;
      case "k": if (!press("k")) move(-1); break;
      case "c":
        if (row && row.dataset.id) {
          const form = row.closest("form");
          htmx.ajax("POST", `${row.closest("table").dataset.confirmUrl}/${row.dataset.id}/confirm`, { target: "#batch-slot", values: { confirmed: "true" }, source: form });
        } else press("c");
        break;
      case "e": case "Enter":
        if (row && row.dataset.href) window.location = row.dataset.href;
        else { const field = $("[data-edit-target]"); if (field) { field.focus(); event.preventDefault(); return; } }
        break;
      case "x": if (row) { const box = $("input[name=ids]", row); if (box && !box.disabled) { box.click(); } } break;
      case "/": { const search = $("[data-search]"); if (search) search.focus(); break; }
      case "?": $("#shortcuts-dialog").showModal(); break;
      default: return;
    }
    event.preventDefault();
  });

  // A list that reloads (after `c`, say) keeps the row that had the focus.
  let focusedId = null;
  document.addEventListener("htmx:beforeSwap", () => { const row = current(); focusedId = row ? row.dataset.id : null; });
  document.addEventListener("htmx:afterSettle", () => {
    if (!focusedId) return;
    const row = $(`table[data-keys] tbody tr[data-id="${focusedId}"]`);
    if (row) { row.tabIndex = -1; row.focus(); }
    focusedId = null;
  });

  // -- the usage chart --------------------------------------------------------------------------------------
  function chart() {
    const box = $("[data-chart]");
    const data = $("#usage-data");
    if (!box || !data || !window.uPlot) return;
    const d = JSON.parse(data.textContent);
    new uPlot({
      width: Math.min(box.clientWidth || 800, 1100), height: 260,
      series: [{}, { label: box.dataset.labelTokens, stroke: "#2f6fde", fill: "rgba(47,111,222,0.12)", scale: "tokens", points: { show: true, size: 7 } },
               { label: box.dataset.labelCalls, stroke: "#d9822b", scale: "calls", points: { show: true, size: 7 } }],
      axes: [{}, { scale: "tokens", size: 72 }, { scale: "calls", side: 1, size: 50, grid: { show: false } }],
      scales: { x: { time: true }, tokens: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] },
                calls: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
    }, [d.t, d.tokens, d.calls], box);
  }
  document.addEventListener("DOMContentLoaded", () => {
    chart();
    $$("[data-preset]").forEach(fillPreset);
  });
})();
