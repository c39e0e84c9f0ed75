"""Answers being written on the server, for the Chat and Blind test pages: each answer a page asks for is generated
in a thread of the server (a service action taking `on_piece`), its pieces kept, so any page that connects — the
first one, a reload, a second tab — gets the answer from its start and then each piece as it comes, over
server-sent events; nothing is generated twice, and closing the page does not stop it. Finished answers are
forgotten after a while (`KEEP`); what must outlive them is stored by the action itself (an arena answer) or by
the chat's state.

Events, rendered by the page's `encode(event, payload)`: `piece` (payload: the text) and `end` (payload: the
`LiveAnswer`, finished: its result or its error).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

from fastapi import Request

from loreforge.errors import LoreForgeError

KEEP = 256  # answers kept (the oldest finished ones go first)
WAIT_S = 10.0  # a connection wakes at least this often


class LiveAnswer:
    """One answer: `run(on_piece)` in a thread; `pieces` so far; once `done`, its `result` or `error`."""

    def __init__(self, run: Callable[[Callable[[str], None]], Any], on_done: Callable[[LiveAnswer], None] | None = None) -> None:
        self.pieces: list[str] = []
        self.result: Any = None
        self.error: str | None = None
        self.done = False
        self._run, self._on_done = run, on_done
        self._cond = threading.Condition()
        threading.Thread(target=self._work, name="loreforge-live-answer", daemon=True).start()

    def _piece(self, text: str) -> None:
        with self._cond:
            self.pieces.append(text)
            self._cond.notify_all()

    def _work(self) -> None:
        try:
            self.result = self._run(self._piece)
        except LoreForgeError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a library failure is shown where the answer was, with its message
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            with self._cond:
                self.done = True
                self._cond.notify_all()
            if self._on_done is not None:
                self._on_done(self)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def _wait(self, seen: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: len(self.pieces) > seen or self.done, timeout=WAIT_S)

    async def events(self, encode: Callable[[str, Any], str]) -> AsyncIterator[str]:
        """The answer from its start: every piece, then `end`."""
        seen = 0
        while True:
            await asyncio.to_thread(self._wait, seen)
            with self._cond:
                new, finished = self.pieces[seen:], self.done
            for piece in new:
                yield encode("piece", piece)
            seen += len(new)
            if finished and seen == len(self.pieces):
                yield encode("end", self)
                return


class LiveAnswers:
    """The answers of one server, by key."""

    def __init__(self) -> None:
        self._answers: OrderedDict[Hashable, LiveAnswer] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, key: Hashable, run: Callable[[Callable[[str], None]], Any],
              on_done: Callable[[LiveAnswer], None] | None = None) -> LiveAnswer:
        """The answer under `key`: the one being written or written already, else a new one (also when the one
        there failed: asked again, it is tried again)."""
        with self._lock:
            found = self._answers.get(key)
            if found is not None and not (found.done and found.error):
                return found
            answer = self._answers[key] = LiveAnswer(run, on_done)
            finished = [k for k, a in self._answers.items() if a.done]
            for old in finished[: max(0, len(self._answers) - KEEP)]:
                del self._answers[old]
            return answer

    def get(self, key: Hashable) -> LiveAnswer | None:
        with self._lock:
            return self._answers.get(key)


_state_lock = threading.Lock()


def live(request: Request) -> LiveAnswers:
    """This server's answers being written."""
    state = request.app.state
    with _state_lock:
        if getattr(state, "live_answers", None) is None:
            state.live_answers = LiveAnswers()
    answers: LiveAnswers = state.live_answers
    return answers


def sse(event: str, body: str) -> str:
    """A server-sent event whose data is `body` (HTML), line by line."""
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in body.split("\n")) + "\n"
