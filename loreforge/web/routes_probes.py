"""REST routes: probe sets — build (the offline probes at once; rewording as a background job, see the set's
`job`), list, show with a page of probes, import an uploaded JSONL/CSV file, download as JSONL/CSV, delete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from loreforge.defaults import DEFAULT_PAGE_SIZE
from loreforge.service import Service
from loreforge.views import Deleted, ProbeImportReport, ProbeSetPage, ProbeSetView
from loreforge.web.deps import svc

router = APIRouter(tags=["probes"])


class BuildProbes(BaseModel):
    name: str | None = None
    kinds: list[str] | None = Field(None, description="held-out, reworded, key-fact, general (default: all; reworded only with an LLM)")
    qtypes: list[str] | None = Field(None, description="open, short, true-false, single-choice, multiple-choice (default: probes.qtypes)")
    size: int | None = None
    rotations: int | None = None
    model: str | None = Field(None, description="The model config that rewords (default: the active one)")
    provider: str | None = Field(None, description="extractive: no LLM")
    leakage_threshold: float | None = None
    val_size: float | None = None
    split_by: str | None = None
    seed: int | None = None


@router.post("/projects/{project}/probes/build", response_model=ProbeSetView, status_code=201)
def build_probes(project: str, body: BuildProbes, s: Service = Depends(svc)) -> ProbeSetView:
    """Build (or resume) a probe set; rewording, when asked, runs in the background as the set's `job`."""
    return s.build_probes(project, **body.model_dump(), background=True)


@router.get("/projects/{project}/probes", response_model=list[ProbeSetView])
def list_probe_sets(project: str, s: Service = Depends(svc)) -> list[ProbeSetView]:
    return s.list_probe_sets(project)


@router.get("/projects/{project}/probes/{probe_set}", response_model=ProbeSetPage)
def get_probe_set(project: str, probe_set: str, page: int = Query(1, ge=1), page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1),
                  kind: str | None = None, qtype: str | None = None, s: Service = Depends(svc)) -> ProbeSetPage:
    return s.get_probe_set(project, probe_set, page=page, page_size=page_size, kind=kind, qtype=qtype)


@router.post("/projects/{project}/probes/import", response_model=ProbeImportReport, status_code=201)
def import_probes(project: str, file: UploadFile = File(..., description="A .jsonl or .csv file of probes"),
                  name: str = Form("", description="Name of the new set (default: the file's name without its suffix)"),
                  s: Service = Depends(svc)) -> ProbeImportReport:
    """Upload your own probes as a new set; bad lines come back in `issues`, the rest are imported."""
    from loreforge.ingest import safe_filename

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_filename(file.filename or "probes.jsonl")
        with path.open("wb") as out:
            while block := file.file.read(1 << 20):
                out.write(block)
        return s.import_probes(project, path, name or Path(file.filename or "probes").stem)


@router.get("/projects/{project}/probes/{probe_set}/export")
def export_probes(project: str, probe_set: str, format: Literal["jsonl", "csv"] = "jsonl", s: Service = Depends(svc)) -> FileResponse:
    """Download the set as JSONL or CSV (what `probes import` reads back)."""
    fd, tmp = tempfile.mkstemp(suffix=f".{format}")
    os.close(fd)
    try:
        s.export_probes(project, probe_set, tmp)
    except BaseException:
        os.unlink(tmp)
        raise
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return FileResponse(tmp, media_type=media, filename=f"probes-{probe_set}.{format}", background=BackgroundTask(os.unlink, tmp))


@router.delete("/projects/{project}/probes/{probe_set}", response_model=Deleted)
def delete_probe_set(project: str, probe_set: str, s: Service = Depends(svc)) -> Deleted:
    return s.delete_probe_set(project, probe_set)
