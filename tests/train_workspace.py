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
