"""Running generation stages as jobs: create the job and its items, run the stage's worker over them through
the runner (in the foreground, or in a background thread for the API), write outcomes and LLM call records
from one writer, and retry or resume only what is not done."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound
from loreforge.jobs import ACTIVE, JobControl, effective_status, run_job
from loreforge.service.models import ModelActions
from loreforge.store.models import Job, JobItem, LLMCall
from loreforge.views import JobFailure, JobView

Progress = Callable[[int, int, int], None]  # done, failed, total
FAILURES_SHOWN = 200


@dataclass
class StagePlan:
    """What a stage run needs: the provider and runner settings, the items, and how to do and store one."""

    kind: str
    project_id: int
    provider_config: Any
    runner_settings: Any
    items: list[tuple[str, Any]]
    params: dict[str, Any]
    make_worker: Callable[[Any, Any, int], Callable[[Any], Awaitable[Any]]]  # (provider, runner, job_id)
    store: Callable[[Session, int, Any, Any], None]  # (session, job_id, payload, value) for an ok outcome


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


def _record_row(rec: Any) -> dict[str, Any]:
    return {
        "project_id": rec.project_id,
        "job_id": rec.job_id,
        "stage": rec.stage,
        "provider": rec.provider,
        "model": rec.model,
        "prompt_name": rec.prompt_name[:100],
        "prompt_hash": rec.prompt_hash,
        "params": rec.params,
        "tokens_in": rec.tokens_in,
        "tokens_out": rec.tokens_out,
        "latency_ms": rec.latency_ms,
        "status": rec.status,
        "error": rec.error,
        "created_at": datetime.fromtimestamp(rec.created_at, tz=timezone.utc),
    }


class EngineActions(ModelActions):
    # -- job views -----------------------------------------------------------------------------------
    def _job_view(self, session: Session, job: Job) -> JobView:
        failures = session.scalars(
            select(JobItem).where(JobItem.job_id == job.id, JobItem.status == "failed").order_by(JobItem.id).limit(FAILURES_SHOWN)
        ).all()
        return JobView(
            id=job.id,
            project_id=job.project_id,
            kind=job.kind,
            status=effective_status(job),
            total=job.total,
            done=job.done,
            failed=job.failed,
            params=dict(job.params or {}),
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            failures=[JobFailure(key=f.item_key, error=f.error, raw_output=f.raw_output) for f in failures],
        )

    def _job(self, session: Session, job_id: int) -> Job:
        job = session.get(Job, int(job_id))
        if job is None:
            raise NotFound(f"No job {job_id}", hint="List jobs with `loreforge jobs list`")
        return job

    # -- running -------------------------------------------------------------------------------------
    def _launch(self, plan: StagePlan, job_id: int | None = None, background: bool = False, on_progress: Progress | None = None) -> JobView:
        job_id = self._prepare_job(plan, job_id)
        if background:
            # every background job of the process shares one event loop, so endpoint limits are shared too
            job_loop().submit(self._execute_async(job_id, plan, None))
        else:
            asyncio.run(self._execute_async(job_id, plan, on_progress))
        with self.db.session() as session:
            return self._job_view(session, self._job(session, job_id))

    def _prepare_job(self, plan: StagePlan, job_id: int | None) -> int:
        keys = [key for key, _ in plan.items]
        with self.db.session() as session:
            if job_id is None:
                job = Job(project_id=plan.project_id, kind=plan.kind, status="queued", params=plan.params, total=len(keys))
                session.add(job)
                session.flush()
                if keys:
                    session.execute(JobItem.__table__.insert(), [{"job_id": job.id, "item_key": k, "status": "pending"} for k in keys])
                return job.id
            job = self._job(session, job_id)
            if effective_status(job) in ACTIVE:
                raise Conflict(f"Job {job.id} is still {job.status}", hint=f"Cancel it first with `loreforge jobs cancel {job.id}`")
            session.execute(delete(JobItem).where(JobItem.job_id == job.id, JobItem.status != "done"))
            if keys:
                session.execute(JobItem.__table__.insert(), [{"job_id": job.id, "item_key": k, "status": "pending"} for k in keys])
            job.status = "queued"
            job.total = job.done + len(keys)
            return job.id

    async def _execute_async(self, job_id: int, plan: StagePlan, on_progress: Progress | None) -> str:
        from loreforge.generate.runner import Runner
        from loreforge.generate.work import run_items
        from loreforge.providers import make_provider

        def write(outcomes: list[Any], records: list[Any]) -> None:
            self._write_outcomes(job_id, plan, outcomes, records, on_progress)

        provider = make_provider(plan.provider_config)
        calls: list[Any] = []
        runner = Runner(provider, plan.runner_settings, sink=calls.append)

        async def work(_control: JobControl) -> None:
            worker = plan.make_worker(provider, runner, job_id)
            await run_items(plan.items, worker, write, calls, workers=plan.runner_settings.concurrency)

        try:
            return await run_job(JobControl(self.db, job_id), work)
        finally:
            await runner.aclose()
            await provider.aclose()

    def _write_outcomes(self, job_id: int, plan: StagePlan, outcomes: list[Any], records: list[Any], on_progress: Progress | None) -> None:
        with self.db.session() as session:
            if records:
                session.execute(LLMCall.__table__.insert(), [_record_row(r) for r in records])
            for out in outcomes:
                item = session.scalar(select(JobItem).where(JobItem.job_id == job_id, JobItem.item_key == out.key))
                if out.ok:
                    plan.store(session, job_id, out.payload, out.value)
                    partial = getattr(out.value, "error", None)  # stored what came, but part of the item failed
                    status, error, raw = ("failed", partial, getattr(out.value, "raw", None)) if partial else ("done", None, None)
                else:
                    status, error, raw = "failed", out.error, out.raw
                if item is not None:
                    item.status, item.error, item.raw_output = status, error, raw
            job = self._job(session, job_id)
            counts = dict(
                session.execute(
                    select(JobItem.status, func.count(JobItem.id)).where(JobItem.job_id == job_id).group_by(JobItem.status)
                ).all()
            ) if outcomes else {}
            if outcomes:
                job.done, job.failed = counts.get("done", 0), counts.get("failed", 0)
            done, failed, total = job.done, job.failed, job.total
        if on_progress is not None and outcomes:
            on_progress(done, failed, total)

    # -- job actions ---------------------------------------------------------------------------------
    def list_jobs(self, project: str | int | None = None, limit: int = 50) -> list[JobView]:
        with self.db.session() as session:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if project is not None:
                query = query.where(Job.project_id == self._project(session, project).id)
            return [self._job_view(session, j) for j in session.scalars(query)]

    def get_job(self, job_id: int) -> JobView:
        with self.db.session() as session:
            return self._job_view(session, self._job(session, job_id))

    def cancel_job(self, job_id: int) -> JobView:
        """Ask a running job to stop (from any process); its in-flight calls are cancelled."""
        with self.db.session() as session:
            job = self._job(session, job_id)
            status = effective_status(job)
            if status in ("queued", "running"):
                job.status = "cancelling"
            elif status == "interrupted":
                job.status = "cancelled"
            return self._job_view(session, job)
