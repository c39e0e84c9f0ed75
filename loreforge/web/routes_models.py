"""REST routes: model configs and prompt templates. API keys go in, never come out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from loreforge.service import Service
from loreforge.views import Deleted, ModelTest, ModelView, PresetView, PromptView
from loreforge.web.deps import server, svc

router = APIRouter(tags=["models"])


class ModelCreate(BaseModel):
    provider: str
    model: str = ""
    name: str | None = None
    base_url: str | None = None
    api_key: str | None = Field(None, description="A literal key: stored encrypted, never returned")
    api_key_env: str | None = Field(None, description="Or the name of an environment variable holding it")
    options: dict[str, Any] = {}
    activate: bool = True
    adapter: str | int | None = Field(None, description="provider local: a LoRA adapter folder or a train run id")
    type: str = Field("text", description="text, or vision (a model that reads images)")


class PromptText(BaseModel):
    text: str
    language: str | None = None


@router.get("/presets", response_model=list[PresetView])
def list_presets(s: Service = Depends(svc)) -> list[PresetView]:
    return s.list_presets()


@router.get("/projects/{project}/models", response_model=list[ModelView])
def list_models(project: str, s: Service = Depends(svc)) -> list[ModelView]:
    return s.list_models(project)


@router.post("/projects/{project}/models", response_model=ModelView, status_code=201)
def add_model(project: str, body: ModelCreate, request: Request, s: Service = Depends(svc)) -> ModelView:
    """On a served API, `api_key_env` may name only the variables the operator allowed (`--allowed-key-env`)."""
    settings = server(request)
    return s.add_model(project, body.provider, body.model, name=body.name, base_url=body.base_url, api_key=body.api_key,
                       api_key_env=body.api_key_env, options=body.options, activate=body.activate, adapter=body.adapter, type=body.type,
                       allowed_key_envs=settings.allowed_key_envs if settings is not None else None)


@router.post("/projects/{project}/models/{name}/use", response_model=ModelView)
def use_model(project: str, name: str, s: Service = Depends(svc)) -> ModelView:
    return s.use_model(project, name)


@router.delete("/projects/{project}/models/{name}", response_model=Deleted)
def remove_model(project: str, name: str, s: Service = Depends(svc)) -> Deleted:
    return s.remove_model(project, name)


@router.post("/projects/{project}/models/{name}/test", response_model=ModelTest)
def test_model(project: str, name: str, s: Service = Depends(svc)) -> ModelTest:
    return s.test_model(project, name)


@router.get("/projects/{project}/models/{name}/remote", response_model=list[str])
def list_remote_models(project: str, name: str, s: Service = Depends(svc)) -> list[str]:
    return s.list_remote_models(project, name)


@router.get("/projects/{project}/prompts", response_model=list[PromptView])
def list_prompts(project: str, language: str | None = None, s: Service = Depends(svc)) -> list[PromptView]:
    return s.list_prompts(project, language)


@router.get("/projects/{project}/prompts/{name}", response_model=PromptView)
def show_prompt(project: str, name: str, language: str | None = None, s: Service = Depends(svc)) -> PromptView:
    return s.show_prompt(project, name, language)


@router.put("/projects/{project}/prompts/{name}", response_model=PromptView)
def set_prompt(project: str, name: str, body: PromptText, s: Service = Depends(svc)) -> PromptView:
    return s.set_prompt(project, name, body.text, body.language)


@router.delete("/projects/{project}/prompts/{name}", response_model=PromptView)
def reset_prompt(project: str, name: str, language: str | None = None, s: Service = Depends(svc)) -> PromptView:
    return s.reset_prompt(project, name, language)
