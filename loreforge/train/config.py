"""Training configuration: LLaMA Factory's SFT YAML keys, with their names, meanings and defaults.

Fed by a user's YAML file (or the bundle's `train_lora.yaml` from `loreforge/export/llamafactory.py`);
feeds the data stage (`loreforge/train/data.py`) and the trainer.

Defaults mirror LLaMA Factory (`src/llamafactory/hparams/{data,finetuning,model,training}_args.py`) and the
transformers `TrainingArguments` it pins (5.6): `cutoff_len` 2048, `lora_rank` 8, `lora_alpha` None (read as
2 x `lora_rank`), `lora_target` "all", `learning_rate` 5e-5, `num_train_epochs` 3.0, batch sizes 8,
`save_steps` 500 (`logging_steps` unset: see below), `seed` 42, `report_to` "none", `eval_strategy` "no".

Differences from a plain reading of the YAML, all on purpose and all as LLaMA Factory behaves:

- `dataset_dir` is resolved against the **current working directory**, not the YAML file's folder
  (`resolved_dataset_dir`), because that is what `llamafactory-cli train` does.
- `eval_strategy: no` written unquoted is read by YAML 1.1 as `False`; it is accepted as "no" (and `save_strategy`
  likewise).
- `gradient_checkpointing` left unset is decided from memory (`gradient_checkpointing_choice` is None): on
  when the activations would not fit comfortably, as LLaMA Factory always does, off when they do — a deliberate
  difference for speed (`loreforge/train/memory.py`); `disable_gradient_checkpointing: true` turns it off.
- `neat_packing: true` implies packing; `packing` unset means off for SFT (`use_packing`).
- `mask_history` with `train_on_prompt` is an error, as in LLaMA Factory's `DataArguments.__post_init__`.
- `logging_steps` left unset is decided when the trainer knows the run's total steps (`auto_logging_steps`): every
  run's loss chart gets about `LOGGING_POINTS` points, at most one every `LOGGING_STEPS_CAP` (LLaMA Factory's 500)
  — a deliberate difference: LLaMA Factory's fixed 500 logs nothing on a small dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loreforge.errors import ConfigError
from loreforge.train.lf_keys import sort_extra_keys

FinetuningType = Literal["lora", "full", "freeze"]
FlashAttn = Literal["auto", "sdpa", "fa2", "fa3", "disabled"]


LOGGING_POINTS = 20  # points on the loss chart a run gets when `logging_steps` is unset
LOGGING_STEPS_CAP = 500  # ... logging at most every this many steps (LLaMA Factory's default `logging_steps`)


def auto_logging_steps(total_steps: int, cap: int = LOGGING_STEPS_CAP) -> int:
    """`logging_steps` for a run of `total_steps` optimisation steps: about `LOGGING_POINTS` logged points (every
    step when the run is shorter), never sparser than one every `cap` steps."""
    return max(1, min(cap, total_steps // LOGGING_POINTS))


def split_names(value: str | None) -> list[str]:
    """LLaMA Factory's `split_arg`: a comma list with spaces stripped; None is the empty list."""
    if value is None:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


