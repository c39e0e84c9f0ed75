"""Pages: cleaning chunks — clean one chunk, the ticked ones or every chunk matching the chunk list's filter (a job
of kind `clean`: an LLM, or the rule-based cleaner offline), the originals kept; the cleaned chunks (flagged ones —
figures changed — first to look at); one cleaning's diff with the figures dropped or added and how it was cleaned;
restore the original. JSON twins: GET /api/projects/{p}/chunks?cleaned=true, .../chunks/{id}/diff."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.filters import ChunkFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import choice, done, filter_from, flag, ids, page, text, tr
from loreforge.web.ui.pages_modes import model_names, started
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import project_url

router = APIRouter()


@router.get("/p/{project}/cleaning")
def cleaning(project: str, request: Request) -> Response:
    """The cleaned chunks (those a cleaning changed; `flagged` picks the ones whose figures changed), and the form that
    cleans chunks."""
    s = svc(request)
    at, size = paging(request)
    flagged = choice(request.query_params, "flagged")
    result = s.list_chunks(project, cleaned=True, flagged=flagged, page=at, page_size=size)
    query = {"flagged": str(flagged).lower()} if flagged is not None else {}
    twin = f"/api/projects/{{id}}/chunks?{urlencode({'cleaned': 'true', **query, 'page': at, 'page_size': size})}"
    return page(request, "cleaning.html", project, nav="modes", twin=twin, result=result, base_query=query, flagged=flagged, sizes=PAGE_SIZES,
                documents=s.list_documents(project), models=model_names(s, project, "text"),
                chunks=s.list_chunks(project, page_size=1).total)


@router.post("/p/{project}/chunks/clean")
async def clean(project: str, request: Request) -> Response:
    """Clean the ticked chunks (`ids`), or every chunk matching a filter (`all` and the `f_` fields: the chunk list's
    select-all; the cleaning page's form sends its own filter the same way). `rules`: the rule-based cleaner."""
    form = await request.form()
    s, t = svc(request), tr(request)
    back = text(form, "back") or ""
    back = back if back.startswith(project_url(project) + "/") else project_url(project, "cleaning")  # never another site
    every, chosen = flag(form, "all"), ids(form)
    if not every and not chosen:
        return done(request, t("chunks.none_selected"), back)
    f = filter_from(form, ChunkFilter, "f_") if every else None
    job = s.clean_chunks(project, chunk_ids=None if every else chosen, model=text(form, "model"),
                         provider="extractive" if flag(form, "rules") else None, force=flag(form, "force"), background=True, chunk_filter=f)
    return started(request, t("clean.started", id=job.id, n=job.total), back, job, link=project_url(project, "cleaning"),
                   link_text=t("clean.see_cleaned"))


@router.get("/p/{project}/chunks/{chunk_id}/diff")
def diff(project: str, chunk_id: int, request: Request) -> Response:
    s = svc(request)
    view = s.chunk_diff(project, chunk_id)
    return page(request, "chunk_diff.html", project, nav="modes", twin=f"/api/projects/{{id}}/chunks/{chunk_id}/diff", diff=view,
                chunk=s.get_chunk(project, chunk_id), lines=view.diff.splitlines()[2:])


@router.post("/p/{project}/chunks/{chunk_id}/restore")
def restore(project: str, chunk_id: int, request: Request) -> Response:
    view = svc(request).restore_chunk(project, chunk_id)
    return done(request, tr(request)("clean.restored", id=view.id, n=view.size), project_url(project, "chunks", chunk_id, "diff"))
