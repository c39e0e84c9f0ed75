"""REST routes: dataset review (list with filters, show with source, edit, confirm, rate, score job,
grounding check, dedup, delete by filter)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from loreforge.defaults import DEFAULT_PAGE_SIZE
from loreforge.service import Service
from loreforge.filters import DatasetFilter
from loreforge.views import BatchResult, CheckReport, DatasetItemView, DedupReport, ExportReport, ImportReport, JobView, PageView
from loreforge.web.deps import EXPORTS_DIR, project_dir, svc, write_path

router = APIRouter(tags=["dataset"])


class ItemEdit(BaseModel):
    question: str | None = None
    answer: str | None = None
    cot: str | None = None
    tag: str | None = None
    note: str | None = None
    labels: list[str] | None = None
    history: list[list[str]] | None = Field(None, description="A dialogue's earlier rounds, each [user, assistant]")
    system: str | None = Field(None, description="The item's own system prompt")


class Confirm(BaseModel):
    filter: DatasetFilter
    confirmed: bool = True


class Rating(BaseModel):
    rating: int | None


class ScoreRequest(BaseModel):
    filter: DatasetFilter = DatasetFilter()
    model: str | None = None
    provider: str | None = None
    min_score: float | None = None
    force: bool = False


class DedupRequest(BaseModel):
    threshold: float | None = None
    remove: bool = False


class DeleteRequest(BaseModel):
    filter: DatasetFilter
    everything: bool = False


@router.get("/projects/{project}/dataset", response_model=PageView[DatasetItemView])
def list_dataset(project: str, f: Annotated[DatasetFilter, Query()], page: int = Query(1, ge=1),
                 page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1), sort: str = "id", s: Service = Depends(svc)) -> PageView[DatasetItemView]:
    return s.list_dataset(project, f, page=page, page_size=page_size, sort=sort)


@router.get("/projects/{project}/dataset/{item_id}", response_model=DatasetItemView)
def show_dataset_item(project: str, item_id: int, s: Service = Depends(svc)) -> DatasetItemView:
    return s.show_dataset_item(project, item_id)


@router.patch("/projects/{project}/dataset/{item_id}", response_model=DatasetItemView)
def edit_dataset_item(project: str, item_id: int, body: ItemEdit, s: Service = Depends(svc)) -> DatasetItemView:
    return s.edit_dataset_item(project, item_id, **body.model_dump())


@router.post("/projects/{project}/dataset/confirm", response_model=BatchResult)
def confirm_dataset(project: str, body: Confirm, s: Service = Depends(svc)) -> BatchResult:
    return s.confirm_dataset(project, body.filter, confirmed=body.confirmed)


@router.put("/projects/{project}/dataset/{item_id}/rating", response_model=DatasetItemView)
def rate_dataset_item(project: str, item_id: int, body: Rating, s: Service = Depends(svc)) -> DatasetItemView:
    return s.rate_dataset_item(project, item_id, body.rating)


@router.post("/projects/{project}/dataset/score", response_model=JobView, status_code=202)
def score_dataset(project: str, body: ScoreRequest, s: Service = Depends(svc)) -> JobView:
    return s.score_dataset(project, body.filter, model=body.model, provider=body.provider, min_score=body.min_score,
                           force=body.force, background=True)


@router.post("/projects/{project}/dataset/check", response_model=CheckReport)
def check_dataset(project: str, body: DatasetFilter, s: Service = Depends(svc)) -> CheckReport:
    return s.check_dataset(project, body)


@router.post("/projects/{project}/dataset/dedup", response_model=DedupReport)
def dedup_dataset(project: str, body: DedupRequest, s: Service = Depends(svc)) -> DedupReport:
    return s.dedup_dataset(project, threshold=body.threshold, remove=body.remove)


@router.post("/projects/{project}/dataset/delete", response_model=BatchResult)
def delete_dataset(project: str, body: DeleteRequest, s: Service = Depends(svc)) -> BatchResult:
    return s.delete_dataset(project, body.filter, everything=body.everything)


class ExportRequest(BaseModel):
    out: str
    format: str = "llamafactory"
    file_type: str = "json"
    include_all: bool = False
    filter: DatasetFilter = DatasetFilter()
    force: bool = False
    options: dict[str, Any] = {}


@router.post("/projects/{project}/export", response_model=ExportReport)
def export(project: str, body: ExportRequest, request: Request, s: Service = Depends(svc)) -> ExportReport:
    """Export to a folder on the server; the response gives its absolute path. On a served API `out` is a folder
    under the project's exports (download it with GET .../exports/{name}/zip) unless the operator allowed more."""
    out = write_path(request, body.out, lambda: project_dir(request, project, EXPORTS_DIR), "export folder")
    return s.export(project, out, format=body.format, file_type=body.file_type, include_all=body.include_all,
                    filter=body.filter, force=body.force, **body.options)


@router.post("/projects/{project}/dataset/import", response_model=ImportReport)
def import_dataset(
    project: str,
    file: UploadFile = File(..., description="A .json, .jsonl or .csv dataset"),
    format: str = Form("auto"),
    mapping: str = Form("", description='custom format: JSON object, e.g. {"question": "prompt"}'),
    keep_good_lines: bool = Form(False),
    s: Service = Depends(svc),
) -> ImportReport:
    """Upload and import a dataset as unconfirmed items."""
    return import_upload(s, project, file, format, mapping, keep_good_lines)


def import_upload(s: Service, project: str, file: UploadFile, format: str, mapping: str, keep_good_lines: bool) -> ImportReport:
    """Import an uploaded dataset file (saved to a temporary file under a safe name); `mapping` is JSON text.
    Shared by this route and the dataset page."""
    import json
    import tempfile
    from pathlib import Path

    from loreforge.errors import UserError
    from loreforge.ingest import safe_filename

    try:
        field_map = json.loads(mapping) if mapping.strip() else None
    except (ValueError, RecursionError) as exc:  # also a number too long to convert, or nesting too deep
        raise UserError("mapping is not valid JSON", expected='{"question": "prompt", "answer": "completion"}',
                        got=getattr(exc, "msg", "a number too long or nesting too deep")) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_filename(file.filename or "upload.json")
        with path.open("wb") as out:
            while block := file.file.read(1 << 20):
                out.write(block)
        return s.import_dataset(project, path, format=format, mapping=field_map, keep_good_lines=keep_good_lines)
