"""The one stage launcher: a generation stage (questions, answers, score, ...) planned as a `StagePlan` runs
as a job — in the foreground, or in the process's background job loop — through the one life cycle.

The plan lists the work items (key → payload; keys carry the input hash, so work already done is skipped),
fixes the stage's context (prompts, options), and says how to work one item with the strategy and how to
store its result. Here: the job and its items are recorded, each batch of items is claimed in the store
before any LLM call, workers run through the strategy, and ONE writer stores results, call records and item
outcomes together — a result only while this job still holds its item's claim, so two processes never store
one item twice. A result that leaves its item not really done (no question kept, some answers missing)
makes the item `failed` with the reason; counters a stage keeps (fallbacks, near-duplicates) become notes in
the job's summary.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loreforge import jobs as lifecycle
from loreforge.service import lookups
from loreforge.service.job_views import job_view
from loreforge.service.llm import Generation, call_row, run_sync
from loreforge.store import Database
from loreforge.store.models import Job, JobItem, LLMCall
from loreforge.views import JobView

Progress = Callable[[int, int, int], None]  # done, failed, total


@dataclass(frozen=True)
class Stored:
    """What storing one item's result came to: `error` when the item is not done (what was stored stays)."""

    error: str | None = None
    raw: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class StagePlan:
    """What a stage run needs: the resolved generation, the items, and how to work and store one."""

    kind: str
    gen: Generation
    items: list[tuple[str, Any]]
    params: dict[str, Any]
    context: Callable[[int], Any]  # job id -> the StageContext the strategy is called with
    work: Callable[[Any, Any, Any], Awaitable[Any]]  # (strategy, context, payload) -> draft
    store: Callable[[Session, int, Any, Any], Stored]  # (session, job id, payload, draft)
    force: bool = False
    notes: dict[str, str] = field(default_factory=dict)  # counter -> note template with {n}


def not_done(session: Session, project_id: int, kind: str, items: list[tuple[str, Any]], force: bool) -> list[tuple[str, Any]]:
    """The items no job has done yet (all of them with `force`): the same input, prompt and model is never
    worked twice, by this process or any other."""
    if force:
        return items
    done = lifecycle.done_keys(session, project_id, kind)
    return [(key, payload) for key, payload in items if key not in done]


class LostClaim(Exception):
    """This job's claim on an item went to another job (it took this one for lost): its result is not stored."""


