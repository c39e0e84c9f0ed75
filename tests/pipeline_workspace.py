"""Recipes for the pipeline tests: the shipped example documents, the fake LLM (an OpenAI-compatible server on
127.0.0.1 answering LoreForge's prompts deterministically, `qa_responder`) and a tiny Qwen2 model built here —
so a whole run (ingest → … → report) takes seconds and two runs can be compared exactly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from conftest import examples

TINY = {"hidden_size": 64, "layers": 2, "heads": 4, "kv_heads": 2, "vocab_size": 600}


def tiny_model(root: Path) -> Path:
    """A tiny Qwen2 model whose tokenizer is trained on the example documents (built once per folder)."""
    from loreforge.train.tiny import build_tiny_model

    path = root / "tiny"
    if not (path / "config.json").exists():
        build_tiny_model(path, examples(), **TINY)
    return path


def recipe(base_url: str, model: Path | None = None, **changes: Any) -> dict[str, Any]:
    """A small recipe over the example documents; `changes` replace top-level keys (None drops one)."""
    data: dict[str, Any] = {
        "name": "t", "project": "p",
        "documents": [str(p) for p in examples()],
        "split": {"min_length": 150, "max_length": 400},
        "generation": {"provider": "custom", "model": "fake-model", "base_url": base_url, "llm": {"concurrency": 2}},
        "review": {"require_grounded": False},
        "export": {"val_size": 0.2},
    }
    if model is not None:
        data["train"] = {"model_name_or_path": str(model), "finetuning_type": "full", "num_train_epochs": 2,
                         "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "cutoff_len": 96,
                         "template": "qwen", "learning_rate": 1.0e-3, "bf16": False}
        data["probes"] = {"kinds": ["held-out", "key-fact"], "qtypes": ["open"]}
        data["eval"] = {"max_new_tokens": 4, "batch_size": 16}
    for key, value in copy.deepcopy(changes).items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def write_recipe(folder: Path, data: dict[str, Any], name: str = "recipe.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
