"""Page: question templates — a fixed question put to every chunk (or every image) with the answer type it wants:
free text, one label of a list (else "other"), or JSON shaped like an example (checked when the template is saved);
add, edit, delete (its unanswered questions go too), apply (a question for every chunk or image that lacks it — no
model call; the answers stage or image QA answers them). JSON twin: GET /api/projects/{p}/templates."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.web.deps import svc
from loreforge.web.ui.common import done, page, raw, text, tr
from loreforge.web.ui.render import project_url

router = APIRouter()
ANSWER_TYPES = ("text", "label", "json")
SOURCES = ("text", "image")


def labels_of(form: Any) -> list[str]:
    """The labels a form gives: one per line, or comma separated (ASCII or full-width commas)."""
    return [part.strip() for part in re.split(r"[\n,，、]", raw(form, "labels")) if part.strip()]


@router.get("/p/{project}/templates")
def templates(project: str, request: Request) -> Response:
    s = svc(request)
    return page(request, "templates.html", project, nav="modes", twin="/api/projects/{id}/templates", templates=s.list_templates(project),
                answer_types=ANSWER_TYPES, sources=SOURCES)


@router.post("/p/{project}/templates")
async def add(project: str, request: Request) -> Response:
    form = await request.form()
    view = svc(request).add_template(project, raw(form, "question"), answer_type=text(form, "answer_type") or "text", labels=labels_of(form),
                                     json_format=raw(form, "json_format"), description=raw(form, "description"),
                                     source=text(form, "source") or "text")
    return done(request, tr(request)("template.added", id=view.id), project_url(project, "templates"))


@router.post("/p/{project}/templates/{template_id}/edit")
async def edit(project: str, template_id: int, request: Request) -> Response:
    form = await request.form()
    view = svc(request).edit_template(project, template_id, question=raw(form, "question"), answer_type=text(form, "answer_type"),
                                      labels=labels_of(form), json_format=raw(form, "json_format"), description=raw(form, "description"))
    return done(request, tr(request)("template.saved", id=view.id), project_url(project, "templates"))


@router.post("/p/{project}/templates/{template_id}/delete")
def delete(project: str, template_id: int, request: Request) -> Response:
    svc(request).delete_template(project, template_id)
    return done(request, tr(request)("template.deleted", id=template_id), project_url(project, "templates"))


@router.post("/p/{project}/templates/{template_id}/apply")
def apply(project: str, template_id: int, request: Request) -> Response:
    s, t = svc(request), tr(request)
    result = s.apply_template(project, template_id)
    image = next((v.source == "image" for v in s.list_templates(project) if v.id == template_id), False)
    link = project_url(project, "images") if image else f"{project_url(project, 'questions')}?answered=false"
    return done(request, t("template.applied", created=result.created, existing=result.existing), project_url(project, "templates"),
                link=link, link_text=t("template.answer_images" if image else "template.answer_chunks"))