class JobLoop:
    """One event loop in a daemon thread that runs every background job of the process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="loreforge-jobs", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)


_JOB_LOOP: list[JobLoop] = []
_JOB_LOOP_LOCK = threading.Lock()


def job_loop() -> JobLoop:
    with _JOB_LOOP_LOCK:
        if not _JOB_LOOP:
            _JOB_LOOP.append(JobLoop())
        return _JOB_LOOP[0]


async def alaunch(db: Database, plan: StagePlan, job_id: int | None = None, background: bool = False,
                  on_progress: Progress | None = None) -> JobView:
    """Record the job (or re-queue `job_id` with the plan's items) and run it; with `background`, return at once."""
    job_id = await asyncio.to_thread(prepare, db, plan, job_id)
    if background:
        # every background job of the process shares one event loop, so endpoint limits are shared too
        job_loop().submit(execute(db, job_id, plan, None))
    else:
        await execute(db, job_id, plan, on_progress)
    return await asyncio.to_thread(view_of, db, job_id)


def launch(db: Database, plan: StagePlan, job_id: int | None = None, background: bool = False,
           on_progress: Progress | None = None) -> JobView:
    return run_sync(alaunch(db, plan, job_id, background, on_progress))


def view_of(db: Database, job_id: int) -> JobView:
    with db.session() as session:
        return job_view(session, lookups.job(session, job_id))


def prepare(db: Database, plan: StagePlan, job_id: int | None) -> int:
    keys = [key for key, _ in plan.items]
    rows = lambda jid: [{"job_id": jid, "item_key": k, "status": "pending"} for k in keys]  # noqa: E731
    with db.session() as session:
        if job_id is None:
            job = Job(project_id=plan.gen.project_id, kind=plan.kind, status="queued", params=plan.params, total=len(keys), progress={})
            session.add(job)
            session.flush()
        else:
            job = lookups.job(session, job_id)
            lifecycle.requeue(session, job)
            session.execute(delete(JobItem).where(JobItem.job_id == job.id, JobItem.status != "done"))
            job.total, job.failed, job.skipped = job.done + len(keys), 0, 0
        if keys:
            session.execute(JobItem.__table__.insert(), rows(job.id))
        return job.id


async def execute(db: Database, job_id: int, plan: StagePlan, on_progress: Progress | None) -> str:
    from loreforge.generate.strategies import open_strategy
    from loreforge.generate.work import run_items

    with db.session() as session:
        retake = lookups.job(session, job_id).created_at if plan.force else None
    ctx = plan.context(job_id)
    calls: list[Any] = []

    async def claim(keys: list[str]) -> tuple[set[str], dict[str, str]]:
        def go() -> tuple[set[str], dict[str, str]]:
            with db.session() as session:
                got = lifecycle.claim(session, job_id, plan.gen.project_id, plan.kind, keys, retake)
            return set(got.mine), got.elsewhere

        return await asyncio.to_thread(go)

    def write(outcomes: list[Any], records: list[Any]) -> None:
        write_outcomes(db, job_id, plan, outcomes, records, on_progress)

    async def work(_control: lifecycle.JobControl) -> None:
        async with open_strategy(plan.gen.config, plan.gen.settings.llm, sink=calls.append) as strategy:
            worker = lambda payload: plan.work(strategy, ctx, payload)  # noqa: E731
            await run_items(plan.items, worker, write, calls, workers=plan.gen.settings.llm.concurrency, claim=claim)

    return await lifecycle.run_job(lifecycle.JobControl(db, job_id), work)


def write_outcomes(db: Database, job_id: int, plan: StagePlan, outcomes: list[Any], records: list[Any],
                   on_progress: Progress | None) -> None:
    """The one writer: call records, each item's result (while its claim is held) and outcome, the counts — in one
    transaction that holds the write lock from its start (results are stored in savepoints, after reads)."""
    with db.session(immediate=True) as session:
        if records:
            session.execute(LLMCall.__table__.insert(), [call_row(r) for r in records])
        job = lookups.job(session, job_id)
        counts = dict((job.progress or {}).get("counts", {}))
        for out in outcomes:
            status, error, raw, extra = _outcome(session, job_id, plan, out)
            for name, n in extra.items():
                counts[name] = counts.get(name, 0) + n
            item = session.scalar(select(JobItem).where(JobItem.job_id == job_id, JobItem.item_key == out.key))
            if item is not None:
                item.status, item.error, item.raw_output = status, error, raw
        if outcomes:
            tally = lifecycle.item_counts(session, job_id)
            job.done, job.failed, job.skipped = tally.get("done", 0), tally.get("failed", 0), tally.get("skipped", 0)
            notes = [template.format(n=counts[name]) for name, template in plan.notes.items() if counts.get(name)]
            job.progress = {**(job.progress or {}), "counts": counts, "notes": notes}
        done, failed, total = job.done, job.failed, job.total
    if on_progress is not None and outcomes:
        on_progress(done, failed, total)


def _outcome(session: Session, job_id: int, plan: StagePlan, out: Any) -> tuple[str, str | None, str | None, dict[str, int]]:
    """(status, error, raw output, counters) of one outcome, its result stored if it is ours to store."""
    if out.skipped:
        return "skipped", out.skipped, None, {}
    project_id = plan.gen.project_id
    if not out.ok:
        settled = lifecycle.settle(session, job_id, project_id, plan.kind, out.key, "failed")
        return ("failed", out.error, out.raw, {}) if settled else ("skipped", "taken over by another job", None, {})
    try:
        with session.begin_nested():
            stored = plan.store(session, job_id, out.payload, out.value)
            if not lifecycle.settle(session, job_id, project_id, plan.kind, out.key, "failed" if stored.error else "done"):
                raise LostClaim
    except LostClaim:
        return "skipped", "taken over by another job (this one was thought lost); its result was not stored", None, {}
    except IntegrityError:
        lifecycle.settle(session, job_id, project_id, plan.kind, out.key, "failed")
        return "failed", "its result is already stored (written by another job at the same time)", None, {}
    return ("failed" if stored.error else "done"), stored.error, stored.raw, stored.counts
