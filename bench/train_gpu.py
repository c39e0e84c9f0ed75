"""Benchmark: tokens/s and MFU of LoreForge's trainer on a random model of Qwen2.5-0.5B's shape (GPU machines).

Nothing is downloaded. The model is a randomly initialised `Qwen2ForCausalLM` with Qwen2.5-0.5B's config.json
shape — hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied embeddings,
rope theta 1e6, RMSNorm eps 1e-6: 494M parameters — saved in bf16 with our tiny-model tokenizer (trained on the
corpus; ~8k tokens, so only the first ids of the 151936-row embedding are ever looked up, which changes no FLOPs).
`--small` uses a much smaller shape and a few steps so the script can be smoke-tested on a CPU.

Data: alpaca rows cut from the financial corpus in ../shared/corpus/financial-2024q2 (or, where that folder is
absent, the example documents bundled in loreforge/examples): a 64-character instruction and the next
`--example-chars` characters as the answer, windows overlapping round the text as often as needed. Packed
(`packing: true`, rows of up to `--seq-len` tokens) unless `--no-packing`.

Each mode (`--modes full,lora`) and attention choice (`--attn auto,sdpa`; also fa2, fa3, disabled, as the
`flash_attn` key) runs `run_training` in its own subprocess: bf16 when the device supports it (fp16 on older
GPUs, fp32 on CPU), LoRA rank 8 on all linear layers, gradient checkpointing `--gradient-checkpointing auto`
(our default: decided from free memory, logged by the trainer), `on` or `off`, `--steps` optimizer steps of
`--batch-size` rows.

Timing: the first `--warmup` steps are left out; the clock runs from the start of step `warmup` to the start of
the last step (the device synchronised at both points, and nowhere else), so it covers whole steps: data loading,
forward, backward and the optimizer. Tokens are the real (non-padding) tokens of those steps, counted on the
device without synchronising.

MFU = achieved model FLOPs/s / peak FLOPs/s. Model FLOPs per token: 6 x N for full fine-tuning, where N is the
parameters of every matmul but lm_head (nn.Linear weights; the input embedding lookup is not a matmul); for
LoRA, 4 x N_frozen + 6 x N_adapter (frozen weights need no weight gradient). lm_head counts only at the
positions whose next token is trained, the only ones our trainer projects (loreforge/train/loss.py). Plus attention:
12 x layers x hidden x len^2 per sequence (QK^T and AV, forward and backward; counted without the causal halving,
as in the PaLM paper), with len each packed example's own length. Gradient-checkpointing recomputation is not
counted (that would be hardware FLOPs utilisation). "MFU 6N" also prints the conventional 6 x N (lm_head
included) at every token + attention, for comparison with figures quoted elsewhere; it overstates our work. Peak: `--peak-tflops`, else a table of dense bf16 tensor-core peaks by device name (H100/H200 SXM
989, A100 312, ...). Hygon DCU and other devices not in the table: pass `--peak-tflops` (the vendor's dense
bf16/fp16 figure for your card).

Run by hand:

    .venv/bin/python bench/train_gpu.py [--modes full,lora] [--attn auto,sdpa] [--seq-len 1024]
        [--batch-size 8] [--steps 30] [--warmup 5] [--peak-tflops 989] [--no-packing]
    .venv/bin/python bench/train_gpu.py --small          # CPU smoke test, a minute or two
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from train import ModelShape  # bench/train.py: the same model shape (this folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "financial-2024q2"
EXAMPLES = ROOT / "loreforge" / "examples"
DATASET = "gpu_bench"
CHECKPOINTING: dict[str, dict[str, bool]] = {
    "auto": {}, "on": {"gradient_checkpointing": True}, "off": {"disable_gradient_checkpointing": True},
}
# Dense (no sparsity) bf16 tensor-core peaks in TFLOPS, matched as substrings of the device name, longest first.
PEAK_TFLOPS = {
    "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.4, "H200": 989.4, "H800": 989.4, "H20": 148.0,
    "GH200": 989.4, "B200": 2250.0, "A100": 312.0, "A800": 312.0, "A10G": 70.0, "A10": 125.0, "A30": 165.0,
    "A40": 149.7, "L40S": 362.0, "L40": 181.0, "L4": 121.0, "RTX 4090": 165.2, "RTX 3090": 71.0,
    "V100": 125.0, "T4": 65.0, "MI300X": 1307.4, "MI250X": 383.0, "MI210": 181.0,
}


QWEN25_05B = ModelShape(hidden_size=896, layers=24, heads=14, kv_heads=2, intermediate_size=4864, vocab_size=151936)
SMALL = ModelShape(hidden_size=128, layers=2, heads=4, kv_heads=2, intermediate_size=256, vocab_size=8192)


# ---------------------------------------------------------------- model, tokenizer, data


def text_sources() -> list[Path]:
    folder = CORPUS if CORPUS.is_dir() else EXAMPLES
    files = sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt") and p.name != "SOURCE.md")
    if not files:
        raise SystemExit(f"no text in {folder}")
    return files


def build_model(folder: Path, shape: ModelShape) -> dict[str, int]:
    """A random Qwen2 model of `shape` (bf16 safetensors) and our tiny tokenizer, in `folder`."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from loreforge.train.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        build_tiny_model(Path(tmp) / "tok", text_sources(), vocab_size=8192, overwrite=True)
        tokenizer = AutoTokenizer.from_pretrained(Path(tmp) / "tok")
    tokenizer.save_pretrained(folder)
    ids = {"bos_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"), "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    config = Qwen2Config(
        vocab_size=max(shape.vocab_size, len(tokenizer)), hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads, max_position_embeddings=32768,
        rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False, **ids,
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
    total = sum(p.numel() for p in model.parameters())
    del model
    return {"parameters": total, "tokenizer_size": len(tokenizer)}


