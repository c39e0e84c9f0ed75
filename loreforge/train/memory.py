"""Gradient checkpointing left unset (`gradient_checkpointing` absent, `disable_gradient_checkpointing: false`):
decide it from memory instead of always turning it on.

LLaMA Factory turns checkpointing on unless told otherwise. It trades about a third more compute (each layer's
forward pass is run twice) for activation memory — worth it when memory is short, pure loss when it is not (a
2-core CPU trains ~1.4x faster without it, `bench/train.py`). So when the user has not chosen, we estimate the
activations one micro-batch keeps for the backward pass and turn checkpointing off only when they fit in
`ACTIVATION_SHARE` of the memory free before the model loads (the GPU's free memory, or the host's available
RAM shared by the processes on this node); otherwise on, as in LLaMA Factory. The estimate is deliberately
generous (it counts attention scores as if materialised, which sdpa/FlashAttention avoid), and it is logged.
An explicit `gradient_checkpointing: true|false` or `disable_gradient_checkpointing: true` always wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

ACTIVATION_SHARE = 0.3


@dataclass(frozen=True)
class Checkpointing:
    enabled: bool
    reason: str


def activation_bytes(model_config: Any, tokens: int, sequence: int, dtype_bytes: int) -> int:
    """Activations kept for backward by one micro-batch of `tokens` tokens in rows of `sequence`: per layer and
    token about 10 x hidden (norms, q/k/v/o, residuals) + 4 x intermediate (SwiGLU gate/up/act/product) +
    2 x heads x sequence (attention scores and probabilities), plus the fp32 logits with their gradient."""
    hidden = int(getattr(model_config, "hidden_size", 0) or 0)
    inter = int(getattr(model_config, "intermediate_size", 0) or 4 * hidden)
    layers = int(getattr(model_config, "num_hidden_layers", 0) or 0)
    heads = int(getattr(model_config, "num_attention_heads", 0) or 0)
    vocab = int(getattr(model_config, "vocab_size", 0) or 0)
    per_token_layer = 10 * hidden + 4 * inter + 2 * heads * sequence
    return tokens * layers * per_token_layer * dtype_bytes + tokens * vocab * 4 * 3


def model_state_bytes(model_config: Any, weight_bytes: int, full: bool) -> int:
    """Weights (+ gradients and fp32 Adam moments, 12 bytes per parameter more, for full fine-tuning), from
    the config's shape: per layer q/o (2 h^2) + k/v (GQA) + SwiGLU (3 h x intermediate); embeddings (x2 untied)."""
    hidden = int(getattr(model_config, "hidden_size", 0) or 0)
    inter = int(getattr(model_config, "intermediate_size", 0) or 4 * hidden)
    layers = int(getattr(model_config, "num_hidden_layers", 0) or 0)
    heads = int(getattr(model_config, "num_attention_heads", 0) or 1)
    kv = int(getattr(model_config, "num_key_value_heads", 0) or heads)
    vocab = int(getattr(model_config, "vocab_size", 0) or 0)
    tied = bool(getattr(model_config, "tie_word_embeddings", False))
    params = layers * (2 * hidden * hidden + 2 * hidden * hidden * kv // heads + 3 * hidden * inter)
    params += vocab * hidden * (1 if tied else 2)
    return params * (weight_bytes + (12 if full else 0))


def host_available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); else physical memory from sysconf; None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def free_memory_bytes(on_gpu: bool) -> int | None:
    """Memory this process may count on: the current GPU's free memory, or the host's available RAM divided
    among the processes of this node (LOCAL_WORLD_SIZE under torchrun)."""
    if on_gpu:
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    available = host_available_bytes()
    if available is None:
        return None
    return available // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))


def decide_checkpointing(choice: bool | None, model_config: Any, batch_size: int, cutoff_len: int,
                         dtype_bytes: int, free_bytes: int | None, full: bool = False) -> Checkpointing:
    """`choice` True/False is the user's; None decides from memory (see the module docstring): the free memory
    left once the model's weights (and, for full fine-tuning, gradients and optimizer state) are in."""
    if choice is not None:
        return Checkpointing(choice, "set in the config")
    need = activation_bytes(model_config, batch_size * cutoff_len, cutoff_len, dtype_bytes)
    if free_bytes is None:
        return Checkpointing(True, "auto: free memory unknown")
    left = free_bytes - model_state_bytes(model_config, dtype_bytes, full)
    gib = 1024**3
    detail = f"activations ~{need / gib:.2f} GiB per micro-batch, ~{max(left, 0) / gib:.1f} GiB free beside the model"
    if need <= ACTIVATION_SHARE * left:
        return Checkpointing(False, f"auto: {detail}")
    return Checkpointing(True, f"auto: {detail}")
