"""REST routes: training runs (started in background workers, with progress and cancel), merging an adapter,
the accelerator report and the tiny model builder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from loreforge.defaults import DEFAULT_VAL_SIZE
from loreforge.jobs import job_events
from loreforge.service import Service
from loreforge.train.launch import Launch
from loreforge.views import EnvView, MergedModelView, TinyModelView, TrainRunView
from loreforge.web.deps import MODELS_DIR, RUNS_DIR, check_remote_code, home_dir, project_dir, server, svc, write_path

WRITTEN_KEYS = ("output_dir", "logging_dir", "cache_dir")
"""Keys of a training config naming folders the trainer writes; confined on a served API."""

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
def tiny_model(body: TinyModelRequest, request: Request, s: Service = Depends(svc)) -> TinyModelView:
    out = write_path(request, body.out, lambda: home_dir(request, MODELS_DIR), "model folder")
    return s.tiny_model(out, body.texts, overwrite=body.overwrite, **body.shape)


class TrainRequest(BaseModel):
    config: dict[str, Any]
    project: str | None = None
    launch: Launch = Launch()  # processes: nproc_per_node > 1 or nnodes > 1 start torchrun


@router.post("/train", response_model=TrainRunView, status_code=202)
def train(body: TrainRequest, request: Request, s: Service = Depends(svc)) -> TrainRunView:
    """Start SFT from a config mapping (LLaMA Factory keys) in a background worker; returns the queued run.
    Follow it with GET /api/runs/{id} (its `progress`) or the event stream /api/runs/{id}/events. On a served API
    `output_dir` is a folder under the project's runs (or LOREFORGE_HOME/runs), downloaded with GET
    /api/runs/{id}/zip, and `trust_remote_code` needs `--allow-remote-code`."""
    project = body.project
    runs = (lambda: project_dir(request, project, RUNS_DIR)) if project is not None else (lambda: home_dir(request, RUNS_DIR))
    return s.train(_guarded(request, body.config, runs, full=True), project=project, background=True, launch=body.launch)


def _guarded(request: Request, config: dict[str, Any], runs: Callable[[], Path], full: bool) -> dict[str, Any]:
    """`config` (a whole training config, or overrides of one when not `full`) with the folders it writes
    confined and trust_remote_code refused, on a served API; unchanged in-process."""
    if server(request) is None:
        return config
    check_remote_code(request, config)
    config = dict(config)
    if full:  # a config without output_dir would write the trainer's default folder in the server's cwd
        from loreforge.train.config import TrainConfig

        config.setdefault("output_dir", TrainConfig.model_fields["output_dir"].default)
    for key in WRITTEN_KEYS:
        if isinstance(config.get(key), str):
            config[key] = write_path(request, config[key], runs, key)
    return config


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
def export_model(body: ExportModelRequest, request: Request, s: Service = Depends(svc)) -> MergedModelView:
    out = write_path(request, body.out, lambda: home_dir(request, MODELS_DIR), "model folder")
    return s.export_model(body.base_model, body.adapter, out, overwrite=body.overwrite)


class TrainProjectRequest(BaseModel):
    model: str
    overrides: dict[str, Any] = {}
    val_size: float = DEFAULT_VAL_SIZE
    launch: Launch = Launch()  # processes: nproc_per_node > 1 or nnodes > 1 start torchrun


@router.post("/projects/{project}/train", response_model=TrainRunView, status_code=202)
def train_project(project: str, body: TrainProjectRequest, request: Request, s: Service = Depends(svc)) -> TrainRunView:
    """Train on the project's confirmed dataset with the reference LoRA recipe, in a background worker."""
    overrides = _guarded(request, body.overrides, lambda: project_dir(request, project, RUNS_DIR), full=False)
    return s.train_project(project, body.model, overrides, val_size=body.val_size, background=True,
                           launch=body.launch)
