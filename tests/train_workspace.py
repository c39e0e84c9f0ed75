"""A training workspace for the trainer tests: `data/` with Alpaca datasets and `dataset_info.json`, and a tiny
Qwen2 model whose tokenizer is trained on the same text (built locally; nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY = {"hidden_size": 64, "layers": 2, "heads": 4, "kv_heads": 2, "vocab_size": 600}


def alpaca_workspace(root: Path, datasets: dict[str, list[dict[str, str]]], model: str = "model", **shape: Any) -> Path:
    """Write each dataset as `data/<name>.json` (registered under `name`) and build `root/<model>`; returns root."""
    from loreforge.train.tiny import build_tiny_model

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    info = {}
    for name, rows in datasets.items():
        (data / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        info[name] = {"file_name": f"{name}.json"}
    (data / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    corpus = root / "corpus.txt"
    lines = [row["instruction"] + row.get("input", "") + row["output"] for rows in datasets.values() for row in rows]
    corpus.write_text("\n".join(lines) * 3, encoding="utf-8")
    build_tiny_model(root / model, [corpus], **(TINY | shape))
    return root


def assert_merged_matches_adapter(base: Path, adapter: Path, merged: Path, question: str = "快手营收多少？") -> None:
    """The merged model gives the logits of base + adapter (the base grown first when the run's template added
    tokens, as training did), on a prompt rendered with the merged model's chat template."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged)
    ids = tok.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    with torch.no_grad():
        model = AutoModelForCausalLM.from_pretrained(base)
        if len(tok) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tok))
        expected = PeftModel.from_pretrained(model, str(adapter))(ids).logits
        got = AutoModelForCausalLM.from_pretrained(merged)(ids).logits
    assert torch.allclose(expected, got, atol=1e-4)
    assert (merged / "model.safetensors").exists() and (merged / "tokenizer.json").exists()
