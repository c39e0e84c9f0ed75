"""The Chat page's conversations, kept by the server (in memory, the newest `KEEP`): the two models (`Pick`), the
settings, and the turns — each the user's message and both answers once written. A reload shows the conversation
again; a server restart forgets it (the page then opens a new one). Each model sees its own earlier answers."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from loreforge.inference.defaults import DEFAULT_MAX_NEW_TOKENS
from loreforge.web.ui.model_pick import Pick

KEEP = 100  # conversations kept per server


@dataclass
class Turn:
    """One message and the two answers (None while being written; `errors` when one failed)."""

    user: str
    answers: list[str | None] = field(default_factory=lambda: [None, None])
    errors: list[str | None] = field(default_factory=lambda: [None, None])
    meta: list[dict[str, Any]] = field(default_factory=lambda: [{}, {}])


@dataclass
class ChatState:
    id: str
    project: str
    picks: list[Pick]
    system: str | None = None
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    top_p: float | None = None
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, picks: list[Pick], system: str | None, max_new_tokens: int | None, temperature: float,
                  top_p: float | None) -> None:
        with self.lock:
            if [(p.kind, p.model, p.run, p.config) for p in picks] != [(p.kind, p.model, p.run, p.config) for p in self.picks]:
                self.turns = []
            self.picks, self.system = picks, system
            self.max_new_tokens = max_new_tokens or DEFAULT_MAX_NEW_TOKENS
            self.temperature, self.top_p = temperature, top_p

    def add_turn(self, message: str) -> int:
        with self.lock:
            self.turns.append(Turn(message))
            return len(self.turns) - 1

    def messages(self, side: int, upto: int) -> list[dict[str, str]]:
        """What model `side` is asked at turn `upto`: the earlier turns it answered, then the message."""
        with self.lock:
            out: list[dict[str, str]] = []
            for turn in self.turns[:upto]:
                if turn.answers[side] is not None:
                    out += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": str(turn.answers[side])}]
            return out + [{"role": "user", "content": self.turns[upto].user}]

    def finish(self, turn: int, side: int, answer: Any) -> None:
        """Keep a finished answer (what `LiveAnswer` calls when it ends)."""
        with self.lock:
            if turn >= len(self.turns):
                return  # cleared meanwhile
            if answer.error:
                self.turns[turn].errors[side] = answer.error
                return
            reply = answer.result
            self.turns[turn].answers[side] = reply.text
            self.turns[turn].meta[side] = {"model": reply.model, "tokens": reply.completion_tokens,
                                           "seconds": round(reply.latency_ms / 1000, 1), "finish": reply.finish_reason}


class Chats:
    def __init__(self) -> None:
        self._chats: OrderedDict[str, ChatState] = OrderedDict()
        self._lock = threading.Lock()

    def new(self, project: str, left: Pick, right: Pick) -> ChatState:
        state = ChatState(secrets.token_urlsafe(9), project, [left, right])
        with self._lock:
            self._chats[state.id] = state
            while len(self._chats) > KEEP:
                self._chats.popitem(last=False)
        return state

    def get(self, chat_id: str | None) -> ChatState | None:
        with self._lock:
            return self._chats.get(chat_id or "")


_lock = threading.Lock()


def chats(request: Request) -> Chats:
    state = request.app.state
    with _lock:
        if getattr(state, "ui_chats", None) is None:
            state.ui_chats = Chats()
    found: Chats = state.ui_chats
    return found
