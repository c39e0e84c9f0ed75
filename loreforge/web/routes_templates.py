"""REST routes: question templates (add, list, edit, delete, apply)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge.mode_views import TemplateApplied, TemplateView
from loreforge.service import Service
from loreforge.views import Deleted
from loreforge.web.deps import svc

router = APIRouter(tags=["templates"])


class TemplateCreate(BaseModel):
    question: str
    answer_type: str = "text"
    labels: list[str] = []
    json_format: str = ""
    description: str = ""
    source: str = "text"


class TemplateEdit(BaseModel):
    question: str | None = None
    answer_type: str | None = None
    labels: list[str] | None = None
    json_format: str | None = None
    description: str | None = None


class TemplateApply(BaseModel):
    chunk_ids: list[int] | None = None


@router.post("/projects/{project}/templates", response_model=TemplateView, status_code=201)
def add_template(project: str, body: TemplateCreate, s: Service = Depends(svc)) -> TemplateView:
    return s.add_template(project, body.question, answer_type=body.answer_type, labels=body.labels, json_format=body.json_format,
                          description=body.description, source=body.source)


@router.get("/projects/{project}/templates", response_model=list[TemplateView])
def list_templates(project: str, s: Service = Depends(svc)) -> list[TemplateView]:
    return s.list_templates(project)


@router.patch("/projects/{project}/templates/{template_id}", response_model=TemplateView)
def edit_template(project: str, template_id: int, body: TemplateEdit, s: Service = Depends(svc)) -> TemplateView:
    return s.edit_template(project, template_id, question=body.question, answer_type=body.answer_type, labels=body.labels,
                           json_format=body.json_format, description=body.description)


@router.delete("/projects/{project}/templates/{template_id}", response_model=Deleted)
def delete_template(project: str, template_id: int, s: Service = Depends(svc)) -> Deleted:
    return s.delete_template(project, template_id)


@router.post("/projects/{project}/templates/{template_id}/apply", response_model=TemplateApplied)
def apply_template(project: str, template_id: int, body: TemplateApply, s: Service = Depends(svc)) -> TemplateApplied:
    return s.apply_template(project, template_id, chunk_ids=body.chunk_ids)
