"""Gradient checkpointing left unset is decided from memory: off when one micro-batch's activations fit in a
share of the memory left beside the model, on otherwise; an explicit choice always wins."""

from __future__ import annotations

from types import SimpleNamespace

from loreforge.train.memory import (
    ACTIVATION_SHARE, activation_bytes, decide_checkpointing, host_available_bytes, model_state_bytes,
)

GIB = 1024**3
BENCH = SimpleNamespace(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
                        num_key_value_heads=2, vocab_size=8192, tie_word_embeddings=True)
QWEN_3B = SimpleNamespace(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                          num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)


def test_explicit_choice_wins() -> None:
    assert decide_checkpointing(True, BENCH, 8, 512, 4, 100 * GIB).enabled is True
    assert decide_checkpointing(False, QWEN_3B, 8, 4096, 2, 1 * GIB).enabled is False


def test_small_model_on_a_laptop_trains_without_checkpointing() -> None:
    # bench/train.py's shape: ~1 GiB of activations at batch 8 x 512 in fp32, against 16 GiB free
    need = activation_bytes(BENCH, 8 * 512, 512, 4)
    assert 0.3 * GIB < need < 2 * GIB
    decision = decide_checkpointing(None, BENCH, 8, 512, 4, 16 * GIB)
    assert decision.enabled is False and decision.reason.startswith("auto: activations ~")


def test_memory_short_keeps_checkpointing_on() -> None:
    assert decide_checkpointing(None, BENCH, 8, 512, 4, 2 * GIB).enabled is True
    # Qwen2.5-3B LoRA at batch 8 x 2048 in bf16 on an 80 GB GPU: tens of GiB of activations -> on
    assert decide_checkpointing(None, QWEN_3B, 8, 2048, 2, 74 * GIB).enabled is True
    # ... batch 1 x 1024 leaves room -> off
    assert decide_checkpointing(None, QWEN_3B, 1, 1024, 2, 74 * GIB).enabled is False
    assert decide_checkpointing(None, BENCH, 8, 512, 4, None).enabled is True  # unknown memory: as LLaMA Factory


def test_model_states_count_against_free_memory() -> None:
    weights = model_state_bytes(QWEN_3B, 2, full=False)
    assert 5 * GIB < weights < 7 * GIB  # ~3.1B parameters in bf16
    assert model_state_bytes(QWEN_3B, 2, full=True) == weights * 7  # + gradients and fp32 Adam state
    need = activation_bytes(QWEN_3B, 1024, 1024, 2)
    # free memory that fits the activations beside LoRA weights but not beside full fine-tuning's states
    free = int(need / ACTIVATION_SHARE) + weights + GIB
    assert decide_checkpointing(None, QWEN_3B, 1, 1024, 2, free, full=False).enabled is False
    assert decide_checkpointing(None, QWEN_3B, 1, 1024, 2, free, full=True).enabled is True


def test_host_memory_is_read() -> None:
    available = host_available_bytes()
    assert available is None or available > 64 * 1024**2
