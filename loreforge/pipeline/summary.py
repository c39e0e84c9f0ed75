"""The end of a pipeline run on one screen (pure: from the stage records, the project's counts and its token use).

What a user asks after `loreforge run`: how much data came out of the documents, what it cost, how training went,
and — the point — did the model learn: accuracy of the base and the tuned model on each probe set with 95%
intervals and the paired test (McNemar's exact p), the change on general-knowledge probes beside it, and where
everything is. `render_text` is the terminal screen; `write_summary` puts it in the run folder as summary.md and
the numbers as summary.json. Nothing here is a constant: every figure is read from what the stages stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loreforge.pipeline.load import Resolved

PAIR = "tuned_vs_base"


def build_summary(resolved: Resolved, records: dict[str, Any], counts: dict[str, int], usage: dict[str, Any],
                  run_dir: Path) -> dict[str, Any]:
    """The summary's numbers from what each stage stored (its `result`)."""
    res = {stage: (rec or {}).get("result") or {} for stage, rec in records.items()}
    recipe = resolved.recipe
    tokens_in = sum(r.get("tokens_in", 0) for r in usage.get("by_stage", []))
    tokens_out = sum(r.get("tokens_out", 0) for r in usage.get("by_stage", []))
    calls = sum(r.get("calls", 0) for r in usage.get("by_stage", []))
    saved = sum(int((res.get(s) or {}).get("saved") or 0) for s in ("questions", "answers"))
    out: dict[str, Any] = {
        "run": resolved.name, "project": resolved.project, "run_dir": str(run_dir),
        "documents": {"in_project": counts.get("documents", 0), "added": res.get("ingest", {}).get("added"),
                      "failed": res.get("ingest", {}).get("failed", []),
                      "not_in_recipe": res.get("ingest", {}).get("not_in_recipe", [])},
        "chunks": counts.get("chunks", 0), "questions": counts.get("questions", 0),
        "items": {"generated": res.get("review", {}).get("items", counts.get("dataset_items", 0)),
                  "confirmed": res.get("review", {}).get("confirmed"), "grounding": res.get("review", {}).get("grounding"),
                  "exported": res.get("export", {}).get("counts", {})},
        "generation": {"provider": recipe.generation.provider, "model": recipe.generation.model or None,
                       "calls": calls, "tokens_in": tokens_in, "tokens_out": tokens_out, "saved_items": saved},
        "paths": {"dataset": res.get("export", {}).get("folder"), "log": str(run_dir / "pipeline.log")},
    }
    if res.get("train"):
        t = res["train"]
        out["train"] = {"run_id": t.get("run_id"), "base_model": recipe.train.model_name_or_path if recipe.train else None,
                        "method": (recipe.train.model_extra or {}).get("finetuning_type", "lora") if recipe.train else None,
                        "loss_first": t.get("loss", {}).get("first"), "loss_last": t.get("loss", {}).get("last"),
                        "train_loss": t.get("metrics", {}).get("train_loss"), "eval_loss": t.get("metrics", {}).get("eval_loss"),
                        "seconds": t.get("metrics", {}).get("train_runtime")}
        out["paths"].update(model=t.get("output_dir"), loss_plot=next(iter(t.get("plots") or []), None))
    if res.get("eval"):
        out["eval"] = _eval(res["eval"].get("metrics", {}), res.get("probes", {}).get("sets", []))
        out["paths"]["report"] = str(Path(res["eval"]["report_dir"]) / "report.md") if res["eval"].get("report_dir") else None
    out["next"] = _next_steps(resolved)
    return out


def _eval(metrics: dict[str, Any], sets: list[dict[str, Any]]) -> dict[str, Any]:
    by_set, paired_set = metrics.get("set", {}), metrics.get("paired_set", {}).get(PAIR, {})
    kinds_of = {s["name"]: s.get("kinds") or [] for s in sets}
    rows = []
    for name in [s["name"] for s in sets if s.get("probes")] or sorted(by_set):
        cell = by_set.get(name, {})
        rows.append({"set": name, "kinds": kinds_of.get(name, []), "base": cell.get("base"), "tuned": cell.get("tuned"),
                     "rag": cell.get("rag"), "paired": paired_set.get(name)})
    kinds = metrics.get("kind", {})
    general = kinds.get("general")
    paired_kind = metrics.get("paired_kind", {}).get(PAIR, {})
    return {"sets": rows, "kinds": {k: {"base": v.get("base"), "tuned": v.get("tuned"), "paired": paired_kind.get(k)} for k, v in kinds.items()},
            "general": {"base": general.get("base"), "tuned": general.get("tuned"), "paired": paired_kind.get("general")} if general else None,
            "overall": metrics.get("paired", {}).get(PAIR), "regressions": metrics.get("regressions")}


