"""The trainer core: one SFT run from a `TrainConfig` on transformers' `Trainer` (+ peft for LoRA).

Fed by `config.py` (the run's keys), `data.py` (datasets, `encode`, `pack`), `templates.py` and `collate.py`;
writes into `output_dir` what LLaMA Factory writes: the adapter (peft format) or the full model, the tokenizer
with its chat template, checkpoints, `trainer_log.jsonl`, `training_loss.png` / `training_eval_loss.png`,
`train_results.json` / `eval_results.json` / `all_results.json` and `trainer_state.json`.

Choices, all as LLaMA Factory makes them unless said otherwise:
- Paths (`model_name_or_path` when it exists there, `dataset_dir`, `output_dir`) are relative to `cwd`.
- dtype (`load_dtype`): fp32 on CPU (`bf16`/`fp16` are ignored there, with a log line — CPU bf16 is ~9x slower
  here); on an accelerator, LoRA/freeze load the frozen weights in bf16/fp16 as set, else bf16 where supported
  and fp16 otherwise (trainable parameters upcast to fp32); full fine-tuning keeps fp32 weights with `bf16`/`fp16`
  autocast by the Trainer.
- `finetuning_type: freeze` trains the last `freeze_trainable_layers` decoder layers (default 2; negative: the
  first N), everything else frozen; LoRA `lora_target: all` is every `nn.Linear` but `lm_head`.
- `val_size` < 1 is a fraction, >= 1 a count of examples, split after a shuffle seeded with `seed`.
- Without `overwrite_output_dir`, an `output_dir` holding checkpoints resumes from the last complete one; a run
  executed again (`resume=True`: it failed, was cancelled or lost its worker) resumes whatever
  `overwrite_output_dir` says, or says in the log and its metrics that it starts over and why (`resume_point`).
  Resuming at step K drops the `trainer_log.jsonl` lines after K first, so each step is logged once.
- `logging_steps` unset: about 20 points per run (`auto_logging_steps`, decided when the total steps are known).
- The loss is computed on answer tokens only (`loss.py`): lm_head projects only the positions whose next token
  is trained — the same loss and gradients as transformers' causal-LM loss, less compute and memory.
- Gradient checkpointing left unset is decided from free memory (`memory.py`), not always on.
torch, transformers and peft are imported inside the functions only.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError, MissingDependency, NotFound, UserError
from loreforge.paths import writable_dir
from loreforge.train.config import LOGGING_STEPS_CAP, TrainConfig
from loreforge.train.data import IGNORE_INDEX, LoadedDataset, encode, load_dataset, pack
from loreforge.train.methods import apply_finetuning, param_summary
from loreforge.train.templates import ChatTemplate, get_template

logger = logging.getLogger(__name__)
ATTN_IMPLEMENTATION = {"auto": None, "sdpa": "sdpa", "fa2": "flash_attention_2", "fa3": "flash_attention_3",
                       "disabled": "eager"}


@dataclass(frozen=True)
class TrainResult:
    """What a run produced. `model` is the trained in-memory model, only when `return_model=True`."""

    output_dir: Path
    global_step: int
    train_loss: float | None
    eval_loss: float | None
    best_checkpoint: Path | None
    metrics: dict[str, Any]
    model: Any = field(default=None, repr=False, compare=False)


def _log_default(message: str) -> None:
    logger.info(message)


def _quiet(message: str) -> None:
    return None


def _require() -> None:
    import importlib

    for name in ("torch", "transformers", "peft", "accelerate"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependency(name, extra="train", purpose="training") from exc


def _resolve(path: str, cwd: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else cwd / p


# ---------------------------------------------------------------- model


# A hub model id as the Hugging Face Hub and ModelScope take it: `name` or `org/name`, letters, digits, `_.-`.
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?", re.ASCII)


def model_source(name_or_path: str, cwd: Path, revision: str = "main", cache_dir: str | None = None,
                 home: Path | None = None) -> str:
    """A local folder (relative to `cwd`); a GGUF file, as its converted folder cached under `home`
    (default LOREFORGE_HOME; `loreforge/train/gguf.py`); else a hub id: downloaded from ModelScope when
    `USE_MODELSCOPE_HUB=1` (as LLaMA Factory does: `revision` main is ModelScope's master), otherwise passed to
    transformers for the Hugging Face Hub / its cache."""
    from loreforge.train.gguf import default_home, looks_like_gguf, resolve_base_model

    local = _resolve(name_or_path, cwd)
    if looks_like_gguf(local):
        return resolve_base_model(str(local), home or default_home())
    if local.exists():
        return str(local)
    if not HUB_ID.fullmatch(name_or_path) or ".." in name_or_path or "--" in name_or_path:
        raise NotFound(
            f"No model folder at {local}: the path does not exist",
            expected="an existing local folder, or a hub model id such as `Qwen/Qwen2.5-0.5B-Instruct` (org/name)",
            got=repr(name_or_path), hint="Check the path in `model_name_or_path` (a relative path is read from "
            f"{cwd}), or give a hub id",
        )
    if os.environ.get("USE_MODELSCOPE_HUB", "0").lower() in ("1", "true", "yes", "y"):
        try:
            from modelscope import snapshot_download
        except ImportError as exc:
            raise MissingDependency("modelscope", purpose="downloading models from ModelScope (USE_MODELSCOPE_HUB=1)") from exc
        try:
            return str(snapshot_download(name_or_path, revision="master" if revision == "main" else revision,
                                         cache_dir=cache_dir))
        except Exception as exc:  # noqa: BLE001 - any hub failure becomes one clear error
            raise UserError(
                f"Cannot download `{name_or_path}` from ModelScope", got=f"{type(exc).__name__}: {exc}",
                hint="Check the model id and the network, or pass a local folder as `model_name_or_path`",
            ) from exc
    return name_or_path


def hub_options(config: TrainConfig) -> dict[str, Any]:
    """`from_pretrained` options from the config: remote code, cache folder and revision (LLaMA Factory's)."""
    options: dict[str, Any] = {"trust_remote_code": config.trust_remote_code, "revision": config.model_revision}
    if config.cache_dir:
        options["cache_dir"] = config.cache_dir
    return options


def load_dtype(config: TrainConfig, on_gpu: bool, bf16_supported: bool) -> str:
    """The dtype the weights load in (LLaMA Factory's `infer_dtype: auto`): fp32 on CPU and for full fine-tuning
    (fp32 master weights, bf16/fp16 by autocast); on a GPU for LoRA/freeze the frozen weights load in bf16 or fp16
    as set, else bf16 where supported and fp16 otherwise (trainable parameters are kept in fp32)."""
    if not on_gpu or config.finetuning_type == "full":
        return "float32"
    if config.bf16:
        return "bfloat16"
    if config.fp16:
        return "float16"
    return "bfloat16" if bf16_supported else "float16"


def load_model(config: TrainConfig, model_path: str, on_gpu: bool) -> tuple[Any, Any]:
    """Tokenizer and causal LM; a local folder or a hub id (passed to transformers as is)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = hub_options(config)
    tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
    bf16_ok = on_gpu and bool(torch.cuda.is_bf16_supported())
    dtype = getattr(torch, load_dtype(config, on_gpu, bf16_ok))
    attn = ATTN_IMPLEMENTATION[config.flash_attn]
    if attn:
        kwargs["attn_implementation"] = attn
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype, **kwargs)
    return tokenizer, model


# ---------------------------------------------------------------- data


Example = tuple[list[int], list[int]]
Features = list[dict[str, list[int]]]


SHOWN_PROBLEMS = 5  # dropped rows named one by one in the log; the rest are counted


def read_datasets(config: TrainConfig, cwd: Path, log: Callable[[str], None]) -> tuple[LoadedDataset, LoadedDataset | None]:
    """The train (and `eval_dataset`) rows, read before any weights load so a bad file fails in seconds. Rows
    LLaMA Factory would drop are dropped too, each named in the log with why."""
    if not config.datasets:
        raise ConfigError("No training data", expected="`dataset: NAME[,NAME...]` from dataset_info.json")
    dataset_dir = config.resolved_dataset_dir(cwd)
    train = load_dataset(config.datasets, dataset_dir, config.max_samples)
    evals = load_dataset(config.eval_datasets, dataset_dir, config.max_samples) if config.eval_datasets else None
    problems = train.problems + (evals.problems if evals else ())
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:SHOWN_PROBLEMS])
        more = f"\n  … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        log(f"skipped {len(problems)} dataset row(s) that cannot be trained on:\n{shown}{more}")
    if not train.conversations:
        raise UserError(f"No usable rows in dataset {', '.join(config.datasets)}", got=f"{train.skipped} dropped",
                        hint="See the reasons above; fix the rows or export the dataset again")
    return train, evals


def _encode_all(loaded: LoadedDataset, config: TrainConfig, tokenizer: Any, template: Any) -> list[Example]:
    examples = [
        encode(c, tokenizer, template, config.cutoff_len, config.train_on_prompt, config.mask_history)
        for c in loaded.conversations
    ]
    return [(ids, labels) for ids, labels in examples if any(x != IGNORE_INDEX for x in labels)]


def _features(examples: list[Example], config: TrainConfig) -> Features:
    if not config.use_packing:
        return [{"input_ids": ids, "labels": labels} for ids, labels in examples]
    rows, _ = pack(examples, config.cutoff_len)
    return [{"input_ids": r.input_ids, "labels": r.labels, "position_ids": r.position_ids} for r in rows]


def build_datasets(
    config: TrainConfig, loaded: tuple[LoadedDataset, LoadedDataset | None], tokenizer: Any, template: Any,
    log: Callable[[str], None],
) -> tuple[Features, Features | None]:
    """Encoded (and optionally packed) train features, and eval features from `val_size` or `eval_dataset`."""
    train = _encode_all(loaded[0], config, tokenizer, template)
    if len(train) < len(loaded[0].conversations):
        log(f"skipped {len(loaded[0].conversations) - len(train)} example(s) with no answer token left "
            f"within cutoff_len={config.cutoff_len}")
    if not train:
        raise UserError("No trainable examples", hint="Check the dataset and `cutoff_len`")
    log(describe_example(tokenizer, *train[0]))
    evals = _encode_all(loaded[1], config, tokenizer, template) if loaded[1] else None
    if config.val_size > 1e-6:
        random.Random(config.seed).shuffle(train)
        n = int(config.val_size) if config.val_size >= 1 else max(1, round(len(train) * config.val_size))
        if n >= len(train):
            raise ConfigError("`val_size` leaves no training examples", got=f"{n} of {len(train)}")
        evals, train = train[:n], train[n:]
    return _features(train, config), (_features(evals, config) if evals else None)


def describe_example(tokenizer: Any, input_ids: list[int], labels: list[int]) -> str:
    """LLaMA Factory's first-example log; label text shows each masked span as `[-100 x N]`."""
    parts: list[str] = []
    run: list[int] = []
    masked = 0
    for label in labels + [None]:  # type: ignore[list-item]
        if label == IGNORE_INDEX:
            if run:
                parts.append(tokenizer.decode(run, skip_special_tokens=False))
                run = []
            masked += 1
            continue
        if masked:
            parts.append(f"[-100 x {masked}]")
            masked = 0
        if label is not None:
            run.append(label)
    if run:
        parts.append(tokenizer.decode(run, skip_special_tokens=False))
    inputs = tokenizer.decode(input_ids, skip_special_tokens=False)
    return f"input_ids:\n{input_ids}\ninputs:\n{inputs}\nlabel_ids:\n{labels}\nlabels:\n{''.join(parts)}"


# ---------------------------------------------------------------- trainer


def _checkpointing_arguments(enabled: bool, arguments_class: Any) -> dict[str, Any]:
    """Gradient checkpointing under the name this transformers uses (`activation_checkpointing` in recent
    releases, `gradient_checkpointing` in older ones such as LLaMA Factory 0.9.5's 5.6), non-reentrant as LLaMA
    Factory sets it."""
    import inspect

    names = inspect.signature(arguments_class.__init__).parameters
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: enabled, f"{key}_kwargs": {"use_reentrant": False} if enabled else None}


def _checkpointing(config: TrainConfig, source: str, on_gpu: bool) -> Any:
    """Gradient checkpointing as set, or decided from memory when unset (`loreforge/train/memory.py`)."""
    from loreforge.train.memory import Checkpointing, decide_checkpointing, free_memory_bytes

    if config.gradient_checkpointing_choice is not None:
        return Checkpointing(config.gradient_checkpointing_choice, "set in the config")
    from transformers import AutoConfig

    model_config = AutoConfig.from_pretrained(source, **hub_options(config))
    autocast_16 = on_gpu and (config.bf16 or config.fp16)
    dtype_bytes = 2 if autocast_16 or load_dtype(config, on_gpu, True) != "float32" else 4
    return decide_checkpointing(None, model_config, config.per_device_train_batch_size, config.cutoff_len, dtype_bytes,
                                free_memory_bytes(on_gpu), full=config.finetuning_type == "full")


# `report_to` names and the packages transformers needs for them (any one of each tuple).
REPORTERS = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",), "mlflow": ("mlflow",),
             "comet_ml": ("comet_ml",), "clearml": ("clearml",), "swanlab": ("swanlab",), "trackio": ("trackio",)}


