"""The Training page's form: which LLaMA Factory keys it shows, in which group, with what kind of input, and the help
text of each (the config model's own description, `TrainConfig`); a config mapping to form values and back.

The form starts from the reference recipe — the chosen bundle's `train_lora.yaml` (`TrainRecipe`, written by the
LLaMA Factory export), or `TrainRecipe`'s values without a bundle — and what it does not show stays in "other keys"
(YAML, in sight and editable: the bundle's dataset keys too), so a loaded LLaMA Factory / LLaMA Board YAML keeps
every key. `config_from_form` is what the preview shows and what a run starts with: the same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loreforge.errors import ConfigError
from loreforge.train.preview import read_yaml_text

TEMPLATES = ("", "qwen", "llama3", "chatml", "mistral", "glm4", "default")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial", "inverse_sqrt")
METHODS = ("lora", "full", "freeze")
PRECISIONS = ("bf16", "fp16", "fp32")
TOKENS_KEY = "include_num_input_tokens_seen"  # transformers counts the tokens: the run page's tokens/s
TOKENS_VALUE = "non_padding"


@dataclass(frozen=True)
class Field:
    """One input: the config key, its group, its kind (text, int, float, choice, check) and its choices."""

    key: str
    group: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    only: str = ""  # shown for this finetuning_type only


FIELDS: tuple[Field, ...] = (
    Field("model_name_or_path", "model"),
    Field("template", "model", "choice", TEMPLATES),
    Field("finetuning_type", "method", "choice", METHODS),
    Field("lora_rank", "method", "int", only="lora"),
    Field("lora_alpha", "method", "int", only="lora"),
    Field("lora_dropout", "method", "float", only="lora"),
    Field("loraplus_lr_ratio", "method", "float", only="lora"),
    Field("lora_target", "method", only="lora"),
    Field("freeze_trainable_layers", "method", "int", only="freeze"),
    Field("learning_rate", "train", "float"),
    Field("lr_scheduler_type", "train", "choice", SCHEDULERS),
    Field("num_train_epochs", "train", "float"),
    Field("max_steps", "train", "int"),
    Field("per_device_train_batch_size", "train", "int"),
    Field("gradient_accumulation_steps", "train", "int"),
    Field("cutoff_len", "train", "int"),
    Field("warmup_ratio", "train", "float"),
    Field("precision", "train", "choice", PRECISIONS),
    Field("packing", "train", "check"),
    Field("val_size", "eval", "float"),
    Field("eval_steps", "eval", "int"),
    Field("save_steps", "eval", "int"),
    Field("logging_steps", "eval", "int"),
    Field("save_total_limit", "eval", "int"),
    Field("load_best_model_at_end", "eval", "check"),
    Field("output_dir", "eval"),
    Field("deepspeed", "hardware"),
    Field(TOKENS_KEY, "hardware", "check"),
)
GROUPS = ("model", "method", "train", "eval", "hardware")
FORM_KEYS = {f.key for f in FIELDS} | {"bf16", "fp16"}
DERIVED = ("eval_strategy", "save_strategy", "metric_for_best_model", "greater_is_better")  # follow from the fields


def help_text(key: str) -> str:
    """The config model's description of `key` (empty for the page's own fields)."""
    from loreforge.train.config import TrainConfig

    field = TrainConfig.model_fields.get(key)
    return (field.description or "") if field is not None else ""


def reference_recipe() -> dict[str, Any]:
    """The reference LoRA recipe (`TrainRecipe`) as config keys, for a form without a bundle."""
    from loreforge.export.options import TrainRecipe

    r = TrainRecipe()
    keys = ("stage", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "template", "cutoff_len",
            "learning_rate", "lr_scheduler_type", "num_train_epochs", "per_device_train_batch_size",
            "gradient_accumulation_steps", "bf16", "save_steps", "report_to")
    return {"do_train": True, **{k: getattr(r, k) for k in keys}, "model_name_or_path": "", "plot_loss": True}


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def form_values(config: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The form's values for a config, and the keys it has no input for, as YAML ("other keys")."""
    import yaml

    values = {f.key: _shown(config.get(f.key)) for f in FIELDS}
    values["precision"] = "bf16" if config.get("bf16") else "fp16" if config.get("fp16") else "fp32"
    values[TOKENS_KEY] = "on" if config.get(TOKENS_KEY) not in (None, False, "no") else ""
    rest = {k: v for k, v in config.items() if k not in FORM_KEYS and k not in DERIVED}
    other = yaml.safe_dump(rest, allow_unicode=True, sort_keys=False) if rest else ""
    return values, other


def _typed(field: Field, text: str) -> Any:
    if field.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"`{field.key}` must be a whole number", got=repr(text)) from None
    if field.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"`{field.key}` must be a number", got=repr(text)) from None
    return text


def config_from_form(form: Any) -> dict[str, Any]:
    """The config a submitted form asks for: the other keys' YAML (the bundle's dataset, dataset_dir, eval_dataset,
    ... and any key without a field) with each field's value on top (a blank field leaves its key out); the
    evaluation and best-checkpoint keys follow from the fields."""
    other = form.get("other_yaml")
    config = read_yaml_text(other, "Other keys") if isinstance(other, str) and other.strip() else {}
    for key in DERIVED:
        config.pop(key, None)
    method = str(form.get("finetuning_type") or "lora")
    for field in FIELDS:
        raw = form.get(field.key)
        text = raw.strip() if isinstance(raw, str) else ""
        if field.key == "precision":
            config.pop("bf16", None), config.pop("fp16", None)
            if text in ("bf16", "fp16"):
                config[text] = True
        elif field.kind == "check":
            on = text in ("on", "1", "true")
            if field.key == TOKENS_KEY:
                config[TOKENS_KEY] = TOKENS_VALUE if on else None
            else:
                config[field.key] = on
        elif field.only and field.only != method or not text:
            config.pop(field.key, None)
        else:
            config[field.key] = _typed(field, text)
    config = {k: v for k, v in config.items() if v is not None}
    if config.get("val_size"):
        config.pop("eval_dataset", None)  # a share held out replaces the bundle's validation file
    evaluating = bool(config.get("eval_dataset") or config.get("val_size"))
    if evaluating and config.get("eval_steps"):
        config["eval_strategy"] = "steps"
    else:
        config.pop("eval_steps", None)
        config["load_best_model_at_end"] = False
    if config.get("load_best_model_at_end"):
        config.update(save_strategy="steps", metric_for_best_model="eval_loss", greater_is_better=False)
    else:
        config.pop("load_best_model_at_end", None)
    return config