def _next_steps(resolved: Resolved) -> list[str]:
    """What a real run needs, when this one was the small offline kind (plainly, with the one-line change)."""
    recipe, steps = resolved.recipe, []
    if recipe.generation.provider == "extractive":
        steps.append("Questions and answers were cut from the documents' own sentences (offline, no LLM). A real "
                     "LLM writes better and more varied ones: `export DASHSCOPE_API_KEY=sk-...` and set "
                     "`generation: {provider: dashscope, model: qwen-max-latest}` (or run examples/recipes/reference.yaml).")
    if recipe.probes is not None and "reworded" not in recipe.probes.kinds and not resolved.probe_files:
        steps.append("No reworded probes: add `reworded` to probes.kinds (needs an LLM) to test recall beyond the trained wording.")
    base = recipe.train.model_name_or_path if recipe.train else ""
    if base == "starter":
        steps.append("The base model was the 135M-parameter starter model on this machine's CPU. A real run fine-tunes a "
                     "larger model on a GPU or DCU: `--set train.model_name_or_path=Qwen/Qwen2.5-3B-Instruct` "
                     "(see examples/recipes/reference.yaml for its settings).")
    return steps


# ---------------------------------------------------------------------------------------------- rendering

def _pct(p: dict[str, Any] | None) -> str:
    if not p or p.get("rate") is None:
        return "—"
    low, high = p.get("low"), p.get("high")
    span = f" [{low * 100:.0f}–{high * 100:.0f}]" if low is not None and high is not None else ""
    return f"{p['rate'] * 100:.0f}%{span} ({p['k']}/{p['n']})"


def _p(paired: dict[str, Any] | None) -> str:
    if not paired or paired.get("p_value") is None:
        return ""
    p = paired["p_value"]
    verdict = "significant" if p < 0.05 else "not significant"
    return f"  +{paired['wins']} −{paired['losses']}, p = {p:.2g} ({verdict})"


KIND_LABELS = {"reworded": "reworded, never trained", "key_fact": "trained questions", "held_out": "held-out pairs",
               "user": "your probes", "general": "general knowledge"}


def _label(row: dict[str, Any]) -> str:
    kinds = row.get("kinds") or []
    return ", ".join(KIND_LABELS.get(k, k) for k in kinds) or "probes"


def render_text(summary: dict[str, Any], status: str = "completed") -> str:
    s, lines = summary, []
    lines.append(f"Run '{s['run']}' (project '{s['project']}'): {status}")
    docs, items = s["documents"], s["items"]
    failed = f", {len(docs['failed'])} failed" if docs.get("failed") else ""
    lines.append(f"  documents {docs['in_project']}{failed} · chunks {s['chunks']} · questions {s['questions']} · "
                 f"QA pairs {items['generated']} ({items.get('confirmed')} confirmed)")
    others = docs.get("not_in_recipe") or []
    if others:
        lines.append(f"  note: {len(others)} document(s) of the project are not in the recipe and were kept: "
                     f"{', '.join(others[:3])}{' …' if len(others) > 3 else ''} (`loreforge documents delete` removes one)")
    exported = items.get("exported") or {}
    if exported:
        lines.append("  exported " + ", ".join(f"{k} {v}" for k, v in exported.items()))
    g = s["generation"]
    saved = f" · {g['saved_items']} work items found done in the store (not redone)" if g.get("saved_items") else ""
    lines.append(f"  generation {g['provider']}{' ' + g['model'] if g.get('model') else ''}: {g['calls']} LLM calls, "
                 f"{g['tokens_in'] + g['tokens_out']:,} tokens{saved}")
    if "train" in s:
        t = s["train"]
        loss = f"loss {t['loss_first']:.3f} → {t['loss_last']:.3f}" if t.get("loss_first") is not None else "loss —"
        extra = f", eval loss {t['eval_loss']:.3f}" if t.get("eval_loss") is not None else ""
        secs = f" in {t['seconds']:.0f} s" if t.get("seconds") else ""
        base = "the starter model (SmolLM2-135M-Instruct)" if t["base_model"] == "starter" else t["base_model"]
        lines.append(f"  training ({t['method']}) of {base}: {loss}{extra}{secs}")
    if "eval" in s:
        lines.append("  did it learn? accuracy base → tuned [95% interval] (right/asked), paired test:")
        rows = s["eval"]["sets"]
        general = [r for r in rows if r.get("kinds") == ["general"]]
        width = max((len(r["set"]) + len(_label(r)) + 3 for r in rows), default=10)
        for row in [r for r in rows if r not in general] + general:
            rag = f"  (base + RAG {_pct(row['rag'])})" if row.get("rag") else ""
            name = f"{row['set']} ({_label(row)})"
            lines.append(f"    {name:<{width}}  {_pct(row['base'])} → {_pct(row['tuned'])}{_p(row['paired'])}{rag}")
        if not general and s["eval"].get("general"):
            g = s["eval"]["general"]
            lines.append(f"    general knowledge  {_pct(g['base'])} → {_pct(g['tuned'])}{_p(g.get('paired'))}")
    lines.append("  files:")
    for label, path in s["paths"].items():
        if path:
            lines.append(f"    {label:<9} {path}")
    for step in s.get("next", []):
        lines.append(f"  next: {step}")
    return "\n".join(lines)


def write_summary(summary: dict[str, Any], run_dir: Path) -> list[str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = render_text(summary)
    md, js = run_dir / "summary.md", run_dir / "summary.json"
    md.write_text(f"# {summary['run']}\n\n```\n{text}\n```\n", encoding="utf-8")
    js.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return [str(md), str(js)]
