"""REST routes: PDF conversion through a vision model or MinerU (a background job), and the MinerU token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel

from loreforge.mode_views import PdfConvertView, SecretStored
from loreforge.service import Service, Upload
from loreforge.web.deps import svc

router = APIRouter(tags=["pdf"])


class Key(BaseModel):
    key: str


@router.post("/projects/{project}/pdf/convert", response_model=PdfConvertView, status_code=202)
def convert_pdf(project: str, files: list[UploadFile] = File(..., description="PDF files"), strategy: str | None = Form(None),
                model: str | None = Form(None), force: bool = Form(False), s: Service = Depends(svc)) -> PdfConvertView:
    return s.convert_pdf(project, [Upload(f.filename or "upload.pdf", f.file) for f in files], strategy=strategy, model=model,
                         force=force, background=True)


@router.put("/projects/{project}/pdf/mineru-key", response_model=SecretStored)
def set_mineru_key(project: str, body: Key, s: Service = Depends(svc)) -> SecretStored:
    """The token is stored encrypted and never returned."""
    return s.set_mineru_key(project, body.key)
