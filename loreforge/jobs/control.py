"""The running side of the one life cycle: start, heartbeat, progress, cancel, finish, re-queue.

Every kind of long work uses these, whatever its worker is (an asyncio loop of LLM calls, a training loop in
this process or in a launched one):

- `JobControl.start()` moves a `queued` job to `running` with this process's pid and host — a compare-and-set,
  so two processes never run one job at once;
- a heartbeat every HEARTBEAT_S (`heartbeat()` for async workers, `heartbeat_thread()` for blocking ones)
  touches `heartbeat_at` and reports a cancel request made from any process;
- `report()` stores progress (counts, and kind-specific detail such as a training step's loss);
- `finish()` sets the end state and releases the work items this job claimed but did not finish;
- `request_cancel()` (any process) and `requeue()` (before a retry or resume) are the only ways in from outside.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, LoreForgeError
from loreforge.jobs.claims import release_claims
from loreforge.jobs.status import ACTIVE, HEARTBEAT_S, effective_status, pid_alive, this_host
from loreforge.store import Database
from loreforge.store.models import Job, JobItem, utcnow


class JobControl:
    """One job, seen from the process that runs it."""

    def __init__(self, db: Database, job_id: int) -> None:
        self.db = db
        self.job_id = job_id
        self.cancel_requested = asyncio.Event()

    def start(self) -> None:
        """queued → running, owned by this process. Raises Conflict when another process got there first."""
        now = utcnow()
        with self.db.session() as s:
            moved = s.execute(
                update(Job).where(Job.id == self.job_id, Job.status == "queued").values(
                    status="running", pid=os.getpid(), host=this_host(), started_at=now, heartbeat_at=now,
                    finished_at=None, error=None,
                )
            ).rowcount
            if not moved:
                status = s.scalar(select(Job.status).where(Job.id == self.job_id))
                raise Conflict(f"Job {self.job_id} is {status or 'gone'}, not queued: another process runs it",
                               hint=f"Follow it with `loreforge jobs show {self.job_id}`")

    def beat(self) -> bool:
        """One heartbeat; True when a cancel was requested."""
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == self.job_id).values(heartbeat_at=utcnow()))
            status = s.scalar(select(Job.status).where(Job.id == self.job_id))
        return status == "cancelling"

    def asked_to_cancel(self) -> bool:
        """Whether a cancel was requested through the store (the job is `cancelling`)."""
        with self.db.session() as s:
            return s.scalar(select(Job.status).where(Job.id == self.job_id)) == "cancelling"

    async def heartbeat(self) -> None:
        """Beat until cancelled (as a task beside the work); sets `cancel_requested` when asked to stop."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if await asyncio.to_thread(self.beat):
                self.cancel_requested.set()

    def heartbeat_thread(self, on_cancel: Callable[[], None]) -> threading.Event:
        """Beat from a daemon thread (for blocking workers such as training); `on_cancel` runs once when a cancel
        is requested. Set the returned event to stop beating."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(HEARTBEAT_S):
                try:
                    cancelling = self.beat()
                except Exception:  # noqa: BLE001 - a store hiccup must not kill the worker; the next beat retries
                    continue
                if cancelling:
                    on_cancel()
                    return

        threading.Thread(target=loop, name=f"job-{self.job_id}-heartbeat", daemon=True).start()
        return stop

    def report(self, *, done: int | None = None, total: int | None = None, detail: dict[str, Any] | None = None) -> None:
        """Store progress: counts and kind-specific detail (replaces the previous detail); touches the heartbeat."""
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if done is not None:
            values["done"] = done
        if total is not None:
            values["total"] = total
        if detail is not None:
            values["progress"] = dict(detail)
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == self.job_id).values(**values))

    def finish(self, error: str | None = None, cancelled: bool = False, status: str | None = None) -> str:
        """End the job: `failed` with `error`, `cancelled`, an explicit `status`, or — from its items' outcomes —
        `completed` / `completed_with_failures`. Claimed items it did not finish go back to the ledger."""
        with self.db.session() as s:
            job = s.get(Job, self.job_id)
            assert job is not None
            counts = item_counts(s, job.id)
            if counts:
                job.done, job.failed, job.skipped = counts.get("done", 0), counts.get("failed", 0), counts.get("skipped", 0)
            if error is not None:
                job.status, job.error = "failed", error
            elif cancelled:
                job.status = "cancelled"
            else:
                job.status = status or ("completed_with_failures" if job.failed else "completed")
            job.finished_at = utcnow()
            release_claims(s, job.id)
            return job.status


def item_counts(session: Session, job_id: int) -> dict[str, int]:
    rows = session.execute(select(JobItem.status, func.count(JobItem.id)).where(JobItem.job_id == job_id).group_by(JobItem.status))
    return {status: int(n) for status, n in rows.all()}


async def run_job(control: JobControl, work: Callable[[JobControl], Awaitable[None]]) -> str:
    """Start the job, run `work` under a heartbeat, cancel it when asked; returns the final status."""
    await asyncio.to_thread(control.start)
    task = asyncio.ensure_future(work(control))
    beat = asyncio.ensure_future(control.heartbeat())
    watcher = asyncio.ensure_future(control.cancel_requested.wait())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return await asyncio.to_thread(control.finish, cancelled=True)
        exc = task.exception()
        if exc is not None:
            message = str(exc) if isinstance(exc, LoreForgeError) else f"{type(exc).__name__}: {exc}"
            await asyncio.to_thread(control.finish, error=message)
            raise exc
        return await asyncio.to_thread(control.finish)
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        control.finish(cancelled=True)
        raise
    finally:
        beat.cancel()
        watcher.cancel()
        await asyncio.gather(beat, watcher, return_exceptions=True)


def requeue(session: Session, job: Job) -> None:
    """Make a finished or interrupted job runnable again (retry, resume). A compare-and-set on the status seen,
    so that two processes asking at once do not both run it."""
    seen = effective_status(job)
    if seen in ACTIVE:
        raise Conflict(f"Job {job.id} is still {seen}", hint=f"Wait for it, or cancel it first with `loreforge jobs cancel {job.id}`")
    moved = session.execute(
        update(Job).where(Job.id == job.id, Job.status == job.status, Job.heartbeat_at.is_not_distinct_from(job.heartbeat_at))
        .values(status="queued", pid=None, host=None, error=None, finished_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise Conflict(f"Job {job.id} was just started by another process", hint=f"Follow it with `loreforge jobs show {job.id}`")
    session.refresh(job)


def request_cancel(session: Session, job: Job) -> str:
    """Ask a job to stop, from any process: a queued job nobody started, or one whose worker is lost, ends at
    once as `cancelled`; a running one becomes `cancelling` and its worker stops at its next heartbeat
    (in-flight LLM calls are cancelled; a training run keeps its checkpoints). Returns the status now."""
    seen = effective_status(job)
    if seen == "queued" and job.pid is None or seen == "interrupted":
        job.status, job.finished_at = "cancelled", utcnow()
        job.error = job.error or ("cancelled before it started" if seen == "queued" else "cancelled after its worker was lost")
        release_claims(session, job.id)
    elif seen in ("queued", "running"):
        job.status = "cancelling"
    return effective_status(job)


def close_if_active(db: Database, job_id: int, status: str, error: str | None = None, detail: dict[str, Any] | None = None,
                    launched: int | None = None) -> bool:
    """After a launched worker exits: close its job if the worker left it active (a crash, a kill, a node other
    than rank 0's). A job that was being cancelled ends `cancelled`. True when it closed the job.

    `launched`: the pid of the process that exited. The job is then left alone when it is no longer that worker's:
    requeued meanwhile (a resume or retry: queued, no pid) or held by another live process of this machine."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.status not in ACTIVE:
            return False
        if launched is not None and _taken_over(job, launched):
            return False
        if job.status == "cancelling":
            job.status, job.error = "cancelled", "cancelled"
        else:
            job.status, job.error = status, error
        if detail is not None:
            job.progress = {**(job.progress or {}), **detail}
        job.finished_at = utcnow()
        release_claims(s, job.id)
        return True


def _taken_over(job: Job, launched: int) -> bool:
    if job.pid is None:
        return job.status == "queued"
    return job.pid != launched and job.host in (None, this_host()) and pid_alive(job.pid)
