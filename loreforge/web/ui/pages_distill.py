"""Page: distillation without documents — a topic and the shape of its tree (levels × tags per level, questions per
leaf, single-turn answers / dialogues / both) → the estimate of calls and tokens, shown before anything starts → the
run (its steps are jobs one after another in the server's job loop; the page follows them live). The trees, editable:
rename, add a sub-tag, delete a subtree; per topic, run again (only what is missing), ask the new leaves, answer what
is unanswered. JSON twin: GET /api/projects/{p}/distill/tree."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.jobs.status import ACTIVE
from loreforge.mode_views import DistillTagView
from loreforge.web.deps import svc
from loreforge.web.ui.common import JOB_STARTED, done, flag, number, page, text, tr
from loreforge.web.ui.pages_modes import last_job_id, model_names, recent_jobs, settings_of, started
from loreforge.web.ui.render import html, project_url

router = APIRouter()
KINDS = ("distill_tags", "distill_questions", "distill_answers", "dialogues")
MODES = ("single", "multi", "both")
SHAPE = ("levels", "tags_per_level", "questions_per_leaf")


def totals(tag: DistillTagView) -> dict[str, int]:
    """A topic's tree in numbers: tags below it, leaves, questions and answered ones over the whole subtree."""
    out = {"tags": 0, "leaves": 0, "questions": tag.questions, "answered": tag.items}
    for child in tag.children:
        sub = totals(child)
        out["tags"] += 1 + sub["tags"]
        out["leaves"] += sub["leaves"] or 1
        out["questions"] += sub["questions"]
        out["answered"] += sub["answered"]
    return out


@router.get("/p/{project}/distill")
def distill(project: str, request: Request) -> Response:
    s = svc(request)
    trees = s.list_distill_tags(project)
    return page(request, "distill.html", project, nav="modes", twin="/api/projects/{id}/distill/tree", trees=trees,
                totals={t.id: totals(t) for t in trees}, settings=settings_of(s, project, "distill.", "dialogues.rounds", "answers.cot"),
                models=model_names(s, project, "text"), modes=MODES, jobs=recent_jobs(s, project, KINDS), kinds=",".join(KINDS),
                waiting=False, active=ACTIVE)


def _shape(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: number(form, name) for name in SHAPE}
    values["mode"] = text(form, "mode")
    return values


@router.post("/p/{project}/distill/estimate")
async def estimate(project: str, request: Request) -> Response:
    """The calls and tokens a run of this shape takes, with the button that starts it."""
    form = await request.form()
    shape = _shape(form)
    view = svc(request).distill_estimate(project, **shape)
    return html(request, "_distill_estimate.html", estimate=view, topic=text(form, "topic") or "", model=text(form, "model") or "",
                project=svc(request).get_project(project))


@router.post("/p/{project}/distill/run")
async def run(project: str, request: Request) -> Response:
    """Start (or continue: only what is missing is made) a topic's run; its steps follow one another as jobs."""
    form = await request.form()
    s, t = svc(request), tr(request)
    after = last_job_id(s, project)
    topic = text(form, "topic") or ""
    view = s.distill_run(project, topic, model=text(form, "model"), background=True, **_shape(form))
    return html(request, "_mode_started.html", headers={"HX-Trigger": "lf-changed, " + JOB_STARTED},
                message=t("distill.started", topic=view.topic), kind="ok", project=s.get_project(project), jobs=recent_jobs(s, project, KINDS),
                kinds=",".join(KINDS), after=after, waiting=True, oob=True, active=ACTIVE)


@router.post("/p/{project}/distill/{topic_id}/questions")
async def questions(project: str, topic_id: int, request: Request) -> Response:
    form = await request.form()
    job = svc(request).distill_questions(project, topic=topic_id, model=text(form, "model"), force=flag(form, "force"), background=True)
    return started(request, tr(request)("distill.questions_started", id=job.id, n=job.total), project_url(project, "distill"), job)


@router.post("/p/{project}/distill/{topic_id}/answers")
async def answers(project: str, topic_id: int, request: Request) -> Response:
    form = await request.form()
    job = svc(request).distill_answers(project, topic=topic_id, model=text(form, "model"), force=flag(form, "force"), background=True)
    return started(request, tr(request)("distill.answers_started", id=job.id, n=job.total), project_url(project, "distill"), job)


@router.post("/p/{project}/distill/tree")
async def add_tag(project: str, request: Request) -> Response:
    form = await request.form()
    tag = svc(request).add_distill_tag(project, text(form, "label") or "", text(form, "parent"))
    return done(request, tr(request)("distill.tag_added", label=tag.label), project_url(project, "distill"))


@router.post("/p/{project}/distill/tree/{tag_id}/rename")
async def rename_tag(project: str, tag_id: int, request: Request) -> Response:
    form = await request.form()
    tag = svc(request).rename_distill_tag(project, tag_id, text(form, "label") or "")
    return done(request, tr(request)("distill.tag_renamed", label=tag.label), project_url(project, "distill"))


@router.post("/p/{project}/distill/tree/{tag_id}/delete")
def delete_tag(project: str, tag_id: int, request: Request) -> Response:
    result = svc(request).delete_distill_tag(project, tag_id)
    return done(request, tr(request)("distill.tag_deleted", n=result.deleted), project_url(project, "distill"))
