"""Merge a LoRA adapter into its base model and save a standalone model (safetensors + tokenizer + chat
template) that vLLM or transformers load directly: `loreforge export-model`."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from loreforge.errors import MissingDependency, NotFound, UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "vocab.json", "merges.txt", "tokenizer.model", "generation_config.json")


@dataclass(frozen=True)
class MergedModel:
    path: Path
    base_model: str
    adapter: Path
    parameters: int


def merge_adapter(base_model: str, adapter: Path, out: Path, *, overwrite: bool = False) -> MergedModel:
    """Load `base_model` (a local folder or hub id) with the peft `adapter`, merge, and save to `out`."""
    try:
        import torch  # noqa: F401
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ModuleNotFoundError as exc:
        raise MissingDependency(exc.name or "peft", extra="train", purpose="merging a LoRA adapter") from exc
    if not (adapter / "adapter_config.json").is_file():
        raise NotFound(f"No LoRA adapter in {adapter}", expected="a folder with adapter_config.json (a LoRA run's output)")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty", hint="Pick an empty folder or pass --overwrite")
    base = AutoModelForCausalLM.from_pretrained(base_model)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    tokenizer_source = adapter if (adapter / "tokenizer_config.json").is_file() else Path(base_model)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source) if tokenizer_source.exists() else base_model)
    tokenizer.save_pretrained(out)
    _copy_extras(tokenizer_source, out)
    (out / "loreforge_merge.json").write_text(
        json.dumps({"base_model": base_model, "adapter": str(adapter)}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return MergedModel(out, base_model, adapter, sum(p.numel() for p in merged.parameters()))


def _copy_extras(source: Path, out: Path) -> None:
    """Keep the chat template and generation config that sit beside the tokenizer."""
    for name in ("chat_template.jinja", "generation_config.json"):
        if (source / name).is_file() and not (out / name).exists():
            shutil.copy2(source / name, out / name)
