"""Merge a LoRA adapter into its base model and save a standalone model (safetensors + tokenizer + chat
template) that vLLM or transformers load directly: `loreforge export-model`."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from loreforge.errors import UserError



@dataclass(frozen=True)
class MergedModel:
    path: Path
    base_model: str
    adapter: Path
    parameters: int


def merge_adapter(base_model: str, adapter: Path, out: Path, *, overwrite: bool = False) -> MergedModel:
    """Load `base_model` (a local folder, hub id, or ModelScope id) with the peft `adapter`, merge, save to `out`."""
    from loreforge.train.adapter import load_adapted, require_adapter, tokenizer_source
    from loreforge.train.trainer import model_source

    require_adapter(adapter)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty", hint="Pick an empty folder or pass --overwrite")
    source = model_source(base_model, Path.cwd())
    model, tokenizer = load_adapted(source, adapter)
    merged = model.merge_and_unload()
    staging = out.with_name(f".{out.name}.partial")  # written whole, then moved: a failure leaves `out` as it was
    shutil.rmtree(staging, ignore_errors=True)
    try:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        _copy_extras(Path(tokenizer_source(source, adapter)), staging)
        (staging / "loreforge_merge.json").write_text(
            json.dumps({"base_model": base_model, "adapter": str(adapter)}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        out.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            item.replace(out / item.name)
    except OSError as exc:
        raise UserError(f"Cannot write the merged model to {out}", got=str(exc),
                        hint="Pick a folder you can write, on a disk with room for the full model") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return MergedModel(out, base_model, adapter, sum(p.numel() for p in merged.parameters()))


def _copy_extras(source: Path, out: Path) -> None:
    """Keep the chat template and generation config that sit beside the tokenizer."""
    for name in ("chat_template.jinja", "generation_config.json"):
        if (source / name).is_file() and not (out / name).exists():
            shutil.copy2(source / name, out / name)
