"""Training keys beyond LoreForge's own (`TrainConfig`'s fields), sorted the way `llamafactory-cli train` would
take them:

- A field of transformers' `TrainingArguments` (`include_num_input_tokens_seen`, `neftune_noise_alpha`, `tf32`,
  `lr_scheduler_kwargs`, `run_name`, ...) passes through to it, as LLaMA Factory passes it (its training
  arguments are transformers'). Checked against the installed transformers.
- A LLaMA Factory feature LoreForge's trainer does not implement (QLoRA, GaLore, Unsloth, ...) is accepted when
  switched off, as LLaMA Board writes many of them into every saved `training_args.yaml` (`use_galore: false`,
  `enable_liger_kernel: false`), together with its own settings (`galore_rank: 16`), which then do nothing.
  Switched on, it is an error naming the feature: a run never trains differently from what its file says.
- A hub token (`hf_hub_token`, `ms_hub_token`) is refused: the config is stored with the run, so the token
  belongs in the environment (`HF_TOKEN`, `MODELSCOPE_API_TOKEN`).
- Anything else is an unknown key, named with the nearest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from loreforge.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str
    switch: str
    settings: tuple[str, ...] = ()


def _prefixed(prefix: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{n}" for n in names)


UNSUPPORTED: tuple[Feature, ...] = (
    Feature("QLoRA (quantized base weights)", "quantization_bit",
            ("quantization_method", "quantization_type", "double_quantization", "quantization_device_map")),
    Feature("the GaLore optimizer", "use_galore",
            _prefixed("galore", "target", "rank", "update_interval", "scale", "proj_type", "layerwise")),
    Feature("the APOLLO optimizer", "use_apollo", _prefixed(
        "apollo", "target", "rank", "update_interval", "scale", "proj", "proj_type", "scale_type", "layerwise",
        "scale_front")),
    Feature("the BAdam optimizer", "use_badam", _prefixed(
        "badam", "mode", "start_block", "switch_mode", "switch_interval", "update_ratio", "mask_mode", "verbose")),
    Feature("the Adam-mini optimizer", "use_adam_mini"),
    Feature("the Muon optimizer", "use_muon"),
    Feature("Unsloth", "use_unsloth", ("use_unsloth_gc",)),
    Feature("Liger kernels", "enable_liger_kernel"),
    Feature("LLaMA Pro block expansion", "use_llama_pro"),
    Feature("PiSSA initialisation", "pissa_init", ("pissa_iter", "pissa_convert")),
    Feature("SwanLab logging (`report_to` takes tensorboard, wandb, mlflow, ...)", "use_swanlab", _prefixed(
        "swanlab", "project", "workspace", "run_name", "mode", "api_key", "logdir", "lark_webhook_url", "lark_secret")),
    Feature("RoPE scaling", "rope_scaling"),
    Feature("vocabulary resizing with trainable embeddings (the embeddings grow by themselves when a template "
            "adds tokens)", "resize_vocab"),
    Feature("pure bf16 training (`bf16: true` trains with bf16 autocast)", "pure_bf16"),
    Feature("S²-Attn", "shift_attn"),
    Feature("mixture of depths", "mixture_of_depths"),
    Feature("training from scratch", "train_from_scratch"),
    Feature("streamed datasets", "streaming", ("buffer_size",)),
    Feature("pre-tokenized datasets", "tokenized_path"),
    Feature("the DFT loss", "use_dft_loss"),
    Feature("the ASFT loss", "use_asft_loss", ("asft_alpha",)),
    Feature("the EAFT loss", "use_eaft_loss", ("eaft_alpha",)),
    Feature("token accuracy in evaluation", "compute_accuracy"),
    Feature("unshuffled training data", "disable_shuffling"),
)
# Hub tokens: refused in a config, which is stored with the run; the environment variable does the same job.
TOKENS = {"hf_hub_token": "HF_TOKEN", "ms_hub_token": "MODELSCOPE_API_TOKEN"}
# Settings with no effect on a run, which LLaMA Board also writes.
IGNORED = frozenset({"preprocessing_batch_size", "print_param_status", "low_cpu_mem_usage", "use_fast_tokenizer",
                     "data_shared_file_system", "use_reentrant_gc", "infer_dtype"})
_SETTINGS = {key: f for f in UNSUPPORTED for key in f.settings}
_SWITCHES = {f.switch: f for f in UNSUPPORTED}


def is_on(value: Any) -> bool:
    return value not in (None, False, 0, "", "none", "None")


@functools.cache
def trainer_argument_names() -> frozenset[str]:
    """The init fields of the installed transformers' `TrainingArguments` (empty without transformers)."""
    try:
        from transformers import TrainingArguments
    except ImportError:
        return frozenset()
    return frozenset(f.name for f in dataclasses.fields(TrainingArguments) if f.init and not f.name.startswith("_"))


def sort_extra_keys(data: Mapping[str, Any], own: Iterable[str]) -> dict[str, Any]:
    """`data` without the keys LLaMA Factory features take when off (and its no-effect settings); raises for a
    feature switched on or an unknown key. Keys of `own` and transformers' `TrainingArguments` stay."""
    own = set(own)
    extra = [key for key in data if key not in own]
    if not extra:
        return dict(data)
    for key in extra:
        if key in TOKENS and is_on(data[key]):
            raise ConfigError(f"`{key}` is not taken from a config file: the config is stored with the run",
                              hint=f"Set the {TOKENS[key]} environment variable instead")
        feature = _SWITCHES.get(key)
        if feature is not None and is_on(data[key]):
            raise ConfigError(
                f"`{key}: {data[key]}` asks for {feature.name}, which LoreForge's trainer does not support",
                hint=f"Remove `{key}` (or set it to false/null) to train without it, or run this config with "
                     "llamafactory-cli",
            )
    dropped = set(_SWITCHES) | set(_SETTINGS) | set(TOKENS) | IGNORED
    left = [key for key in extra if key not in dropped]
    trainer_args = trainer_argument_names() if left else frozenset()
    unknown = [key for key in left if key not in trainer_args]
    if unknown:
        _unknown(unknown, own | trainer_args)
    return {key: value for key, value in data.items() if key not in dropped or key in own}


def _unknown(keys: list[str], valid: set[str] | frozenset[str]) -> None:
    key = keys[0]
    near = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
    hint = f"Did you mean `{near[0]}`?" if near else (
        "See the accepted keys in docs/training.md" + ("" if trainer_argument_names() else
                                                    "; transformers' TrainingArguments keys need the [train] extra"))
    more = f" (and {len(keys) - 1} more: {', '.join(keys[1:])})" if len(keys) > 1 else ""
    raise ConfigError(f"Unknown training key `{key}`{more}", hint=hint)
