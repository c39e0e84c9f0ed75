"""Pages: jobs — a project's jobs, one job live (progress over server-sent events, re-attached after a reload or
a closed tab: the work runs on the server), its failed items with their reasons and raw output, cancel, retry
failed; and the running-jobs indicator every page shows. JSON twins: GET /api/jobs, /api/jobs/{id}, and the
JSON event stream /api/jobs/{id}/events, whose events this page's stream renders as HTML."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from loreforge.jobs import job_events
from loreforge.jobs.status import ACTIVE
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, page, tr
from loreforge.web.ui.render import ENV, html, language
from loreforge.web.ui.i18n import translator

router = APIRouter()
LISTED = 100


@router.get("/p/{project}/jobs")
def project_jobs(project: str, request: Request) -> Response:
    jobs = svc(request).list_jobs(project, limit=LISTED)
    return page(request, "jobs.html", project, nav="jobs", twin="/api/jobs?project={id}", jobs=jobs, active=ACTIVE)


@router.get("/jobs")
def all_jobs(request: Request) -> Response:
    return page(request, "jobs.html", nav="jobs", twin="/api/jobs", jobs=svc(request).list_jobs(limit=LISTED), active=ACTIVE)


@router.get("/jobs/indicator")
def indicator(request: Request, project: int | None = None) -> Response:
    """How many jobs are running (this project's, on a project page), as the header's small link."""
    running = svc(request).list_jobs(project, limit=LISTED, active=True)
    return html(request, "_indicator.html", running=running, project_id=project)


@router.get("/jobs/{job_id}")
def job(job_id: int, request: Request) -> Response:
    view = svc(request).get_job(job_id)
    return page(request, "job.html", view.project, nav="jobs", twin=f"/api/jobs/{job_id}", job=view, active=ACTIVE)


@router.get("/jobs/{job_id}/events")
async def events(job_id: int, request: Request) -> StreamingResponse:
    """The job's one event stream (`loreforge.jobs.job_events`: `progress` on each change, then `end`), each
    event's data rendered as the progress fragment for htmx's SSE extension to swap in."""
    s = svc(request)
    await asyncio.to_thread(s.get_job, job_id)  # 404 before the stream starts
    t = translator(language(request))
    fragment = ENV.get_template("_job_progress.html")

    def encode(event: str, data: dict[str, Any]) -> str:
        body = fragment.render(job=data, t=t, lang=language(request))
        return f"event: {event}\n" + "".join(f"data: {line}\n" for line in body.splitlines() or [""]) + "\n"

    return StreamingResponse(job_events(lambda: s.get_job(job_id), encode=encode), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: int, request: Request) -> Response:
    view = svc(request).cancel_job(job_id)
    return done(request, tr(request)("jobs.cancel_asked", id=view.id), f"/ui/jobs/{job_id}", event=JOB_STARTED)


@router.post("/jobs/{job_id}/retry")
def retry(job_id: int, request: Request) -> Response:
    view = svc(request).retry_job(job_id, background=True)
    return done(request, tr(request)("jobs.retried", id=view.id), f"/ui/jobs/{view.id}", event=JOB_STARTED, job=view)
