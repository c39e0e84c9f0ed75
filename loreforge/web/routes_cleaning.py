"""REST routes: cleaning chunks (a background job), a cleaning's diff, restoring the original."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from loreforge.filters import ChunkFilter

from loreforge.mode_views import CleanDiffView
from loreforge.service import Service
from loreforge.views import ChunkView, JobView
from loreforge.web.deps import svc

router = APIRouter(tags=["cleaning"])


class CleanChunks(BaseModel):
    chunk_ids: list[int] | None = None
    model: str | None = None
    provider: str | None = None
    force: bool = False
    filter: ChunkFilter | None = Field(None, description="Only the chunks matching it (a page's \"every chunk matching the filter\")")


@router.post("/projects/{project}/chunks/clean", response_model=JobView, status_code=202)
def clean_chunks(project: str, body: CleanChunks, s: Service = Depends(svc)) -> JobView:
    return s.clean_chunks(project, chunk_ids=body.chunk_ids, model=body.model, provider=body.provider, force=body.force, background=True,
                          chunk_filter=body.filter)


@router.get("/projects/{project}/chunks/{chunk_id}/diff", response_model=CleanDiffView)
def chunk_diff(project: str, chunk_id: int, s: Service = Depends(svc)) -> CleanDiffView:
    return s.chunk_diff(project, chunk_id)


@router.post("/projects/{project}/chunks/{chunk_id}/restore", response_model=ChunkView)
def restore_chunk(project: str, chunk_id: int, s: Service = Depends(svc)) -> ChunkView:
    return s.restore_chunk(project, chunk_id)
