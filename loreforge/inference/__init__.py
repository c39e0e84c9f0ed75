"""Inference with base and tuned models: the last stage (train -> evaluate -> chat/serve).

- `engine`: load a base model with an optional LoRA adapter (merged in memory by default) and generate —
  batched with left padding for scoring, streamed token by token for chat.
- `batcher`: gathers concurrent requests into batches on one worker thread (the local provider and
  `loreforge serve-model`).
- `tuned`: what `--adapter RUN|DIR` names (a train run's output, a LoRA adapter or a full fine-tuned folder).
- `chat`, `terminal`: `loreforge chat` (conversation state; the terminal loop).
- `served`, `openai_app`: `loreforge serve-model`, an OpenAI-compatible server for base and tuned models.
- `defaults`: the shells' defaults, import-free.

torch and transformers are imported inside the functions that need them (the `[train]` extra), and this package
imports its modules only when a name is asked for (`from loreforge.inference import generate`), so that the CLI
can read `loreforge.inference.defaults` without loading pydantic.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Generated", "LoadedModel", "TextStream", "generate", "load_model", "load_tuned", "stream"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from loreforge.inference import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'loreforge.inference' has no attribute {name!r}")
