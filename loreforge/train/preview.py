"""A training config as `loreforge train` runs it, written out as YAML: checked by the config model, keys in LLaMA
Factory's sections (model, method, dataset, output, train, eval, then transformers' own keys), values written so
that PyYAML reads them back unchanged (`yaml.safe_load(preview.yaml) == preview.config`). The Training page shows
it before a run starts and offers it as a file; `loreforge train CONFIG --dry-run` prints it. Also reads a LLaMA
Factory / LLaMA Board YAML (`training_args.yaml`) into the same mapping, for the page's "load a YAML".

Fed by a config mapping (the page's form, a YAML file); feeds `RunActions.train` (which records exactly this
mapping) and the page. No torch: an extra key is checked against transformers' `TrainingArguments` fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError
from loreforge.export.llamafactory import yaml_scalar
from loreforge.model_views import TrainPreviewView

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("model_name_or_path", "cache_dir", "model_revision", "flash_attn", "disable_gradient_checkpointing",
               "trust_remote_code")),
    ("method", ("stage", "do_train", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target",
                "use_rslora", "use_dora", "loraplus_lr_ratio", "loraplus_lr_embedding", "additional_target",
                "adapter_name_or_path", "create_new_adapter", "freeze_trainable_layers", "freeze_trainable_modules",
                "freeze_extra_modules", "deepspeed")),
    ("dataset", ("dataset", "dataset_dir", "eval_dataset", "template", "default_system", "enable_thinking",
                 "cutoff_len", "max_samples", "val_size", "preprocessing_num_workers", "packing", "neat_packing",
                 "overwrite_cache", "train_on_prompt", "mask_history")),
    ("output", ("output_dir", "overwrite_output_dir", "logging_steps", "save_steps", "save_strategy",
                "save_total_limit", "plot_loss", "save_only_model", "report_to")),
    ("train", ("per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "num_train_epochs",
               "max_steps", "lr_scheduler_type", "warmup_ratio", "warmup_steps", "weight_decay", "max_grad_norm",
               "optim", "adam_beta1", "adam_beta2", "adam_epsilon", "group_by_length", "bf16", "fp16",
               "gradient_checkpointing", "seed", "resume_from_checkpoint", "dataloader_num_workers", "ddp_timeout")),
    ("eval", ("do_eval", "per_device_eval_batch_size", "eval_strategy", "eval_steps", "load_best_model_at_end",
              "metric_for_best_model", "greater_is_better", "early_stopping_steps")),
)
OTHER = "transformers"  # the section of keys passed through to TrainingArguments as written


def read_yaml_text(text: str, what: str = "the YAML") -> dict[str, Any]:
    """A YAML mapping from text (a LLaMA Factory / LLaMA Board config), with the config reader's errors."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{what} is not valid YAML", got=f"{getattr(exc, 'problem', None) or exc}{where}",
                          hint="Fix it there") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must be a mapping of keys to values", got=type(data).__name__)
    return data


def _scalar(value: Any) -> str:
    """A YAML value read back as the same: strings quoted (`no` stays the string "no"), lists and maps inline."""
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_scalar(v)}" for k, v in value.items()) + "}"
    return yaml_scalar(value)


def ordered(config: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The config's keys by section, in the sections' order (keys of no section last, under `transformers`)."""
    placed: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    for title, keys in SECTIONS:
        present = [k for k in keys if k in config]
        placed |= set(present)
        if present:
            out.append((title, present))
    rest = [k for k in config if k not in placed]
    if rest:
        out.append((OTHER, rest))
    return out


def preview(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> TrainPreviewView:
    """`source` (a YAML path or a mapping) with `overrides` on top, checked as `loreforge train` checks it (a bad key
    or value raises the same ConfigError), then written as sectioned YAML. `config` is the mapping to run."""
    from loreforge.train.config import _read, load_train_config

    data = {**_read(source), **dict(overrides or {})}
    if not data.get("model_name_or_path"):
        raise ConfigError("No base model", expected="`model_name_or_path`: a model folder, a hub id or a .gguf file")
    load_train_config(data)  # the same checks as a run: raises with the CLI's text
    sections = ordered(data)
    config = {key: data[key] for _title, keys in sections for key in keys}
    lines = ["# LoRA/full/freeze SFT, as `loreforge train` runs it (LLaMA Factory keys)"]
    for title, keys in sections:
        lines.append(f"\n### {title}")
        lines += [f"{key}: {_scalar(config[key])}" for key in keys]
    return TrainPreviewView(config=config, yaml="\n".join(lines) + "\n", sections=dict(sections))