def write_data(folder: Path, rows: int, example_chars: int) -> None:
    """`rows` alpaca examples cut from the corpus, and the `dataset_info.json` naming them DATASET."""
    text = "".join(p.read_text(encoding="utf-8") for p in text_sources())
    text = " ".join(text.split())
    span = 64 + example_chars
    stride = max(1, (len(text) - span) // 97) if len(text) > span else 1
    out = []
    for i in range(rows):
        start = (i * stride) % max(1, len(text) - span)
        piece = text[start:start + span]
        out.append({"instruction": piece[:64], "input": "", "output": piece[64:]})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    info = {DATASET: {"file_name": "data.json", "formatting": "alpaca"}}
    (folder / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")


# ---------------------------------------------------------------- measurement (in the child)


@dataclass
class Clock:
    """Step timing and token counts, filled by the wrapped `Trainer.training_step`."""

    warmup: int
    last: int
    sync: Any
    pad_token_id: int
    step: int = 0
    started: float | None = None
    stopped: float | None = None
    tokens: Any = 0  # device tensors summed lazily: no host synchronisation per step
    attention_len2: Any = 0  # sum over sequences of len^2 (real tokens)
    trained: Any = 0  # positions whose next token is trained: the only ones lm_head projects in our trainer

    def on_step(self, inputs: Any) -> None:
        if self.step == self.warmup:
            self.sync()
            self.started = time.perf_counter()
        if self.step == self.last:
            self.sync()
            self.stopped = time.perf_counter()
        if self.warmup <= self.step < self.last:
            tokens, len2 = batch_counts(inputs, self.pad_token_id)
            self.tokens = self.tokens + tokens
            self.attention_len2 = self.attention_len2 + len2
            self.trained = self.trained + (inputs["labels"][:, 1:] != -100).sum()
        self.step += 1


def batch_counts(inputs: Any, pad_token_id: int) -> tuple[Any, Any]:
    """Real tokens, and the sum of squared sequence lengths: with `position_ids` restarting at 0 per packed
    example, sum over real tokens of (2 * position + 1) equals sum over examples of length^2."""
    import torch

    ids = inputs["input_ids"]
    real = ids != pad_token_id
    positions = inputs.get("position_ids")
    if positions is None:
        positions = torch.arange(ids.shape[-1], device=ids.device).expand_as(ids)
    len2 = ((2 * positions + 1) * real).sum()
    return real.sum(), len2


def instrument(clock: Clock) -> None:
    from transformers import Trainer

    original = Trainer.training_step

    def training_step(self: Any, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        clock.on_step(inputs)
        return original(self, model, inputs, *args, **kwargs)

    Trainer.training_step = training_step  # type: ignore[method-assign]


def matmul_params(model: Any) -> tuple[int, int, int, bool]:
    """(frozen, trainable) parameters of every nn.Linear weight but lm_head (LoRA A/B included), then lm_head's
    parameters and whether they train."""
    import torch

    head = model.get_output_embeddings()
    frozen = trainable = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and module is not head:
            n = module.weight.numel()
            if module.weight.requires_grad:
                trainable += n
            else:
                frozen += n
    head_params = head.weight.numel() if head is not None else 0
    return frozen, trainable, head_params, bool(head is not None and head.weight.requires_grad)


def device_info() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"device": torch.cuda.get_device_name(0), "kind": "rocm" if torch.version.hip else "cuda",
                "dtype": "bf16" if bf16 else "fp16"}
    return {"device": "cpu", "kind": "cpu", "dtype": "fp32"}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One run of our trainer, measured; returns the figures."""
    import torch
    from transformers import AutoTokenizer

    from loreforge.train import load_train_config
    from loreforge.train.trainer import run_training

    info = device_info()
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    pad = AutoTokenizer.from_pretrained(spec["model"]).pad_token_id
    clock = Clock(warmup=spec["warmup"], last=spec["steps"] - 1, sync=sync, pad_token_id=pad)
    instrument(clock)
    config = load_train_config({
        "model_name_or_path": spec["model"], "stage": "sft", "do_train": True,
        "finetuning_type": spec["mode"], "lora_rank": 8, "lora_target": "all",
        "dataset": DATASET, "dataset_dir": spec["data"], "template": "qwen", "cutoff_len": spec["seq_len"],
        "packing": spec["packing"], **CHECKPOINTING[spec["gradient_checkpointing"]],
        "flash_attn": spec["attn"], "output_dir": spec["output"], "overwrite_output_dir": True,
        "per_device_train_batch_size": spec["batch_size"], "gradient_accumulation_steps": 1,
        "learning_rate": 1e-5 if spec["mode"] == "full" else 1e-4, "max_steps": spec["steps"],
        "logging_steps": 1000, "save_strategy": "no", "report_to": "none", "seed": 42,
        "bf16": info["dtype"] == "bf16", "fp16": info["dtype"] == "fp16",
    })
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = run_training(config, log=lambda _m: None, return_model=True)
    frozen, trainable, head, head_trains = matmul_params(result.model)
    seconds = (clock.stopped or 0.0) - (clock.started or 0.0)
    return info | {
        "mode": spec["mode"], "attn": spec["attn"], "steps_timed": clock.last - clock.warmup,
        "seconds": seconds, "tokens": int(clock.tokens), "attention_len2": int(clock.attention_len2),
        "frozen_matmul_params": frozen, "trainable_matmul_params": trainable, "lm_head_params": head,
        "lm_head_trains": head_trains, "trained_positions": int(clock.trained),
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "trainable_parameters": sum(p.numel() for p in result.model.parameters() if p.requires_grad),
        "attn_implementation": getattr(result.model.config, "_attn_implementation", None),
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
    }


# ---------------------------------------------------------------- FLOPs and report


def flops(r: dict[str, Any], shape: ModelShape) -> tuple[float, float]:
    """(model FLOPs of the work done, conventional 6N FLOPs), attention term included in both. The work done
    counts lm_head only at trained positions (our trainer projects no prompt logits); 6N counts it everywhere."""
    attention = 12 * shape.layers * shape.hidden_size * r["attention_len2"]
    head = r["lm_head_params"]
    n_all = r["frozen_matmul_params"] + r["trainable_matmul_params"] + head
    plain = 6 * n_all * r["tokens"] + attention
    head_flops = (6 if r["lm_head_trains"] else 4) * head * r["trained_positions"]
    if r["mode"] == "full":
        body = 6 * (r["frozen_matmul_params"] + r["trainable_matmul_params"]) * r["tokens"]
    else:
        body = (4 * r["frozen_matmul_params"] + 6 * r["trainable_matmul_params"]) * r["tokens"]
    return body + head_flops + attention, plain


def default_peak(device: str) -> float | None:
    for name in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if name.lower() in device.lower():
            return PEAK_TFLOPS[name]
    return None


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"mode": spec["mode"], "attn": spec["attn"], "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        return {"mode": spec["mode"], "attn": spec["attn"], "error": proc.stderr[-3000:]}
    return json.loads(lines[-1])


def report(results: list[dict[str, Any]], shape: ModelShape, peak_tflops: float | None) -> None:
    print(f"{'mode':5s} {'attn':9s} {'impl':18s} {'dtype':5s} {'tokens/s':>10s} {'TFLOP/s':>8s} {'MFU':>6s} "
          f"{'MFU 6N':>6s} {'step s':>7s} {'peak GPU GB':>11s}")
    for r in results:
        if r.get("error"):
            tail = r["error"].strip().splitlines()[-6:]
            print(f"{r['mode']:5s} {r['attn']:9s} FAILED:\n" + "\n".join("    " + line for line in tail))
            continue
        model_flops, plain_flops = flops(r, shape)
        seconds = max(r["seconds"], 1e-9)
        r |= {"tokens_per_s": r["tokens"] / seconds, "tflops": model_flops / seconds / 1e12,
              "tflops_6n": plain_flops / seconds / 1e12}
        peak = peak_tflops or default_peak(r["device"])
        r["peak_tflops"] = peak
        r["mfu"] = r["tflops"] / peak if peak else None
        r["mfu_6n"] = r["tflops_6n"] / peak if peak else None
        mfu = f"{100 * r['mfu']:5.1f}%" if peak else "   n/a"
        mfu6 = f"{100 * r['mfu_6n']:5.1f}%" if peak else "   n/a"
        gpu = f"{r['peak_gpu_gb']:11.1f}" if r["peak_gpu_gb"] is not None else f"{'-':>11s}"
        print(f"{r['mode']:5s} {r['attn']:9s} {str(r['attn_implementation']):18s} {r['dtype']:5s} "
              f"{r['tokens_per_s']:10.0f} {r['tflops']:8.2f} {mfu} {mfu6} {seconds / r['steps_timed']:7.3f} {gpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="full,lora")
    parser.add_argument("--attn", default="auto,sdpa", help="flash_attn values, comma-separated")
    parser.add_argument("--seq-len", type=int, default=1024, help="cutoff_len (packed row length)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--example-chars", type=int, default=600, help="answer length of each example (characters)")
    parser.add_argument("--no-packing", action="store_true")
    parser.add_argument("--gradient-checkpointing", choices=sorted(CHECKPOINTING), default="auto",
                        help="auto: as our trainer decides from free memory (the default for users)")
    parser.add_argument("--peak-tflops", type=float, help="device peak (dense bf16/fp16); required for DCU")
    parser.add_argument("--small", action="store_true", help="tiny shape, few steps: a CPU smoke test")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.small:
        args.seq_len, args.batch_size, args.example_chars = 128, 4, 40
        args.steps, args.warmup = min(args.steps, 6), min(args.warmup, 2)
    if args.steps < args.warmup + 2:
        raise SystemExit("--steps must be at least --warmup + 2")
    shape = SMALL if args.small else QWEN25_05B
    tmp = Path(tempfile.mkdtemp(prefix="lf-gpu-bench-"))
    try:
        started = time.perf_counter()
        built = build_model(tmp / "model", shape)
        rows = args.steps * args.batch_size * max(1, args.seq_len // 200) + 64
        write_data(tmp / "data", rows, args.example_chars)
        info = device_info()
        print(f"train_gpu: {info['device']} ({info['kind']}, {info['dtype']}); random Qwen2 {asdict(shape)}: "
              f"{built['parameters'] / 1e6:.1f}M parameters (built in {time.perf_counter() - started:.0f} s); "
              f"seq_len {args.seq_len}, batch {args.batch_size}, {args.steps} steps ({args.warmup} warm-up), "
              f"packing {'off' if args.no_packing else 'on'}, gradient checkpointing {args.gradient_checkpointing}")
        peak = args.peak_tflops or default_peak(info["device"])
        if info["kind"] != "cpu" and not peak:
            print(f"no peak FLOPS known for '{info['device']}': pass --peak-tflops (for a Hygon DCU, its dense "
                  "bf16/fp16 figure) to get MFU")
        results = []
        for mode in [m for m in args.modes.split(",") if m]:
            for attn in [a for a in args.attn.split(",") if a]:
                spec = {"model": str(tmp / "model"), "data": str(tmp / "data"), "output": str(tmp / f"out-{mode}"),
                        "mode": mode, "attn": attn, "seq_len": args.seq_len, "batch_size": args.batch_size,
                        "steps": args.steps, "warmup": args.warmup, "packing": not args.no_packing,
                        "gradient_checkpointing": args.gradient_checkpointing}
                results.append(run_child(spec, args.timeout))
                shutil.rmtree(tmp / f"out-{mode}", ignore_errors=True)
        report(results, shape, args.peak_tflops)
        print(f"peak used: {peak if peak else 'none'} TFLOPS; total {time.perf_counter() - started:.0f} s")
        if args.json:
            args.json.write_text(json.dumps({"shape": asdict(shape), "settings": vars(args), "results": results},
                                            indent=2, default=str), encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
