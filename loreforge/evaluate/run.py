"""One evaluation run's work, on the one life cycle: every prompt answered by its model, batch by batch, each
batch scored and handed to the store before the next (so a killed run resumes there and never answers a prompt
twice), then the judge over the free answers. The models answer one after the other (`Phase`: the base model —
also with the retrieval context — then the tuned one), so only one is in memory at a time. The store, the
heartbeat and the cancel flag are behind `Sink` (the service's `loreforge.service.evaluation` implements it);
`loreforge.evaluate.aggregate` and `report` make the report from what was stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from loreforge.errors import LoreForgeError
from loreforge.evaluate.aggregate import ResultRow
from loreforge.evaluate.answering import Answer, Answerer, Ask
from loreforge.evaluate.scoring import JUDGED_QTYPES, score_answer

Key = tuple[int, str, int]  # (probe id, model label, rotation): the unique key of a stored result


class Cancelled(LoreForgeError):
    """The run was asked to stop (from any process); what was stored stays, and it resumes from there."""


@dataclass(frozen=True)
class Phase:
    """The prompts one model answers: `answerer` is entered once for all of them."""

    name: str
    answerer: Answerer
    asks: list[Ask]


class Sink(Protocol):
    """Where a run's results go: the store, the job's progress, and whether to stop."""

    def done(self) -> set[Key]: ...

    def write(self, rows: Sequence[ResultRow]) -> None: ...

    def progress(self, done: int, total: int, detail: dict[str, Any]) -> None: ...

    def cancelled(self) -> bool: ...


def result_row(ask: Ask, answer: Answer) -> ResultRow:
    scored = score_answer(ask, answer.text)
    return ResultRow(ask.probe.id, ask.label, ask.rotation, answer.text, scored.correct, ask.prompt, scored.key_match,
                     None, None, scored.bleu, scored.rouge, answer.prompt_tokens, answer.completion_tokens,
                     answer.latency_ms, answer.finish_reason)


def _batches(asks: Sequence[Ask], size: int) -> list[list[Ask]]:
    return [list(asks[i:i + size]) for i in range(0, len(asks), size)]


async def answer_all(phases: Sequence[Phase], sink: Sink, batch_size: int) -> int:
    """Answer every prompt not stored yet; returns how many were answered now. A phase whose prompts are all
    stored does not load its model."""
    done = await asyncio.to_thread(sink.done)
    total = sum(len(p.asks) for p in phases)
    count = sum(1 for p in phases for a in p.asks if a.key in done)
    answered = 0
    await asyncio.to_thread(sink.progress, count, total, {"unit": "answers", "phase": "starting"})
    for phase in phases:
        todo = [a for a in phase.asks if a.key not in done]
        if not todo:
            continue
        if sink.cancelled():
            raise Cancelled("The evaluation run was cancelled")
        started = time.perf_counter()
        async with phase.answerer as model:
            loaded = time.perf_counter() - started
            for batch in _batches(todo, batch_size):
                if sink.cancelled():
                    raise Cancelled("The evaluation run was cancelled")
                answers = await model.answer(batch)
                rows = [result_row(ask, ans) for ask, ans in zip(batch, answers, strict=True)]
                await asyncio.to_thread(sink.write, rows)
                count, answered = count + len(rows), answered + len(rows)
                elapsed = time.perf_counter() - started - loaded
                await asyncio.to_thread(sink.progress, count, total, {
                    "unit": "answers", "phase": phase.name, "model": model.name, "load_s": round(loaded, 1),
                    "answers_per_s": round(answered / elapsed, 2) if elapsed > 0 else None})
    return answered


Judge = Callable[[ResultRow, Any], Awaitable[tuple[float | None, str]]]  # (row, its probe) -> (score or None: failed, reason)


class JudgeSink(Protocol):
    def unjudged(self) -> list[tuple[ResultRow, Any]]: ...

    def write_judged(self, judged: Sequence[tuple[ResultRow, float | None, str]]) -> None: ...

    def cancelled(self) -> bool: ...


async def judge_all(sink: JudgeSink, judge: Judge, concurrency: int, batch: int = 16) -> int:
    """Judge every stored free answer (open and short probes, rotation 0) without a judge score yet, `batch` at a
    time (stored after each), at most `concurrency` calls in flight; returns how many were judged. A verdict the
    judge could not give (score None) is stored with its reason only, and asked again when the run resumes."""
    todo = [(r, p) for r, p in await asyncio.to_thread(sink.unjudged) if p.qtype in JUDGED_QTYPES and r.rotation == 0]
    gate = asyncio.Semaphore(concurrency)

    async def one(row: ResultRow, probe: Any) -> tuple[ResultRow, float | None, str]:
        async with gate:
            score, reason = await judge(row, probe)
            return row, score, reason

    judged = 0
    for start in range(0, len(todo), batch):
        if sink.cancelled():
            raise Cancelled("The evaluation run was cancelled")
        results = await asyncio.gather(*(one(r, p) for r, p in todo[start:start + batch]))
        await asyncio.to_thread(sink.write_judged, results)
        judged += len(results)
    return judged