class TrainConfig(BaseModel):
    """One SFT run, keyed exactly as LLaMA Factory's YAML."""

    # Other keys reach here only through `load_train_config`, which lets pass just transformers' TrainingArguments
    # fields (`trainer_extras`); see `loreforge/train/lf_keys.py`.
    model_config = ConfigDict(extra="allow", frozen=True)

    # model
    model_name_or_path: str = Field(
        description="The base model: a local folder, a hub id (org/name) or a .gguf file (converted once)")
    cache_dir: str | None = None
    model_revision: str = "main"
    flash_attn: FlashAttn = "auto"
    disable_gradient_checkpointing: bool = False
    trust_remote_code: bool = False
    # method
    stage: Literal["sft"] = "sft"
    do_train: bool = False
    finetuning_type: FinetuningType = Field("lora",
        description="lora: small adapter matrices (the base frozen); full: every weight; freeze: only the last layers")
    lora_rank: int = Field(8, ge=1, description="LoRA: the adapter matrices' rank (more capacity, more memory)")
    lora_alpha: int | None = Field(None, ge=1,
        description="LoRA: scaling of the adapter's update (unset: 2 x lora_rank)")
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA: dropout on the adapter's input")
    lora_target: str = Field("all",
        description="LoRA: modules that get adapters, comma-separated (all: every linear layer but lm_head)")
    use_rslora: bool = False
    use_dora: bool = False
    loraplus_lr_ratio: float | None = Field(None, ge=0.0,
        description="LoRA+: lora_B learning rate = learning_rate x ratio")
    loraplus_lr_embedding: float = Field(1e-6, gt=0.0)
    additional_target: str | None = None
    adapter_name_or_path: str | None = None
    create_new_adapter: bool = False
    freeze_trainable_layers: int = Field(2,
        description="freeze: train the last N decoder layers (negative: the first N)")
    freeze_trainable_modules: str = "all"
    freeze_extra_modules: str | None = None
    # dataset
    dataset: str | None = Field(None, description="Dataset names in dataset_info.json, comma-separated")
    dataset_dir: str = Field("data",
        description="Folder holding dataset_info.json (relative: to the working directory, as LLaMA Factory reads it)")
    eval_dataset: str | None = Field(None,
        description="Validation dataset names in dataset_info.json (instead of val_size)")
    template: str | None = Field(None,
        description="Chat template of the examples: qwen, llama3, chatml, mistral, glm4, default; unset: the tokenizer's own")
    default_system: str | None = None
    enable_thinking: bool = True
    cutoff_len: int = Field(2048, ge=1,
        description="Longest example in tokens; longer ones are cut (the answer kept whole when it fits in half)")
    max_samples: int | None = Field(None, ge=1, description="Use at most this many examples of each dataset")
    val_size: float = Field(0.0, ge=0.0, description="Examples held out for the eval loss: a fraction (< 1) or a count")
    preprocessing_num_workers: int | None = Field(None, ge=1)
    packing: bool | None = Field(None,
        description="Concatenate examples into cutoff_len rows (attention kept within each example)")
    neat_packing: bool = False
    overwrite_cache: bool = False
    train_on_prompt: bool = False
    mask_history: bool = False
    # output
    output_dir: str = Field("trainer_output",
        description="Folder for the adapter or model, checkpoints, logs and plots")
    overwrite_output_dir: bool = Field(False,
        description="Start afresh even when output_dir holds checkpoints (false: resume from the last)")
    logging_steps: int | float | None = Field(None, gt=0,
        description="unset: chosen from the total steps (auto_logging_steps)")
    save_steps: int | float = Field(500, gt=0,
        description="Save a checkpoint every N steps (what a stopped run resumes from)")
    save_strategy: Literal["no", "steps", "epoch", "best"] = "steps"
    save_total_limit: int | None = Field(None, ge=1,
        description="Keep at most this many checkpoints (the best one is kept)")
    plot_loss: bool = False
    save_only_model: bool = False
    report_to: str | list[str] = "none"
    # train
    per_device_train_batch_size: int = Field(8, ge=1, description="Examples per step on each device")
    per_device_eval_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1,
        description="Steps whose gradients add up before one update (effective batch = batch x this x devices)")
    learning_rate: float = Field(5e-5, gt=0.0,
        description="Peak learning rate (LoRA ~1e-4, full fine-tuning ~1e-5 to 5e-5)")
    num_train_epochs: float = Field(3.0, gt=0.0, description="Passes over the training set")
    max_steps: int = Field(-1, description="Stop after this many updates (-1: run the epochs)")
    lr_scheduler_type: str = Field("linear",
        description="How the learning rate changes: linear, cosine, constant, constant_with_warmup, ...")
    warmup_ratio: float = Field(0.0, ge=0.0, le=1.0, description="Share of the steps the learning rate warms up over")
    warmup_steps: int | float = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, ge=0.0)
    optim: str | None = None  # transformers' default (fused AdamW on torch >= 2.8)
    adam_beta1: float = Field(0.9, ge=0.0, lt=1.0)
    adam_beta2: float = Field(0.999, ge=0.0, lt=1.0)
    adam_epsilon: float = Field(1e-8, gt=0.0)
    group_by_length: bool = False
    bf16: bool = Field(False, description="Train in bfloat16 on an accelerator that supports it (ignored on CPU)")
    fp16: bool = Field(False, description="Train in float16 on an accelerator (ignored on CPU)")
    gradient_checkpointing: bool | None = None
    seed: int = Field(42, description="Random seed (data order, validation split, initialisation)")
    resume_from_checkpoint: str | None = None
    deepspeed: str | None = Field(None,
        description="A DeepSpeed config file (ZeRO stage, offload), e.g. examples/deepspeed/ds_z2_config.json")
    dataloader_num_workers: int = Field(0, ge=0)
    ddp_timeout: int = Field(1800, ge=1)
    # eval
    do_eval: bool = False
    eval_strategy: Literal["no", "steps", "epoch"] = Field("no",
        description="When to compute the eval loss: no, steps (every eval_steps) or epoch")
    eval_steps: int | float | None = Field(None, gt=0, description="Compute the eval loss every N steps")
    load_best_model_at_end: bool = Field(False,
        description="Keep the weights of the checkpoint with the lowest eval loss at the end")
    metric_for_best_model: str | None = None
    greater_is_better: bool | None = None
    early_stopping_steps: int | None = Field(None, ge=1)

    @field_validator("eval_strategy", "save_strategy", mode="before")
    @classmethod
    def _yaml_no(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `no` as False (LLaMA Factory's trap): take it as "no".
        return "no" if value is False else value

    @field_validator("learning_rate", "warmup_ratio", "lora_dropout", "weight_decay", "adam_epsilon", mode="before")
    @classmethod
    def _float_text(cls, value: Any) -> Any:
        # PyYAML reads `1e-4` (no dot) as a string; LLaMA Factory's HfArgumentParser casts it. So do we.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.mask_history and self.train_on_prompt:
            raise ValueError("`mask_history` is incompatible with `train_on_prompt` (as in LLaMA Factory)")
        if self.bf16 and self.fp16:
            raise ValueError("set at most one of `bf16` and `fp16`")
        if self.eval_dataset and self.val_size > 1e-6:
            raise ValueError("cannot set `val_size` together with `eval_dataset` (as in LLaMA Factory)")
        if self.val_size > 1e-6 and not self.dataset:
            raise ValueError("cannot set `val_size` without `dataset`")
        if self.load_best_model_at_end and self.eval_strategy == "no":
            raise ValueError("`load_best_model_at_end` needs `eval_strategy` steps or epoch")
        if self.early_stopping_steps and not self.load_best_model_at_end:
            raise ValueError(
                "`early_stopping_steps` needs `load_best_model_at_end: true` with `eval_strategy` steps or epoch and "
                "a validation set (`val_size` or `eval_dataset`), as transformers' EarlyStoppingCallback does"
            )
        lora_only = [k for k in ("loraplus_lr_ratio", "additional_target", "adapter_name_or_path") if getattr(self, k)]
        if lora_only and self.finetuning_type != "lora":
            raise ValueError(f"`{lora_only[0]}` is only valid for `finetuning_type: lora` (as in LLaMA Factory)")
        if self.freeze_trainable_layers == 0:
            raise ValueError("`freeze_trainable_layers` must not be 0 (positive: the last N layers; negative: the first N)")
        return self

    # Derived values, read by the later stages; the raw fields stay as the user wrote them.
    @property
    def datasets(self) -> list[str]:
        return split_names(self.dataset)

    @property
    def eval_datasets(self) -> list[str]:
        return split_names(self.eval_dataset)

    @property
    def lora_targets(self) -> list[str]:
        """["all"] or the module names."""
        return split_names(self.lora_target)

    @property
    def effective_lora_alpha(self) -> int:
        """LLaMA Factory: `lora_alpha or lora_rank * 2`."""
        return self.lora_alpha or self.lora_rank * 2

    @property
    def trainer_extras(self) -> dict[str, Any]:
        """Keys passed through to transformers' `TrainingArguments` as written (`include_num_input_tokens_seen`,
        `neftune_noise_alpha`, `lr_scheduler_kwargs`, ...)."""
        return dict(self.model_extra or {})

    @property
    def additional_targets(self) -> list[str]:
        return split_names(self.additional_target)

    @property
    def adapters(self) -> list[str]:
        return split_names(self.adapter_name_or_path)

    @property
    def use_packing(self) -> bool:
        return bool(self.packing) or self.neat_packing

    @property
    def gradient_checkpointing_choice(self) -> bool | None:
        """True/False when the config decides; None when unset (the trainer then decides from memory,
        `loreforge/train/memory.py`)."""
        if self.disable_gradient_checkpointing:
            return False
        return self.gradient_checkpointing

    def anchored(self, cwd: Path) -> TrainConfig:
        """A copy whose relative paths (`dataset_dir`, `output_dir`, `resume_from_checkpoint`, `deepspeed`,
        `adapter_name_or_path`, `cache_dir`, and `model_name_or_path` when it is a local folder) are made absolute
        against `cwd`, so a recorded run can be executed later from any directory or by another process."""
        def absolute(value: str | None, must_exist: bool = False) -> str | None:
            if value is None:
                return None
            path = Path(value).expanduser()
            if path.is_absolute():
                return str(path)
            full = cwd / path
            return str(full) if (full.exists() or not must_exist) else value

        adapters = ",".join(str(absolute(a)) for a in self.adapters) or None
        return self.model_copy(update={
            "model_name_or_path": absolute(self.model_name_or_path, must_exist=True),
            "adapter_name_or_path": adapters, "cache_dir": absolute(self.cache_dir),
            "dataset_dir": absolute(self.dataset_dir), "output_dir": absolute(self.output_dir),
            "resume_from_checkpoint": absolute(self.resume_from_checkpoint), "deepspeed": absolute(self.deepspeed),
        })

    def resolved_dataset_dir(self, cwd: Path | None = None) -> Path:
        """`dataset_dir` as LLaMA Factory opens it: relative to the working directory (not the YAML's folder)."""
        path = Path(self.dataset_dir).expanduser()
        return path if path.is_absolute() else (cwd or Path.cwd()) / path


def _read(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("Cannot read the training config", got=f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text", got=str(exc), hint="Save it as UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path} is not valid YAML", got=f"{problem}{where}", hint="Fix the file there") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of keys to values", got=type(data).__name__)
    return data


def _validation_error(exc: ValidationError) -> ConfigError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        problems.append(f"`{where}`: {err['msg']} (got {err.get('input')!r})" if err["loc"] else err["msg"])
    return ConfigError("Invalid training config", got="; ".join(problems))


def load_train_config(source: str | Path | Mapping[str, Any], **overrides: Any) -> TrainConfig:
    """Read a LLaMA Factory-style SFT config (YAML path or dict), with optional key overrides."""
    data = sort_extra_keys(_read(source) | overrides, TrainConfig.model_fields)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
