"""Pages: Blind test (arena) — create a test of two models (any of a base model, a train run, a model config) on
the project's probe sets; play it: each round the two answers stream in side by side as left and right, in an order
drawn at random on the server; vote left, right, both good or both bad (keys 1-4); only once the vote is stored
does the page say which model was which. The results: each model's win rate among decided votes and good rate,
with 95% intervals, and the sign test. JSON twins: GET /api/projects/{p}/arenas, /api/arenas/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import escape

from loreforge.web.deps import svc
from loreforge.web.ui import model_pick
from loreforge.web.ui.common import go, number, page, text
from loreforge.web.ui.i18n import translator
from loreforge.web.ui.live_answers import LiveAnswer, live, sse
from loreforge.web.ui.render import ENV, html, language

router = APIRouter()
SIDES = ("left", "right")


@router.get("/p/{project}/arena")
def arena_page(project: str, request: Request) -> Response:
    s = svc(request)
    runs = s.list_runs(project)
    left, right = model_pick.defaults(runs)
    return page(request, "arena.html", project, nav="arena", twin="/api/projects/{id}/arenas", arenas=s.list_arenas(project),
                sets=s.list_probe_sets(project), runs=[r for r in runs if r.status == "completed"], configs=s.list_models(project),
                picks={"a": left, "b": right}, kinds=model_pick.KINDS)


@router.post("/p/{project}/arena")
async def create(project: str, request: Request) -> Response:
    form = await request.form()
    (model_a, adapter_a), (model_b, adapter_b) = model_pick.read(form, "a").target(), model_pick.read(form, "b").target()
    probes = [v for v in form.getlist("probes") if isinstance(v, str) and v]
    view = svc(request).create_arena(project, model_a, model_b, adapter_a=adapter_a, adapter_b=adapter_b, probes=probes or None,
                                     name=text(form, "name"), size=number(form, "size"), max_new_tokens=number(form, "max_new_tokens"),
                                     system=text(form, "system"))
    return go(request, f"/ui/arena/{view.id}")


def _start(request: Request, arena_id: int, round_id: int, side: str) -> LiveAnswer:
    s = svc(request)
    return live(request).start(("arena", round_id, side),
                               lambda on_piece: s.answer_arena_round(arena_id, round_id, side, on_piece=on_piece))


@router.get("/arena/{arena_id}")
def play(arena_id: int, request: Request) -> Response:
    """The test's results and its current round (made now when none is pending); both answers start at once."""
    s = svc(request)
    view = s.get_arena(arena_id)
    current = s.next_arena_round(arena_id)
    if current is not None:
        for side in SIDES:
            if getattr(current, side) is None:
                _start(request, arena_id, current.id, side)
    return page(request, "arena_play.html", view.project_id, nav="arena", twin=f"/api/arenas/{arena_id}", arena=view,
                current=current)


@router.get("/arena/{arena_id}/rounds/{round_id}/{side}/stream")
async def stream(arena_id: int, round_id: int, side: str, request: Request) -> StreamingResponse:
    """One side's answer as it is written (pieces, then `end`); the model behind it stays unnamed."""
    if side not in SIDES:
        side = "left"
    answer = _start(request, arena_id, round_id, side)
    t, lang = translator(language(request)), language(request)
    done = ENV.get_template("_arena_side_end.html")

    def encode(event: str, payload: Any) -> str:
        if event == "piece":
            return sse("piece", str(escape(payload)))
        return sse("end", done.render(answer=payload, t=t, lang=lang))

    return StreamingResponse(answer.events(encode), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/arena/{arena_id}/rounds/{round_id}/vote")
async def vote(arena_id: int, round_id: int, request: Request) -> Response:
    """Store the vote, then show which model was which, the reference, and the results so far."""
    form = await request.form()
    s = svc(request)
    voted = s.vote_arena_round(arena_id, round_id, text(form, "vote") or "")
    return html(request, "_arena_revealed.html", round=voted, arena=s.get_arena(arena_id))
