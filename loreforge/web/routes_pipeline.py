"""REST routes: pipeline runs — run a recipe (a shipped one by name, or a recipe mapping) in a background worker,
list, show, run one again (it resumes), cancel, and the run's event stream (the one format of all long work).

When served, the paths a recipe names (documents, probe files, the run folder) are taken under LOREFORGE_HOME
when relative and must lie there or in a folder the operator allowed (`--allow-path`): a client cannot make the
server read or write elsewhere (the training section's `cache_dir` and `logging_dir` too); `trust_remote_code` in
its training section needs `--allow-remote-code`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from loreforge.errors import Forbidden
from loreforge.jobs import job_events
from loreforge.pipeline.load import shipped_recipe
from loreforge.service import Service
from loreforge.views import PipelineView
from loreforge.web.deps import check_remote_code, home_dir, server, svc, write_path
from loreforge.web.routes_training import WRITTEN_KEYS

router = APIRouter(tags=["pipeline"])


class PipelineRequest(BaseModel):
    recipe: dict[str, Any] | str = Field(description="A recipe mapping (docs/recipes.md; its paths relative to LOREFORGE_HOME), "
                                         "or the name of a recipe that ships with LoreForge, e.g. demo")
    overrides: list[str] = Field([], description='Recipe keys to change, "key.path=value"')
    start: str | None = Field(None, alias="from", description="Run from this stage (and every one after it)")
    until: str | None = Field(None, description="Stop after this stage")


def _confine(request: Request, recipe: dict[str, Any]) -> dict[str, Any]:
    out = dict(recipe)
    base = lambda: home_dir(request)  # noqa: E731
    out["documents"] = [write_path(request, str(p), base, "documents path") for p in recipe.get("documents") or []]
    probes = recipe.get("probes")
    if isinstance(probes, dict) and probes.get("files"):
        out["probes"] = {**probes, "files": [write_path(request, str(p), base, "probe file") for p in probes["files"]]}
    if recipe.get("output_dir"):
        out["output_dir"] = write_path(request, str(recipe["output_dir"]), base, "run folder")
    if isinstance(recipe.get("train"), dict):
        check_remote_code(request, recipe["train"])
        train = dict(recipe["train"])
        for key in (k for k in WRITTEN_KEYS if isinstance(train.get(k), str)):  # folders the trainer writes
            train[key] = write_path(request, train[key], base, f"train.{key}")
        out["train"] = train
    return out


@router.post("/pipelines", response_model=PipelineView, status_code=202)
def run_pipeline(body: PipelineRequest, request: Request, s: Service = Depends(svc)) -> PipelineView:
    """Validate the recipe, record the run (or continue the run of the same name and project) and start it in a
    background worker; returns it queued. Follow it with GET /api/pipelines/{id} or /api/pipelines/{id}/events."""
    if isinstance(body.recipe, str):
        source: Any = shipped_recipe(body.recipe)
        if source is None and server(request) is not None:
            raise Forbidden(f"No shipped recipe named {body.recipe!r}", expected="demo, or a recipe mapping",
                            hint="A served API runs shipped recipes by name; send other recipes as a mapping")
        source = source or Path(body.recipe)
    else:
        source = _confine(request, body.recipe)
    return s.run_pipeline(source, body.overrides, start=body.start, until=body.until, background=True)


@router.get("/pipelines", response_model=list[PipelineView])
def list_pipelines(project: str | None = None, s: Service = Depends(svc)) -> list[PipelineView]:
    return s.list_pipelines(project)


@router.get("/pipelines/{pipeline_id}", response_model=PipelineView)
def get_pipeline(pipeline_id: int, s: Service = Depends(svc)) -> PipelineView:
    return s.get_pipeline(pipeline_id)


@router.post("/pipelines/{pipeline_id}/execute", response_model=PipelineView, status_code=202)
def execute_pipeline(pipeline_id: int, s: Service = Depends(svc)) -> PipelineView:
    """Run a failed, cancelled or interrupted pipeline run again in a background worker: it resumes."""
    return s.execute_pipeline(pipeline_id, background=True)


@router.post("/pipelines/{pipeline_id}/cancel", response_model=PipelineView)
def cancel_pipeline(pipeline_id: int, s: Service = Depends(svc)) -> PipelineView:
    return s.cancel_pipeline(pipeline_id)


@router.get("/pipelines/{pipeline_id}/events")
async def pipeline_events(pipeline_id: int, s: Service = Depends(svc)) -> StreamingResponse:
    """Server-sent events of the run's job: `progress` (stages done of those to run; the running stage and its
    own job's progress under `progress`) whenever it changes, then `end`."""
    view = await asyncio.to_thread(s.get_pipeline, pipeline_id)  # 404 before the stream starts
    return StreamingResponse(job_events(lambda: s.get_job(view.job_id)), media_type="text/event-stream")
