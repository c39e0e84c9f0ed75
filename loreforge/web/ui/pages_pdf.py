"""Page: PDFs converted by a vision model or MinerU — upload PDFs and convert them with a chosen strategy (vision:
each page read by the vision model, a job of kind `pdf_pages` with progress per page; mineru-api / mineru-local: a
job of kind `pdf_mineru`, a file per item); each file becomes a document once converted. The MinerU API token is
entered here write-only (stored encrypted, never shown). Recent conversions, live. JSON twin: GET
/api/jobs?project={p}&kind=pdf_pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from loreforge.jobs.status import ACTIVE
from loreforge.service import Upload
from loreforge.service.pdf_convert import STRATEGIES
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, flag, page, raw, text, tr
from loreforge.web.ui.pages_modes import model_names, recent_jobs, settings_of
from loreforge.web.ui.render import html, is_htmx, project_url

router = APIRouter()
KINDS = ("pdf_pages", "pdf_mineru")


@router.get("/p/{project}/pdf")
def pdf(project: str, request: Request) -> Response:
    s = svc(request)
    return page(request, "pdf.html", project, nav="modes", twin="/api/jobs?project={id}&kind=pdf_pages", strategies=STRATEGIES,
                settings=settings_of(s, project, "pdf.", "images.pdf_dpi"), models=model_names(s, project, "vision"),
                jobs=recent_jobs(s, project, KINDS), kinds=",".join(KINDS), waiting=False, active=ACTIVE)


@router.post("/p/{project}/pdf/convert")
async def convert(project: str, request: Request) -> Response:
    """Convert the uploaded PDFs (one job for them all); files that cannot be read are listed with the reason."""
    form = await request.form()
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    t = tr(request)
    if not files:
        return done(request, t("pdf.no_files"), project_url(project, "pdf"))
    uploads = [Upload(f.filename or "upload.pdf", f.file) for f in files]
    view = await run_in_threadpool(svc(request).convert_pdf, project, uploads, strategy=text(form, "strategy"), model=text(form, "model"),
                                   force=flag(form, "force"), background=True)
    if not is_htmx(request):
        return RedirectResponse(project_url(project, "pdf"), status_code=303)
    failed = [d for d in view.documents if d.status == "failed"]
    job = view.jobs[0] if view.jobs else None
    message = t("pdf.started", id=job.id, n=len(files) - len(failed), pages=job.total) if job else t("pdf.nothing_started")
    return html(request, "_pdf_result.html", headers={"HX-Trigger": JOB_STARTED}, message=message, kind="ok" if job else "error",
                job=job, failed=failed, strategy=view.strategy, project=svc(request).get_project(project))


@router.post("/p/{project}/pdf/mineru-key")
async def mineru_key(project: str, request: Request) -> Response:
    form = await request.form()
    stored = svc(request).set_mineru_key(project, raw(form, "key"))
    return done(request, tr(request)("pdf.key_stored", how=stored.stored), project_url(project, "pdf"))
