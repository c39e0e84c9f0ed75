"""REST routes: projects, settings, version, demo."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge import __version__
from loreforge.mode_views import ModeSummaryView
from loreforge.service import Service
from loreforge.views import DemoReport, Deleted, ProjectView, SettingView
from loreforge.web.deps import svc

router = APIRouter(tags=["projects"])


class ProjectCreate(BaseModel):
    name: str
    description: str = ""
    copy_from: str | None = None


class ProjectRename(BaseModel):
    name: str


class SettingValue(BaseModel):
    value: Any


class DemoRequest(BaseModel):
    project: str = "demo"


@router.get("/version")
def version() -> dict[str, str]:
    return {"version": __version__}


@router.get("/projects", response_model=list[ProjectView])
def list_projects(s: Service = Depends(svc)) -> list[ProjectView]:
    return s.list_projects()


@router.post("/projects", response_model=ProjectView, status_code=201)
def create_project(body: ProjectCreate, s: Service = Depends(svc)) -> ProjectView:
    return s.create_project(body.name, description=body.description, copy_from=body.copy_from)


@router.get("/projects/{project}", response_model=ProjectView)
def get_project(project: str, s: Service = Depends(svc)) -> ProjectView:
    return s.get_project(project)


@router.patch("/projects/{project}", response_model=ProjectView)
def rename_project(project: str, body: ProjectRename, s: Service = Depends(svc)) -> ProjectView:
    return s.rename_project(project, body.name)


@router.delete("/projects/{project}", response_model=Deleted)
def delete_project(project: str, s: Service = Depends(svc)) -> Deleted:
    return s.delete_project(project)


@router.get("/projects/{project}/modes", response_model=ModeSummaryView)
def mode_summary(project: str, s: Service = Depends(svc)) -> ModeSummaryView:
    """What each way of making data (genre–audience pairs, dialogues, distillation, cleaning, templates, images, PDF
    conversion, chain of thought) has made in the project."""
    return s.mode_summary(project)


@router.get("/projects/{project}/settings", response_model=list[SettingView])
def show_settings(project: str, s: Service = Depends(svc)) -> list[SettingView]:
    return s.show_settings(project)


@router.put("/projects/{project}/settings/{key}", response_model=SettingView)
def set_setting(project: str, key: str, body: SettingValue, s: Service = Depends(svc)) -> SettingView:
    return s.set_setting(project, key, body.value)


@router.delete("/projects/{project}/settings/{key}", response_model=SettingView)
def reset_setting(project: str, key: str, s: Service = Depends(svc)) -> SettingView:
    return s.reset_setting(project, key)


@router.post("/demo", response_model=DemoReport)
def demo(body: DemoRequest, s: Service = Depends(svc)) -> DemoReport:
    return s.demo(body.project)
