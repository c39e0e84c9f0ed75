"""The report folder of an evaluation run: `report.md` (what a skeptical engineer reads: the paired comparison,
the regressions first, intervals everywhere), `report.json` (the same numbers, the run's settings and every
answer), the PNG charts (`loreforge.evaluate.charts`) and LLaMA Factory-style predictions —
`generated_predictions.jsonl` (prompt, predict, label) and `predict_results.json` (predict_bleu-4,
predict_rouge-1/2/l, runtime) — for the tuned model at the top, for the base model in `base/` and the retrieval
baseline in `rag/`. Fed by `loreforge.evaluate.aggregate.summarize` and the stored results.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loreforge.errors import LoreForgeError, UserError
from loreforge.evaluate.aggregate import ResultRow
from loreforge.evaluate.answering import EvalProbe
from loreforge.evaluate.scoring import label_of

REPORT_MD, REPORT_JSON = "report.md", "report.json"
PREDICTIONS, PREDICT_RESULTS = "generated_predictions.jsonl", "predict_results.json"
TITLES = {"base": "base", "rag": "base + BM25 chunks (RAG)", "tuned": "tuned"}


def _atomic(path: Path, text: str) -> None:
    """Write `path` whole or not at all (a reader never sees half a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def pct(cell: dict[str, Any] | None) -> str:
    """"61.5% [44.0–76.4] (16/26)": a proportion with its Wilson interval; "–" with no probe."""
    if not cell or not cell.get("n"):
        return "–"
    return f"{cell['rate'] * 100:.1f}% [{cell['low'] * 100:.1f}–{cell['high'] * 100:.1f}] ({cell['k']}/{cell['n']})"


def mean(cell: dict[str, Any] | None, scale: float = 1.0, digits: int = 2) -> str:
    if not cell:
        return "–"
    return f"{cell['mean'] * scale:.{digits}f} [{cell['low'] * scale:.{digits}f}–{cell['high'] * scale:.{digits}f}]"


def p_text(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _cell(text: Any, limit: int = 160) -> str:
    value = "" if text is None else str(text)
    value = " ".join(value.split())
    value = value if len(value) <= limit else value[: limit - 1] + "…"
    return value.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _models(summary: dict[str, Any], models: dict[str, str]) -> list[str]:
    rows = []
    for label in summary["labels"]:
        m = summary["models"][label]
        rows.append([TITLES.get(label, label), models.get(label, ""), pct(m["accuracy"]), pct(m["key_match"]),
                     mean(m["judge"]), mean(m["bleu-4"], digits=1), mean(m["rouge-l"], digits=1), m["cut"]])
    return _table(["model", "what", "accuracy", "key-fact match", "judge (0–1)", "BLEU-4", "ROUGE-L", "cut at the limit"], rows)


def _paired(summary: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, entry in summary["paired"].items():
        challenger, reference = name.split("_vs_")
        lines += ["", f"### {TITLES.get(challenger, challenger)} vs {TITLES.get(reference, reference)}", ""]
        rows = [["all probes", *_pair_cells(entry["all"])]]
        for field in ("kind", "set"):
            rows += [[f"{field} {group}", *_pair_cells(cell)] for group, cell in entry[field].items()]
        lines += _table(["probes", "n", f"wins ({reference} wrong, {challenger} right)",
                         f"losses ({reference} right, {challenger} wrong)", "ties", "McNemar exact p"], rows)
    return lines


def _pair_cells(cell: dict[str, Any]) -> list[Any]:
    return [cell["n"], cell["wins"], cell["losses"], cell["ties"], p_text(cell["p_value"])]


def _groups(summary: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    titles = {"kind": "probe kind", "set": "probe set", "qtype": "question type", "document": "document", "tag": "tag"}
    for field in ("kind", "set", "qtype", "document", "tag"):
        table = summary["groups"].get(field) or {}
        lines += ["", f"### Accuracy by {titles[field]}", ""]
        lines += _table([titles[field], *[TITLES.get(x, x) for x in summary["labels"]]],
                        [[group, *[pct(cells[label]) for label in summary["labels"]]] for group, cells in table.items()])
    return lines


def _examples(title: str, note: str, examples: Sequence[dict[str, Any]], total: int) -> list[str]:
    shown = "" if total <= len(examples) else f" The {len(examples)} largest are shown; all are in {REPORT_JSON}."
    lines = ["", f"## {title} ({total})", "", note + shown, ""]
    if not examples:
        return lines + ["None."]
    rows = [[e["kind"], e["question"], e["reference"], e["key"] or "", e["base"], e["tuned"]] for e in examples]
    return lines + _table(["kind", "question", "reference", "key", "base answered", "tuned answered"], rows)


def markdown(summary: dict[str, Any], run: dict[str, Any], charts: Sequence[str]) -> str:
    """report.md."""
    models, config = run.get("models", {}), run.get("config", {})
    head = summary["paired"].get("tuned_vs_base", {}).get("all")
    lines = [f"# Evaluation run {run.get('id', '')}: {run.get('project', '')}", ""]
    if head:
        lines += [f"**Tuned vs base, probe by probe:** {head['wins']} wins, {head['losses']} losses "
                  f"(regressions), {head['ties']} ties of {head['n']} probes; McNemar exact p = {p_text(head['p_value'])}.", ""]
    lines += [f"{summary['probes']} probes from probe set(s) {', '.join(run.get('probe_sets', []))}; answers greedy"
              if not config.get("temperature") else f"{summary['probes']} probes; temperature {config.get('temperature')}",
              f"(max {config.get('max_new_tokens')} new tokens, batch {config.get('batch_size')}"
              + (f", BM25 top-{config.get('rag_k')} chunks for RAG" if "rag" in summary["labels"] else "")
              + (f", judge {config.get('judge')}" if config.get("judge") else "") + ").",
              "Intervals are 95%: Wilson for proportions, a seeded bootstrap for means. A choice probe is right only "
              "if right in every rotation of its options.", "", "## Models", ""]
    lines += _models(summary, models)
    top = int(config.get("top_examples") or 20)
    lines += _examples("Regressions: base right, tuned wrong", "What training cost: listed first, largest first.",
                       summary["regressions"][:top], summary["regressions_total"])
    general = summary["general_losses"]
    lines += ["", f"### General-knowledge losses ({len(general)})", "",
              "General probes the base answered and the tuned model no longer does." if general else "None."]
    lines += [f"- {_cell(e['question'])} — base: {_cell(e['base'], 80)}; tuned: {_cell(e['tuned'], 80)}" for e in general]
    lines += ["", "## Paired comparison"] + _paired(summary)
    lines += ["", "## Accuracy by group"] + _groups(summary)
    lines += _examples("Largest wins: base wrong, tuned right", "Largest first (judge or ROUGE-L difference).",
                       summary["wins"], summary["wins_total"])
    lines += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    lines += ["", "## Files", "", f"- `{REPORT_JSON}`: these numbers, the run's settings and every answer",
              f"- `{PREDICTIONS}`, `{PREDICT_RESULTS}`: the tuned model's predictions, as LLaMA Factory writes them "
              "(base model: `base/`, RAG: `rag/`)"]
    return "\n".join(lines) + "\n"


def _row(probe: EvalProbe, r: ResultRow) -> dict[str, Any]:
    return {"probe_id": probe.id, "set": probe.set_name, "kind": probe.kind, "qtype": probe.qtype, "model": r.label,
            "rotation": r.rotation, "question": probe.question, "reference": probe.reference, "key": probe.key,
            "prompt": r.prompt, "answer": r.answer, "correct": r.correct, "key_match": r.key_match,
            "judge_score": r.judge_score, "judge_reason": r.judge_reason, "bleu-4": r.bleu, "rouge": r.rouge,
            "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "latency_ms": round(r.latency_ms, 1), "finish_reason": r.finish_reason}


def _predictions(folder: Path, probes: dict[int, EvalProbe], rows: Sequence[ResultRow]) -> None:
    lines, bleu, rouge = [], [], {"rouge-1": [], "rouge-2": [], "rouge-l": []}  # type: ignore[var-annotated]
    for r in rows:
        lines.append(json.dumps({"prompt": r.prompt, "predict": r.answer, "label": label_of(probes[r.probe_id], r.rotation)},
                                ensure_ascii=False))
        bleu.append(r.bleu or 0.0)
        for name in rouge:
            rouge[name].append((r.rouge or {}).get(name, 0.0))
    runtime = math.fsum(r.latency_ms for r in rows) / 1000
    results: dict[str, float] = {"predict_bleu-4": math.fsum(bleu) / len(bleu) if bleu else 0.0}
    results.update({f"predict_{k}": math.fsum(v) / len(v) if v else 0.0 for k, v in rouge.items()})
    results.update({"predict_runtime": round(runtime, 4),
                    "predict_samples_per_second": round(len(rows) / runtime, 3) if runtime > 0 else 0.0})
    _atomic(folder / PREDICTIONS, "\n".join(lines) + ("\n" if lines else ""))
    _atomic(folder / PREDICT_RESULTS, json.dumps(results, indent=4))


def write_report(folder: Path, summary: dict[str, Any], run: dict[str, Any], probes: Sequence[EvalProbe],
                 rows: Sequence[ResultRow]) -> list[str]:
    """Write the whole report folder; returns the files written (relative to `folder`). Charts that cannot be
    drawn (matplotlib missing) are named in `run["notes"]` and the rest is written."""
    from loreforge.evaluate.charts import write_charts

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot write the report folder {folder}", got=str(exc), hint="Pass a writable --out") from exc
    try:
        charts = [p.name for p in write_charts(summary, folder)]
    except LoreForgeError as exc:  # MissingDependency: the numbers do not need the pictures
        charts, run = [], {**run, "notes": [*run.get("notes", []), str(exc)]}
    by_id = {p.id: p for p in probes}
    order = {p.id: n for n, p in enumerate(probes)}
    ordered = sorted(rows, key=lambda r: (order.get(r.probe_id, 0), r.label, r.rotation))
    for label, sub in (("tuned", ""), ("base", "base"), ("rag", "rag")):
        mine = [r for r in ordered if r.label == label]
        if mine:
            _predictions(folder / sub if sub else folder, by_id, mine)
    data = {"run": run, "summary": summary, "results": [_row(by_id[r.probe_id], r) for r in ordered]}
    _atomic(folder / REPORT_JSON, json.dumps(data, ensure_ascii=False, indent=1, default=str))
    _atomic(folder / REPORT_MD, markdown(summary, run, charts))
    written = [REPORT_MD, REPORT_JSON, *charts, PREDICTIONS, PREDICT_RESULTS]
    return written + [f"{sub}/{name}" for sub in ("base", "rag") if (folder / sub).is_dir() for name in (PREDICTIONS, PREDICT_RESULTS)]
