"""LoRA+ (Hayou et al., 2024; LLaMA Factory's `loraplus_lr_ratio`): the LoRA B matrices learn `ratio` times
faster than the A matrices, which speeds up and steadies LoRA training at no extra cost.

Parameter groups, each with weight decay where transformers would apply it (`get_decay_parameter_names`):
LoRA A matrices and other trainable weights at `learning_rate`; LoRA B matrices and 1-D trainable parameters at
`learning_rate × ratio`; LoRA matrices of embedding layers at `loraplus_lr_embedding`. The optimizer class and
its other settings are the run's (`optim`, betas, epsilon), as transformers would build them.
"""

from __future__ import annotations

from typing import Any


def loraplus_groups(model: Any, decay: set[str], lr: float, weight_decay: float, ratio: float,
                    embedding_lr: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups for LoRA+ (see the module docstring); empty groups left out."""
    groups: dict[tuple[float, bool], list[Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if "lora_embedding_" in name:
            group_lr = embedding_lr
        elif "lora_B" in name or param.ndim == 1:
            group_lr = lr * ratio
        else:
            group_lr = lr
        groups.setdefault((group_lr, name in decay), []).append(param)
    return [{"params": params, "lr": group_lr, "weight_decay": weight_decay if decays else 0.0}
            for (group_lr, decays), params in groups.items()]


def with_loraplus(trainer_class: Any, ratio: float, embedding_lr: float) -> Any:
    """`trainer_class` building a LoRA+ optimizer (unless one was given)."""

    class LoraPlusTrainer(trainer_class):  # type: ignore[misc, valid-type]
        def create_optimizer(self, model: Any = None) -> Any:
            if self.optimizer is None:
                target = model if model is not None else self.model
                decay = set(self.get_decay_parameter_names(target))
                groups = loraplus_groups(target, decay, self.args.learning_rate, self.args.weight_decay, ratio,
                                         embedding_lr)
                optimizer_class, kwargs = self.get_optimizer_cls_and_kwargs(self.args, target)
                self.optimizer = optimizer_class(groups, **kwargs)
            return super().create_optimizer(model)

    return LoraPlusTrainer
