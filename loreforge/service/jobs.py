"""Job actions — the same for every kind of long work: list, show, cancel (from any process), and retry or
resume (only what is not done; the kind's entry in `kinds.KINDS` says how)."""

from __future__ import annotations

from sqlalchemy import select

from loreforge import jobs as lifecycle
from loreforge.errors import UserError
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.job_views import job_view
from loreforge.service.kinds import KINDS
from loreforge.service.stages import Progress, StagePlan, alaunch, launch
from loreforge.store.models import Job, JobItem
from loreforge.views import JobView


class JobActions(ServiceBase):
    def list_jobs(self, project: str | int | None = None, limit: int = 50, kind: str | None = None,
                  active: bool = False) -> list[JobView]:
        """The latest jobs of every kind (or of one `kind`), newest first; `active`: only those still queued,
        running or cancelling (a job whose worker is lost shows as interrupted and is left out)."""
        with self.db.session() as session:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if active:
                query = query.where(Job.status.in_(lifecycle.ACTIVE))
            if project is not None:
                query = query.where(Job.project_id == lookups.project(session, project).id)
            if kind is not None:
                query = query.where(Job.kind == kind)
            views = [job_view(session, j) for j in session.scalars(query)]
        return [v for v in views if v.status in lifecycle.ACTIVE] if active else views

    def get_job(self, job_id: int) -> JobView:
        with self.db.session() as session:
            return job_view(session, lookups.job(session, job_id))

    def cancel_job(self, job_id: int) -> JobView:
        """Ask a job to stop, from any process: its worker stops at its next heartbeat (in-flight LLM calls are
        cancelled; a train run keeps its checkpoints). A job whose worker is lost ends `cancelled` at once."""
        with self.db.session() as session:
            job = lookups.job(session, job_id)
            lifecycle.request_cancel(session, job)
            return job_view(session, job)

    def _retry_plan(self, job_id: int) -> tuple[StagePlan | None, Job]:
        with self.db.session() as session:
            job = lookups.job(session, job_id)
            kind = KINDS.get(job.kind)
            if kind is None:
                raise UserError(f"Jobs of kind '{job.kind}' cannot be retried", expected=", ".join(KINDS))
            if kind.resume is not None:
                return None, job
            if job.project_id is None:
                raise UserError(f"Job {job.id} has no project any more")
            keys = list(session.scalars(select(JobItem.item_key).where(JobItem.job_id == job.id, JobItem.status != "done")))
            if not keys:
                raise UserError(f"Job {job.id} has nothing to retry: every item is done")
            assert kind.plan is not None
            return kind.plan(self.app, session, lookups.project(session, job.project_id), job, keys), job

    async def aretry_job(self, job_id: int, background: bool = False, on_progress: Progress | None = None) -> JobView:
        """Rerun only the items of a job that are not done (failed, skipped, or left pending by a lost worker);
        a train run resumes from its last checkpoint."""
        plan, job = self._retry_plan(job_id)
        if plan is None:
            return KINDS[job.kind].resume(self.app, job, background)  # type: ignore[misc]
        return await alaunch(self.db, plan, job_id=job_id, background=background, on_progress=on_progress)

    def retry_job(self, job_id: int, background: bool = False, on_progress: Progress | None = None) -> JobView:
        """The blocking twin of `aretry_job`."""
        plan, job = self._retry_plan(job_id)
        if plan is None:
            return KINDS[job.kind].resume(self.app, job, background)  # type: ignore[misc]
        return launch(self.db, plan, job_id=job_id, background=background, on_progress=on_progress)
