"""Jobs as views (shared by the job actions, the stage launcher and the train runs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loreforge.jobs import effective_status
from loreforge.store.models import Job, JobItem, Project
from loreforge.views import JobFailure, JobView, from_row

ITEMS_SHOWN = 200


def job_view(session: Session, job: Job) -> JobView:
    """The job with its effective status (a lost worker shows as interrupted), its failures and its skips."""
    def items(status: str) -> list[JobFailure]:
        rows = session.scalars(
            select(JobItem).where(JobItem.job_id == job.id, JobItem.status == status).order_by(JobItem.id).limit(ITEMS_SHOWN)
        )
        return [JobFailure(key=i.item_key, error=i.error, raw_output=i.raw_output) for i in rows]

    project = session.scalar(select(Project.name).where(Project.id == job.project_id)) if job.project_id else None
    return from_row(JobView, job, project=project, status=effective_status(job), params=dict(job.params or {}), progress=dict(job.progress or {}),
                    failures=items("failed") if job.failed else [], skips=items("skipped") if job.skipped else [])