def preflight(config: TrainConfig, cwd: Path, output_dir: Path) -> None:
    """What a run needs besides the model and the data, checked before anything loads, so a problem is a clear
    error in seconds rather than a failure after the weights load (or after training, when saving): a writable
    `output_dir`, the DeepSpeed config file, and the packages that `deepspeed` and `report_to` need."""
    import importlib.util

    writable_dir(output_dir, hint="Point `output_dir` at a folder you can write, with room for checkpoints")

    if config.deepspeed:
        path = _resolve(config.deepspeed, cwd)
        if not path.is_file():
            raise NotFound(f"DeepSpeed config {path} does not exist",
                           hint="Point `deepspeed` at a JSON file such as examples/deepspeed/ds_z2_config.json")
        if importlib.util.find_spec("deepspeed") is None:
            raise MissingDependency("deepspeed", purpose="`deepspeed` in the training config")
    reporters = [config.report_to] if isinstance(config.report_to, str) else list(config.report_to)
    for name in reporters:
        packages = REPORTERS.get(name, ())
        if packages and not any(importlib.util.find_spec(p) is not None for p in packages):
            raise MissingDependency(packages[0], purpose=f"`report_to: {name}`")


def training_arguments(config: TrainConfig, output_dir: Path, has_eval: bool, on_gpu: bool, checkpointing: bool) -> Any:
    """transformers' TrainingArguments for the run, with gradient checkpointing as decided (`_checkpointing`)."""
    from transformers import TrainingArguments

    warmup: int | float = config.warmup_steps or min(config.warmup_ratio, 0.999999)
    eval_strategy = config.eval_strategy if has_eval else "no"
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir), learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type, warmup_steps=warmup,
        num_train_epochs=config.num_train_epochs, max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        logging_steps=config.logging_steps or LOGGING_STEPS_CAP, save_strategy=config.save_strategy, save_steps=config.save_steps,
        save_total_limit=config.save_total_limit, save_only_model=config.save_only_model,
        eval_strategy=eval_strategy, eval_steps=config.eval_steps,
        load_best_model_at_end=config.load_best_model_at_end and eval_strategy != "no",
        metric_for_best_model=config.metric_for_best_model, greater_is_better=config.greater_is_better,
        seed=config.seed, data_seed=config.seed, report_to=config.report_to,
        bf16=on_gpu and config.bf16, fp16=on_gpu and config.fp16, use_cpu=not on_gpu,
        deepspeed=config.deepspeed, dataloader_num_workers=config.dataloader_num_workers,
        ddp_timeout=config.ddp_timeout, remove_unused_columns=False,
        weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm, adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2, adam_epsilon=config.adam_epsilon,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        **_checkpointing_arguments(checkpointing, TrainingArguments),
        **({"optim": config.optim} if config.optim else {}),
        ddp_find_unused_parameters=False,  # every trainable parameter takes part in each step (LLaMA Factory's choice)
        prediction_loss_only=True,  # evaluation needs the loss only: no logits gathered across batches
    )
    kwargs.update(config.trainer_extras)  # transformers' own keys from the YAML, as written
    try:
        return TrainingArguments(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError("Invalid training arguments", got=str(exc)) from exc


@dataclass(frozen=True)
class ResumePoint:
    """Where a run starts: a checkpoint to continue from (and its step), or step 0. `note` says which and why, for
    the log and the run's progress and metrics; it is empty for a fresh run that nobody asked to resume."""

    checkpoint: Path | None = None
    step: int = 0
    note: str = ""

    def fields(self) -> dict[str, Any]:
        """What the run's progress and metrics carry about it."""
        if self.checkpoint is not None:
            return {"resumed_from_step": self.step, "resumed_from": str(self.checkpoint)}
        return {"started_over": self.note} if self.note else {}


def resume_point(config: TrainConfig, output_dir: Path, cwd: Path, log: Callable[[str], None],
                 resume: bool = False) -> ResumePoint:
    """Where the run starts. `resume` (a run executed again after it failed, was cancelled or lost its worker):
    from the last complete checkpoint in `output_dir` whatever `overwrite_output_dir` says, else from
    `resume_from_checkpoint`, else from step 0 with a note saying why. Otherwise as LLaMA Factory does:
    `resume_from_checkpoint`, else the last complete checkpoint unless `overwrite_output_dir`."""
    last = last_complete_checkpoint(output_dir, log) if output_dir.is_dir() and (resume or not config.overwrite_output_dir) else None
    if resume and last is not None:
        return _at(last, "this run is executed again, so it continues whatever `overwrite_output_dir` says")
    if config.resume_from_checkpoint:
        path = _resolve(config.resume_from_checkpoint, cwd)
        problem = checkpoint_problem(path)
        if problem:
            raise UserError(f"`resume_from_checkpoint` {path} cannot be resumed from", got=problem,
                            hint="Point it at a complete `checkpoint-N` folder, or remove the key to start afresh")
        return _at(path, "`resume_from_checkpoint`")
    if last is not None:
        return _at(last, "`overwrite_output_dir: false` (set it to true to start afresh)")
    if resume:
        return ResumePoint(note=f"Starting over from step 0: no complete checkpoint in {output_dir} ({_no_checkpoint_reason(config, output_dir)})")
    return ResumePoint()


def _at(checkpoint: Path, why: str) -> ResumePoint:
    step = _checkpoint_step(checkpoint)
    return ResumePoint(checkpoint, step, f"Resuming training from {checkpoint} at step {step}: {why}")


def _no_checkpoint_reason(config: TrainConfig, output_dir: Path) -> str:
    if any(output_dir.glob("checkpoint-*")):
        return "the checkpoints there are incomplete"
    if config.save_strategy == "no":
        return "`save_strategy: no` saves none"
    if config.save_strategy == "steps":
        return f"the previous attempt stopped before its first checkpoint (`save_steps: {config.save_steps}`)"
    return f"the previous attempt stopped before its first checkpoint (`save_strategy: {config.save_strategy}`)"


WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "adapter_model.bin", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def _checkpoint_step(path: Path) -> int:
    return int(json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))["global_step"])


