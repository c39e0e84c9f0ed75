"""REST routes: `serve-model` in the background for a train run — start (on this machine's loopback address when
the API is served), list with address, models and status, stop."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from loreforge.defaults import DEFAULT_HOST
from loreforge.errors import Forbidden
from loreforge.model_views import ModelServerView
from loreforge.service import Service
from loreforge.settings.server import is_loopback
from loreforge.web.deps import server, svc

router = APIRouter(tags=["serve"])


class ModelServerRequest(BaseModel):
    run: str | None = Field(None, description="The tuned model: a train run id or folder")
    base: str | None = Field(None, description="The base model (default: the run's)")
    name: str | None = Field(None, description="The tuned model's served name (default: tuned)")
    base_name: str | None = None
    port: int | None = Field(None, description="Default: the first free port from 8718")
    host: str = DEFAULT_HOST
    project: str | None = None


@router.post("/model-servers", response_model=ModelServerView, status_code=202)
def start_model_server(body: ModelServerRequest, request: Request, s: Service = Depends(svc)) -> ModelServerView:
    """Start serve-model in the background; it is `ready` once its weights are loaded (GET /api/model-servers)."""
    if server(request) is not None and not is_loopback(body.host):
        raise Forbidden("This server starts model servers on its loopback address only", got=body.host,
                        hint="Start one on another address from the CLI: `loreforge model-servers start --host ...`")
    return s.start_model_server(body.run, base=body.base, name=body.name, base_name=body.base_name, port=body.port,
                                host=body.host, project=body.project)


@router.get("/model-servers", response_model=list[ModelServerView])
def list_model_servers(stopped: bool = False, s: Service = Depends(svc)) -> list[ModelServerView]:
    return s.list_model_servers(stopped=stopped)


@router.post("/model-servers/{server_id}/stop", response_model=ModelServerView)
def stop_model_server(server_id: int, s: Service = Depends(svc)) -> ModelServerView:
    return s.stop_model_server(server_id)
