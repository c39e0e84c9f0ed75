"""The one way the service layer reaches a model: resolve what a call uses (`Generation`: the provider config,
the runner settings, the project's settings), open the strategy it chooses (an LLM through the runner, or the
offline extractive one), run the work, and log every attempt in `llm_calls` — plus `run_sync`, which lets the
blocking API run that async work from plain code and from inside a running event loop (Jupyter) alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from loreforge.settings import ProjectSettings
from loreforge.store import Database
from loreforge.store.models import LLMCall

T = TypeVar("T")


@dataclass(frozen=True)
class Generation:
    """What one stage run (or one call) uses: resolved once, before any work starts."""

    project_id: int
    config: Any  # loreforge.providers.ProviderConfig (holds the resolved key as a SecretStr)
    settings: ProjectSettings

    @property
    def model_key(self) -> str:
        """Part of every work item's key: the same input with another model is other work."""
        return f"{self.config.provider}:{self.config.model}"

    @property
    def source(self) -> str:
        from loreforge.generate.strategies import strategy_class

        return str(strategy_class(self.config).source)

    def check(self, stage: str) -> None:
        from loreforge.generate.strategies import check

        check(self.config, stage)


def call_row(rec: Any) -> dict[str, Any]:
    """A runner CallRecord as an `llm_calls` row."""
    return {
        "project_id": rec.project_id, "job_id": rec.job_id, "stage": rec.stage, "provider": rec.provider, "model": rec.model,
        "prompt_name": rec.prompt_name[:100], "prompt_hash": rec.prompt_hash, "params": rec.params,
        "tokens_in": rec.tokens_in, "tokens_out": rec.tokens_out, "latency_ms": rec.latency_ms, "status": rec.status,
        "error": rec.error, "created_at": datetime.fromtimestamp(rec.created_at, tz=timezone.utc),
    }


def record_calls(db: Database, records: list[Any]) -> None:
    if records:
        with db.session() as session:
            session.execute(LLMCall.__table__.insert(), [call_row(r) for r in records])


async def with_strategy(db: Database, gen: Generation, work: Callable[[Any], Awaitable[T]], *, log: bool = True,
                        runner_settings: Any = None) -> T:
    """Open `gen`'s strategy, run `work(strategy)`, log the calls it made (unless `log` is off), close it."""
    from loreforge.generate.strategies import open_strategy

    calls: list[Any] = []
    try:
        async with open_strategy(gen.config, runner_settings or gen.settings.llm, sink=calls.append if log else None) as strategy:
            return await work(strategy)
    finally:
        await asyncio.to_thread(record_calls, db, calls)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from blocking code — also when an event loop is already running in this
    thread (a notebook, an async web handler): then it runs on its own loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loreforge-sync") as pool:
        return pool.submit(asyncio.run, coro).result()
