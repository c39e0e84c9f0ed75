"""The local provider: a Hugging Face causal LM (optionally with a LoRA adapter) generating in batches.

For teams that cannot send documents to an API. Needs the `[train]` extra (torch, transformers, peft);
they are imported only inside the methods that use them, so importing this module stays light, and a
missing one raises MissingDependency naming the install command. Concurrent `complete()` calls are
gathered into batches (up to `LocalSettings.batch_size`, waiting `batch_wait_s` for company) and generated
on one worker thread with left padding and the model's own chat template.
"""

from __future__ import annotations

import asyncio
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError, MissingDependency
from loreforge.providers.base import CallOptions, Completion, Message, Usage, split_think
from loreforge.settings.engine import LocalSettings


@dataclass
class _Pending:
    messages: list[Message]
    options: CallOptions
    future: asyncio.Future[Completion]

    def key(self) -> tuple[Any, ...]:
        o = self.options
        return (o.temperature, o.max_tokens, o.top_p)


def require_torch() -> None:
    """Raise MissingDependency unless torch and transformers can be imported."""
    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependency(package if package == "torch" else "transformers", extra="train",
                                    purpose="the local provider")


class LocalProvider:
    """A local model folder (config + weights + tokenizer with a chat template) or a GGUF file (converted once
    into a cached folder, `loreforge/train/gguf.py`), plus an optional LoRA adapter folder."""

    name = "local"
    endpoint = "local"

    def __init__(self, *, model: str, adapter: str | None, settings: LocalSettings) -> None:
        self.model = model
        self.adapter = adapter
        self._settings = settings
        self._loaded: tuple[Any, Any] | None = None
        self._pending: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loreforge-local")

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.model!r}, adapter={self.adapter!r})"

    async def complete(self, messages: list[Message], options: CallOptions) -> Completion:
        require_torch()
        loop = asyncio.get_running_loop()
        pending = _Pending(messages, options, loop.create_future())
        self._pending.append(pending)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await pending.future

    async def complete_batch(self, batch: list[list[Message]], options: CallOptions) -> list[Completion]:
        """Several prompts at once (they are batched together)."""
        return list(await asyncio.gather(*(self.complete(m, options) for m in batch)))

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(self._settings.batch_wait_s)
            key = self._pending[0].key()
            batch = [p for p in self._pending if p.key() == key][: self._settings.batch_size]
            self._pending = [p for p in self._pending if p not in batch]
            live = [p for p in batch if not p.future.done()]
            if not live:
                continue
            try:
                results = await loop.run_in_executor(
                    self._executor, self._generate, [p.messages for p in live], live[0].options
                )
            except Exception as exc:  # forwarded to every caller of the batch
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, result in zip(live, results, strict=True):
                if not p.future.done():
                    p.future.set_result(result)

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is not None:
            return self._loaded
        import torch
        import transformers

        from loreforge.train.adapter import load_adapted

        device = self._settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype: Any = "auto" if self._settings.dtype == "auto" else getattr(torch, self._settings.dtype)
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_arg = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        # With an adapter our trainer wrote, its folder's tokenizer carries the chat template the run trained with;
        # a GGUF file is loaded from its converted folder (cached under LOREFORGE_HOME).
        model, tokenizer = load_adapted(self.model, Path(self.adapter) if self.adapter else None, **{dtype_arg: dtype})
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(f"The local model at {self.model} has no chat template",
                              hint="Save the tokenizer with its chat_template (tokenizer_config.json)")
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(device)
        model.eval()
        self._loaded = (model, tokenizer)
        return self._loaded

    def _generate(self, batch: list[list[Message]], options: CallOptions) -> list[Completion]:
        import torch

        model, tokenizer = self._load()
        texts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        max_new = options.max_tokens or self._settings.max_new_tokens
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "pad_token_id": tokenizer.pad_token_id}
        if options.temperature:
            kwargs.update(do_sample=True, temperature=options.temperature)
            if options.top_p is not None:
                kwargs["top_p"] = options.top_p
        else:
            kwargs["do_sample"] = False
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        new_tokens = out[:, enc["input_ids"].shape[1]:]
        stop_ids = {tokenizer.pad_token_id, tokenizer.eos_token_id}
        results: list[Completion] = []
        for i, ids in enumerate(new_tokens.tolist()):
            kept = [t for t in ids if t not in stop_ids]
            text, reasoning = split_think(tokenizer.decode(kept, skip_special_tokens=True))
            usage = Usage(int(enc["attention_mask"][i].sum()), len(kept), False)
            finish = "length" if len(kept) >= max_new else "stop"
            results.append(Completion(text, reasoning, usage, self.model, None, finish))
        return results

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        self._loaded = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loreforge-local")
