"""Page: images for image QA — upload images, folders (every image in them, sent as separate files), zip archives and
PDFs (each page rendered as an image): the page sends each file to POST /api/projects/{p}/images and shows what it
held (added / already there / failed with the reason, per image); the images, paged, each with its questions and QA
pairs; a vision model (a model config of type `vision`) writes QA for the ticked images or all of them (a job of kind
`image_qa`); delete. Review shows the image beside its QA (`review_modes`). JSON twin: GET /api/projects/{p}/images."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.web.deps import svc
from loreforge.web.ui.common import done, flag, ids, number, page, raw, text, tr
from loreforge.web.ui.pages_modes import model_names, settings_of, started
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import project_url

router = APIRouter()
ACCEPT = ".png,.jpg,.jpeg,.webp,.gif,.bmp,.zip,.pdf"


@router.get("/p/{project}/images")
def images(project: str, request: Request) -> Response:
    s = svc(request)
    at, size = paging(request)
    result = s.list_images(project, page=at, page_size=size)
    templates = [t for t in s.list_templates(project) if t.source == "image"]
    return page(request, "images.html", project, nav="modes", twin=f"/api/projects/{{id}}/images?page={at}&page_size={size}", result=result,
                base_query={}, sizes=PAGE_SIZES, models=model_names(s, project, "vision"), settings=settings_of(s, project, "images."),
                accept=ACCEPT, templates=templates)


@router.post("/p/{project}/images/batch")
async def batch(project: str, request: Request) -> Response:
    """QA for the ticked images or every image (`all`); or delete the ticked ones."""
    form = await request.form()
    s, t, action = svc(request), tr(request), raw(form, "action")
    back = project_url(project, "images")
    every, chosen = flag(form, "all"), ids(form)
    if not every and not chosen:
        return done(request, t("image.none_selected"), back)
    if action == "qa":
        job = s.generate_image_qa(project, image_ids=None if every else chosen, questions_per_image=number(form, "questions_per_image"),
                                  model=text(form, "model"), force=flag(form, "force"), background=True)
        return started(request, t("image.qa_started", id=job.id, n=job.total), back, job,
                       link=f"{project_url(project, 'dataset')}?images=true", link_text=t("image.review_qa"))
    if action == "delete" and chosen:
        result = s.delete_images(project, chosen)
        return done(request, t("image.deleted", n=result.deleted), back)
    return done(request, t("image.delete_needs_selection"), back)
