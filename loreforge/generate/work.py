"""The work loop of a generation job: a feeder that claims the job's items in the store in small batches just
before they are worked on, a bounded pool of workers over the claimed ones, and ONE writer coroutine that
hands finished outcomes (and LLM call records) to the store in batched transactions.

Workers never touch the database. An item another job holds is not worked on: it is written as `skipped`
with the reason. Cancelling the loop cancels in-flight calls; outcomes already finished are still written
(the final flush is shielded), so nothing done is lost and nothing is written twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from loreforge.errors import LoreForgeError

P = TypeVar("P")
log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
FLUSH_ITEMS = 64


@dataclass(frozen=True)
class Outcome(Generic[P]):
    key: str
    payload: P
    ok: bool
    value: Any = None
    error: str | None = None
    raw: str | None = None
    skipped: str | None = None  # not worked on: another job has it (the reason)


Writer = Callable[[list[Outcome[Any]], list[Any]], None]
Claim = Callable[[list[str]], Awaitable[tuple[set[str], dict[str, str]]]]
"""Claims a batch of keys: returns (the keys now held, {key: why another job has it})."""


async def _work(key: str, payload: P, worker: Callable[[P], Awaitable[Any]]) -> Outcome[P]:
    try:
        return Outcome(key, payload, True, value=await worker(payload))
    except asyncio.CancelledError:
        raise
    except LoreForgeError as exc:
        return Outcome(key, payload, False, error=str(exc), raw=getattr(exc, "raw_output", None))
    except Exception as exc:  # noqa: BLE001 - one broken item is reported, the job goes on
        log.exception("item %s failed unexpectedly", key)
        return Outcome(key, payload, False, error=f"unexpected {type(exc).__name__}: {exc}")


async def run_items(
    items: Iterable[tuple[str, P]],
    worker: Callable[[P], Awaitable[Any]],
    write: Writer,
    calls: list[Any],
    *,
    workers: int,
    claim: Claim | None = None,
) -> None:
    """Run `worker` over `items` with `workers` in flight; `write(outcomes, call_records)` persists batches.
    `claim` (when given) is asked for each batch of keys before any of them is worked on. `calls` is the list
    the runner's sink appends CallRecords to; the writer drains it."""
    count = max(1, workers)
    todo: asyncio.Queue[tuple[str, P] | None] = asyncio.Queue(maxsize=count)
    done: asyncio.Queue[Outcome[P] | None] = asyncio.Queue()

    async def feed() -> None:
        pending = list(items)
        for start in range(0, len(pending), count):
            batch = pending[start : start + count]
            keys = [key for key, _ in batch]
            mine, elsewhere = await claim(keys) if claim is not None else (set(keys), {})
            for key, payload in batch:
                if key in mine:
                    await todo.put((key, payload))
                else:
                    done.put_nowait(Outcome(key, payload, False, skipped=elsewhere.get(key, "another job has it")))
        for _ in range(count):
            await todo.put(None)

    async def pull() -> None:
        while (item := await todo.get()) is not None:
            done.put_nowait(await _work(item[0], item[1], worker))

    tasks = [asyncio.ensure_future(feed())] + [asyncio.ensure_future(pull()) for _ in range(count)]
    writer = asyncio.ensure_future(_writer(done, write, calls))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        done.put_nowait(None)
        await asyncio.shield(writer)


async def _writer(done: asyncio.Queue[Any], write: Writer, calls: list[Any]) -> None:
    batch: list[Outcome[Any]] = []
    finished = False
    while not finished:
        try:
            item = await asyncio.wait_for(done.get(), timeout=FLUSH_SECONDS)
            if item is None:
                finished = True
            else:
                batch.append(item)
                if len(batch) < FLUSH_ITEMS:
                    continue
        except asyncio.TimeoutError:
            pass
        if batch or calls:
            records = calls[:]
            del calls[: len(records)]
            await asyncio.to_thread(write, batch, records)
            batch = []
