"""The models `loreforge serve-model` serves, each under its own name, and the one worker thread they share.

Several adapters of one base: **one merged copy per adapter**, not one peft model with adapters switched by
name (`load_adapter`/`set_adapter`). Why:

- correct: each tuned model keeps what its run trained with — its own tokenizer and chat template, and the
  embeddings a template's added tokens grew (peft saves them whole; two such adapters do not fit one base);
- fast: merged weights generate 3-6x faster than an active LoRA adapter on CPU, and the base stays a plain model
  (switching off a merged adapter would unmerge it);
- safe under concurrency: `set_adapter` changes the one model for every request in flight, so requests for two
  adapters could never share a batch; separate copies batch each model's requests on their own.

The cost is memory: one copy of the weights per served name (a 135M model: ~0.5 GB each in float32; a 7B model
in bf16: ~15 GB each). Requests for the same model with the same sampling options are batched
(`loreforge.inference.batcher`); streamed answers are generated one at a time. Every model generates on one
shared worker thread, so two batches never compete for the cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import NotFound, UserError
from loreforge.inference.batcher import Batcher, one_worker
from loreforge.inference.engine import Generated, LoadedModel, generate, stream
from loreforge.providers.base import Message


@dataclass(frozen=True)
class Sampling:
    """The options of one request that must agree within a batch."""

    max_new_tokens: int
    temperature: float
    top_p: float | None
    stop: tuple[str, ...]


@dataclass
class Served:
    """One served name: its model, the served name of the base it was tuned from (None for the base), its queue."""

    name: str
    loaded: LoadedModel
    parent: str | None
    batcher: Batcher[list[Message], Sampling, Generated]


def _run(loaded: LoadedModel, batch_size: int) -> Any:
    def run(conversations: list[list[Message]], s: Sampling) -> list[Generated]:
        return generate(loaded, conversations, max_new_tokens=s.max_new_tokens, temperature=s.temperature,
                        top_p=s.top_p, batch_size=batch_size, stop=s.stop)
    return run


class ModelPool:
    """The served models by name; `complete` batches, `astream` streams."""

    def __init__(self, models: Sequence[tuple[str, LoadedModel, str | None]], *, batch_size: int,
                 wait_s: float) -> None:
        check_names([name for name, _, _ in models])
        self.executor = one_worker("loreforge-serve")
        self.models: dict[str, Served] = {
            name: Served(name, loaded, parent, Batcher(_run(loaded, batch_size), lambda s: s, batch_size=batch_size,
                                                       wait_s=wait_s, executor=self.executor))
            for name, loaded, parent in models
        }

    def get(self, name: str) -> Served:
        served = self.models.get(name)
        if served is None:
            raise NotFound(f"The model `{name}` does not exist", expected="one of " + ", ".join(self.models),
                           hint="GET /v1/models lists the served names")
        return served

    async def complete(self, name: str, conversation: list[Message], sampling: Sampling) -> Generated:
        return await self.get(name).batcher.submit(conversation, sampling)

    async def astream(self, name: str, conversation: list[Message], sampling: Sampling) -> AsyncIterator[str | Generated]:
        """The answer's text pieces, then its `Generated`. Leaving early stops the generation."""
        served = self.get(name)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        state: dict[str, Any] = {"stop": False}

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is gone (server shutting down): nobody is listening
                state["stop"] = True

        def work() -> None:
            if state["stop"]:
                return
            text = stream(served.loaded, conversation, max_new_tokens=sampling.max_new_tokens,
                          temperature=sampling.temperature, top_p=sampling.top_p, stop=sampling.stop)
            state["stream"] = text
            try:
                for piece in text:
                    put("piece", piece)
                    if state["stop"]:
                        text.close()
                put("done", text.result)
            except Exception as exc:  # noqa: BLE001 - raised in the request's coroutine
                put("error", exc)

        loop.run_in_executor(self.executor, work)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise value
                yield value
                if kind == "done":
                    return
        finally:
            state["stop"] = True
            if "stream" in state:
                state["stream"].close()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def check_names(names: Sequence[str]) -> None:
    if len(set(names)) != len(names):
        raise UserError("Two served models have the same name", got=", ".join(names),
                        hint="Give each --adapter its own NAME, different from the base's --name")


def served_name(base: str) -> str:
    """The default served name of a base model: a folder's or GGUF file's name, or the hub id itself."""
    path = Path(base).expanduser()
    if path.exists():
        name = path.resolve().name
        return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name
    return base


def load_pool(base: str, tuned: Sequence[tuple[str, Path]], *, base_name: str | None, device: str, dtype: str,
              batch_size: int, wait_s: float) -> ModelPool:
    """Load the base and each tuned folder (adapter merged, or a full model) and serve them by name."""
    from loreforge.inference.engine import load_model, load_tuned

    name = base_name or served_name(base)
    check_names([name, *(n for n, _ in tuned)])  # before minutes of loading
    models: list[tuple[str, LoadedModel, str | None]] = [(name, load_model(base, device=device, dtype=dtype), None)]
    for adapter_name, folder in tuned:
        models.append((adapter_name, load_tuned(base, folder, device=device, dtype=dtype), name))
    return ModelPool(models, batch_size=batch_size, wait_s=wait_s)
