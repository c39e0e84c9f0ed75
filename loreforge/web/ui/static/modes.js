/* LoreForge web UI, the data-mode pages (docs/ui.md): the image uploader — each chosen or dropped file, and each
   file of a chosen folder that is an image, a zip or a PDF, goes to the JSON API in its own request (one body under
   the server's limit) with its progress; the answer lists what the file held — a zip or a PDF holds many images —
   as added / already there / failed, each failure with its reason. Plain ES2017, no build step. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);

  function accepted(form, file) {
    const dot = file.name.lastIndexOf(".");
    return dot >= 0 && form.dataset.accept.split(",").includes(file.name.slice(dot).toLowerCase());
  }

  function say(list, key, n) { return list.dataset[key].replace("{n}", n); }

  function report(list, item, result, body) {
    const items = body.items || [];
    const count = (status) => items.filter((i) => i.status === status).length;
    const parts = [];
    if (count("added")) parts.push(say(list, "added", count("added")));
    if (count("duplicate")) parts.push(say(list, "duplicate", count("duplicate")));
    if (count("failed")) parts.push(say(list, "failed", count("failed")));
    result.textContent = parts.join(" · ");
    item.className = count("failed") ? "failed" : (count("added") ? "added" : "duplicate");
    const failures = items.filter((i) => i.status === "failed");
    if (failures.length) {
      const why = document.createElement("ul");
      why.className = "small";
      failures.forEach((f) => { const li = document.createElement("li"); li.textContent = f.error || f.filename; why.append(li); });
      item.append(why);
    }
  }

  function uploadOne(form, list, file) {
    const name = file.webkitRelativePath || file.name;
    return window.LoreForge.postFile(form.dataset.url, list, file,
      { name, failed: list.dataset.error, report: (item, result, body) => report(list, item, result, body) });
  }

  async function uploadAll(form, files) {
    const list = $("#image-upload-list");
    const chosen = files.filter((f) => accepted(form, f));
    if (chosen.length < files.length) {
      const note = document.createElement("li");
      note.className = "muted";
      note.textContent = say(list, "skipped", files.length - chosen.length);
      list.append(note);
    }
    for (const file of chosen) await uploadOne(form, list, file);
    htmx.trigger(document.body, "lf-uploaded");
  }

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("[data-upload-input]") || !input.files.length) return;
    uploadAll(input.form, Array.from(input.files));
    input.value = "";
  });
  ["dragover", "dragleave", "drop"].forEach((kind) => document.addEventListener(kind, (event) => {
    const zone = event.target.closest && event.target.closest("[data-image-upload]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.toggle("over", kind === "dragover");
    if (kind === "drop" && event.dataTransfer.files.length) uploadAll(zone, Array.from(event.dataTransfer.files));
  }));
})();
