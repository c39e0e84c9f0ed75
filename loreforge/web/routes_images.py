"""REST routes: images (upload, list, show, the file itself, delete) and image QA (a background job)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from loreforge.mode_views import ImageImportReport, ImageView
from loreforge.service import Service, Upload
from loreforge.settings import DEFAULT_PAGE_SIZE
from loreforge.views import Deleted, JobView, PageView
from loreforge.web.deps import svc

router = APIRouter(tags=["images"])
MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp"}


class Ids(BaseModel):
    ids: list[int]


class ImageQA(BaseModel):
    image_ids: list[int] | None = None
    questions_per_image: int | None = None
    model: str | None = None
    force: bool = False


@router.post("/projects/{project}/images", response_model=ImageImportReport)
def add_images(project: str, files: list[UploadFile] = File(..., description="Images, .zip archives or .pdf files"),
               s: Service = Depends(svc)) -> ImageImportReport:
    return s.add_images(project, [Upload(f.filename or "upload", f.file) for f in files])


@router.get("/projects/{project}/images", response_model=PageView[ImageView])
def list_images(project: str, page: int = Query(1, ge=1), page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1),
                s: Service = Depends(svc)) -> PageView[ImageView]:
    return s.list_images(project, page=page, page_size=page_size)


@router.get("/projects/{project}/images/{image_id}", response_model=ImageView)
def get_image(project: str, image_id: int, s: Service = Depends(svc)) -> ImageView:
    return s.get_image(project, image_id)


@router.get("/projects/{project}/images/{image_id}/file", response_class=FileResponse)
def image_file(project: str, image_id: int, s: Service = Depends(svc)) -> FileResponse:
    """The stored image itself (to show beside its QA in review)."""
    view = s.get_image(project, image_id)
    return FileResponse(view.path, media_type=MEDIA.get(view.format, "application/octet-stream"))


@router.post("/projects/{project}/images/delete", response_model=Deleted)
def delete_images(project: str, body: Ids, s: Service = Depends(svc)) -> Deleted:
    return s.delete_images(project, body.ids)


@router.post("/projects/{project}/images/qa", response_model=JobView, status_code=202)
def generate_image_qa(project: str, body: ImageQA, s: Service = Depends(svc)) -> JobView:
    return s.generate_image_qa(project, image_ids=body.image_ids, questions_per_image=body.questions_per_image, model=body.model,
                               force=body.force, background=True)
