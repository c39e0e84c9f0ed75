"""Pages: questions — a server-paged list, or the tag tree (question counts per tag from one grouped count; the
questions of the chosen tag a page at a time: the tree never loads the questions to draw); edit, add, delete;
select some or every question matching the filter → generate answers (batched or per question). JSON twins:
GET /api/projects/{p}/questions, /api/projects/{p}/tags."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.filters import QuestionFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, filter_from, filter_query, flag, ids, number, page, raw, text, tr
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import project_url

router = APIRouter()
MODES = ("batched", "per-question")


def question_filter(values: Any, prefix: str = "") -> QuestionFilter:
    """The question filter of a page's query (or a batch form's `f_` fields); `untagged=1` stands for tag ''."""
    f = filter_from(values, QuestionFilter, prefix)
    return f.model_copy(update={"tag": ""}) if values.get(prefix + "untagged") == "1" else f


def question_query(f: QuestionFilter) -> dict[str, Any]:
    query = filter_query(f)
    if f.tag == "":
        query.pop("tag", None)
        query["untagged"] = "1"
    return query


@router.get("/p/{project}/questions")
def questions(project: str, request: Request, view: str = "list") -> Response:
    s = svc(request)
    f = question_filter(request.query_params)
    at, size = paging(request)
    result = s.list_questions(project, page=at, page_size=size, **f.model_dump())
    tree = view == "tree"
    tags = s.show_tags(project)
    untagged = s.list_questions(project, tag="", page_size=1).total if tree else 0
    query = {**question_query(f), "view": view}
    twin = f"/api/projects/{{id}}/questions?{urlencode({**filter_query(f), 'page': at, 'page_size': size})}"
    return page(request, "questions.html", project, nav="questions", twin=twin, result=result, f=f, query=query, tags=tags,
                tree=tree, untagged=untagged, sizes=PAGE_SIZES, modes=MODES)


@router.post("/p/{project}/questions")
async def add(project: str, request: Request) -> Response:
    form = await request.form()
    q = svc(request).add_question(project, number(form, "chunk_id") or 0, raw(form, "text"), text(form, "tag"))
    return done(request, tr(request)("questions.added", id=q.id), project_url(project, "questions"))


@router.post("/p/{project}/questions/{question_id}/edit")
async def edit(project: str, question_id: int, request: Request) -> Response:
    form = await request.form()
    svc(request).edit_question(project, question_id, text=raw(form, "text"), tag=raw(form, "tag"))
    return done(request, tr(request)("questions.saved", id=question_id), project_url(project, "questions"))


@router.post("/p/{project}/questions/batch")
async def batch(project: str, request: Request) -> Response:
    """Answer (a job) or delete the selected questions, or answer every question matching the filter."""
    form = await request.form()
    s, t, action = svc(request), tr(request), raw(form, "action")
    back = project_url(project, "questions")
    every, chosen = flag(form, "all"), ids(form)
    if not every and not chosen:
        return done(request, t("questions.none_selected"), back)
    if action == "answers":
        f = question_filter(form, "f_") if every else None
        job = s.generate_answers(project, question_ids=None if every else chosen, mode=text(form, "mode"), force=flag(form, "force"),
                                 background=True, question_filter=f)
        return done(request, t("questions.answers_started", id=job.id, n=job.total), back, event=JOB_STARTED, job=job)
    if action == "delete" and chosen:
        result = s.delete_questions(project, chosen)
        return done(request, t("questions.deleted", n=result.deleted), back)
    return done(request, t("questions.delete_needs_selection"), back)
