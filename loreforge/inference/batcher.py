"""Gathers concurrent requests for one model into batches, generated on one worker thread.

Used by the local provider (concurrent `complete()` calls from the runner) and by `loreforge serve-model`
(concurrent HTTP requests). A request waits `wait_s` for company; then up to `batch_size` requests with the same
key (the options that must agree within one `generate` call: max tokens, temperature, top_p, stop strings) go
to `run` together. `run` executes on the executor (one thread: torch already uses every core, and two batches
at once would only fight over them), so the event loop stays free to accept more requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Options = TypeVar("Options")
Result = TypeVar("Result")


@dataclass(eq=False)
class _Pending(Generic[Item, Options, Result]):
    item: Item
    options: Options
    key: Hashable
    future: asyncio.Future[Result]


def one_worker(name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)


class Batcher(Generic[Item, Options, Result]):
    """`await submit(item, options)` -> the result `run([items...], options)` gave for that item."""

    def __init__(self, run: Callable[[list[Item], Options], list[Result]], key: Callable[[Options], Hashable], *,
                 batch_size: int, wait_s: float, executor: ThreadPoolExecutor | None = None) -> None:
        self._run, self._key = run, key
        self.batch_size, self.wait_s = batch_size, wait_s
        self._shared = executor is not None
        self._executor = executor or one_worker("loreforge-batch")
        self._pending: list[_Pending[Item, Options, Result]] = []
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # batches run so far, and the most requests one of them held (observability, tests)
        self.largest_batch = 0

    @property
    def executor(self) -> ThreadPoolExecutor:
        return self._executor

    async def submit(self, item: Item, options: Options) -> Result:
        loop = asyncio.get_running_loop()
        pending: _Pending[Item, Options, Result] = _Pending(item, options, self._key(options), loop.create_future())
        self._pending.append(pending)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await pending.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(self.wait_s)
            key = self._pending[0].key
            batch = [p for p in self._pending if p.key == key][: self.batch_size]
            self._pending = [p for p in self._pending if p not in batch]
            live = [p for p in batch if not p.future.done()]  # a caller that gave up is not generated for
            if not live:
                continue
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(live))
            try:
                results = await loop.run_in_executor(self._executor, self._run, [p.item for p in live], live[0].options)
            except Exception as exc:  # noqa: BLE001 - forwarded to every caller of the batch
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, result in zip(live, results, strict=True):
                if not p.future.done():
                    p.future.set_result(result)

    def close(self) -> None:
        """Stop the owned executor's queued batches and replace it (the batcher may be used again, on another
        event loop); a shared executor is its owner's to close."""
        if not self._shared:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = one_worker("loreforge-batch")
