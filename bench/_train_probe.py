"""One measured training run for `bench/train.py`: LoreForge, LLaMA Factory or TRL, in that tool's own Python.

`bench/train.py` starts this file once per tool and scenario, with the Python of the tool's virtual
environment (ours: `.venv`; LLaMA Factory and TRL: the LLaMA Factory venv). It imports nothing from loreforge at
module level, so it runs in an environment where loreforge is not installed.

Every tool is measured the same way, by wrapping two methods of the transformers `Trainer` class that all three
tools train through (LLaMA Factory's `CustomSeq2SeqTrainer` and TRL's `SFTTrainer` subclass it and call up to it):

- `Trainer.training_step` sees each batch as the model receives it and counts, before the step runs:
  tokens = `input_ids != pad_token_id` (the real tokens; padding — to the longest row, to a multiple of 8, or
  LLaMA Factory's packed rows padded to cutoff_len + 1 — is not counted, whatever the attention mask says),
  padded = every position (`input_ids.numel()`), rows, and examples = the answer spans in `labels` (runs of labels
  other than -100; one per single-turn example, packed or not).
- `Trainer.train` is timed, and its returned metrics kept (`train_runtime` is transformers' own figure: the
  training loop only, without model loading or data preprocessing).

The run's figures are written as JSON to `--result`, with the peak RSS of this process (and of any child it
started) from `resource.getrusage`, and the library versions. The tool's own output goes to stdout/stderr.

Tools: `loreforge` (`run_training` on the YAML), `llamafactory` (what `llamafactory-cli train YAML` runs:
`llamafactory.cli.main` with that argv, in process as on a single device), `trl` (`SFTTrainer` built from the
same YAML keys: see `run_trl`).

Run by `bench/train.py`; by hand: `PYTHON bench/_train_probe.py TOOL CONFIG.yaml --result OUT.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100
VERSIONED = ("torch", "transformers", "peft", "accelerate", "trl", "llamafactory", "datasets")
# LLaMA Factory's `qwen` template system text, given to TRL explicitly so that all three tools train on the
# same tokens (the tiny model's own chat template would otherwise put its shorter default system text in).
QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


@dataclass
class Meter:
    """What the wrapped `Trainer` methods saw."""

    tokens: int = 0
    padded: int = 0
    rows: int = 0
    examples: int = 0
    steps: int = 0
    first_step_at: float | None = None
    last_step_at: float | None = None
    step_seconds: list[float] = field(default_factory=list)  # each training_step call (forward + backward)
    train_wall_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    checkpointing: bool | None = None  # gradient checkpointing as the model trained (the tool's own decision)

    def count(self, inputs: Any, pad_token_id: int) -> None:
        ids = inputs["input_ids"]
        self.tokens += int((ids != pad_token_id).sum())
        self.padded += int(ids.numel())
        self.rows += int(ids.shape[0]) if ids.dim() > 1 else 1
        labels = inputs.get("labels")
        if labels is not None:
            self.examples += answer_spans(labels)
        self.steps += 1


def answer_spans(labels: Any) -> int:
    """Runs of trained labels (not -100) across the batch: one per single-turn example."""
    trained = labels != IGNORE_INDEX
    if trained.dim() == 1:
        trained = trained.unsqueeze(0)
    starts = trained.clone()
    starts[:, 1:] &= ~trained[:, :-1]
    return int(starts.sum())


def instrument(meter: Meter, pad_token_id: int) -> None:
    """Wrap `transformers.Trainer.training_step` (count the batch) and `Trainer.train` (time it)."""
    from transformers import Trainer

    original_step = Trainer.training_step
    original_train = Trainer.train

    def training_step(self: Any, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        meter.count(inputs, pad_token_id)
        start = time.perf_counter()
        if meter.first_step_at is None:
            meter.first_step_at = start
        out = original_step(self, model, inputs, *args, **kwargs)
        meter.last_step_at = time.perf_counter()
        meter.step_seconds.append(round(meter.last_step_at - start, 4))
        return out

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        args_ = self.args
        meter.checkpointing = bool(getattr(args_, "activation_checkpointing", False)
                                   or getattr(args_, "gradient_checkpointing", False)
                                   or getattr(self.model, "is_gradient_checkpointing", False))
        start = time.perf_counter()
        out = original_train(self, *args, **kwargs)
        meter.train_wall_s = time.perf_counter() - start
        meter.metrics = {k: v for k, v in dict(getattr(out, "metrics", None) or {}).items()
                         if isinstance(v, (int, float))}
        return out

    Trainer.training_step = training_step  # type: ignore[method-assign]
    Trainer.train = train  # type: ignore[method-assign]


def pin_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set once parallel work started
        pass


def pad_id_of(model_path: str) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(pad)


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux reports KiB


# ---------------------------------------------------------------- the three tools


def run_loreforge(config_path: Path) -> None:
    from loreforge.train import load_train_config
    from loreforge.train.trainer import run_training

    run_training(load_train_config(config_path), cwd=config_path.parent, log=print)


def run_llamafactory(config_path: Path) -> None:
    """Exactly what `llamafactory-cli train CONFIG` runs (the console script calls `llamafactory.cli.main`)."""
    from llamafactory.cli import main

    sys.argv = ["llamafactory-cli", "train", str(config_path)]
    try:
        main()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise


def trl_rows(dataset_dir: Path, name: str) -> list[dict[str, Any]]:
    """The alpaca rows of `dataset_info.json`'s entry `name` as TRL conversational prompt-completion rows, with
    LLaMA Factory's qwen system text, so the rendered tokens equal LLaMA Factory's `qwen` template."""
    info = json.loads((dataset_dir / "dataset_info.json").read_text(encoding="utf-8"))
    rows = json.loads((dataset_dir / info[name]["file_name"]).read_text(encoding="utf-8"))
    out = []
    for row in rows:
        user = "\n".join(part for part in (row.get("instruction"), row.get("input")) if part)
        out.append({
            "prompt": [{"role": "system", "content": QWEN_DEFAULT_SYSTEM}, {"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": row["output"]}],
        })
    return out


def run_trl(config_path: Path) -> None:
    """TRL `SFTTrainer` on the same YAML keys. Everything not set here is TRL 0.24's `SFTConfig` default
    (gradient checkpointing on, completion-only loss for prompt-completion data, bfd packing when `packing`)."""
    import torch
    import yaml
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    cfg = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(cfg["model_name_or_path"])
    model = AutoModelForCausalLM.from_pretrained(cfg["model_name_or_path"], dtype=torch.float32)
    dataset = Dataset.from_list(trl_rows(Path(cfg["dataset_dir"]), cfg["dataset"]))
    args = SFTConfig(
        output_dir=cfg["output_dir"], per_device_train_batch_size=cfg["per_device_train_batch_size"],
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"], learning_rate=float(cfg["learning_rate"]),
        num_train_epochs=float(cfg["num_train_epochs"]), max_steps=int(cfg.get("max_steps", -1)),
        max_length=cfg["cutoff_len"], packing=bool(cfg.get("packing")), seed=cfg["seed"],
        bf16=False, fp16=False, logging_steps=cfg["logging_steps"], save_strategy="no", report_to="none",
        use_cpu=not torch.cuda.is_available(),
    )
    peft_config = LoraConfig(r=cfg["lora_rank"], lora_alpha=cfg["lora_alpha"], lora_dropout=0.0,
                             target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config)
    trainer.train()


TOOLS = {"loreforge": run_loreforge, "llamafactory": run_llamafactory, "trl": run_trl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=sorted(TOOLS))
    parser.add_argument("config", type=Path)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    args = parser.parse_args()
    config_path = args.config.resolve()
    started = time.perf_counter()
    pin_threads(args.threads)
    import yaml

    model_path = yaml.safe_load(config_path.read_text(encoding="utf-8"))["model_name_or_path"]
    meter = Meter()
    instrument(meter, pad_id_of(model_path))
    error = None
    try:
        TOOLS[args.tool](config_path)
    except BaseException:  # noqa: BLE001 - reported to the bench, which carries on with the other tools
        error = traceback.format_exc()
        print(error, file=sys.stderr)
    import torch

    result = asdict(meter) | {
        "tool": args.tool, "error": error, "wall_s": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(),
        "threads": torch.get_num_threads(), "versions": versions(),
    }
    args.result.write_text(json.dumps(result, indent=2), encoding="utf-8")
    sys.exit(1 if error else 0)


if __name__ == "__main__":
    main()
