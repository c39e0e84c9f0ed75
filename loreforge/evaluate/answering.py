"""Asking the models: each probe as the prompts an evaluation run sends (one per rotation of a choice probe; with
`--rag`, the question with the chunks BM25 found), and the models that answer them — a local model through the
one generation engine (`loreforge.inference`: batched, left padding, greedy, adapters merged) or any
OpenAI-compatible endpoint through the one runner (limits, retries, every call logged). Fed by the probes
(`loreforge.evaluate.probes`) and the retrieval index (`loreforge.evaluate.rag`); `loreforge.evaluate.run`
drives it, `loreforge.evaluate.scoring` scores what comes back.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from loreforge.evaluate.probes.choices import rotations as choice_rotations
from loreforge.evaluate.probes.choices import prompt_text
from loreforge.evaluate.probes.records import CHOICE_QTYPES
from loreforge.prompts import Prompt

LABELS: tuple[str, ...] = ("base", "rag", "tuned")  # the answering models, in the order a report shows them


@dataclass(frozen=True)
class EvalProbe:
    """A probe as an evaluation run sees it: the stored probe plus its set's name and language and its document's name."""

    id: int
    set_id: int
    set_name: str
    position: int
    kind: str
    qtype: str
    question: str
    reference: str
    key: str | None = None
    options: tuple[str, ...] | None = None
    answer: Any = None
    document_id: int | None = None
    document: str | None = None
    tag: str | None = None
    language: str = "en"
    source_question: str | None = None

    @property
    def is_choice(self) -> bool:
        return self.qtype in CHOICE_QTYPES and bool(self.options)


@dataclass(frozen=True)
class Ask:
    """One prompt: `probe` asked of the model `label` in `rotation` (choice probes: options shifted, `expected` the
    correct indices in that order; true/false: the expected bool)."""

    probe: EvalProbe
    label: str
    rotation: int
    prompt: str
    options: tuple[str, ...] | None = None
    expected: Any = None

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.probe.id, self.label, self.rotation)

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.prompt}]


def asks_for(probe: EvalProbe, label: str, rotations: int | None, rag: Prompt | None = None, context: str = "") -> list[Ask]:
    """The prompts `probe` is asked as, for the model `label`: one per rotation of a choice probe (`rotations`
    None: as many as it has options), else one. With `rag`, the prompt wraps the question with `context`."""
    def wrap(text: str) -> str:
        return rag.render(context=context, question=text) if rag is not None else text

    if probe.is_choice:
        assert probe.options is not None
        answer = probe.answer if isinstance(probe.answer, (list, tuple)) else []
        return [Ask(probe, label, r.shift, wrap(prompt_text(probe.qtype, probe.question, r.options, probe.language)),
                    r.options, r.answer) for r in choice_rotations(probe.options, answer, rotations)]
    text = prompt_text(probe.qtype, probe.question, None, probe.language)
    expected = probe.answer if probe.qtype == "true_false" else None
    return [Ask(probe, label, 0, wrap(text), None, expected)]


@dataclass(frozen=True)
class Answer:
    """What a model said to one prompt, and what it cost."""

    text: str
    reasoning: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str | None = None


class Answerer(Protocol):
    """A model that answers prompts: entered once (a local model is loaded, an endpoint's runner opened), then
    asked batch by batch, then left (the local model's memory is freed before the next model loads)."""

    name: str

    async def __aenter__(self) -> Answerer: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def answer(self, asks: Sequence[Ask]) -> list[Answer]: ...


@dataclass(frozen=True)
class Generation:
    """How answers are generated, for every model of a run (recorded in the run's config)."""

    max_new_tokens: int
    temperature: float
    batch_size: int


class LocalAnswerer:
    """A local model (folder, hub id or GGUF file; with a LoRA adapter merged, or a full fine-tuned folder),
    generating each batch with left padding on one worker thread."""

    def __init__(self, base: str, generation: Generation, *, tuned: str | None = None, home: Path | None = None) -> None:
        self.base, self.tuned, self.home, self.generation = base, tuned, home, generation
        self.name = tuned or base
        self._model: Any = None

    async def __aenter__(self) -> LocalAnswerer:
        from loreforge.inference import load_model, load_tuned

        if self.tuned is not None:
            self._model = await asyncio.to_thread(load_tuned, self.base, self.tuned, home=self.home)
        else:
            self._model = await asyncio.to_thread(load_model, self.base, home=self.home)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._model = None
        gc.collect()

    async def answer(self, asks: Sequence[Ask]) -> list[Answer]:
        from loreforge.inference import generate

        g = self.generation
        started = time.perf_counter()
        out = await asyncio.to_thread(generate, self._model, [a.messages for a in asks], max_new_tokens=g.max_new_tokens,
                                      temperature=g.temperature, batch_size=g.batch_size)
        each = (time.perf_counter() - started) * 1000 / max(len(asks), 1)  # a batch's time, shared by its rows
        return [Answer(o.text, o.reasoning, o.prompt_tokens, o.completion_tokens, each, o.finish_reason) for o in out]


Meta = Callable[[Ask], Any]  # the CallMeta of one prompt (stage, prompt name and hash, job, project, item)


class EndpointAnswerer:
    """A model behind an OpenAI-compatible endpoint (or any provider a model config names), through the one
    runner: `open_runner()` opens it (and logs its calls when it closes); a batch's prompts are sent at once, the
    runner holding them to the configured concurrency. A reply cut by the token limit is kept as answered
    (finish reason `length`): it is what the model said within the budget every model gets."""

    def __init__(self, name: str, open_runner: Callable[[], AbstractAsyncContextManager[Any]], options: Any, meta: Meta) -> None:
        self.name, self._open, self._options, self._meta = name, open_runner, options, meta
        self._context: AbstractAsyncContextManager[Any] | None = None
        self._runner: Any = None

    async def __aenter__(self) -> EndpointAnswerer:
        self._context = self._open()
        self._runner = await self._context.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._context is not None:
            await self._context.__aexit__(None, None, None)
        self._context = self._runner = None

    async def _one(self, ask: Ask) -> Answer:
        started = time.perf_counter()
        c = await self._runner.call(ask.messages, options=self._options, meta=self._meta(ask))
        return Answer(c.text, c.reasoning, c.usage.prompt_tokens, c.usage.completion_tokens,
                      (time.perf_counter() - started) * 1000, c.finish_reason)

    async def answer(self, asks: Sequence[Ask]) -> list[Answer]:
        return list(await asyncio.gather(*(self._one(a) for a in asks)))


def greedy_options(options: Any, generation: Generation) -> Any:
    """An endpoint's call options with the run's generation settings: its temperature and max_tokens, no stream."""
    return replace(options, temperature=generation.temperature, max_tokens=generation.max_new_tokens, stream=False)
