"""Page: one dataset item under review — question, answer and chain of thought beside the source chunk, the
grounding check's values marked in both (missing ones flagged); edit, confirm, rate, tag, labels, note; AI score;
answer optimisation with advice; the next and previous item of the list's filter (j / k). JSON twin:
GET /api/projects/{p}/dataset/{id}."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.filters import DatasetFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, filter_from, filter_query, number, page, raw, text, tr
from loreforge.web.ui.highlight import grounding_marks, runs
from loreforge.web.ui.render import project_url
from loreforge.web.ui.review_modes import review_context

router = APIRouter()
RATINGS = range(0, 6)


@router.get("/p/{project}/dataset/{item_id}")
def item(project: str, item_id: int, request: Request, pos: int | None = None, sort: str = "id") -> Response:
    s = svc(request)
    view = s.show_dataset_item(project, item_id)
    f = filter_from(request.query_params, DatasetFilter)
    query = {**filter_query(f), **({"sort": sort} if sort != "id" else {})}
    answer_marks, source_marks = grounding_marks(view.grounding)
    near = {}
    if pos is not None:
        for key, at in (("prev", pos - 1), ("next", pos + 1)):
            if at >= 1:
                found = s.list_dataset(project, f, page=at, page_size=1, sort=sort)
                near[key] = (found.items[0].id, at) if found.items else None
    return page(request, "item.html", project, nav="dataset", twin=f"/api/projects/{{id}}/dataset/{item_id}", item=view, query=query,
                pos=pos, near=near, answer_runs=runs(view.answer, answer_marks), source_runs=runs(view.source_text or "", source_marks),
                ratings=RATINGS, tags=s.show_tags(project), back=f"{project_url(project, 'dataset')}?{urlencode(query)}",
                **review_context(s, project, view))


def _back(project: str, item_id: int) -> str:
    return project_url(project, "dataset", item_id)


@router.post("/p/{project}/dataset/{item_id}/edit")
async def edit(project: str, item_id: int, request: Request) -> Response:
    form = await request.form()
    labels = [part.strip() for part in raw(form, "labels").split(",") if part.strip()]
    svc(request).edit_dataset_item(project, item_id, question=raw(form, "question"), answer=raw(form, "answer"), cot=raw(form, "cot"),
                                   tag=raw(form, "tag"), note=raw(form, "note"), labels=labels)
    return done(request, tr(request)("review.saved"), _back(project, item_id))


@router.post("/p/{project}/dataset/{item_id}/confirm")
async def confirm(project: str, item_id: int, request: Request) -> Response:
    form = await request.form()
    confirmed = raw(form, "confirmed") != "false"
    svc(request).confirm_dataset(project, DatasetFilter(ids=[item_id]), confirmed=confirmed)
    return done(request, tr(request)("review.confirmed" if confirmed else "review.unconfirmed", id=item_id), _back(project, item_id))


@router.post("/p/{project}/dataset/{item_id}/rate")
async def rate(project: str, item_id: int, request: Request) -> Response:
    form = await request.form()
    view = svc(request).rate_dataset_item(project, item_id, number(form, "rating"))
    return done(request, tr(request)("review.rated", n=view.rating if view.rating is not None else "—"), _back(project, item_id))


@router.post("/p/{project}/dataset/{item_id}/optimize")
async def optimize(project: str, item_id: int, request: Request) -> Response:
    form = await request.form()
    svc(request).optimize_answer(project, item_id, raw(form, "advice"), model=text(form, "model"))
    return done(request, tr(request)("review.optimized"), _back(project, item_id))


@router.post("/p/{project}/dataset/{item_id}/score")
def score(project: str, item_id: int, request: Request) -> Response:
    job = svc(request).score_dataset(project, DatasetFilter(ids=[item_id]), force=True, background=True)
    return done(request, tr(request)("review.score_started", id=job.id), _back(project, item_id), event=JOB_STARTED, job=job)


@router.post("/p/{project}/dataset/{item_id}/check")
def check(project: str, item_id: int, request: Request) -> Response:
    report = svc(request).check_dataset(project, DatasetFilter(ids=[item_id]))
    key = "review.check_failed" if report.failed else "review.check_ok"
    return done(request, tr(request)(key), _back(project, item_id), kind="warn" if report.failed else "ok")
