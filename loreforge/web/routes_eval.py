"""REST routes: evaluation runs — start one (a background worker process; follow it with GET /api/evals/{id} or
its event stream), list, show, compare two, run one again (it resumes), cancel."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from loreforge.jobs import job_events
from loreforge.service import Service
from loreforge.views import EvalCompareView, EvalRunView
from loreforge.web.deps import project_dir, svc, write_path

EVALS_DIR = "evals"  # under a project's folder: report folders of evaluation runs started over the API

router = APIRouter(tags=["evaluation"])


class EvalRequest(BaseModel):
    base: str = Field(description="The base model: a folder, .gguf file, hub id or model config")
    tuned: str = Field(description="The tuned model: a train run id, a LoRA adapter or full model folder, or a model config")
    probes: list[str] | None = Field(None, description="Probe set names or ids (default: all of the project's)")
    rag: bool = Field(False, description="Also ask the base model with the top-k BM25 chunks in its prompt")
    judge: str | None = Field(None, description="A model config scoring free answers 0-1 (never one of the models judged)")
    out: str | None = Field(None, description="Report folder (default: the project's evals/<id>/; confined when served)")
    max_new_tokens: int | None = None
    batch_size: int | None = None
    rag_k: int | None = None
    name: str | None = None


@router.post("/projects/{project}/eval", response_model=EvalRunView, status_code=202)
def evaluate(project: str, body: EvalRequest, request: Request, s: Service = Depends(svc)) -> EvalRunView:
    """Start an evaluation run in a background worker; returns it queued. Follow it with GET /api/evals/{id} or
    /api/evals/{id}/events."""
    out = write_path(request, body.out, lambda: project_dir(request, project, EVALS_DIR), "report folder") if body.out else None
    return s.evaluate(project, body.base, body.tuned, body.probes, rag=body.rag, judge=body.judge, out=out,
                      max_new_tokens=body.max_new_tokens, batch_size=body.batch_size, rag_k=body.rag_k, name=body.name,
                      background=True)


@router.get("/evals", response_model=list[EvalRunView])
def list_evals(project: str | None = None, s: Service = Depends(svc)) -> list[EvalRunView]:
    return s.list_evals(project)


@router.get("/evals/{eval_id}", response_model=EvalRunView)
def get_eval(eval_id: int, s: Service = Depends(svc)) -> EvalRunView:
    return s.get_eval(eval_id)


@router.get("/evals/{first}/compare/{second}", response_model=EvalCompareView)
def compare_evals(first: int, second: int, s: Service = Depends(svc)) -> EvalCompareView:
    """The two runs side by side, and the second run's tuned model against the first's, probe by probe."""
    return s.compare_evals(first, second)


@router.post("/evals/{eval_id}/execute", response_model=EvalRunView, status_code=202)
def execute_eval(eval_id: int, s: Service = Depends(svc)) -> EvalRunView:
    """Run a failed, cancelled or interrupted evaluation again in a background worker: it resumes."""
    return s.execute_eval(eval_id, background=True)


@router.post("/evals/{eval_id}/cancel", response_model=EvalRunView)
def cancel_eval(eval_id: int, s: Service = Depends(svc)) -> EvalRunView:
    return s.cancel_eval(eval_id)


@router.get("/evals/{eval_id}/events")
async def eval_events(eval_id: int, s: Service = Depends(svc)) -> StreamingResponse:
    """Server-sent events of the run's job, in the one format of all long work: `progress` (answers as
    done/total, the phase and rate as `progress`) whenever it changes, then `end`."""
    view = await asyncio.to_thread(s.get_eval, eval_id)  # 404 before the stream starts
    return StreamingResponse(job_events(lambda: s.get_job(view.job_id)), media_type="text/event-stream")
