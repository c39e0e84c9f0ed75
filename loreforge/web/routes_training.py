"""REST routes: accelerator report and the tiny model builder."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from loreforge.service import Service
from loreforge.views import EnvView, TinyModelView
from loreforge.web.deps import svc

router = APIRouter(tags=["training"])


class TinyModelRequest(BaseModel):
    out: str
    texts: list[str] | None = None
    overwrite: bool = False
    shape: dict[str, int] = {}


@router.get("/env", response_model=EnvView)
def environment(s: Service = Depends(svc)) -> EnvView:
    return s.environment()


@router.post("/tiny-model", response_model=TinyModelView)
def tiny_model(body: TinyModelRequest, s: Service = Depends(svc)) -> TinyModelView:
    return s.tiny_model(body.out, body.texts, overwrite=body.overwrite, **body.shape)
