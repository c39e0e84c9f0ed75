"""Pages: chunks — a server-paged list with search, document filter, length range and "has questions"; view,
edit, split at a position, merge, delete; select some or **every chunk matching the filter** (never loaded to be
selected: the job takes the filter) → generate questions. JSON twin: GET /api/projects/{p}/chunks."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.filters import ChunkFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, choice, done, filter_from, filter_query, flag, ids, number, page, raw, text, tr
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import project_url

router = APIRouter()


@router.get("/p/{project}/chunks")
def chunks(project: str, request: Request) -> Response:
    s = svc(request)
    f = filter_from(request.query_params, ChunkFilter)
    at, size = paging(request)
    result = s.list_chunks(project, page=at, page_size=size, **f.model_dump())
    query = filter_query(f)
    return page(request, "chunks.html", project, nav="chunks", twin=f"/api/projects/{{id}}/chunks?{urlencode({**query, 'page': at, 'page_size': size})}",
                result=result, f=f, query=query, documents=s.list_documents(project), sizes=PAGE_SIZES)


@router.get("/p/{project}/chunks/{chunk_id}")
def chunk(project: str, chunk_id: int, request: Request) -> Response:
    s = svc(request)
    view = s.get_chunk(project, chunk_id)
    questions = s.list_questions(project, chunk_id=chunk_id, page_size=200)
    return page(request, "chunk.html", project, nav="chunks", twin=f"/api/projects/{{id}}/chunks/{chunk_id}", chunk=view,
                questions=questions, tags=s.show_tags(project))


@router.post("/p/{project}/chunks/{chunk_id}/edit")
async def edit(project: str, chunk_id: int, request: Request) -> Response:
    form = await request.form()
    svc(request).edit_chunk(project, chunk_id, raw(form, "text"))
    return done(request, tr(request)("chunks.saved"), project_url(project, "chunks", chunk_id))


@router.post("/p/{project}/chunks/{chunk_id}/split")
async def split(project: str, chunk_id: int, request: Request) -> Response:
    form = await request.form()
    parts = svc(request).split_chunk(project, chunk_id, number(form, "position") or 0)
    return done(request, tr(request)("chunks.split_done", a=parts[0].id, b=parts[1].id), project_url(project, "chunks", chunk_id))


@router.post("/p/{project}/chunks/batch")
async def batch(project: str, request: Request) -> Response:
    """An action on the selected chunks, or on every chunk matching the filter (`all=1` and the filter fields)."""
    form = await request.form()
    s, t, action = svc(request), tr(request), raw(form, "action")
    back = project_url(project, "chunks")
    every = flag(form, "all")
    chosen = ids(form)
    if not every and not chosen:
        return done(request, t("chunks.none_selected"), back)
    if action == "questions":
        f = filter_from(form, ChunkFilter, "f_") if every else None
        job = s.generate_questions(project, chunk_ids=None if every else chosen, force=flag(form, "force"),
                                   model=text(form, "model"), background=True, chunk_filter=f, ga=choice(form, "ga"))
        return done(request, t("chunks.questions_started", id=job.id, n=job.total), back, event=JOB_STARTED, job=job)
    if action == "merge":
        merged = s.merge_chunks(project, chosen)
        return done(request, t("chunks.merged", id=merged.id), back)
    if action == "delete":
        result = s.delete_chunks(project, chosen)
        return done(request, t("chunks.deleted", n=result.deleted), back)
    return done(request, t("app.unknown_action"), back)
