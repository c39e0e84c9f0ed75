"""Background jobs: long actions (question/answer generation, tag building, scoring, ...) run as jobs.

A job is a row in `jobs` with one row per work item in `job_items` (key, status, error, raw output). The
stage that runs the job does the work; this module owns the life cycle around it:

- progress: `done`/`failed` counts on the job row, updated by the stage's single writer, readable from any
  process (the CLI draws a progress bar; the API streams them as server-sent events);
- heartbeat: a running job touches `heartbeat_at` every few seconds; a job whose process died (SIGKILL,
  crash, reboot) is shown as `interrupted` and can be resumed;
- cancel: `request_cancel` sets the status to `cancelling` (from any process); the running job notices it
  within a heartbeat, cancels its in-flight calls and ends as `cancelled`;
- end states: `completed`, `completed_with_failures` ("completed with N failed", each failure listed),
  `failed` (the job itself broke), `cancelled`, `interrupted`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update

from loreforge.store import Database
from loreforge.store.models import Job, JobItem, utcnow

HEARTBEAT_S = 2.0
STALE_AFTER_S = 30.0
ACTIVE = ("queued", "running", "cancelling")
FINAL = ("completed", "completed_with_failures", "failed", "cancelled", "interrupted")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_lost(pid: int | None, heartbeat: datetime | None, now: datetime | None = None) -> bool:
    """A worker (job or train run) is lost when its process is gone or it has been silent too long."""
    if heartbeat is not None and heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=timezone.utc)
    same_host_dead = pid is not None and not pid_alive(pid)
    silent = heartbeat is not None and (now or utcnow()) - heartbeat > timedelta(seconds=STALE_AFTER_S)
    return same_host_dead or silent


def effective_status(job: Job, now: datetime | None = None) -> str:
    """The status to show: an active job whose process is gone (or silent too long) is `interrupted`."""
    if job.status not in ACTIVE:
        return job.status
    lost = worker_lost(job.pid, job.heartbeat_at or job.started_at or job.created_at, now)
    return "interrupted" if lost else job.status


class JobControl:
    """The running side of one job: heartbeat, cancel detection, final status."""

    def __init__(self, db: Database, job_id: int) -> None:
        self.db = db
        self.job_id = job_id
        self.cancel_requested = asyncio.Event()

    def start(self) -> None:
        with self.db.session() as s:
            s.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(status="running", pid=os.getpid(), started_at=utcnow(), heartbeat_at=utcnow(), finished_at=None, error=None)
            )

    async def heartbeat(self) -> None:
        """Touch the job row and watch for a cancel request until cancelled."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if self.beat():
                self.cancel_requested.set()

    def beat(self) -> bool:
        """One heartbeat; True when a cancel was requested."""
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == self.job_id).values(heartbeat_at=utcnow()))
            status = s.scalar(select(Job.status).where(Job.id == self.job_id))
        return status == "cancelling"

    def finish(self, error: str | None = None, cancelled: bool = False) -> str:
        with self.db.session() as s:
            job = s.get(Job, self.job_id)
            assert job is not None
            failed = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id, JobItem.status == "failed")) or 0
            done = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id, JobItem.status == "done")) or 0
            job.failed, job.done = failed, done
            if error is not None:
                job.status, job.error = "failed", error
            elif cancelled:
                job.status = "cancelled"
            else:
                job.status = "completed_with_failures" if failed else "completed"
            job.finished_at = utcnow()
            return job.status


async def run_job(control: JobControl, work: Callable[[JobControl], Awaitable[None]]) -> str:
    """Run `work` under a heartbeat; cancel it when a cancel is requested. Returns the final status."""
    control.start()
    task = asyncio.ensure_future(work(control))
    beat = asyncio.ensure_future(control.heartbeat())
    watcher = asyncio.ensure_future(control.cancel_requested.wait())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return control.finish(cancelled=True)
        exc = task.exception()
        if exc is not None:
            from loreforge.errors import LoreForgeError

            message = str(exc) if isinstance(exc, LoreForgeError) else f"{type(exc).__name__}: {exc}"
            control.finish(error=message)
            raise exc
        return control.finish()
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        control.finish(cancelled=True)
        raise
    finally:
        beat.cancel()
        watcher.cancel()
        await asyncio.gather(beat, watcher, return_exceptions=True)


def job_summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": effective_status(job), "done": job.done, "failed": job.failed, "total": job.total}
