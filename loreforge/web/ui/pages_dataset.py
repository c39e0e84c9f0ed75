"""Pages: the dataset — a server-paged list with every filter of the API (confirmed, score range, stars, tag,
chain of thought, grounding failed, duplicates, stale, search, document, label), sorted in the database; batch
actions on a selection or on everything matching the filter (confirm, unconfirm, AI score, grounding check,
delete) and the project-wide duplicate scan; import with field mapping and per-line errors. One item's review
is `pages_review`. JSON twin: GET /api/projects/{p}/dataset with the same query."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.defaults import DATASET_SORTS, IMPORT_FORMATS
from loreforge.filters import DatasetFilter
from loreforge.review.dataset import ImportFailed
from loreforge.web.deps import svc
from loreforge.web.routes_dataset import import_upload
from loreforge.web.ui.common import JOB_STARTED, done, filter_from, filter_query, flag, ids, page, raw, text, tr
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import html, project_url

router = APIRouter()
MAPPED = ("question", "answer", "cot", "system", "tag")


@router.get("/p/{project}/dataset")
def dataset(project: str, request: Request, sort: str = "id") -> Response:
    s = svc(request)
    f = filter_from(request.query_params, DatasetFilter)
    at, size = paging(request)
    result = s.list_dataset(project, f, page=at, page_size=size, sort=sort)
    query = {**filter_query(f), "sort": sort if sort != "id" else None}
    twin = f"/api/projects/{{id}}/dataset?{urlencode({**filter_query(f), 'sort': sort, 'page': at, 'page_size': size})}"
    return page(request, "dataset.html", project, nav="dataset", twin=twin, result=result, f=f, query={k: v for k, v in query.items() if v},
                sorts=DATASET_SORTS, sort=sort, sizes=PAGE_SIZES, documents=s.list_documents(project), tags=s.show_tags(project),
                import_formats=IMPORT_FORMATS, mapped=MAPPED)


def selection(form: Any) -> DatasetFilter:
    """The items a batch form names: every item matching the filter (`all`), or the ticked ids."""
    if flag(form, "all"):
        return filter_from(form, DatasetFilter, "f_")
    return DatasetFilter(ids=ids(form) or None)


@router.post("/p/{project}/dataset/batch")
async def batch(project: str, request: Request) -> Response:
    form = await request.form()
    s, t, action = svc(request), tr(request), raw(form, "action")
    back = project_url(project, "dataset")
    f, every = selection(form), flag(form, "all")
    if f.is_empty() and not every and action != "dedup":
        return done(request, t("dataset.none_selected"), back)
    if action in ("confirm", "unconfirm"):
        result = s.confirm_dataset(project, f, confirmed=action == "confirm")
        key = "dataset.confirmed_n" if action == "confirm" else "dataset.unconfirmed_n"
        return done(request, t(key, changed=result.changed, matched=result.matched), back)
    if action == "delete":
        result = s.delete_dataset(project, f, everything=every)  # "all N matching", confirmed in the page
        return done(request, t("dataset.deleted", n=result.changed), back)
    if action == "score":
        job = s.score_dataset(project, f, force=flag(form, "force"), background=True)
        return done(request, t("dataset.score_started", id=job.id, n=job.total), back, event=JOB_STARTED, job=job)
    if action == "check":
        report = s.check_dataset(project, f)
        return done(request, t("dataset.checked", checked=report.checked, failed=report.failed), back, kind="warn" if report.failed else "ok")
    if action == "dedup":
        found = s.dedup_dataset(project)
        return done(request, t("dataset.dedup_done", n=found.duplicates, groups=len(found.groups)), back)
    return done(request, t("app.unknown_action"), back)


@router.post("/p/{project}/dataset/import")
async def import_items(project: str, request: Request) -> Response:
    """Import a file; the field mapping comes from one input per field (custom format). Bad lines are listed."""
    import json

    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return done(request, tr(request)("dataset.import_no_file"), project_url(project, "dataset"))
    mapping = {name: value for name in MAPPED if (value := text(form, "map_" + name))}
    try:
        report = import_upload(svc(request), project, upload, text(form, "format") or "auto", json.dumps(mapping) if mapping else "",
                               flag(form, "keep_good_lines"))
    except ImportFailed as exc:
        return html(request, "_import_report.html", status=exc.http_status, error=str(exc), issues=exc.issues, report=None)
    return html(request, "_import_report.html", headers={"HX-Trigger": "lf-changed"}, error=None, issues=report.issues, report=report)
