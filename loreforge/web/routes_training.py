"""REST routes: accelerator report and the tiny model builder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge.service import Service
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


@router.post("/train", response_model=TrainRunView)
def train(body: TrainRequest, s: Service = Depends(svc)) -> TrainRunView:
    """Run SFT from a config mapping (LLaMA Factory keys); returns the finished run."""
    return s.train(body.config, project=body.project)


@router.get("/runs", response_model=list[TrainRunView])
def list_runs(project: str | None = None, s: Service = Depends(svc)) -> list[TrainRunView]:
    return s.list_runs(project)


@router.get("/runs/{run_id}", response_model=TrainRunView)
def get_run(run_id: int, s: Service = Depends(svc)) -> TrainRunView:
    return s.get_run(run_id)


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
    val_size: float = 0.1


@router.post("/projects/{project}/train", response_model=TrainRunView)
def train_project(project: str, body: TrainProjectRequest, s: Service = Depends(svc)) -> TrainRunView:
    """Train on the project's confirmed dataset with the reference LoRA recipe (runs to the end)."""
    return s.train_project(project, body.model, body.overrides, val_size=body.val_size)
