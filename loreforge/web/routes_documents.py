"""REST routes: documents (multipart upload), split, table of contents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from loreforge.service import Service, Upload
from loreforge.views import Deleted, DocumentView, IngestReport, ProjectToc, SplitReport
from loreforge.web.deps import svc

router = APIRouter(tags=["documents"])


class SplitRequest(BaseModel):
    document_id: int | None = None
    strategy: str | None = None
    overrides: dict[str, Any] = {}
    force: bool = False
    changed_only: bool = False


@router.post("/projects/{project}/documents", response_model=IngestReport)
def upload_documents(
    project: str,
    files: list[UploadFile] = File(..., description="One or more files (.txt .md .html .docx .pdf .epub)"),
    split: bool = Form(True),
    s: Service = Depends(svc),
) -> IngestReport:
    """Upload and ingest files; a bad file is reported in the response and the others are still added."""
    return s.ingest(project, [Upload(f.filename or "upload", f.file) for f in files], split=split)


@router.get("/projects/{project}/documents", response_model=list[DocumentView])
def list_documents(project: str, s: Service = Depends(svc)) -> list[DocumentView]:
    return s.list_documents(project)


@router.get("/projects/{project}/documents/{document_id}", response_model=DocumentView)
def get_document(project: str, document_id: int, s: Service = Depends(svc)) -> DocumentView:
    return s.get_document(project, document_id)


@router.get("/projects/{project}/documents/{document_id}/text", response_class=PlainTextResponse)
def document_text(project: str, document_id: int, s: Service = Depends(svc)) -> PlainTextResponse:
    return PlainTextResponse(s.document_text(project, document_id), media_type="text/markdown; charset=utf-8")


@router.delete("/projects/{project}/documents/{document_id}", response_model=Deleted)
def delete_document(project: str, document_id: int, s: Service = Depends(svc)) -> Deleted:
    return s.delete_document(project, document_id)


@router.post("/projects/{project}/split", response_model=SplitReport)
def split(project: str, body: SplitRequest, s: Service = Depends(svc)) -> SplitReport:
    return s.split(project, document_id=body.document_id, strategy=body.strategy, overrides=body.overrides, force=body.force,
                   changed_only=body.changed_only)


@router.get("/projects/{project}/toc", response_model=ProjectToc)
def toc(project: str, document_id: int | None = None, s: Service = Depends(svc)) -> ProjectToc:
    return s.toc(project, document_id=document_id)