def _safetensors_problem(path: Path) -> str | None:
    """None when the file is as long as its header says; a kill while it was written leaves it shorter."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            length = int.from_bytes(f.read(8), "little")
            if size < 8 + length:
                return f"{path.name} is cut short (its header alone needs {8 + length} bytes, the file has {size})"
            header = json.loads(f.read(length))
    except (OSError, ValueError) as exc:
        return f"{path.name} cannot be read ({exc})"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    expected = 8 + length + max(ends, default=0)
    return None if size >= expected else f"{path.name} is cut short ({size} of {expected} bytes)"


def _weights_problem(path: Path) -> str | None:
    files = [path / name for name in WEIGHT_FILES if (path / name).is_file()]
    for index in (path / name for name in WEIGHT_INDEXES if (path / name).is_file()):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError) as exc:
            return f"{index.name} cannot be read ({exc})"
        missing = sorted(s for s in shards if not (path / s).is_file())
        if missing:
            return f"shard {missing[0]} of {index.name} is missing"
        files += [path / s for s in sorted(shards)]
    if not files and not any(path.glob("global_step*")):  # DeepSpeed keeps its own `global_stepN` folder
        return "no model or adapter weights"
    for file in files:
        problem = _safetensors_problem(file) if file.suffix == ".safetensors" else None
        if problem:
            return problem
    return None


def checkpoint_problem(path: Path) -> str | None:
    """Why a checkpoint folder cannot be resumed from, or None when it is complete: its `trainer_state.json` (the
    Trainer writes it after the weights, optimizer and RNG state) reads as JSON with the step, and its weights
    are all there and as long as their headers say."""
    if not path.is_dir():
        return "no such folder"
    state = path / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the run stopped while saving it)"
    try:
        _checkpoint_step(path)
    except (OSError, ValueError, KeyError, TypeError):
        return "trainer_state.json is cut short or has no global_step (the run stopped while writing it)"
    return _weights_problem(path)


def last_complete_checkpoint(output_dir: Path, log: Callable[[str], None]) -> Path | None:
    """The newest `checkpoint-N` that is complete (`checkpoint_problem`); one cut short by a kill while it was
    saved is skipped, with a log line saying why."""
    found = []
    for path in output_dir.glob("checkpoint-*"):
        suffix = path.name.removeprefix("checkpoint-")
        if path.is_dir() and suffix.isascii() and suffix.isdigit():
            found.append((int(suffix), path))
    for _, path in sorted(found, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        log(f"Skipping {path}: incomplete — {problem}")
    return None


def best_checkpoint(
    output_dir: Path, log_history: list[dict[str, Any]], state_best: str | None
) -> tuple[Path | None, float | None]:
    """The checkpoint with the lowest eval loss still on disk (the Trainer's own pick when it made one)."""
    evals = [e for e in log_history if "eval_loss" in e]
    if not evals:
        return (Path(state_best) if state_best else None), None
    best = min(evals, key=lambda e: e["eval_loss"])
    if state_best:
        return Path(state_best), best["eval_loss"]
    path = output_dir / f"checkpoint-{best['step']}"
    return (path if path.is_dir() else None), best["eval_loss"]


@dataclass
class PreparedRun:
    """A transformers `Trainer` set up for one run, before `train()`."""

    trainer: Any
    output_dir: Path
    has_eval: bool


def build_trainer(config: TrainConfig, cwd: Path, say: Callable[[str], None],
                  on_progress: Callable[[dict[str, Any]], None] | None = None) -> PreparedRun:
    """Model, tokenizer and chat template, datasets, fine-tuning method and callbacks, in a `Trainer`."""
    import torch
    from transformers import EarlyStoppingCallback, Trainer, set_seed

    from loreforge.train.callbacks import make_auto_logging_callback, make_log_callback
    from loreforge.train.collate import SFTCollator
    from loreforge.train.loss import make_trainer_class
    from loreforge.train.optim import with_loraplus

    output_dir = _resolve(config.output_dir, cwd)
    on_gpu = torch.cuda.is_available()
    if not on_gpu and (config.bf16 or config.fp16):
        say("No GPU: training in fp32 (bf16/fp16 ignored on CPU)")
    set_seed(config.seed)
    # TrainingArguments before the model: with a DeepSpeed ZeRO-3 config this makes `from_pretrained` load the
    # weights already sharded across the processes (transformers' HfDeepSpeedConfig), not whole on each GPU.
    has_eval = bool(config.eval_datasets) or config.val_size > 1e-6
    preflight(config, cwd, output_dir)
    loaded = read_datasets(config, cwd, say)
    source = model_source(config.model_name_or_path, cwd, config.model_revision, config.cache_dir)
    checkpointing = _checkpointing(config, source, on_gpu)
    say(f"gradient checkpointing: {'on' if checkpointing.enabled else 'off'} ({checkpointing.reason})")
    args = training_arguments(config, output_dir, has_eval, on_gpu, checkpointing.enabled)
    tokenizer, model = load_model(config, source, on_gpu)
    template = get_template(config.template, tokenizer, default_system=config.default_system,
                            enable_thinking=config.enable_thinking)
    if isinstance(template, ChatTemplate):
        template.prepare_tokenizer(tokenizer)
        tokenizer.chat_template = template.jinja()  # saved with the model: prompts as in training
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))
    train_set, eval_set = build_datasets(config, loaded, tokenizer, template, say)
    say(f"train examples: {len(train_set)}, eval examples: {len(eval_set) if eval_set else 0}")
    model.config.use_cache = False
    model = apply_finetuning(model, config, cwd, say)
    if checkpointing.enabled and config.finetuning_type != "full":
        model.enable_input_require_grads()
    say(param_summary(model))
    callbacks = [make_log_callback(output_dir, say, on_progress)]
    if config.logging_steps is None:
        callbacks.append(make_auto_logging_callback(say))
    if config.early_stopping_steps:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_steps))
    trainer_class = make_trainer_class(Trainer)
    if config.loraplus_lr_ratio and config.finetuning_type == "lora":
        trainer_class = with_loraplus(trainer_class, config.loraplus_lr_ratio, config.loraplus_lr_embedding)
        say(f"LoRA+: lora_B learning rate x{config.loraplus_lr_ratio:g}")
    trainer = trainer_class(
        model=model, args=args,
        train_dataset=train_set, eval_dataset=eval_set, processing_class=tokenizer,
        data_collator=SFTCollator(tokenizer.pad_token_id), callbacks=callbacks,
    )
    return PreparedRun(trainer, output_dir, eval_set is not None)


