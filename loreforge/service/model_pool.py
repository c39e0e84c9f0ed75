"""The models a chat or a blind test answers with, for `chatting.py` and `arena.py`: what a model reference names
(`resolve`: a base model folder, hub id or .gguf file; a train run id or folder as the tuned model, on its base; a
model config of the project — any OpenAI-compatible endpoint) and answering one conversation with it (`answer`),
streamed piece by piece to `on_piece`.

Local models stay loaded between calls in a small per-process pool (`LocalPool`: at most
`LOREFORGE_LOADED_MODELS`, default 2, the least recently used dropped first), so the Chat page keeps base and tuned
loaded at once and a blind test does not reload them for every round; each model generates one answer at a time
(its own lock), two models side by side in parallel. Endpoints answer through the one runner, every call logged
(stage `chat`), streamed too: the provider hands each attempt's text so far to `_Echo`, which passes on what is new
(a `<think>` block held back; a retry that writes a different answer says so and gives it whole). torch is imported only by the engine, when a
local model is first used.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loreforge.errors import UserError
from loreforge.model_views import ArenaModel, ChatReplyView
from loreforge.providers.base import Message
from loreforge.service import lookups
from loreforge.store.models import ModelConfig

LOADED_MODELS_ENV = "LOREFORGE_LOADED_MODELS"
DEFAULT_LOADED_MODELS = 2  # base and tuned side by side
STAGE = "chat"

Piece = Callable[[str], None]
_LOADING = threading.Lock()  # one model loads at a time in a process


def resolve(app: Any, project: str | int | None, model: str, adapter: str | None = None) -> ArenaModel:
    """What `model` (and `adapter`) name: with an adapter (a train run id or a folder), the tuned model on the base
    `model` (empty: the run's base model); else a model config of `project` when one has that name; else a local
    base model (a folder, a .gguf file or a hub id)."""
    from loreforge.inference.tuned import is_run_id, tuned_folder
    from loreforge.service.eval_plan import _HUB_ID

    model, adapter = (model or "").strip(), (adapter or "").strip() or None
    if adapter is not None:
        run = app.get_run(int(adapter)) if is_run_id(adapter) else None
        folder = tuned_folder(adapter, app.get_run)
        base = model or (run.base_model if run is not None else "")
        if not base:
            raise UserError("A tuned folder needs its base model", got=f"adapter {adapter}, no base model",
                            hint="Name the base model the adapter was trained on")
        name = f"run {adapter} · {Path(base).name or base}" if run is not None else f"{folder.name} · {Path(base).name or base}"
        return ArenaModel(kind="local", name=name, base=base, tuned=str(folder), run_id=run.id if run else None)
    if not model:
        raise UserError("No model named", expected="a base model folder, .gguf file or hub id, a train run, or a model config")
    if project is not None:
        with app.db.session() as session:
            row = lookups.project(session, project)
            config = session.scalar(select(ModelConfig).where(ModelConfig.project_id == row.id, ModelConfig.name == model))
            if config is not None:
                return ArenaModel(kind="endpoint", name=f"{config.name} ({config.provider}:{config.model})", config=config.name)
    path = Path(model).expanduser()
    if path.exists():
        return ArenaModel(kind="local", name=path.name, base=str(path.resolve()))
    if _HUB_ID.fullmatch(model):
        return ArenaModel(kind="local", name=model, base=model)
    hint = "Check the path" + (", or add the endpoint as a model config (`loreforge models add ...`)" if project is not None else "")
    raise UserError(f"No model folder, .gguf file, hub id or model config named {model!r}", hint=hint)


class LocalPool:
    """Loaded local models by (base, tuned), least recently used dropped first beyond `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._models: OrderedDict[tuple[str, str | None], tuple[Any, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base: str, tuned: str | None, home: Path) -> tuple[Any, threading.Lock]:
        """The loaded model and its generation lock (loading it once, whoever asks first). Models load one at a
        time in the process: transformers' loading is not thread-safe (its lazy imports, and the empty-weights
        context accelerate patches into torch, clash between two threads loading at once)."""
        key = (base, tuned)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        with _LOADING:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            from loreforge.inference.engine import load_model, load_tuned

            model = load_tuned(base, tuned, home=home) if tuned else load_model(base, home=home)
            with self._lock:
                self._models[key] = (model, threading.Lock())
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                return self._models[key]

    def loaded(self) -> list[tuple[str, str | None]]:
        with self._lock:
            return list(self._models)


_pools: dict[int, LocalPool] = {}
_pools_lock = threading.Lock()


def pool_of(app: Any) -> LocalPool:
    """The service's pool of loaded models (one per Service object)."""
    with _pools_lock:
        found = _pools.get(id(app))
        if found is None:
            capacity = int(os.environ.get(LOADED_MODELS_ENV) or DEFAULT_LOADED_MODELS)
            found = _pools[id(app)] = LocalPool(capacity)
        return found


def _local(app: Any, spec: ArenaModel, messages: Sequence[Message], max_new_tokens: int, temperature: float,
           top_p: float | None, on_piece: Piece | None) -> ChatReplyView:
    from loreforge.inference.engine import stream

    model, lock = pool_of(app).get(str(spec.base), spec.tuned, app.config.home)
    started = time.perf_counter()
    with lock:
        answer = stream(model, list(messages), max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p)
        for piece in answer:
            if on_piece is not None:
                on_piece(piece)
    done = answer.result
    assert done is not None
    return ChatReplyView(model=spec.name, text=done.text, reasoning=done.reasoning, prompt_tokens=done.prompt_tokens,
                         completion_tokens=done.completion_tokens, latency_ms=(time.perf_counter() - started) * 1000,
                         finish_reason=done.finish_reason)


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
RETRIED = "\n\n[the call was retried; its answer:]\n\n"


def _visible(so_far: str) -> str:
    """The answer part of a streamed text so far: a leading <think> block is reasoning, shown once closed."""
    text = so_far.lstrip()
    if not text.startswith(THINK_OPEN) and not THINK_OPEN.startswith(text):
        return text
    _, closed, rest = text.partition(THINK_CLOSE)
    return rest.lstrip() if closed else ""


class _Echo:
    """An endpoint's answer passed on to `on_piece` as it streams in. Each call gets an attempt's text so far; only
    what extends the text passed on already goes out, so a retried attempt that starts again is not shown twice."""

    def __init__(self, on_piece: Piece) -> None:
        self.on_piece, self.sent = on_piece, ""

    def __call__(self, so_far: str) -> None:
        text = _visible(so_far)
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.on_piece(text[len(self.sent):])
            self.sent = text

    def finish(self, text: str) -> None:
        """The final answer: its rest if it goes on from what was shown, else (a retry wrote another) all of it."""
        if text.startswith(self.sent.rstrip()):
            if len(text) > len(self.sent):
                self.on_piece(text[len(self.sent):])
        else:
            self.on_piece(RETRIED + text)
        self.sent = text


def _endpoint(app: Any, project: str | int, spec: ArenaModel, messages: Sequence[Message], max_new_tokens: int,
              temperature: float, top_p: float | None, on_piece: Piece | None) -> ChatReplyView:
    from loreforge.generate.runner import CallMeta
    from loreforge.service.eval_exec import open_runner
    from loreforge.service.llm import run_sync
    from loreforge.service.model_configs import generation

    with app.db.session() as session:
        row = lookups.project(session, project)
        gen = generation(app.secrets, session, row, model=spec.config)
        project_id = row.id
    echo = _Echo(on_piece) if on_piece is not None else None
    options = replace(gen.config.options.options(), temperature=temperature, max_tokens=max_new_tokens,
                      stream=echo is not None, on_text=echo, **({"top_p": top_p} if top_p is not None else {}))
    started = time.perf_counter()

    async def call() -> Any:
        async with open_runner(app.db, gen) as runner:
            return await runner.call(list(messages), options=options, meta=CallMeta(STAGE, STAGE, "", None, project_id, STAGE))

    reply = run_sync(call())
    if echo is not None:
        echo.finish(reply.text)
    return ChatReplyView(model=spec.name, text=reply.text, reasoning=reply.reasoning, prompt_tokens=reply.usage.prompt_tokens,
                         completion_tokens=reply.usage.completion_tokens, latency_ms=(time.perf_counter() - started) * 1000,
                         finish_reason=reply.finish_reason)


def answer(app: Any, project: str | int | None, spec: ArenaModel, messages: Sequence[Message], *, max_new_tokens: int,
           temperature: float, top_p: float | None = None, on_piece: Piece | None = None) -> ChatReplyView:
    """`spec` answers the conversation; the pieces of its answer go to `on_piece` as they come."""
    if spec.kind == "endpoint":
        if project is None:
            raise UserError("A model config answers only within its project", hint="Name the project")
        return _endpoint(app, project, spec, messages, max_new_tokens, temperature, top_p, on_piece)
    return _local(app, spec, messages, max_new_tokens, temperature, top_p, on_piece)
