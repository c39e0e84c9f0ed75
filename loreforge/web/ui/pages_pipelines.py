"""Pages: pipeline runs (`loreforge run RECIPE`) — the list; one run's stages in order, each with its status and why
it ran or was skipped, how long it took and what it made, the live progress of the stage running (its own job), and
the one-screen summary (data, training, did it learn). The run lives in its worker: reload and it is followed again.
JSON twins: GET /api/pipelines, /api/pipelines/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.jobs.status import ACTIVE
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, go, page, tr

router = APIRouter()
STATUS_OF = {"pending": "queued"}  # the progress's word for a stage still to run, as a job status badge


def stages(view: Any) -> list[dict[str, Any]]:
    """Every stage in order: its status (live from the progress while running), why, time, result, error."""
    from loreforge.pipeline.plan import STAGES

    live = (view.progress or {}).get("stages") or {}
    child = (view.progress or {}).get("child") or {}
    out = []
    for name in STAGES:
        record = (view.stages or {}).get(name) or {}
        status = live.get(name) or record.get("status") or "skipped"
        why = record.get("reason") if status != "skipped" else (record.get("last_decision") or record.get("reason"))
        result = {k: v for k, v in (record.get("result") or {}).items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        doing = child if status == "running" and (view.progress or {}).get("stage") == name and child.get("total") else None
        out.append({"name": name, "status": status, "badge": STATUS_OF.get(status, status), "why": why or "",
                    "seconds": record.get("seconds"), "error": record.get("error"), "result": dict(list(result.items())[:4]),
                    "doing": doing})
    return out


@router.get("/pipelines")
def pipelines(request: Request) -> Response:
    return page(request, "pipelines.html", nav="pipeline", twin="/api/pipelines", runs=svc(request).list_pipelines(), active=ACTIVE)


@router.get("/pipelines/{pipeline_id}")
def pipeline(pipeline_id: int, request: Request) -> Response:
    view = svc(request).get_pipeline(pipeline_id)
    return page(request, "pipeline.html", view.project_id, nav="pipeline", twin=f"/api/pipelines/{pipeline_id}", run=view,
                stages=stages(view), active=ACTIVE, summary=view.summary)


@router.post("/pipelines/{pipeline_id}/cancel")
def cancel(pipeline_id: int, request: Request) -> Response:
    view = svc(request).cancel_pipeline(pipeline_id)
    return done(request, tr(request)("pipeline.cancel_asked", id=view.id, status=view.status), f"/ui/pipelines/{pipeline_id}",
                event=JOB_STARTED)


@router.post("/pipelines/{pipeline_id}/resume")
def resume(pipeline_id: int, request: Request) -> Response:
    svc(request).execute_pipeline(pipeline_id, background=True)
    return go(request, f"/ui/pipelines/{pipeline_id}")
