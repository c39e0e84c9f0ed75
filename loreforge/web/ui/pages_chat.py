"""Page: Chat — two models side by side (any of a base model, a train run's tuned weights on its base, a model
config), both loaded at once on the server and answering every message, streamed; a system prompt, sampling
settings (temperature, top-p, length), clear; and under each answer "add this exchange to the dataset": the question
with the answer as you edit it becomes a dataset item of the project. The conversation lives on the server
(`chat_state`): a reload shows it again, an answer being written goes on and is followed again. JSON twin: GET
/api/projects/{p}/models; the API's own route is POST /api/chat."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import escape

from loreforge.errors import NotFound, UserError
from loreforge.web.deps import svc
from loreforge.web.ui import model_pick
from loreforge.web.ui.chat_state import ChatState, chats
from loreforge.web.ui.common import flag, go, number, page, text, tr
from loreforge.web.ui.i18n import translator
from loreforge.web.ui.live_answers import LiveAnswer, live, sse
from loreforge.web.ui.render import ENV, html, is_htmx, language, project_url

router = APIRouter()


def _state(request: Request, project: str, chat_id: str) -> ChatState:
    state = chats(request).get(chat_id)
    if state is None or state.project != project:
        raise NotFound(f"No chat {chat_id!r} on this server (it restarted, or the chat was cleared)",
                       hint=f"Open a new one: {project_url(project, 'chat')}")
    return state


@router.get("/p/{project}/chat")
def chat_page(project: str, request: Request, c: str | None = None, run: int | None = None) -> Response:
    """The chat `c`, or a new one (base on the left, tuned on the right: the run asked for, else the newest)."""
    s = svc(request)
    state = chats(request).get(c) if c else None
    if state is None or state.project != project:
        if is_htmx(request):  # the header's tabs refreshing themselves: a page to take them from, no new chat
            state = ChatState("-", project, list(model_pick.defaults(s.list_runs(project), run)))
        else:
            state = chats(request).new(project, *model_pick.defaults(s.list_runs(project), run))
            return go(request, project_url(project, "chat") + f"?c={state.id}")
    runs = [r for r in s.list_runs(project) if r.status == "completed"]
    return page(request, "chat.html", project, nav="chat", twin="/api/projects/{id}/models", chat=state, runs=runs,
                configs=s.list_models(project), sides=("left", "right"))


@router.post("/p/{project}/chat/{chat_id}/setup")
async def setup(project: str, chat_id: str, request: Request) -> Response:
    """Choose the two models and the settings; new models start a new conversation."""
    form = await request.form()
    state = _state(request, project, chat_id)
    picks = [model_pick.read(form, side) for side in ("left", "right")]
    temperature = number(form, "temperature", float)
    state.configure(picks, system=text(form, "system"), max_new_tokens=number(form, "max_new_tokens"),
                    temperature=0.0 if temperature is None else temperature, top_p=number(form, "top_p", float))
    return go(request, project_url(project, "chat") + f"?c={state.id}")


def _ask(request: Request, project: str, state: ChatState, turn: int, side: int) -> LiveAnswer:
    s = svc(request)
    model, adapter = state.picks[side].target()
    messages = state.messages(side, turn)

    def run(on_piece: Any) -> Any:
        return s.chat_reply(messages, model, adapter=adapter, project=project, system=state.system,
                            max_new_tokens=state.max_new_tokens, temperature=state.temperature, top_p=state.top_p,
                            on_piece=on_piece)

    return live(request).start(("chat", state.id, turn, side), run, on_done=lambda answer: state.finish(turn, side, answer))


@router.post("/p/{project}/chat/{chat_id}/send")
async def send(project: str, chat_id: str, request: Request) -> Response:
    """The message goes to both models; each answer starts on the server and streams into the page."""
    form = await request.form()
    state = _state(request, project, chat_id)
    message = text(form, "message")
    if not message:
        raise UserError("Type a message to send")
    turn = state.add_turn(message)
    for side in (0, 1):
        _ask(request, project, state, turn, side)
    return html(request, "_chat_turn.html", project=svc(request).get_project(project), chat=state, turn=state.turns[turn],
                index=turn, sides=("left", "right"))


@router.get("/chat/{chat_id}/{turn}/{side}/stream")
async def stream(chat_id: str, turn: int, side: int, request: Request) -> StreamingResponse:
    state = chats(request).get(chat_id)
    if state is None or not 0 <= turn < len(state.turns) or side not in (0, 1):
        raise NotFound(f"No answer {turn}/{side} in chat {chat_id!r}", hint="Reload the chat")
    answer = _ask(request, state.project, state, turn, side)
    t, lang = translator(language(request)), language(request)
    end = ENV.get_template("_chat_answer_end.html")

    def encode(event: str, payload: Any) -> str:
        if event == "piece":
            return sse("piece", str(escape(payload)))
        return sse("end", end.render(chat=state, turn=state.turns[turn], index=turn, side=side, answer=payload, t=t, lang=lang,
                                     purl=project_url))

    return StreamingResponse(answer.events(encode), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/p/{project}/chat/{chat_id}/clear")
def clear(project: str, chat_id: str, request: Request) -> Response:
    """A new conversation with the same models and settings."""
    state = _state(request, project, chat_id)
    fresh = chats(request).new(project, *state.picks)
    fresh.system, fresh.max_new_tokens, fresh.temperature, fresh.top_p = state.system, state.max_new_tokens, state.temperature, state.top_p
    return go(request, project_url(project, "chat") + f"?c={fresh.id}")


@router.post("/p/{project}/chat/keep")
async def keep(project: str, request: Request) -> Response:
    """The question with the (edited) answer as a dataset item of the project."""
    form = await request.form()
    item = svc(request).save_chat_exchange(project, text(form, "question") or "", text(form, "answer") or "",
                                           system=text(form, "system"), model=text(form, "model"),
                                           confirmed=flag(form, "confirmed"), note=tr(request)("chat.kept_note"))
    return html(request, "_message.html", kind="ok", message=tr(request)("chat.kept", id=item.id),
                link=project_url(project, "dataset", item.id), link_text=tr(request)("chat.review_it"))
