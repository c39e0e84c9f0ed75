"""REST routes: training runs (started in background workers, with progress and cancel), merging an adapter,
the accelerator report and the tiny model builder."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from loreforge.defaults import DEFAULT_VAL_SIZE
from loreforge.jobs import job_events
from loreforge.service import Service
from loreforge.train.launch import Launch
from loreforge.views import EnvView, MergedModelView, TinyModelView, TrainRunView
from loreforge.web.deps import svc

router = APIRouter(tags=["training"])


class TinyModelRequest(BaseModel):
    out: str
    texts: list[str] | None = None
    overwrite: bool = False
    shape: dict[str, int] = {}


@router.get("/env", response_model=EnvView)
def environment(s: Service = Depends(svc)) -> EnvView:
    return s.environment()


@router.post("/tiny-model", response_model=TinyModelView)
def tiny_model(body: TinyModelRequest, s: Service = Depends(svc)) -> TinyModelView:
    return s.tiny_model(body.out, body.texts, overwrite=body.overwrite, **body.shape)


class TrainRequest(BaseModel):
    config: dict[str, Any]
    project: str | None = None
    launch: Launch = Launch()  # processes: nproc_per_node > 1 or nnodes > 1 start torchrun


@router.post("/train", response_model=TrainRunView, status_code=202)
def train(body: TrainRequest, s: Service = Depends(svc)) -> TrainRunView:
    """Start SFT from a config mapping (LLaMA Factory keys) in a background worker; returns the queued run.
    Follow it with GET /api/runs/{id} (its `progress`) or the event stream /api/runs/{id}/events."""
    return s.train(body.config, project=body.project, background=True, launch=body.launch)


@router.get("/runs", response_model=list[TrainRunView])
def list_runs(project: str | None = None, s: Service = Depends(svc)) -> list[TrainRunView]:
    return s.list_runs(project)


@router.get("/runs/{run_id}", response_model=TrainRunView)
def get_run(run_id: int, s: Service = Depends(svc)) -> TrainRunView:
    return s.get_run(run_id)


@router.post("/runs/{run_id}/execute", response_model=TrainRunView, status_code=202)
def execute_run(run_id: int, body: Launch = Launch(), s: Service = Depends(svc)) -> TrainRunView:
    """Run a recorded run again in a background worker (resumes from its last checkpoint)."""
    return s.execute_run(run_id, background=True, launch=body)


@router.post("/runs/{run_id}/cancel", response_model=TrainRunView)
def cancel_run(run_id: int, s: Service = Depends(svc)) -> TrainRunView:
    return s.cancel_run(run_id)


@router.get("/runs/{run_id}/events")
async def run_events(run_id: int, s: Service = Depends(svc)) -> StreamingResponse:
    """Server-sent events of the run's job, in the one format of all long work (`loreforge.jobs.events`):
    `progress` (steps as done/total, the trainer's loss and time left as `progress`) whenever it changes, then
    `end`."""
    run = await asyncio.to_thread(s.get_run, run_id)  # 404 before the stream starts
    job_id = int(run.job_id or 0)
    return StreamingResponse(job_events(lambda: s.get_job(job_id)), media_type="text/event-stream")


class ExportModelRequest(BaseModel):
    base_model: str
    adapter: str
    out: str
    overwrite: bool = False


@router.post("/export-model", response_model=MergedModelView)
def export_model(body: ExportModelRequest, s: Service = Depends(svc)) -> MergedModelView:
    return s.export_model(body.base_model, body.adapter, body.out, overwrite=body.overwrite)


class TrainProjectRequest(BaseModel):
    model: str
    overrides: dict[str, Any] = {}
    val_size: float = DEFAULT_VAL_SIZE
    launch: Launch = Launch()  # processes: nproc_per_node > 1 or nnodes > 1 start torchrun


@router.post("/projects/{project}/train", response_model=TrainRunView, status_code=202)
def train_project(project: str, body: TrainProjectRequest, s: Service = Depends(svc)) -> TrainRunView:
    """Train on the project's confirmed dataset with the reference LoRA recipe, in a background worker."""
    return s.train_project(project, body.model, body.overrides, val_size=body.val_size, background=True,
                           launch=body.launch)
