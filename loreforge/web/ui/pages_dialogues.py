"""Page: multi-turn dialogues — generate them (a job of kind `dialogues`: every question without a dialogue, the
questions matching a filter, or — from the questions page — a selection or everything matching its filter), with the
options of `loreforge dialogues generate` (rounds, mode, roles, scenario, system prompt), and the list of dialogues,
each opening the review page, which shows every round (`review_modes`) and saves edits of any round here. Dialogues
are dataset items of kind `dialogue`. JSON twin: GET /api/projects/{p}/dataset?kind=dialogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.errors import UserError
from loreforge.filters import DatasetFilter
from loreforge.web.deps import svc
from loreforge.web.ui.common import done, flag, ids, number, page, raw, text, tr
from loreforge.web.ui.pages_modes import model_names, settings_of, started
from loreforge.web.ui.pages_questions import question_filter
from loreforge.web.ui.paging import PAGE_SIZES, paging
from loreforge.web.ui.render import project_url

router = APIRouter()
MODES = ("whole", "turns")
OPTIONS = ("user_role", "assistant_role", "scenario", "system_prompt")


@router.get("/p/{project}/dialogues")
def dialogues(project: str, request: Request) -> Response:
    s = svc(request)
    at, size = paging(request)
    result = s.list_dataset(project, DatasetFilter(kind="dialogue"), page=at, page_size=size)
    return page(request, "dialogues.html", project, nav="modes", twin=f"/api/projects/{{id}}/dataset?kind=dialogue&page={at}&page_size={size}",
                result=result, base_query={}, sizes=PAGE_SIZES, settings=settings_of(s, project, "dialogues."), modes=MODES,
                models=model_names(s, project, "text"), tags=s.show_tags(project),
                questions=s.list_questions(project, page_size=1).total)


def _options(form: Any) -> dict[str, Any]:
    """The dialogue options a form gives (`d_` fields); a blank one keeps the project's setting."""
    values: dict[str, Any] = {name: text(form, "d_" + name) for name in OPTIONS}
    values["rounds"] = number(form, "d_rounds")
    mode = text(form, "d_mode")
    if mode is not None and mode not in MODES:
        raise UserError("Unknown dialogue mode", expected=", ".join(MODES), got=repr(mode))
    values["mode"] = mode
    return values


@router.post("/p/{project}/dialogues/generate")
async def generate(project: str, request: Request) -> Response:
    """Dialogues of the ticked questions (`ids`), of every question matching the questions page's filter (`all` and
    its `f_` fields), of the questions matching this page's filter (`scope=filter`, `q_` fields), or of every
    question without one."""
    form = await request.form()
    s, t = svc(request), tr(request)
    back = project_url(project, "dialogues")
    chosen, every, scope = ids(form), flag(form, "all"), raw(form, "scope")
    if every:
        f = question_filter(form, "f_")
    elif scope == "filter":
        f = question_filter(form, "q_")
    else:
        f = None
    if raw(form, "from") == "questions" and not every and not chosen:
        return done(request, t("questions.none_selected"), back)
    job = s.generate_dialogues(project, question_ids=chosen or None, force=flag(form, "force"), model=text(form, "model"),
                               provider="extractive" if flag(form, "offline") else None, background=True, question_filter=f,
                               **_options(form))
    return started(request, t("dialogue.started", id=job.id, n=job.total), back, job,
                   link=f"{project_url(project, 'dataset')}?kind=dialogue", link_text=t("dialogue.review_them"))


@router.post("/p/{project}/dataset/{item_id}/dialogue")
async def edit(project: str, item_id: int, request: Request) -> Response:
    """Save a dialogue from the review page: every round (`user_N`, `assistant_N`; the last is the item's question and
    answer), its system prompt, tag, labels and note."""
    form = await request.form()
    rounds: list[list[str]] = []
    n = 1
    while f"user_{n}" in form:
        rounds.append([raw(form, f"user_{n}"), raw(form, f"assistant_{n}")])
        n += 1
    if not rounds:
        raise UserError("A dialogue needs at least one round", hint="Send user_1 and assistant_1")
    *history, (question, answer) = rounds
    labels = [part.strip() for part in raw(form, "labels").split(",") if part.strip()]
    svc(request).edit_dataset_item(project, item_id, question=question, answer=answer, history=history, system=raw(form, "system"),
                                   tag=raw(form, "tag"), note=raw(form, "note"), labels=labels)
    return done(request, tr(request)("review.saved"), project_url(project, "dataset", item_id))
