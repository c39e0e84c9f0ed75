"""A fake LLM server for tests and benchmarks: OpenAI-compatible and Ollama-native, on 127.0.0.1.

In a test (a background thread with its own event loop, a free port)::

    with FakeLLM(default_text='{"a": 1}') as fake:
        fake.script(Reply(status=429, retry_after="1"), Reply(text="hi"))   # next replies, in order
        fake.responder = lambda req: Reply(text=req.prompt.upper())          # then this, if set
        ... point a provider at fake.base_url (…/v1) or fake.root_url (Ollama) ...
        fake.requests[-1].body, fake.peak, fake.disconnected

As a process (for benchmarks and kill/resume tests)::

    python tests/fake_llm.py --port 0 --latency 0.2 --jitter 0.05 --p500 0.1 --p429 0.1 --malformed 0.05 \
        --truncated 0.05 --length 0.05 --seed 1 --text '{"answer": "x"}' [--script replies.json] [--responder module:function]

prints `READY <port>` once listening; GET /_stats gives counters, GET /_requests the chat requests'
messages, POST /_reset clears them.

Routes: POST /v1/chat/completions (JSON or SSE stream with usage), GET /v1/models, POST /api/chat (JSON or
NDJSON stream), GET /api/tags. Vision requests (OpenAI content parts: text and `image_url`) are answered like any
other: `Recorded.prompt` is their text, `Recorded.images` their image URLs, and usage counts each image. Faults, scripted per reply or drawn with a seeded probability: 429 with
Retry-After, 500, latency with jitter, hangs (never answers; the handler is cancelled when the client
drops, counted in `disconnected`), malformed JSON content, cut streams (connection closed mid-stream),
truncated replies (the text cut short with `truncate_at`, the server still saying `finish_reason` "stop"),
cut bodies (`cut_body`: a JSON body whose connection closes half-way), token limits (`tokens`: the reply
needs that many tokens; a request's smaller `max_tokens` / Ollama `num_predict` cuts it in proportion and says
"length"), reasoning in `reasoning_content` / `reasoning` / Ollama `thinking`, and `<think>` tags (put them in
`text`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import importlib
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

MALFORMED_TEXT = "Sorry, I cannot produce that as JSON right now."
IMAGE_TOKENS = 85  # what an image part counts for in the fake usage (OpenAI's low-detail figure)


@dataclass(frozen=True)
class Reply:
    """One canned reply. `error` may contain "{auth}", replaced by the request's Authorization header."""

    text: str = "ok"
    reasoning: str | None = None  # sent in `reasoning_field` (OpenAI) or `thinking` (Ollama)
    reasoning_field: str = "reasoning_content"
    status: int = 200
    error: str = "injected failure"
    retry_after: str | None = None
    delay_s: float = 0.0
    hang: bool = False
    cut_after: int | None = None  # streams: close the connection after this many events
    cut_eof: bool = False  # with cut_after: end the body cleanly instead (no [DONE], no finish reason)
    usage: bool = True
    finish_reason: str = "stop"
    raw_body: str | None = None  # sent verbatim with `status` instead of a JSON body ("{auth}" replaced)
    truncate_at: int | None = None  # send only the first this-many characters of `text` (finish_reason as set)
    cut_body: bool = False  # non-streaming: close the connection after half the JSON body
    tokens: int | None = None  # tokens the whole text needs; a smaller max_tokens cuts it, finish_reason "length"


