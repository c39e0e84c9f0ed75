"""Benchmark: LoRA SFT throughput of LoreForge's trainer beside LLaMA Factory 0.9.5 and TRL's SFTTrainer, on CPU.

Same tiny Qwen2 model, same data, same hyperparameters for the three tools, each in its own subprocess
(`bench/_train_probe.py`, which measures them all the same way) pinned to the same number of threads.

- Model: `build_tiny_model` (what `loreforge tiny-model` runs) with the tokenizer trained on the financial
  corpus: hidden 256, 4 layers, 4 heads (head size 64, as Qwen2.5), 2 KV heads, intermediate 1024, vocab 8192.
- Data: QA pairs made by our own offline pipeline (Service: ingest the corpus in ../shared/corpus/financial-2024q2,
  extractive questions and answers, no LLM) and exported as the LLaMA Factory bundle (alpaca.json +
  dataset_info.json); cut to --pairs, or repeated up to --pairs when the corpus yields fewer unique pairs.
  Model and data are cached in bench/out/ (gitignored); --rebuild makes them afresh.
- Shared settings: template qwen (TRL: the same tokens, from the tokenizer's chat template with the qwen system
  text), cutoff_len 512, batch 8, gradient accumulation 1, lr 1e-4, LoRA rank 8 / alpha 16 on all linear
  layers, fp32, seed 42, 1 epoch (or --max-steps), no eval, no saving during the run, logging every 1000 steps.
- Scenario "defaults": each tool's own SFT defaults for everything else. LLaMA Factory: gradient checkpointing
  on, no packing, batches padded to a multiple of 8. TRL 0.24: gradient checkpointing on, no packing,
  completion-only loss (prompt-completion data), per-step entropy and token-accuracy metrics. LoreForge:
  gradient checkpointing decided from memory when the config leaves it unset (`loreforge/train/memory.py`:
  off here, where one batch's activations take ~1 GiB of many free), no packing, batches padded to the
  longest row. The "grad ckpt" column shows what each tool trained with.
- Scenario "packing": `packing: true` for LoreForge and LLaMA Factory (rows of at most cutoff_len; LLaMA Factory
  pads each row to cutoff_len + 1 and lets examples in a row see each other; LoreForge keeps attention within
  each example through restarting position_ids), `packing=True` for TRL (best-fit-decreasing rows, padding-free
  batches), other settings as in "defaults".

Figures per run: train runtime (transformers' `train_runtime`: the training loop only), samples/s (training
examples, counted as answer spans in the labels the model received), tokens/s (real tokens the model received:
`input_ids != pad`, so padding never counts), the share of padding, steps, peak RSS of the process, the whole
subprocess wall time (start-up, model and data loading, training, saving) and "other CPU": the share of the
machine's CPU used by other processes during the run, from /proc/stat (a busy machine skews every figure: on 2
cores a concurrent test run slows training several fold). With --repeat N each tool runs N times, alternating with the others, and its fastest run is shown (all
its rounds are kept in the JSON). Then LoreForge's tokens/s over LLaMA Factory's (targets: >= 1.3 in
"defaults", >= 1.0 in "packing") and over TRL's. JSON: bench/out/train.json.

LLaMA Factory and TRL run in the LLaMA Factory venv: env LOREFORGE_LF_PYTHON (its python), default
.venv-lf/bin/python here if it exists, else /tmp/fci/main/.venv-lf/bin/python (`bash .ci/llamafactory-venv.sh`
builds one; it has trl 0.24). A missing venv or a failing tool is reported and the others still run. The optional
tool `loreforge-lfvenv` runs our trainer (this checkout on PYTHONPATH) with that venv's libraries, which tells our
code apart from the newer transformers/peft in .venv.

Run by hand:

    .venv/bin/python bench/train.py [--pairs 500] [--epochs 1] [--max-steps N] [--threads 2]
        [--scenarios defaults,packing] [--tools loreforge,llamafactory,trl[,loreforge-lfvenv]] [--repeat 1]
        [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PROBE = ROOT / "bench" / "_train_probe.py"
CORPUS = ROOT.parent / "shared" / "corpus" / "financial-2024q2"
DATASET = "bench_alpaca"
TOOLS = ("loreforge", "llamafactory", "trl")
# Optional: our trainer run with the LLaMA Factory venv's libraries (this checkout on PYTHONPATH), to tell our
# code apart from the library versions.
EXTRA_TOOLS = ("loreforge-lfvenv",)
LABELS = {"loreforge": "LoreForge", "llamafactory": "LLaMA Factory", "trl": "TRL SFTTrainer",
          "loreforge-lfvenv": "LoreForge@LF-venv"}
SCENARIOS = ("defaults", "packing")
TARGETS = {"defaults": 1.3, "packing": 1.0}  # LoreForge tokens/s over LLaMA Factory's
STDERR_TAIL = 3000


@dataclass(frozen=True)
class ModelShape:
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate_size: int
    vocab_size: int

    @property
    def key(self) -> str:
        return (f"model-h{self.hidden_size}-l{self.layers}-a{self.heads}-kv{self.kv_heads}"
                f"-i{self.intermediate_size}-v{self.vocab_size}")


# ---------------------------------------------------------------- model and data (cached)


def corpus_files() -> list[Path]:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".md", ".txt") and p.name != "SOURCE.md")
    if not files:
        raise SystemExit(f"no corpus documents in {CORPUS}")
    return files


def ensure_model(shape: ModelShape, rebuild: bool) -> Path:
    """The tiny model folder (built once, then reused)."""
    from loreforge.train.tiny import build_tiny_model

    folder = OUT / shape.key
    if (folder / "model.safetensors").is_file() and not rebuild:
        return folder
    info = build_tiny_model(
        folder, corpus_files(), hidden_size=shape.hidden_size, layers=shape.layers, heads=shape.heads,
        kv_heads=shape.kv_heads, intermediate_size=shape.intermediate_size, vocab_size=shape.vocab_size,
        overwrite=True,
    )
    print(f"built {folder.name}: {info.parameters:,} parameters, tokenizer {info.tokenizer_size} tokens")
    return folder


def generate_pairs(home: Path, export_dir: Path) -> list[dict[str, Any]]:
    """Ingest the corpus, extractive questions + answers (no LLM), export the LLaMA Factory bundle."""
    from loreforge import Service
    from loreforge.settings import AppConfig

    service = Service(AppConfig.from_env(home))
    project = service.create_project("bench", description="bench/train.py data")
    # Small chunks and one question per 20 characters: as many distinct pairs as the corpus gives.
    for key, value in (("split.min_length", "100"), ("split.max_length", "300"),
                       ("questions.chars_per_question", "20"), ("questions.max_per_chunk", "200")):
        service.set_setting(project.id, key, value)
    service.ingest(project.id, corpus_files())
    service.generate_questions(project.id, provider="extractive")
    service.generate_answers(project.id, provider="extractive")
    report = service.export(project.id, export_dir, format="llamafactory", include_all=True, force=True)
    info = json.loads((export_dir / "dataset_info.json").read_text(encoding="utf-8"))
    alpaca = next(entry["file_name"] for entry in info.values() if entry.get("formatting") == "alpaca")
    rows = json.loads((export_dir / alpaca).read_text(encoding="utf-8"))
    print(f"pipeline: {len(rows)} QA pairs from {len(corpus_files())} documents ({report.counts})")
    return rows


def ensure_data(pairs: int, rebuild: bool) -> tuple[Path, int]:
    """A dataset folder with `dataset_info.json` naming DATASET (alpaca); returns it and the unique pair count."""
    folder = OUT / f"data-{pairs}"
    meta = folder / "bench.json"
    if meta.is_file() and not rebuild:
        return folder, int(json.loads(meta.read_text(encoding="utf-8"))["unique"])
    import tempfile

    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = generate_pairs(Path(tmp) / "home", Path(tmp) / "export")
    if not rows:
        raise SystemExit("the pipeline made no QA pairs from the corpus")
    chosen = [rows[i % len(rows)] for i in range(pairs)]
    folder.mkdir(parents=True)
    (folder / "alpaca.json").write_text(json.dumps(chosen, ensure_ascii=False, indent=0), encoding="utf-8")
    info = {DATASET: {"file_name": "alpaca.json", "formatting": "alpaca",
                      "columns": {"prompt": "instruction", "query": "input", "response": "output"}}}
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    unique = min(len(rows), pairs)
    meta.write_text(json.dumps({"pairs": pairs, "unique": unique}), encoding="utf-8")
    return folder, unique


# ---------------------------------------------------------------- runs


def lf_python() -> Path:
    env = os.environ.get("LOREFORGE_LF_PYTHON")
    if env:
        return Path(env)
    local = ROOT / ".venv-lf" / "bin" / "python"
    return local if local.exists() else Path("/tmp/fci/main/.venv-lf/bin/python")


def python_for(tool: str) -> Path:
    return Path(sys.executable) if tool == "loreforge" else lf_python()


def probe_tool(tool: str) -> str:
    return "loreforge" if tool.startswith("loreforge") else tool


def train_config(args: argparse.Namespace, model: Path, data: Path, scenario: str, run_dir: Path) -> dict[str, Any]:
    """The shared YAML (LLaMA Factory keys; LoreForge reads the same; the TRL driver maps them)."""
    config: dict[str, Any] = {
        "model_name_or_path": str(model), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_rank": 8, "lora_alpha": 16, "lora_target": "all",
        "dataset": DATASET, "dataset_dir": str(data), "template": "qwen", "cutoff_len": args.cutoff_len,
        "overwrite_cache": True, "packing": scenario == "packing",
        "output_dir": str(run_dir / "output"), "overwrite_output_dir": True, "logging_steps": 1000,
        "save_strategy": "no", "report_to": "none",
        "per_device_train_batch_size": args.batch_size, "gradient_accumulation_steps": 1,
        "learning_rate": 1.0e-4, "num_train_epochs": float(args.epochs), "seed": 42, "bf16": False,
    }
    if args.max_steps:
        config["max_steps"] = args.max_steps
    return config


def child_env(tool: str, threads: int, run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    if tool == "loreforge-lfvenv":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[name] = str(threads)
    env |= {
        "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(run_dir / "hf_home"), "DISABLE_VERSION_CHECK": "1",
        "WANDB_DISABLED": "true", "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1",
    }
    env.pop("LOREFORGE_HOME", None)
    return env


def run_tool(tool: str, scenario: str, args: argparse.Namespace, model: Path, data: Path) -> dict[str, Any]:
    """One subprocess; returns the probe's figures, or {"error": ...} when the tool could not run."""
    python = python_for(tool)
    if not python.exists():
        return {"tool": tool, "error": f"no Python at {python} (set LOREFORGE_LF_PYTHON, or build the "
                                       "venv with `bash .ci/llamafactory-venv.sh`)", "skipped": True}
    run_dir = OUT / "runs" / f"{scenario}-{tool}"  # the last run of a tool stays there for inspection
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config_path = run_dir / "train.yaml"
    config_path.write_text(yaml.safe_dump(train_config(args, model, data, scenario, run_dir), sort_keys=False),
                           encoding="utf-8")
    result_path = run_dir / "result.json"
    cpu_before, own_before = cpu_seconds(), children_cpu()
    cmd = [str(python), str(PROBE), probe_tool(tool), str(config_path), "--result", str(result_path),
           "--threads", str(args.threads)]
    with (run_dir / "stdout.log").open("w") as out, (run_dir / "stderr.log").open("w") as err:
        proc = subprocess.run(cmd, stdout=out, stderr=err, env=child_env(tool, args.threads, run_dir), cwd=run_dir,
                              check=False, timeout=args.timeout)
    other = other_cpu_share(cpu_before, cpu_seconds(), children_cpu() - own_before)
    tail = (run_dir / "stderr.log").read_text(encoding="utf-8", errors="replace")[-STDERR_TAIL:]
    if not result_path.is_file():
        return {"tool": tool, "error": f"exit {proc.returncode}, no result; stderr tail:\n{tail}"}
    result = json.loads(result_path.read_text(encoding="utf-8")) | {"other_cpu_share": other}
    if result.get("error") or proc.returncode:
        result["error"] = f"exit {proc.returncode}; stderr tail:\n{tail}"
    return result | derived(result)


