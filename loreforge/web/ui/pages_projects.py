"""Pages: the projects list (counts and tokens spent), create (optionally copying settings and model configs
from another), rename, delete with confirmation; and the UI language switch. JSON twin: GET /api/projects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from loreforge.web.deps import svc
from loreforge.web.ui.common import go, page, text
from loreforge.web.ui.i18n import COOKIE, LANGUAGES
from loreforge.web.ui.render import project_url

router = APIRouter()
YEAR_S = 365 * 24 * 3600


@router.get("")
def projects(request: Request) -> Response:
    return page(request, "projects.html", nav="projects", twin="/api/projects", projects=svc(request).list_projects())


@router.post("/projects")
async def create(request: Request) -> Response:
    form = await request.form()
    view = svc(request).create_project(text(form, "name") or "", description=text(form, "description") or "",
                                       copy_from=text(form, "copy_from"))
    return go(request, project_url(view, "documents"))


@router.post("/p/{project}/rename")
async def rename(project: str, request: Request) -> Response:
    form = await request.form()
    svc(request).rename_project(project, text(form, "name") or "")
    return go(request, "/ui")


@router.post("/p/{project}/delete")
def delete(project: str, request: Request) -> Response:
    svc(request).delete_project(project)
    return go(request, "/ui")


@router.get("/lang")
def switch_language(request: Request, set: str = "en", next: str = "/ui") -> Response:
    """Remember the reader's UI language (a cookie) and go back to the page they were on."""
    back = next if next.startswith("/ui") and "//" not in next and "\\" not in next else "/ui"
    response = RedirectResponse(back, status_code=303)
    if set in LANGUAGES:
        response.set_cookie(COOKIE, set, max_age=YEAR_S, samesite="lax", path="/")
    return response
