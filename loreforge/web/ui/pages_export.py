"""Page: export — every format and option of `loreforge export` (the LLaMA Factory bundle by default), the
dataset filter, the folder written (its path with a copy button) and its files to download one by one or as a
zip, beside the export folders already there. JSON twins: POST /api/projects/{p}/export, GET .../exports,
.../exports/{name}/zip and .../files/{path} (the download links)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from loreforge.defaults import DEFAULT_VAL_SIZE, EXPORT_TARGETS, FILE_TYPES
from loreforge.errors import UserError
from loreforge.filters import DatasetFilter
from loreforge.web.deps import EXPORTS_DIR, project_dir, svc, write_path
from loreforge.web.routes_files import list_exports
from loreforge.web.ui.common import filter_from, flag, number, page, raw, text
from loreforge.web.ui.render import html

router = APIRouter()
COT_MODES = ("none", "think", "field")
SPLIT_BY = ("chunk", "document")


@router.get("/p/{project}/export")
def export_page(project: str, request: Request) -> Response:
    s = svc(request)
    return page(request, "export.html", project, nav="export", twin="/api/projects/{id}/exports", folders=list_exports(project, s),
                formats=EXPORT_TARGETS, file_types=FILE_TYPES, cot_modes=COT_MODES, split_by=SPLIT_BY, val_size=DEFAULT_VAL_SIZE,
                tags=s.show_tags(project), documents=s.list_documents(project))


def options(form: FormData) -> dict[str, Any]:
    """The export options a form sets (blank fields keep their defaults)."""
    out: dict[str, Any] = {"cot": text(form, "cot"), "system_prompt": raw(form, "system_prompt"), "split_by": text(form, "split_by"),
                           "val_size": number(form, "val_size", float), "seed": number(form, "seed"),
                           "balance_per_tag": number(form, "balance_per_tag"), "include_history": flag(form, "include_history"),
                           "reasoning_language": text(form, "reasoning_language")}
    fields = text(form, "custom_fields")
    if fields:
        try:
            out["custom_fields"] = json.loads(fields)
        except ValueError as exc:
            raise UserError("custom fields are not valid JSON", expected='{"question": "prompt", "answer": "completion"}',
                            got=str(exc)) from None
    return {k: v for k, v in out.items() if v not in (None, "")}


@router.post("/p/{project}/export")
async def export(project: str, request: Request) -> Response:
    form = await request.form()
    base = project_dir(request, project, EXPORTS_DIR)
    name = text(form, "out") or "llamafactory"
    target = name if Path(name).is_absolute() else str(base / name)
    out = write_path(request, target, lambda: base, "export folder")
    report = svc(request).export(project, out, format=text(form, "format") or "llamafactory", file_type=text(form, "file_type") or "json",
                                 include_all=flag(form, "include_all"), filter=filter_from(form, DatasetFilter, "f_"),
                                 force=flag(form, "force"), **options(form))
    folder = Path(report.folder)
    inside = folder.is_relative_to(base.resolve())
    files = [Path(f).relative_to(folder).as_posix() for f in report.files if Path(f).is_relative_to(folder)]
    return html(request, "_export_result.html", headers={"HX-Trigger": "lf-changed"}, report=report, files=files,
                name=folder.relative_to(base.resolve()).as_posix() if inside else None, project_id=svc(request).get_project(project).id)
