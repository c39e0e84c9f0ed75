"""Page: genre–audience pairs, one document at a time — propose each document's pairs (a job of kind `ga_pairs`, one
call per document, live progress), toggle a pair on or off, edit it, add your own, delete one; and ask the document's
chunks questions in its active pairs' styles (the questions job, `ga` on). The dataset list filters by pair
(`?ga_pair_id=`, `?ga=true`). JSON twin: GET /api/projects/{p}/ga?document_id=."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.filters import ChunkFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import done, flag, number, page, raw, text, tr
from loreforge.web.ui.pages_modes import model_names, settings_of, started
from loreforge.web.ui.render import project_url

router = APIRouter()
FIELDS = ("genre_title", "genre_description", "audience_title", "audience_description")


def _back(project: str, document_id: int | None = None) -> str:
    return project_url(project, "ga") + (f"?document_id={document_id}" if document_id else "")


@router.get("/p/{project}/ga")
def pairs(project: str, request: Request, document_id: int | None = None) -> Response:
    s = svc(request)
    documents = s.list_documents(project)
    chosen = next((d for d in documents if d.id == document_id), None) if document_id is not None else next(iter(documents), None)
    if document_id is not None and chosen is None:
        s.get_document(project, document_id)  # an unknown id is refused with the CLI's text
    found = s.list_ga_pairs(project, document_id=chosen.id) if chosen else []
    twin = "/api/projects/{id}/ga" + (f"?document_id={chosen.id}" if chosen else "")
    return page(request, "ga.html", project, nav="modes", twin=twin, documents=documents, document=chosen, pairs=found,
                models=model_names(s, project, "text"), settings=settings_of(s, project, "ga."))


@router.post("/p/{project}/ga/generate")
async def generate(project: str, request: Request) -> Response:
    """Propose pairs: for one document (again, with `force`), or for every document without pairs."""
    form = await request.form()
    document = number(form, "document_id")
    job = svc(request).generate_ga_pairs(project, document_ids=[document] if document else None, model=text(form, "model"),
                                         force=flag(form, "force"), background=True)
    return started(request, tr(request)("ga.started", id=job.id, n=job.total), _back(project, document), job)


@router.post("/p/{project}/ga/questions")
async def questions(project: str, request: Request) -> Response:
    """Ask the document's chunks questions in each of its active pairs' styles (one call per chunk)."""
    form = await request.form()
    document = number(form, "document_id")
    job = svc(request).generate_questions(project, chunk_filter=ChunkFilter(document_id=document), ga=True, force=flag(form, "force"),
                                          model=text(form, "model"), background=True)
    return started(request, tr(request)("ga.questions_started", id=job.id, n=job.total), _back(project, document), job)


def _fields(form: Any) -> dict[str, str]:
    return {name: raw(form, name) for name in FIELDS}


@router.post("/p/{project}/ga")
async def add(project: str, request: Request) -> Response:
    form = await request.form()
    document = number(form, "document_id") or 0
    pair = svc(request).add_ga_pair(project, document, **_fields(form))
    return done(request, tr(request)("ga.added", id=pair.id), _back(project, document))


@router.post("/p/{project}/ga/{pair_id}/edit")
async def edit(project: str, pair_id: int, request: Request) -> Response:
    form = await request.form()
    pair = svc(request).edit_ga_pair(project, pair_id, **_fields(form))
    return done(request, tr(request)("ga.saved", id=pair.id), _back(project, pair.document_id))


@router.post("/p/{project}/ga/{pair_id}/toggle")
async def toggle(project: str, pair_id: int, request: Request) -> Response:
    form = await request.form()
    pair = svc(request).edit_ga_pair(project, pair_id, active=raw(form, "active") == "true")
    key = "ga.now_active" if pair.active else "ga.now_inactive"
    return done(request, tr(request)(key, genre=pair.genre_title, audience=pair.audience_title), _back(project, pair.document_id))


@router.post("/p/{project}/ga/{pair_id}/delete")
async def delete(project: str, pair_id: int, request: Request) -> Response:
    form = await request.form()
    svc(request).delete_ga_pair(project, pair_id)
    return done(request, tr(request)("ga.deleted", id=pair_id), _back(project, number(form, "document_id")))
