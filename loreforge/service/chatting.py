"""Chat actions: one answer from any model — a base model, a tuned run or folder on its base, or a model config of
a project (an endpoint) — streamed piece by piece (`chat_reply`; the Chat page asks two at once, side by side), and
an exchange kept as a dataset item of the project (`save_chat_exchange`: the question with the answer as the user
edited it). Models load once and stay loaded (`model_pool`). Read by the Chat page, `loreforge ask`,
`loreforge dataset add`, POST /api/chat and POST /api/projects/{p}/dataset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from loreforge.errors import UserError
from loreforge.inference.defaults import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE
from loreforge.model_views import ChatReplyView
from loreforge.providers.base import Message
from loreforge.service import lookups, model_pool
from loreforge.service.base import ServiceBase
from loreforge.service.dataset import item_view
from loreforge.store.models import DatasetItem
from loreforge.views import DatasetItemView

ROLES = ("system", "user", "assistant")
CHAT_SOURCE = "manual"  # a dataset item written by a person (provenance `source`)


def conversation(messages: Sequence[Message] | str, system: str | None) -> list[Message]:
    """The messages to send: `system` first when given (replacing one in `messages`), roles checked, ending with
    the user's turn."""
    turns: list[Message] = [{"role": "user", "content": messages}] if isinstance(messages, str) else list(messages)
    for n, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ROLES or not isinstance(turn.get("content"), str):
            raise UserError(f"Message {n + 1} is not a chat message", expected="{'role': user|assistant|system, 'content': text}",
                            got=repr(turn)[:200])
    if system is not None and system.strip():
        turns = [{"role": "system", "content": system.strip()}] + [t for t in turns if t["role"] != "system"]
    if not turns or turns[-1]["role"] != "user" or not str(turns[-1]["content"]).strip():
        raise UserError("The conversation must end with the user's message", hint="Type a message to send")
    return turns


class ChatActions(ServiceBase):
    def chat_reply(
        self, messages: list[dict[str, Any]] | str, model: str, adapter: str | None = None, project: str | int | None = None,
        system: str | None = None, max_new_tokens: int | None = None, temperature: float | None = None,
        top_p: float | None = None, on_piece: Callable[[str], None] | None = None,
    ) -> ChatReplyView:
        """One answer to `messages` (a conversation, or one question) from `model` — a base model folder, .gguf
        file or hub id; with `adapter` (a train run id or folder) the tuned model on that base (empty `model`: the
        run's base); or a model config of `project`. Greedy unless `temperature` > 0 (then `top_p` too). A local
        model's answer streams to `on_piece` as it is generated; it stays loaded for the next call."""
        turns = conversation(messages, system)  # type: ignore[arg-type]
        spec = model_pool.resolve(self.app, project, model, adapter)
        tokens = DEFAULT_MAX_NEW_TOKENS if max_new_tokens is None else max_new_tokens
        if tokens < 1:
            raise UserError("max_new_tokens must be at least 1", got=str(tokens))
        heat = DEFAULT_TEMPERATURE if temperature is None else temperature
        if not 0 <= heat <= 2:
            raise UserError("temperature must be between 0 and 2", got=str(heat))
        if top_p is not None and not 0 < top_p <= 1:
            raise UserError("top_p must be above 0 and at most 1", got=str(top_p))
        return model_pool.answer(self.app, project, spec, turns, max_new_tokens=tokens, temperature=heat, top_p=top_p,
                                 on_piece=on_piece)

    def save_chat_exchange(
        self, project: str | int, question: str, answer: str, system: str | None = None, model: str | None = None,
        confirmed: bool = False, note: str | None = None,
    ) -> DatasetItemView:
        """Keep a question and its answer (as the user edited it) as a dataset item of the project, made by hand
        (`source` manual, `model` naming the model that wrote the first draft); `confirmed` to train on it at once."""
        question, answer = (question or "").strip(), (answer or "").strip()
        if not question or not answer:
            raise UserError("A dataset item needs a question and an answer", got=f"question {len(question)} characters, "
                            f"answer {len(answer)} characters")
        with self.db.session() as session:
            row = lookups.project(session, project)
            item = DatasetItem(project_id=row.id, question=question, answer=answer, system=(system or "").strip(),
                               source=CHAT_SOURCE, model=(model or None) and model[:200], confirmed=confirmed,
                               note=(note or "").strip(), grounding={}, labels=[], cot="", tag="")
            session.add(item)
            session.flush()
            return item_view(item)
