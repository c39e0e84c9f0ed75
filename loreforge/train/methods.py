"""Fine-tuning methods, as LLaMA Factory sets them up (`src/llamafactory/model/adapter.py`, read for behaviour):

- `full`: every parameter trains.
- `freeze`: the last `freeze_trainable_layers` decoder layers (negative: the first N) train, only their
  `freeze_trainable_modules` (`all`, or names such as `mlp,self_attn`), plus `freeze_extra_modules` outside the
  layers (such as `embed_tokens`).
- `lora`: a peft LoRA adapter on `lora_target` (`all` = every linear layer but the output head), with
  `additional_target` modules trained whole beside it; rsLoRA / DoRA as set.
- `adapter_name_or_path` (LoRA only): adapters from earlier runs. All but the last are merged into the base; the
  last one is trained further, or merged too with `create_new_adapter: true`, which starts a fresh adapter.

torch and peft are imported inside the functions (the `[train]` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError
from loreforge.train.adapter import quiet_peft, require_adapter
from loreforge.train.config import TrainConfig, split_names


def apply_finetuning(model: Any, config: TrainConfig, cwd: Path | None = None,
                     log: Callable[[str], None] | None = None) -> Any:
    """The model with the run's trainable parameters set up (see the module docstring)."""
    if config.finetuning_type == "full":
        model.requires_grad_(True)
        return model
    if config.finetuning_type == "freeze":
        _freeze(model, config)
        _upcast_trainable(model)
        return model
    model, resumed = _load_adapters(model, config, cwd or Path.cwd(), log or (lambda _: None))
    if not resumed:
        model = _new_lora(model, config)
    _upcast_trainable(model)
    return model


def _lora_targets(model: Any, targets: list[str]) -> list[str]:
    import torch

    if targets != ["all"]:
        return targets
    names = {name.split(".")[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    names.discard("lm_head")
    names.discard(getattr(model.get_output_embeddings(), "__name__", "lm_head"))
    return sorted(names)


def _new_lora(model: Any, config: TrainConfig) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.CAUSAL_LM, r=config.lora_rank, lora_alpha=config.effective_lora_alpha,
        lora_dropout=config.lora_dropout, target_modules=_lora_targets(model, config.lora_targets),
        use_rslora=config.use_rslora, use_dora=config.use_dora,
        modules_to_save=config.additional_targets or None,
    )
    try:
        with quiet_peft():
            return get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError("Cannot apply LoRA to this model", got=str(exc),
                          hint="Check `lora_target` and `additional_target`") from exc


def _load_adapters(model: Any, config: TrainConfig, cwd: Path, log: Callable[[str], None]) -> tuple[Any, bool]:
    """Merge the earlier adapters; load the last one trainable unless `create_new_adapter`. (model, resumed)."""
    if not config.adapters:
        return model, False
    from peft import PeftModel

    folders = [p if p.is_absolute() else cwd / p for p in (Path(a).expanduser() for a in config.adapters)]
    for folder in folders:
        require_adapter(folder)
    resume = not config.create_new_adapter
    with quiet_peft():
        for folder in folders[:-1] if resume else folders:
            model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
            log(f"merged adapter {folder} into the base model")
        if not resume:
            return model, False
        model = PeftModel.from_pretrained(model, str(folders[-1]), is_trainable=True)
    log(f"training adapter {folders[-1]} further (its own rank and targets; `create_new_adapter: true` starts anew)")
    return model, True


def _freeze(model: Any, config: TrainConfig) -> None:
    layers = int(getattr(model.config, "num_hidden_layers", 0))
    n = config.freeze_trainable_layers
    chosen = range(max(0, layers - n), layers) if n > 0 else range(min(-n, layers))
    modules = split_names(config.freeze_trainable_modules)
    extras = split_names(config.freeze_extra_modules)
    names = [name for name, _ in model.named_parameters()]
    _check_module_names(names, modules, extras)
    for name, param in model.named_parameters():
        param.requires_grad_(_in_layers(name, chosen, modules) or _in_extras(name, extras))


def _layer_part(name: str) -> tuple[int, str] | None:
    """(layer index, first module name inside the layer) for a decoder-layer parameter name."""
    parts = name.split(".")
    for i, part in enumerate(parts[:-2]):
        if part == "layers" and parts[i + 1].isdigit():
            return int(parts[i + 1]), parts[i + 2]
    return None


def _in_layers(name: str, chosen: range, modules: list[str]) -> bool:
    part = _layer_part(name)
    return part is not None and part[0] in chosen and (modules == ["all"] or part[1] in modules)


def _in_extras(name: str, extras: list[str]) -> bool:
    return _layer_part(name) is None and any(m in name.split(".")[:-1] for m in extras)


def _check_module_names(names: list[str], modules: list[str], extras: list[str]) -> None:
    inside = sorted({part[1] for part in map(_layer_part, names) if part is not None})
    outside = sorted({p for n in names if _layer_part(n) is None for p in n.split(".")[:-1]} - {"model"})
    wrong = [m for m in modules if m != "all" and m not in inside]
    if wrong:
        raise ConfigError(f"`freeze_trainable_modules`: no module {', '.join(wrong)} in the decoder layers",
                          expected=f"all, or some of {', '.join(inside)}")
    wrong = [m for m in extras if m not in outside]
    if wrong:
        raise ConfigError(f"`freeze_extra_modules`: no module {', '.join(wrong)} outside the decoder layers",
                          expected=f"some of {', '.join(outside)}")


def _upcast_trainable(model: Any) -> None:
    import torch

    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()


def param_summary(model: Any) -> str:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {100 * trainable / total:.4f}"
