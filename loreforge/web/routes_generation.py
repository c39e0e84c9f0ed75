"""REST routes: tags, questions, answers (generation runs as a background job: 202 + the job), jobs with a
server-sent-event progress stream, usage."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from loreforge.filters import ChunkFilter, QuestionFilter
from loreforge.jobs import job_events as lifecycle_events
from loreforge.service import Service
from loreforge.settings import DEFAULT_PAGE_SIZE
from loreforge.views import DatasetItemView, Deleted, JobView, PageView, QuestionView, TagView, UsageView
from loreforge.web.deps import svc

router = APIRouter(tags=["generation"])


class TagBuild(BaseModel):
    mode: str | None = None
    model: str | None = None
    provider: str | None = None


class TagCreate(BaseModel):
    label: str
    parent: str | None = None


class TagRename(BaseModel):
    label: str


class GenerateQuestions(BaseModel):
    chunk_ids: list[int] | None = None
    filter: ChunkFilter | None = Field(None, description="Every chunk matching this filter (the chunk list's)")
    model: str | None = None
    provider: str | None = None
    force: bool = False
    ga: bool | None = None


class GenerateAnswers(BaseModel):
    question_ids: list[int] | None = None
    filter: QuestionFilter | None = Field(None, description="Every question matching this filter (the question list's)")
    mode: str | None = None
    model: str | None = None
    provider: str | None = None
    force: bool = False


class QuestionCreate(BaseModel):
    chunk_id: int
    text: str
    tag: str | None = None


class QuestionEdit(BaseModel):
    text: str | None = None
    tag: str | None = None


class Ids(BaseModel):
    ids: list[int]


class Advice(BaseModel):
    advice: str
    model: str | None = None


@router.post("/projects/{project}/tags/build", response_model=list[TagView])
def build_tags(project: str, body: TagBuild, s: Service = Depends(svc)) -> list[TagView]:
    return s.build_tags(project, mode=body.mode, model=body.model, provider=body.provider)


@router.get("/projects/{project}/tags", response_model=list[TagView])
def show_tags(project: str, s: Service = Depends(svc)) -> list[TagView]:
    return s.show_tags(project)


@router.post("/projects/{project}/tags", response_model=TagView, status_code=201)
def add_tag(project: str, body: TagCreate, s: Service = Depends(svc)) -> TagView:
    return s.add_tag(project, body.label, body.parent)


@router.patch("/projects/{project}/tags/{tag}", response_model=TagView)
def rename_tag(project: str, tag: str, body: TagRename, s: Service = Depends(svc)) -> TagView:
    return s.rename_tag(project, tag, body.label)


@router.delete("/projects/{project}/tags/{tag}", response_model=Deleted)
def delete_tag(project: str, tag: str, s: Service = Depends(svc)) -> Deleted:
    return s.delete_tag(project, tag)


@router.post("/projects/{project}/questions/generate", response_model=JobView, status_code=202)
def generate_questions(project: str, body: GenerateQuestions, s: Service = Depends(svc)) -> JobView:
    return s.generate_questions(project, chunk_ids=body.chunk_ids, model=body.model, provider=body.provider, force=body.force,
                                background=True, chunk_filter=body.filter, ga=body.ga)


@router.get("/projects/{project}/questions", response_model=PageView[QuestionView])
def list_questions(project: str, chunk_id: int | None = None, tag: str | None = None, text: str | None = None,
                   answered: bool | None = None, page: int = Query(1, ge=1), page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1),
                   s: Service = Depends(svc)) -> PageView[QuestionView]:
    return s.list_questions(project, chunk_id=chunk_id, tag=tag, text=text, answered=answered, page=page, page_size=page_size)


@router.post("/projects/{project}/questions", response_model=QuestionView, status_code=201)
def add_question(project: str, body: QuestionCreate, s: Service = Depends(svc)) -> QuestionView:
    return s.add_question(project, body.chunk_id, body.text, body.tag)


@router.patch("/projects/{project}/questions/{question_id}", response_model=QuestionView)
def edit_question(project: str, question_id: int, body: QuestionEdit, s: Service = Depends(svc)) -> QuestionView:
    return s.edit_question(project, question_id, text=body.text, tag=body.tag)


@router.post("/projects/{project}/questions/delete", response_model=Deleted)
def delete_questions(project: str, body: Ids, s: Service = Depends(svc)) -> Deleted:
    return s.delete_questions(project, body.ids)


@router.post("/projects/{project}/answers/generate", response_model=JobView, status_code=202)
def generate_answers(project: str, body: GenerateAnswers, s: Service = Depends(svc)) -> JobView:
    return s.generate_answers(project, question_ids=body.question_ids, mode=body.mode, model=body.model,
                              provider=body.provider, force=body.force, background=True, question_filter=body.filter)


@router.post("/projects/{project}/answers/{item_id}/optimize", response_model=DatasetItemView)
def optimize_answer(project: str, item_id: int, body: Advice, s: Service = Depends(svc)) -> DatasetItemView:
    return s.optimize_answer(project, item_id, body.advice, model=body.model)


@router.get("/jobs", response_model=list[JobView])
def list_jobs(project: str | None = None, kind: str | None = None, limit: int = Query(50, ge=1, le=1000),
              active: bool = False, s: Service = Depends(svc)) -> list[JobView]:
    return s.list_jobs(project, limit=limit, kind=kind, active=active)


@router.get("/jobs/{job_id}", response_model=JobView)
def get_job(job_id: int, s: Service = Depends(svc)) -> JobView:
    return s.get_job(job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobView)
def cancel_job(job_id: int, s: Service = Depends(svc)) -> JobView:
    return s.cancel_job(job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobView, status_code=202)
def retry_job(job_id: int, s: Service = Depends(svc)) -> JobView:
    return s.retry_job(job_id, background=True)


@router.get("/jobs/{job_id}/events")
async def job_events(job_id: int, s: Service = Depends(svc)) -> StreamingResponse:
    """Server-sent events in the one format of all long work (`loreforge.jobs.events`): `progress` whenever the
    job changes, then `end`."""
    await asyncio.to_thread(s.get_job, job_id)  # 404 before the stream starts
    return StreamingResponse(lifecycle_events(lambda: s.get_job(job_id)), media_type="text/event-stream")


@router.get("/projects/{project}/usage", response_model=UsageView)
def usage(project: str, s: Service = Depends(svc)) -> UsageView:
    return s.usage(project)
