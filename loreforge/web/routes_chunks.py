"""REST routes: chunk list/show/edit/merge/split/delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from loreforge.service import Service
from loreforge.settings import DEFAULT_PAGE_SIZE
from loreforge.views import ChunkView, Deleted, PageView
from loreforge.web.deps import svc

router = APIRouter(tags=["chunks"])


class ChunkEdit(BaseModel):
    text: str


class ChunkIds(BaseModel):
    chunk_ids: list[int]


class ChunkSplit(BaseModel):
    position: int


@router.get("/projects/{project}/chunks", response_model=PageView[ChunkView])
def list_chunks(
    project: str,
    document_id: int | None = None,
    text: str | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1),
    min_size: int | None = Query(None, ge=0),
    max_size: int | None = Query(None, ge=0),
    has_questions: bool | None = None,
    cleaned: bool | None = None,
    flagged: bool | None = None,
    s: Service = Depends(svc),
) -> PageView[ChunkView]:
    return s.list_chunks(project, document_id=document_id, text=text, page=page, page_size=page_size, min_size=min_size,
                         max_size=max_size, has_questions=has_questions, cleaned=cleaned, flagged=flagged)


@router.get("/projects/{project}/chunks/{chunk_id}", response_model=ChunkView)
def get_chunk(project: str, chunk_id: int, s: Service = Depends(svc)) -> ChunkView:
    return s.get_chunk(project, chunk_id)


@router.put("/projects/{project}/chunks/{chunk_id}", response_model=ChunkView)
def edit_chunk(project: str, chunk_id: int, body: ChunkEdit, s: Service = Depends(svc)) -> ChunkView:
    return s.edit_chunk(project, chunk_id, body.text)


@router.post("/projects/{project}/chunks/merge", response_model=ChunkView)
def merge_chunks(project: str, body: ChunkIds, s: Service = Depends(svc)) -> ChunkView:
    return s.merge_chunks(project, body.chunk_ids)


@router.post("/projects/{project}/chunks/{chunk_id}/split", response_model=list[ChunkView])
def split_chunk(project: str, chunk_id: int, body: ChunkSplit, s: Service = Depends(svc)) -> list[ChunkView]:
    return s.split_chunk(project, chunk_id, body.position)


@router.delete("/projects/{project}/chunks/{chunk_id}", response_model=Deleted)
def delete_chunk(project: str, chunk_id: int, s: Service = Depends(svc)) -> Deleted:
    return s.delete_chunks(project, [chunk_id])


@router.post("/projects/{project}/chunks/delete", response_model=Deleted)
def delete_chunks(project: str, body: ChunkIds, s: Service = Depends(svc)) -> Deleted:
    return s.delete_chunks(project, body.chunk_ids)