def derived(result: dict[str, Any]) -> dict[str, Any]:
    """Throughput from the probe's counts and transformers' train_runtime (the timed train() call if absent)."""
    runtime = result.get("metrics", {}).get("train_runtime") or result.get("train_wall_s")
    if not runtime or not result.get("steps"):
        return {}
    return {
        "runtime_s": runtime,
        "samples_per_s": result["examples"] / runtime,
        "tokens_per_s": result["tokens"] / runtime,
        "padding_share": 1 - result["tokens"] / result["padded"] if result["padded"] else 0.0,
    }


def run_scenario(scenario: str, tools: list[str], args: argparse.Namespace, model: Path,
                 data: Path) -> dict[str, dict[str, Any]]:
    """Every tool, `--repeat` rounds (the tools alternating within a round); each tool's fastest run is kept,
    the tokens/s and other-CPU share of all its runs listed under `rounds`."""
    best: dict[str, dict[str, Any]] = {}
    seen: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
    for round_ in range(args.repeat):
        for tool in tools:
            if best.get(tool, {}).get("skipped"):
                continue
            note = f" (round {round_ + 1}/{args.repeat})" if args.repeat > 1 else ""
            print(f"  running {scenario} / {LABELS[tool]}{note} ...", flush=True)
            result = run_tool(tool, scenario, args, model, data)
            seen[tool].append({"tokens_per_s": result.get("tokens_per_s"),
                               "other_cpu_share": result.get("other_cpu_share"), "error": bool(result.get("error"))})
            if tool not in best or result.get("tokens_per_s", 0) > best[tool].get("tokens_per_s", 0):
                best[tool] = result
    return {tool: best[tool] | {"rounds": seen[tool]} for tool in tools}


def cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all cores summed, from /proc/stat (Linux);
    None elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / tick, total / tick


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def other_cpu_share(before: tuple[float, float] | None, after: tuple[float, float] | None,
                    own_cpu_s: float) -> float | None:
    """Share of the machine's CPU capacity used by other processes while a run went on (our child's own CPU
    time taken out): 0 on a quiet machine, 0.5 when another process kept one of two cores busy."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return max(0.0, (after[0] - before[0] - own_cpu_s) / (after[1] - before[1]))


def machine_busy(seconds: float = 2.0) -> float | None:
    """Share of CPU capacity in use over `seconds`, before the runs start."""
    before = cpu_seconds()
    time.sleep(seconds)
    return other_cpu_share(before, cpu_seconds(), 0.0)


# ---------------------------------------------------------------- report


def print_table(scenario: str, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n== scenario: {scenario}")
    print(f"{'tool':16s} {'runtime s':>9s} {'samples/s':>9s} {'tokens/s':>9s} {'tokens':>8s} {'pad %':>6s} "
          f"{'steps':>5s} {'examples':>8s} {'peak RSS MB':>11s} {'wall s':>7s} {'other CPU':>9s} {'grad ckpt':>9s}")
    for tool, r in results.items():
        if "tokens_per_s" not in r:
            first = (r.get("error") or "no figures").strip().splitlines()
            print(f"{LABELS[tool]:16s} {'SKIPPED' if r.get('skipped') else 'FAILED'}: {first[0] if first else ''}")
            if not r.get("skipped"):
                print("\n".join("    " + line for line in (r.get("error") or "").splitlines()[-25:]))
            continue
        print(f"{LABELS[tool]:16s} {r['runtime_s']:9.1f} {r['samples_per_s']:9.2f} {r['tokens_per_s']:9.0f} "
              f"{r['tokens']:8d} {100 * r['padding_share']:6.1f} {r['steps']:5d} {r['examples']:8d} "
              f"{r['peak_rss_mb']:11.0f} {r['wall_s']:7.1f} {other_cpu(r):>9s} {_onoff(r.get('checkpointing')):>9s}")


def _onoff(value: bool | None) -> str:
    return "?" if value is None else ("on" if value else "off")


def print_rounds(results: dict[str, dict[str, Any]]) -> None:
    """With --repeat: every round's tokens/s (other CPU share), the table showing the fastest."""
    if not any(len(r.get("rounds", [])) > 1 for r in results.values()):
        return
    for tool, r in results.items():
        cells = [f"{x['tokens_per_s']:.0f} ({other_cpu(x)})" if x.get("tokens_per_s") else "failed"
                 for x in r.get("rounds", [])]
        print(f"  rounds {LABELS[tool]:16s} tokens/s (other CPU): {', '.join(cells)}")


