"""REST routes: genre–audience pairs (propose as a background job, list, add, edit or toggle, delete)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge.mode_views import GaPairView
from loreforge.service import Service
from loreforge.views import Deleted, JobView
from loreforge.web.deps import svc

router = APIRouter(tags=["genre-audience pairs"])


class GaGenerate(BaseModel):
    document_ids: list[int] | None = None
    model: str | None = None
    force: bool = False


class GaCreate(BaseModel):
    document_id: int
    genre_title: str
    audience_title: str
    genre_description: str = ""
    audience_description: str = ""
    active: bool = True


class GaEdit(BaseModel):
    genre_title: str | None = None
    genre_description: str | None = None
    audience_title: str | None = None
    audience_description: str | None = None
    active: bool | None = None


@router.post("/projects/{project}/ga/generate", response_model=JobView, status_code=202)
def generate_ga_pairs(project: str, body: GaGenerate, s: Service = Depends(svc)) -> JobView:
    return s.generate_ga_pairs(project, document_ids=body.document_ids, model=body.model, force=body.force, background=True)


@router.get("/projects/{project}/ga", response_model=list[GaPairView])
def list_ga_pairs(project: str, document_id: int | None = None, s: Service = Depends(svc)) -> list[GaPairView]:
    return s.list_ga_pairs(project, document_id=document_id)


@router.post("/projects/{project}/ga", response_model=GaPairView, status_code=201)
def add_ga_pair(project: str, body: GaCreate, s: Service = Depends(svc)) -> GaPairView:
    return s.add_ga_pair(project, body.document_id, body.genre_title, body.audience_title, genre_description=body.genre_description,
                         audience_description=body.audience_description, active=body.active)


@router.patch("/projects/{project}/ga/{pair_id}", response_model=GaPairView)
def edit_ga_pair(project: str, pair_id: int, body: GaEdit, s: Service = Depends(svc)) -> GaPairView:
    return s.edit_ga_pair(project, pair_id, genre_title=body.genre_title, genre_description=body.genre_description,
                          audience_title=body.audience_title, audience_description=body.audience_description, active=body.active)


@router.delete("/projects/{project}/ga/{pair_id}", response_model=Deleted)
def delete_ga_pair(project: str, pair_id: int, s: Service = Depends(svc)) -> Deleted:
    return s.delete_ga_pair(project, pair_id)
