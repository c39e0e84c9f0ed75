"""The work loop of a generation job: a bounded pool of workers over the job's items, and ONE writer
coroutine that hands finished outcomes (and LLM call records) to the store in batched transactions.

Workers never touch the database. Cancelling the loop cancels in-flight calls; outcomes already finished are
still written (the final flush is shielded), so nothing done is lost and nothing is written twice.
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


Writer = Callable[[list[Outcome[Any]], list[Any]], None]


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
) -> None:
    """Run `worker` over `items` with `workers` in flight; `write(outcomes, call_records)` persists batches.
    `calls` is the list the runner's sink appends CallRecords to; the writer drains it."""
    todo: asyncio.Queue[tuple[str, P] | None] = asyncio.Queue()
    for item in items:
        todo.put_nowait(item)
    done: asyncio.Queue[Outcome[P]] = asyncio.Queue()
    count = max(1, workers)
    for _ in range(count):
        todo.put_nowait(None)

    async def pull() -> None:
        while (item := await todo.get()) is not None:
            done.put_nowait(await _work(item[0], item[1], worker))

    pool = [asyncio.ensure_future(pull()) for _ in range(count)]
    writer = asyncio.ensure_future(_writer(done, write, calls))
    try:
        await asyncio.gather(*pool)
    finally:
        for task in pool:
            task.cancel()
        await asyncio.gather(*pool, return_exceptions=True)
        done.put_nowait(None)  # type: ignore[arg-type]
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
            write(batch, records)
            batch = []
