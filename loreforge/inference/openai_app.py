"""The OpenAI-compatible API of `loreforge serve-model`: `GET /v1/models`, `GET /v1/models/{name}` and
`POST /v1/chat/completions` (whole replies and SSE streams, `usage`, `finish_reason`, temperature, top_p,
max_tokens / max_completion_tokens, stop strings) over a `ModelPool`. Any OpenAI client works against it,
LoreForge's own `custom` provider included.

Errors are OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`: an unknown model is a 404 with code
`model_not_found`, a bad body a 400. The guard in front (Host names, the access token off loopback, same-origin,
body limit) is `loreforge serve`'s own (`loreforge.web.security`), whose refusals keep LoreForge's error shape.

A request that sets no temperature is answered greedily (the server's `--temperature`, default 0): OpenAI's own
default is 1, but answers meant to be compared should not change from one call to the next.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from loreforge import __version__
from loreforge.errors import LoreForgeError, NotFound
from loreforge.inference.engine import Generated
from loreforge.inference.served import ModelPool, Sampling
from loreforge.settings.server import ServerSettings

MAX_STOP = 4  # as OpenAI


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def plain(self) -> dict[str, str]:
        text = self.content if isinstance(self.content, str) else "".join(p.text for p in self.content or ())
        return {"role": "system" if self.role == "developer" else self.role, "content": text}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat completions request this server honours; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="One choice per request.")

    def stops(self) -> tuple[str, ...]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or ())
        if len(stops) > MAX_STOP:
            raise _Invalid(f"stop takes at most {MAX_STOP} strings", "stop")
        return tuple(s for s in stops if s)


class _Invalid(Exception):
    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def openai_error(status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": kind, "param": param, "code": code}})


def create_openai_app(pool: ModelPool, settings: ServerSettings | None, *, max_new_tokens: int,
                      temperature: float) -> FastAPI:
    """The app; `settings` None: no guard (in-process tests); otherwise `loreforge serve`'s guard. The app owns
    `pool`: it is closed when the server shuts down."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(title="LoreForge model server", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    created = int(time.time())
    _errors(app)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [_card(s.name, s.parent, s.loaded.label, created) for s in pool.models.values()]}

    @app.get("/v1/models/{name:path}")
    async def get_model(name: str) -> dict[str, Any]:
        served = pool.get(name)
        return _card(served.name, served.parent, served.loaded.label, created)

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatRequest) -> JSONResponse | StreamingResponse:
        served = pool.get(body.model)
        sampling = Sampling(body.max_completion_tokens or body.max_tokens or max_new_tokens,
                            temperature if body.temperature is None else body.temperature, body.top_p, body.stops())
        conversation = [m.plain() for m in body.messages]
        reply_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            usage = body.stream_options is not None and body.stream_options.include_usage
            chunks = _sse(pool.astream(served.name, conversation, sampling), reply_id, served.name, usage)
            return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        answer = await pool.complete(served.name, conversation, sampling)
        return JSONResponse(_reply(answer, reply_id, served.name))

    if settings is not None:
        from loreforge.web import security

        security.install(app, settings)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return openai_error(404, str(exc), param="model", code="model_not_found")

    @app.exception_handler(LoreForgeError)
    async def _lf_error(_request: Request, exc: LoreForgeError) -> JSONResponse:
        kind = "invalid_request_error" if exc.http_status < 500 else "server_error"
        return openai_error(exc.http_status, str(exc), kind=kind)

    @app.exception_handler(_Invalid)
    async def _invalid(_request: Request, exc: _Invalid) -> JSONResponse:
        return openai_error(400, str(exc), param=exc.param)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return openai_error(400, f"Invalid request: {param or 'body'}: {first.get('msg', 'does not fit')}", param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return openai_error(exc.status_code, str(exc.detail), code=None)


def _card(name: str, parent: str | None, label: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "loreforge", "root": label,
            "parent": parent}


def _usage(answer: Generated) -> dict[str, int]:
    return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens}


def _reply(answer: Generated, reply_id: str, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    return {"id": reply_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason, "logprobs": None}],
            "usage": _usage(answer)}


def _chunk(reply_id: str, model: str, choices: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"id": reply_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": choices, **extra}
    return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"


async def _sse(pieces: AsyncIterator[str | Generated], reply_id: str, model: str, usage: bool) -> AsyncIterator[bytes]:
    """OpenAI's stream: the role, the content pieces, the finish reason, the usage when asked, `[DONE]`. A failure
    after the first byte can only be told in the stream: an `error` chunk (our provider reads it as a failure)."""
    yield _chunk(reply_id, model, [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    try:
        async for piece in pieces:
            if isinstance(piece, Generated):
                yield _chunk(reply_id, model, [{"index": 0, "delta": {}, "finish_reason": piece.finish_reason}])
                if usage:
                    yield _chunk(reply_id, model, [], usage=_usage(piece))
            elif piece:
                yield _chunk(reply_id, model, [{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
    except Exception as exc:  # noqa: BLE001 - the status line is sent already
        error = {"message": str(exc), "type": "server_error", "param": None, "code": None}
        yield b"data: " + json.dumps({"error": error}, ensure_ascii=False).encode("utf-8") + b"\n\n"
        return
    yield b"data: [DONE]\n\n"
