"""REST routes: distillation without documents — the estimate, a whole run, each step (background jobs) and the
tag tree edited by hand."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge.mode_views import DistillEstimateView, DistillRunView, DistillTagView
from loreforge.service import Service
from loreforge.views import Deleted, JobView
from loreforge.web.deps import svc

router = APIRouter(tags=["distillation"])


class Shape(BaseModel):
    levels: int | None = None
    tags_per_level: int | None = None
    questions_per_leaf: int | None = None
    mode: str | None = None


class Run(Shape):
    topic: str
    model: str | None = None


class Tags(BaseModel):
    topic: str
    levels: int | None = None
    tags_per_level: int | None = None
    model: str | None = None


class Questions(BaseModel):
    topic: str | None = None
    questions_per_leaf: int | None = None
    model: str | None = None
    force: bool = False


class Answers(BaseModel):
    topic: str | None = None
    model: str | None = None
    force: bool = False


class TagCreate(BaseModel):
    label: str
    parent: str | None = None


class TagRename(BaseModel):
    label: str


@router.post("/projects/{project}/distill/estimate", response_model=DistillEstimateView)
def distill_estimate(project: str, body: Shape, s: Service = Depends(svc)) -> DistillEstimateView:
    return s.distill_estimate(project, levels=body.levels, tags_per_level=body.tags_per_level, questions_per_leaf=body.questions_per_leaf,
                              mode=body.mode)


@router.post("/projects/{project}/distill/run", response_model=DistillRunView, status_code=202)
def distill_run(project: str, body: Run, s: Service = Depends(svc)) -> DistillRunView:
    return s.distill_run(project, body.topic, levels=body.levels, tags_per_level=body.tags_per_level,
                         questions_per_leaf=body.questions_per_leaf, mode=body.mode, model=body.model, background=True)


@router.post("/projects/{project}/distill/tags", response_model=DistillRunView, status_code=202)
def distill_tags(project: str, body: Tags, s: Service = Depends(svc)) -> DistillRunView:
    return s.distill_tags(project, body.topic, levels=body.levels, tags_per_level=body.tags_per_level, model=body.model, background=True)


@router.post("/projects/{project}/distill/questions", response_model=JobView, status_code=202)
def distill_questions(project: str, body: Questions, s: Service = Depends(svc)) -> JobView:
    return s.distill_questions(project, topic=body.topic, questions_per_leaf=body.questions_per_leaf, model=body.model, force=body.force,
                               background=True)


@router.post("/projects/{project}/distill/answers", response_model=JobView, status_code=202)
def distill_answers(project: str, body: Answers, s: Service = Depends(svc)) -> JobView:
    return s.distill_answers(project, topic=body.topic, model=body.model, force=body.force, background=True)


@router.get("/projects/{project}/distill/tree", response_model=list[DistillTagView])
def list_distill_tags(project: str, s: Service = Depends(svc)) -> list[DistillTagView]:
    return s.list_distill_tags(project)


@router.post("/projects/{project}/distill/tree", response_model=DistillTagView, status_code=201)
def add_distill_tag(project: str, body: TagCreate, s: Service = Depends(svc)) -> DistillTagView:
    return s.add_distill_tag(project, body.label, body.parent)


@router.patch("/projects/{project}/distill/tree/{tag}", response_model=DistillTagView)
def rename_distill_tag(project: str, tag: str, body: TagRename, s: Service = Depends(svc)) -> DistillTagView:
    return s.rename_distill_tag(project, tag, body.label)


@router.delete("/projects/{project}/distill/tree/{tag}", response_model=Deleted)
def delete_distill_tag(project: str, tag: str, s: Service = Depends(svc)) -> Deleted:
    return s.delete_distill_tag(project, tag)