def run_training(config: TrainConfig, *, cwd: Path | None = None, log: Callable[[str], None] | None = None,
                 return_model: bool = False, on_progress: Callable[[dict[str, Any]], None] | None = None,
                 resume: bool = False) -> TrainResult:
    """Fine-tune as configured and save everything into `output_dir`; see the module docstring.
    `on_progress` gets LLaMA Factory's progress fields (current_steps, total_steps, percentage, loss, ...) on the
    main process, at every log step and at most every few seconds in between, plus where the run started
    (`ResumePoint.fields`). `resume`: the run is executed again (it failed, was cancelled or lost its worker), so
    it continues from its last complete checkpoint whatever `overwrite_output_dir` says (`resume_point`)."""
    _require()
    from loreforge.train.callbacks import TRAINER_LOG, plot_loss, trim_log
    from loreforge.train.launch import is_main_process

    say = (log or _log_default) if is_main_process() else _quiet  # other ranks of a multi-process run stay quiet
    cwd = Path(cwd) if cwd else Path.cwd()
    start = resume_point(config, _resolve(config.output_dir, cwd), cwd, say, resume)
    if start.note:
        say(start.note)
    if start.checkpoint is not None and is_main_process():
        dropped = trim_log(_resolve(config.output_dir, cwd) / TRAINER_LOG, start.step)
        if dropped:
            say(f"{TRAINER_LOG}: dropped {dropped} line(s) after step {start.step}, logged by the attempt that stopped; "
                "those steps are trained and logged again")
    report = None if on_progress is None else (lambda record: on_progress({**record, **start.fields()}))
    run = build_trainer(config, cwd, say, report)
    trainer, output_dir = run.trainer, run.output_dir
    outcome = trainer.train(resume_from_checkpoint=str(start.checkpoint) if start.checkpoint else None)
    trainer.save_model()
    metrics: dict[str, Any] = dict(outcome.metrics) | start.fields()
    trainer.save_metrics("train", outcome.metrics)
    trainer.save_state()
    eval_loss = None
    if run.has_eval:
        eval_metrics = trainer.evaluate()
        trainer.save_metrics("eval", eval_metrics)
        metrics |= eval_metrics
        eval_loss = eval_metrics.get("eval_loss")
    best, best_loss = best_checkpoint(output_dir, trainer.state.log_history, trainer.state.best_model_checkpoint)
    if best_loss is not None:
        metrics["best_eval_loss"] = best_loss
        say(f"best checkpoint: {best} (eval_loss {best_loss:.4f})")
    if trainer.is_world_process_zero():
        plot_loss(output_dir, trainer.state.log_history)
    return TrainResult(output_dir, trainer.state.global_step, metrics.get("train_loss"), eval_loss, best, metrics,
                       trainer.model if return_model else None)
