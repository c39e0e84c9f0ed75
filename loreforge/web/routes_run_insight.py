"""REST routes: a train run's folder read (loss curve, log, checkpoints, first example), two runs compared, a
training config previewed as the YAML `loreforge train` runs, the devices' live memory and load, and an evaluation
run's whole report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from loreforge.model_views import DeviceUsageView, EvalReportView, RunCompareView, RunDetailView, TrainPreviewView
from loreforge.service import Service
from loreforge.web.deps import check_remote_code, svc

router = APIRouter(tags=["training"])


@router.get("/runs/{run_id}/inspect", response_model=RunDetailView)
def inspect_run(run_id: int, after: int = Query(0, ge=0, description="Curve records already read"),
                log_from: int | None = Query(None, ge=0, description="Log bytes already read (follow the log)"),
                log_lines: int = Query(80, ge=0, le=5000), example: bool = False, s: Service = Depends(svc)) -> RunDetailView:
    """The run's loss curve (trainer_log.jsonl records from `after`), log (the last `log_lines` lines, or those after
    byte `log_from`), checkpoints with the best marked, tokens/s, and the first tokenized example."""
    return s.inspect_run(run_id, after=after, log_from=log_from, log_lines=log_lines, example=example)


@router.get("/runs/{first}/compare/{second}", response_model=RunCompareView)
def compare_runs(first: int, second: int, s: Service = Depends(svc)) -> RunCompareView:
    """Both runs' loss curves and settings, those that differ first."""
    return s.compare_runs(first, second)


class PreviewRequest(BaseModel):
    config: dict[str, Any] = Field(description="A training config (LLaMA Factory keys)")
    overrides: dict[str, Any] = {}


@router.post("/train/preview", response_model=TrainPreviewView)
def preview_train(body: PreviewRequest, request: Request, s: Service = Depends(svc)) -> TrainPreviewView:
    """The config checked as a run checks it, and written as the YAML `loreforge train` runs."""
    check_remote_code(request, {**body.config, **body.overrides})
    return s.preview_train(body.config, body.overrides)


@router.get("/devices", response_model=DeviceUsageView, tags=["training"])
def device_usage(s: Service = Depends(svc)) -> DeviceUsageView:
    """The accelerators' memory used and load now, and the host's CPU and memory."""
    return s.device_usage()


@router.get("/evals/{eval_id}/report", response_model=EvalReportView, tags=["evaluation"])
def eval_report(eval_id: int, s: Service = Depends(svc)) -> EvalReportView:
    """The run's whole report from its stored answers (partial while it runs)."""
    return s.eval_report(eval_id)
