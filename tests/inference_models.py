"""Small real models for the inference tests (test_inference, test_serve_model, test_chat), built offline.

`loreforge.train.tiny` initialises weights with std 0.02: such a model answers every prompt with the same token,
so batched and one-by-one outputs would agree even with padding done wrong. `sharp_tiny_model` re-draws the
weights with std 0.3: greedy answers then depend on every prompt token and position, which is what a padding
test needs. `random_adapter` is a LoRA adapter whose B matrices are not zero (peft's default init is a no-op
adapter), so the tuned model answers differently from its base.
"""

from __future__ import annotations

import shutil
from pathlib import Path

WEIGHT_STD = 0.3


def sharp_tiny_model(out: Path, seed: int = 1) -> Path:
    import torch
    from transformers import AutoModelForCausalLM

    from loreforge.train.tiny import build_tiny_model

    staging = out.with_name(out.name + "-init")
    build_tiny_model(staging, hidden_size=64, layers=2, heads=4, kv_heads=2, vocab_size=600, max_positions=4096)
    model = AutoModelForCausalLM.from_pretrained(staging)
    torch.manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.normal_(0, WEIGHT_STD)
    model.save_pretrained(out)
    for item in staging.iterdir():
        if not (out / item.name).exists():
            shutil.copy2(item, out / item.name)
    shutil.rmtree(staging)
    return out


def random_adapter(model_dir: Path, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from loreforge.train.adapter import quiet_peft

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    lora = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"], task_type="CAUSAL_LM",
                      init_lora_weights=False)
    with quiet_peft():
        get_peft_model(base, lora).save_pretrained(out)
    return out


QUESTIONS = [
    "What was the revenue in 2024?",
    "hello",
    "How many employees did the company have at the end of the second quarter, counting part-time staff?",
    "Who founded it?",
    "Where is the head office of the company located, and when did it move there?",
    "x",
    "Name the three largest customers.",
]


def conversations(n: int | None = None) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": q}] for q in QUESTIONS[:n]]
