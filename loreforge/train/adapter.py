"""Load a base model with a LoRA adapter our trainer wrote, for merging (`loreforge export-model`) and for the
local provider. Two things a bare `PeftModel.from_pretrained(base, adapter)` gets wrong:

- The tokenizer comes from the adapter folder when it has one: it carries the chat template the run trained with
  (a named template is saved as Jinja) and any special tokens the template added.
- When the template added tokens, training grew the embeddings and peft saved the grown `embed_tokens` and
  `lm_head`; the base is grown to the same size before the adapter loads, or loading fails on a size mismatch.

torch, transformers and peft are imported inside the functions (the `[train]` extra).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loreforge.errors import MissingDependency, NotFound, UserError

ADAPTER_CONFIG = "adapter_config.json"


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft reads an attribute recent transformers renamed and warns each time; nothing for a user to do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def require_adapter(adapter: Path) -> None:
    if not (adapter / ADAPTER_CONFIG).is_file():
        raise NotFound(f"No LoRA adapter in {adapter}", expected=f"a folder with {ADAPTER_CONFIG} (a LoRA run's output)")


def adapter_base(adapter: Path) -> str | None:
    """The base model the adapter records (`base_model_name_or_path`), if it can be read."""
    try:
        return json.loads((adapter / ADAPTER_CONFIG).read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError):
        return None


def tokenizer_source(base: str, adapter: Path | None) -> str:
    """The adapter folder when it holds a tokenizer (saved by our trainer), else the base model."""
    if adapter is not None and (adapter / "tokenizer_config.json").is_file():
        return str(adapter)
    return base


def load_adapted(base: str, adapter: Path | None, home: Path | None = None, **model_kwargs: Any) -> tuple[Any, Any]:
    """(model, tokenizer): `base` (a local folder, hub id, or GGUF file — loaded from its folder converted once under
    `home`, default LOREFORGE_HOME) with `adapter` applied when given. Failures to load become a UserError naming
    both and the base the adapter was trained on."""
    from loreforge.train.gguf import default_home, resolve_base_model

    base = resolve_base_model(base, home or default_home())
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        if adapter is not None:
            from peft import PeftModel
    except ModuleNotFoundError as exc:
        raise MissingDependency(exc.name or "peft", extra="train", purpose="loading a LoRA adapter") from exc
    if adapter is not None:
        require_adapter(adapter)
    if (Path(base) / ADAPTER_CONFIG).is_file() and not (Path(base) / "config.json").is_file():
        trained_on = adapter_base(Path(base))
        raise UserError(f"{base} is a LoRA adapter, not a base model",
                        hint=f"Pass the base model it was trained on{f' (`{trained_on}`)' if trained_on else ''}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(base, adapter))
        model = AutoModelForCausalLM.from_pretrained(base, **model_kwargs)
        if adapter is None:
            return model, tokenizer
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer))  # as training did when the template added tokens
        with quiet_peft():
            return PeftModel.from_pretrained(model, str(adapter)), tokenizer
    except (OSError, ValueError, RuntimeError) as exc:
        trained_on = adapter_base(adapter) if adapter is not None else None
        hint = "Check the base model: a local folder with config.json, or a hub id available here" + (
            f" (the adapter was trained on `{trained_on}`)" if trained_on else "")
        what = f"base model `{base}`" + (f" with the adapter in {adapter}" if adapter is not None else "")
        raise UserError(f"Cannot load {what}", got=f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
                        hint=hint) from exc