@dataclass
class Faults:
    """Random faults drawn per unscripted request from a seeded generator."""

    p500: float = 0.0
    p429: float = 0.0
    p_malformed: float = 0.0
    p_hang: float = 0.0
    latency_s: float = 0.0
    jitter_s: float = 0.0
    retry_after: str = "1"
    seed: int = 0
    p_truncated: float = 0.0  # the text cut in half, finish_reason still "stop"
    p_length: float = 0.0  # the text cut in half with finish_reason "length"

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def apply(self, reply: Reply) -> Reply:
        r = self._rng.random()
        delay = max(0.0, self.latency_s + self._rng.uniform(-self.jitter_s, self.jitter_s))
        reply = replace(reply, delay_s=reply.delay_s + delay)
        edges = [(self.p500, {"status": 500, "error": "injected server error"}),
                 (self.p429, {"status": 429, "error": "rate limited", "retry_after": self.retry_after}),
                 (self.p_malformed, {"text": MALFORMED_TEXT}),
                 (self.p_hang, {"hang": True}),
                 (self.p_truncated, {"truncate_at": len(reply.text) // 2}),
                 (self.p_length, {"truncate_at": len(reply.text) // 2, "finish_reason": "length"})]
        for p, change in edges:
            if r < p:
                return replace(reply, **change)
            r -= p
        return reply


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def prompt(self) -> str:
        """The last user message's text (of a vision message: its text parts)."""
        return next((content_text(m.get("content")) for m in reversed(self.messages) if m.get("role") == "user"), "")

    @property
    def images(self) -> list[str]:
        """The image URLs (`data:image/png;base64,...`) of the last user message's image content parts."""
        content = next((m.get("content") for m in reversed(self.messages) if m.get("role") == "user"), None)
        return [p["image_url"]["url"] for p in content or [] if isinstance(p, dict) and p.get("type") == "image_url"] \
            if isinstance(content, list) else []


def content_text(content: Any) -> str:
    """A message's text: the string, or the text parts of an OpenAI content-part list (vision messages)."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content or "")


Responder = Callable[[Recorded], "Reply | str"]


def echo(req: Recorded) -> Reply:
    """A responder that answers with the last user message."""
    return Reply(text=req.prompt)


def _max_tokens(body: Any, flavour: str) -> int | None:
    if not isinstance(body, dict):
        return None
    value = (body.get("options") or {}).get("num_predict") if flavour == "ollama" else body.get("max_tokens")
    return value if isinstance(value, int) else None


def cut_to_limit(reply: Reply, body: Any, flavour: str) -> Reply:
    """The reply as the server sends it: `truncate_at` applied, and — when the reply needs more `tokens` than
    the request's max_tokens allows — its text cut in proportion, with finish_reason "length"."""
    if reply.truncate_at is not None:
        reply = replace(reply, text=reply.text[: reply.truncate_at], truncate_at=None)
    limit = _max_tokens(body, flavour)
    if reply.tokens is not None and limit is not None and limit < reply.tokens:
        keep = len(reply.text) * limit // reply.tokens
        reply = replace(reply, text=reply.text[:keep], finish_reason="length")
    return reply


class FakeLLM:
    """The server. Use as a context manager (thread mode) or `await serve(...)` in its own process."""

    def __init__(self, *, default_text: str = "ok", responder: Responder | None = None,
                 faults: Faults | None = None, models: tuple[str, ...] = ("fake-model", "fake-small"),
                 api_key: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.default_text = default_text
        self.responder = responder
        self.faults = faults
        self.models = models
        self.api_key = api_key
        self.host, self.port = host, port
        self.replies: collections.deque[Reply] = collections.deque()
        self.requests: list[Recorded] = []
        self.in_flight = self.peak = self.disconnected = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # -- scripting and inspection -------------------------------------------------------------------
    def script(self, *replies: Reply | str) -> None:
        self.replies.extend(r if isinstance(r, Reply) else Reply(text=r) for r in replies)

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()
        self.in_flight = self.peak = self.disconnected = 0

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(("/chat/completions", "/api/chat"))]

    def stats(self) -> dict[str, int]:
        return {"requests": len(self.requests), "in_flight": self.in_flight, "peak": self.peak,
                "disconnected": self.disconnected}

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    # -- serving ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", self._openai_chat)
        app.router.add_get("/v1/models", self._openai_models)
        app.router.add_post("/api/chat", self._ollama_chat)
        app.router.add_get("/api/tags", self._ollama_tags)
        app.router.add_get("/_stats", self._stats_route)
        app.router.add_get("/_requests", self._requests_route)
        app.router.add_post("/_reset", self._reset_route)
        return app

    async def start_async(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> FakeLLM:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start_async())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-llm", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    # -- handlers -----------------------------------------------------------------------------------
    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(body=json.dumps(data, ensure_ascii=False).encode(), status=status,
                            headers=headers, content_type="application/json")

    async def _stats_route(self, _request: web.Request) -> web.Response:
        return self._json(self.stats())

    async def _requests_route(self, _request: web.Request) -> web.Response:
        return self._json([{"path": r.path, "messages": r.messages} for r in self.chat_requests()])

    async def _reset_route(self, _request: web.Request) -> web.Response:
        self.reset()
        return self._json({"ok": True})

    def _next_reply(self, rec: Recorded) -> Reply:
        if self.replies:
            return self.replies.popleft()
        reply: Reply | str = self.responder(rec) if self.responder else Reply(text=self.default_text)
        reply = reply if isinstance(reply, Reply) else Reply(text=reply)
        return self.faults.apply(reply) if self.faults else reply

    async def _chat(self, request: web.Request, flavour: str) -> web.StreamResponse:
        body = json.loads(await request.read() or b"null")
        rec = Recorded(request.method, request.path, dict(request.headers), body)
        self.requests.append(rec)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            auth = request.headers.get("Authorization", "")
            if self.api_key is not None and auth != f"Bearer {self.api_key}":
                reply = Reply(status=401, error="Incorrect API key provided: {auth}")
            else:
                reply = cut_to_limit(self._next_reply(rec), body, flavour)
            if reply.hang:
                await asyncio.Event().wait()
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.raw_body is not None:
                return web.Response(text=reply.raw_body.replace("{auth}", auth), status=reply.status)
            if reply.status >= 400:
                return self._error(reply, flavour, auth)
            model = body.get("model", "fake-model")
            if flavour == "ollama" and body.get("stream", True):
                return await self._ollama_stream(request, reply, model)
            if flavour == "ollama":
                return await self._whole(request, reply, self._ollama_body(reply, model, rec, True))
            if body.get("stream"):
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return await self._openai_stream(request, reply, model, rec, usage)
            return await self._whole(request, reply, self._openai_body(reply, model, rec))
        except asyncio.CancelledError:
            self.disconnected += 1
            raise
        finally:
            self.in_flight -= 1

    async def _whole(self, request: web.Request, reply: Reply, data: dict[str, Any]) -> web.StreamResponse:
        """A whole JSON reply — or, with `cut_body`, its first half and then a closed connection."""
        if not reply.cut_body:
            return self._json(data)
        payload = json.dumps(data, ensure_ascii=False).encode()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(payload)
        await resp.prepare(request)
        await resp.write(payload[: len(payload) // 2])
        assert request.transport is not None
        request.transport.close()
        return resp

    def _error(self, reply: Reply, flavour: str, auth: str) -> web.Response:
        message = reply.error.replace("{auth}", auth)
        headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else None
        data: Any = {"error": message} if flavour == "ollama" else {
            "error": {"message": message, "type": "fake_error", "code": reply.status}}
        return self._json(data, reply.status, headers)

    @staticmethod
    def _usage(rec: Recorded, reply: Reply) -> dict[str, int]:
        images = sum(1 for m in rec.messages if isinstance(m.get("content"), list)
                     for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url")
        prompt = sum(len(content_text(m.get("content"))) for m in rec.messages) // 2 + 1 + IMAGE_TOKENS * images
        completion = len(reply.text) // 2 + len(reply.reasoning or "") // 2 + 1
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _openai_body(self, reply: Reply, model: str, rec: Recorded) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning is not None:
            message[reply.reasoning_field] = reply.reasoning
        data: dict[str, Any] = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
                                "created": int(time.time()), "model": model,
                                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}]}
        if reply.usage:
            data["usage"] = self._usage(rec, reply)
        return data

    @staticmethod
    def _pieces(text: str | None) -> list[str]:
        if not text:
            return []
        step = max(1, len(text) // 3)
        return [text[i:i + step] for i in range(0, len(text), step)]

    async def _stream(self, request: web.Request, events: list[bytes], reply: Reply,
                      content_type: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        await resp.prepare(request)
        for i, event in enumerate(events):
            if reply.cut_after is not None and i >= reply.cut_after:
                if reply.cut_eof:
                    break
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(event)
        await resp.write_eof()
        return resp

    async def _openai_stream(self, request: web.Request, reply: Reply, model: str, rec: Recorded,
                             include_usage: bool) -> web.StreamResponse:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({reply.reasoning_field: p}) for p in self._pieces(reply.reasoning)]
        chunks += [chunk({"content": p}) for p in self._pieces(reply.text)]
        chunks.append(chunk({}, reply.finish_reason))
        if include_usage and reply.usage:
            chunks.append({"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": model, "choices": [],
                           "usage": self._usage(rec, reply)})
        events = [b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n" for c in chunks]
        events.append(b"data: [DONE]\n\n")
        return await self._stream(request, events, reply, "text/event-stream")

    def _ollama_body(self, reply: Reply, model: str, rec: Recorded, final: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning is not None:
            message["thinking"] = reply.reasoning
        data: dict[str, Any] = {"model": model, "created_at": "2026-01-01T00:00:00Z", "message": message,
                                "done": final}
        if final:
            data["done_reason"] = reply.finish_reason
            if reply.usage:
                usage = self._usage(rec, reply)
                data.update(prompt_eval_count=usage["prompt_tokens"], eval_count=usage["completion_tokens"])
        return data

    async def _ollama_stream(self, request: web.Request, reply: Reply, model: str) -> web.StreamResponse:
        rec = self.requests[-1]
        parts = [replace(reply, text="", reasoning=p) for p in self._pieces(reply.reasoning)]
        parts += [replace(reply, text=p, reasoning=None) for p in self._pieces(reply.text)]
        lines = [self._ollama_body(p, model, rec, False) for p in parts]
        lines.append(self._ollama_body(replace(reply, text="", reasoning=None), model, rec, True))
        events = [json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines]
        return await self._stream(request, events, reply, "application/x-ndjson")

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openai")

    async def _ollama_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "ollama")

    async def _openai_models(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), None))
        return self._json({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def _ollama_tags(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), None))
        return self._json({"models": [{"name": m, "model": m, "size": 1} for m in self.models]})


def _load_responder(spec: str) -> Responder:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


async def _serve(args: argparse.Namespace) -> None:
    faults = Faults(args.p500, args.p429, args.malformed, args.hang, args.latency, args.jitter,
                    args.retry_after, args.seed, p_truncated=args.truncated, p_length=args.length)
    fake = FakeLLM(default_text=args.text, faults=faults, port=args.port, api_key=args.api_key,
                   responder=_load_responder(args.responder) if args.responder else None)
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            fake.script(*(Reply(**r) if isinstance(r, dict) else Reply(text=r) for r in json.load(fh)))
    await fake.start_async()
    print(f"READY {fake.port}", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fake OpenAI-compatible / Ollama server for tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--text", default="ok", help="default reply text")
    ap.add_argument("--script", help="JSON file: a list of Reply fields (objects) or texts, served first")
    ap.add_argument("--responder", help="module:function taking a Recorded request, returning Reply or str")
    ap.add_argument("--api-key", help="require this bearer key (401 echoing the header otherwise)")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--p500", type=float, default=0.0)
    ap.add_argument("--p429", type=float, default=0.0)
    ap.add_argument("--malformed", type=float, default=0.0)
    ap.add_argument("--hang", type=float, default=0.0)
    ap.add_argument("--truncated", type=float, default=0.0, help="share of replies cut in half (finish_reason stop)")
    ap.add_argument("--length", type=float, default=0.0, help="share of replies cut in half (finish_reason length)")
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--seed", type=int, default=0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(ap.parse_args(argv)))


if __name__ == "__main__":
    sys.path.insert(0, ".")
    sys.modules.setdefault("fake_llm", sys.modules["__main__"])  # responders import Reply from `fake_llm`
    main()