def other_cpu(result: dict[str, Any]) -> str:
    share = result.get("other_cpu_share")
    return "?" if share is None else f"{100 * share:.0f}%"


def ratios(scenario: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = results.get("loreforge", {}).get("tokens_per_s")
    out: dict[str, Any] = {}
    for other in ("llamafactory", "trl"):
        if other not in results:
            continue
        theirs = results.get(other, {}).get("tokens_per_s")
        if not ours or not theirs:
            print(f"LoreForge / {LABELS[other]} tokens/s: n/a (a run failed or was skipped)")
            continue
        ratio = ours / theirs
        line = f"LoreForge / {LABELS[other]} tokens/s: {ratio:.2f}x"
        entry: dict[str, Any] = {"ratio": ratio}
        if other == "llamafactory":
            target = TARGETS[scenario]
            verdict = "PASS" if ratio >= target else "MISS"
            line += f"   target >= {target:.1f}: {verdict}"
            entry |= {"target": target, "verdict": verdict}
        print(line)
        out[other] = entry
    same = results.get("loreforge-lfvenv", {}).get("tokens_per_s")
    lf = results.get("llamafactory", {}).get("tokens_per_s")
    if same and lf:
        print(f"LoreForge@LF-venv / LLaMA Factory tokens/s (same libraries): {same / lf:.2f}x")
        out["loreforge-lfvenv_over_llamafactory"] = {"ratio": same / lf}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500, help="QA pairs to train on")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=0, help="cap the optimizer steps (0: whole epochs)")
    parser.add_argument("--cutoff-len", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="torch / OMP threads for every tool")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help=f"comma-separated, from {', '.join(TOOLS + EXTRA_TOOLS)}")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate-size", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the fastest is reported")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run before it is killed")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached model and data")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(scenarios) - set(SCENARIOS)) + sorted(set(tools) - set(TOOLS) - set(EXTRA_TOOLS))
    if unknown:
        raise SystemExit(f"unknown scenario or tool: {', '.join(unknown)}")
    if "packing" in scenarios and args.cutoff_len % 8:
        print(f"warning: cutoff_len {args.cutoff_len} is not a multiple of 8; LLaMA Factory packing without "
              "flash-attn fails then")

    shape = ModelShape(args.hidden_size, args.layers, args.heads, args.kv_heads, args.intermediate_size,
                       args.vocab_size)
    model = ensure_model(shape, args.rebuild)
    data, unique = ensure_data(args.pairs, args.rebuild)
    steps = f"max_steps {args.max_steps}" if args.max_steps else f"{args.epochs:g} epoch(s)"
    print(f"train benchmark: {args.pairs} pairs ({unique} unique from the corpus), {shape.key}, cutoff_len "
          f"{args.cutoff_len}, batch {args.batch_size}, {steps}, {args.threads} threads, fp32, LoRA r8 all-linear")
    print(f"LLaMA Factory / TRL python: {lf_python()}")
    busy = machine_busy()
    if busy is not None and busy > 0.1:
        print(f"warning: {100 * busy:.0f}% of the CPUs busy before the runs: other work on this machine skews the "
              "timings (watch the `other CPU` column; --repeat keeps each tool's fastest run)")

    report: dict[str, Any] = {
        "settings": vars(args) | {"unique_pairs": unique, "model": str(model), "data": str(data)},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "scenarios": {},
    }
    started = time.perf_counter()
    for scenario in scenarios:
        results = run_scenario(scenario, tools, args, model, data)
        print_table(scenario, results)
        print_rounds(results)
        report["scenarios"][scenario] = {"results": results, "ratios": ratios(scenario, results)}
    versions = {t: r["versions"] for s in report["scenarios"].values() for t, r in s["results"].items()
                if r.get("versions")}
    print("\nversions: " + "; ".join(f"{LABELS[tool]}: " + ", ".join(f"{name} {ver}" for name, ver in found.items())
                                     for tool, found in versions.items()))
    print(f"total bench time {time.perf_counter() - started:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"results: {OUT / 'train.json'}")


if __name__ == "__main__":
    main()
