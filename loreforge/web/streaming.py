"""Answers streamed as server-sent events, for the chat and blind-test routes and pages: a blocking service action
that takes `on_piece` (`chat_reply`, `answer_arena_round`) runs in a worker thread — on the server, whatever the
client does — and each piece it hands over becomes an event as soon as it comes:

    event: piece      data: {"text": "..."}                 (the JSON routes; pages render it as escaped HTML)
    event: end        data: {...the action's view...}
    event: error      data: {"message": "the CLI's text"}

`encode(event, payload)` turns each event into the text sent (default: the JSON events above). A client that goes
away stops the stream, not the generation: an arena answer is still stored when it ends.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from loreforge.errors import LoreForgeError

Encode = Callable[[str, Any], str]
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def json_event(event: str, payload: Any) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def pieces(run: Callable[[Callable[[str], None]], Any], encode: Encode = json_event) -> AsyncIterator[str]:
    """Run `run(on_piece)` in a thread; yield its pieces as `piece` events, then `end` (its result) or `error`."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        try:
            put("end", run(lambda text: put("piece", {"text": text})))
        except LoreForgeError as exc:
            put("error", {"message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - a library failure reaches the client as its message
            put("error", {"message": f"{type(exc).__name__}: {exc}"})

    threading.Thread(target=work, name="loreforge-answer", daemon=True).start()
    while True:
        kind, value = await queue.get()
        yield encode(kind, value)
        if kind in ("end", "error"):
            return


def stream_response(run: Callable[[Callable[[str], None]], Any], encode: Encode = json_event) -> StreamingResponse:
    return StreamingResponse(pieces(run, encode), media_type="text/event-stream", headers=HEADERS)
