"""REST routes: downloading what the server wrote for a client — a project's export folders and a training
run's output folder — as one zip or one file at a time. A served API keeps those folders under LOREFORGE_HOME
(docs/security.md), so a remote client fetches its results here instead of reading the server's disk."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from loreforge.errors import NotFound
from loreforge.paths import inside
from loreforge.service import Service
from loreforge.web.deps import EXPORTS_DIR, svc

router = APIRouter(tags=["downloads"])


def _folder(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise NotFound(f"No {what} at {path}", hint="Check the name, or run the export / training first")
    return path


def _exports(s: Service, project: str) -> Path:
    return Path(s.get_project(project).path) / EXPORTS_DIR


def _export_folder(s: Service, project: str, name: str) -> Path:
    return _folder(inside(_exports(s, project), name, "export folder"), f"export folder {name!r}")


def _run_folder(s: Service, run_id: int) -> Path:
    run = s.get_run(run_id)
    if not run.output_dir:
        raise NotFound(f"Run {run_id} has no output folder yet", hint="Wait until it has started")
    return _folder(Path(run.output_dir), f"output folder of run {run_id}")


def zip_response(folder: Path, filename: str) -> FileResponse:
    """The files under `folder` (symlinks left out: they may point anywhere) as one zip, streamed from a
    temporary file that is removed once sent."""
    fd, tmp = tempfile.mkstemp(suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for root, dirs, files in os.walk(folder):  # does not descend into linked folders
                dirs.sort()
                for name in sorted(files):
                    path = Path(root) / name
                    if path.is_file() and not path.is_symlink():
                        archive.write(path, path.relative_to(folder).as_posix())
    except BaseException:
        os.unlink(tmp)
        raise
    return FileResponse(tmp, media_type="application/zip", filename=filename, background=BackgroundTask(os.unlink, tmp))


def file_response(folder: Path, relative: str) -> FileResponse:
    path = inside(folder, relative)
    if not path.is_file():
        raise NotFound(f"No file {relative!r} in {folder}", hint="The zip route lists every file")
    return FileResponse(path, filename=path.name)


@router.get("/projects/{project}/exports", response_model=list[str])
def list_exports(project: str, s: Service = Depends(svc)) -> list[str]:
    """The export folders under the project's folder (what a served API writes for `export`)."""
    folder = _exports(s, project)
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


@router.get("/projects/{project}/exports/{name}/zip", response_class=FileResponse)
def download_export(project: str, name: str, s: Service = Depends(svc)) -> FileResponse:
    return zip_response(_export_folder(s, project, name), f"{name}.zip")


@router.get("/projects/{project}/exports/{name}/files/{path:path}", response_class=FileResponse)
def download_export_file(project: str, name: str, path: str, s: Service = Depends(svc)) -> FileResponse:
    return file_response(_export_folder(s, project, name), path)


@router.get("/runs/{run_id}/zip", response_class=FileResponse)
def download_run(run_id: int, s: Service = Depends(svc)) -> FileResponse:
    """The run's output folder (adapter or model, tokenizer, chat template, logs, checkpoints) as one zip."""
    return zip_response(_run_folder(s, run_id), f"run-{run_id}.zip")


@router.get("/runs/{run_id}/files/{path:path}", response_class=FileResponse)
def download_run_file(run_id: int, path: str, s: Service = Depends(svc)) -> FileResponse:
    return file_response(_run_folder(s, run_id), path)
