"""REST routes: one answer from any model (a base model, a tuned run or folder, a model config), whole or streamed
as server-sent events (`loreforge.web.streaming`), and an exchange kept as a dataset item of the project."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from loreforge.model_views import ChatReplyView
from loreforge.service import Service
from loreforge.views import DatasetItemView
from loreforge.web.deps import svc
from loreforge.web.streaming import stream_response

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    messages: list[dict[str, Any]] | str = Field(description="The conversation ({role, content} turns) or one question")
    model: str = Field("", description="A base model folder, .gguf file or hub id, or a model config of `project` "
                       "(with `adapter`: the base, default the run's)")
    adapter: str | None = Field(None, description="The tuned model: a train run id or folder")
    project: str | None = Field(None, description="The project whose model configs `model` may name")
    system: str | None = None
    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stream: bool = Field(False, description="Server-sent events: `piece` ({text}) as generated, then `end` (the reply) or `error`")


@router.post("/chat", response_model=ChatReplyView)
async def chat_reply(body: ChatRequest, s: Service = Depends(svc)) -> Any:
    """One answer; a model stays loaded for the next request (two at once by default: base and tuned side by side)."""
    def run(on_piece: Any) -> ChatReplyView:
        return s.chat_reply(body.messages, body.model, adapter=body.adapter, project=body.project, system=body.system,
                            max_new_tokens=body.max_new_tokens, temperature=body.temperature, top_p=body.top_p,
                            on_piece=on_piece)

    if body.stream:
        return stream_response(run)
    return await asyncio.to_thread(run, None)


class ExchangeRequest(BaseModel):
    question: str
    answer: str = Field(description="The answer as it should be learned (as the user edited it)")
    system: str | None = None
    model: str | None = Field(None, description="The model that wrote the first draft (provenance)")
    confirmed: bool = False
    note: str | None = None


@router.post("/projects/{project}/dataset", response_model=DatasetItemView, status_code=201, tags=["dataset"])
def save_chat_exchange(project: str, body: ExchangeRequest, s: Service = Depends(svc)) -> DatasetItemView:
    """Add one question and answer to the project's dataset by hand (source `manual`)."""
    return s.save_chat_exchange(project, body.question, body.answer, system=body.system, model=body.model,
                                confirmed=body.confirmed, note=body.note)
