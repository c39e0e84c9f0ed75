"""The OpenAI-compatible chat provider (OpenAI, DeepSeek, DashScope, Ark, SiliconFlow, vLLM, SGLang, ...).

POST {base}/chat/completions, non-streaming or streaming (SSE `data:` lines ending with `[DONE]`, usage
asked for with `stream_options.include_usage`). Chain of thought is taken from `reasoning_content` /
`reasoning` fields and from `<think>` tags in the text. A stream closed before `[DONE]` or a finish reason
is a retryable error. `list_models()` reads GET {base}/models.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from loreforge.providers._http import HttpProvider, read_json
from loreforge.providers.base import (
    CallOptions,
    Completion,
    Message,
    Usage,
    counted_usage,
    join_reasoning,
    split_think,
)


def _usage(data: Any, messages: list[Message], text: str, reasoning: str) -> Usage:
    if isinstance(data, dict) and isinstance(data.get("prompt_tokens"), int):
        return Usage(data["prompt_tokens"], int(data.get("completion_tokens") or 0), False)
    return counted_usage(messages, text, reasoning)


def _reasoning_of(part: dict[str, Any]) -> str:
    return part.get("reasoning_content") or part.get("reasoning") or ""


class OpenAICompatProvider(HttpProvider):
    """Any server that speaks the OpenAI chat completions API."""

    def request_body(self, messages: list[Message], options: CallOptions) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": options.stream}
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.max_tokens is not None:
            body["max_tokens"] = options.max_tokens
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.stream:
            body["stream_options"] = {"include_usage": True}
        body.update(options.extra_body)
        return body

    async def complete(self, messages: list[Message], options: CallOptions) -> Completion:
        body = self.request_body(messages, options)
        if body.get("stream"):
            async def read_stream(resp: aiohttp.ClientResponse) -> Completion:
                return await self._read_stream(resp, messages, options)
            return await self._request("POST", "/chat/completions", body, options.timeout_s, read_stream)
        data = await self._request("POST", "/chat/completions", body, options.timeout_s, read_json)
        return self._completion(data, messages)

    def _completion(self, data: Any, messages: list[Message]) -> Completion:
        if not isinstance(data, dict):
            raise self._fail(f"expected a JSON object, got {type(data).__name__}")
        if data.get("error"):
            raise self._fail(f"error in reply: {json.dumps(data['error'], ensure_ascii=False)[:500]}")
        choices = data.get("choices")
        if not choices or not isinstance(choices[0], dict):
            raise self._fail("the reply has no choices")
        message = choices[0].get("message") or {}
        text, think = split_think(message.get("content") or "")
        reasoning = join_reasoning(_reasoning_of(message), think)
        return Completion(
            text=text,
            reasoning=reasoning,
            usage=_usage(data.get("usage"), messages, text, reasoning),
            model=data.get("model") or self.model,
            raw=data,
            finish_reason=choices[0].get("finish_reason"),
        )

    async def _read_stream(self, resp: aiohttp.ClientResponse, messages: list[Message], options: CallOptions) -> Completion:
        text = ""
        reasoning: list[str] = []
        usage: Any = None
        model = self.model
        finish: str | None = None
        done = False
        async for line in resp.content:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                done = True
                break
            chunk = json.loads(payload)
            if chunk.get("error"):
                raise self._fail(f"error in stream: {json.dumps(chunk['error'], ensure_ascii=False)[:500]}")
            usage = chunk.get("usage") or usage
            model = chunk.get("model") or model
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text += delta["content"]
                    if options.on_text is not None:
                        options.on_text(text)
                piece = _reasoning_of(delta)
                if piece:
                    reasoning.append(piece)
                finish = choice.get("finish_reason") or finish
        if not done and finish is None:
            raise self._fail("the stream ended before [DONE] and before a finish reason (cut stream)")
        body, think = split_think(text)
        thought = join_reasoning("".join(reasoning), think)
        return Completion(body, thought, _usage(usage, messages, body, thought), model, None, finish)

    async def list_models(self) -> list[str]:
        data = await self._request("GET", "/models", None, self._http.list_models_timeout_s, read_json)
        items = data.get("data") if isinstance(data, dict) else data
        return sorted(str(m.get("id")) for m in items or () if isinstance(m, dict) and m.get("id"))
