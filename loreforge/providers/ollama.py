"""The Ollama provider on its native API: POST /api/chat (JSON or NDJSON stream), GET /api/tags.

Usage comes from `prompt_eval_count` / `eval_count`; a `thinking` field (Ollama's reasoning models) or
`<think>` tags become the reasoning. Sampling options go under `options` (`num_predict` for max_tokens);
`extra_body` is merged into the top level (e.g. {"think": true, "keep_alive": "10m"}).
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


class OllamaProvider(HttpProvider):
    """A model served by Ollama (default http://127.0.0.1:11434)."""

    def request_body(self, messages: list[Message], options: CallOptions) -> dict[str, Any]:
        sampling: dict[str, Any] = {}
        if options.temperature is not None:
            sampling["temperature"] = options.temperature
        if options.top_p is not None:
            sampling["top_p"] = options.top_p
        if options.max_tokens is not None:
            sampling["num_predict"] = options.max_tokens
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": options.stream}
        if sampling:
            body["options"] = sampling
        body.update(options.extra_body)
        return body

    async def complete(self, messages: list[Message], options: CallOptions) -> Completion:
        body = self.request_body(messages, options)
        if body.get("stream"):
            async def read_stream(resp: aiohttp.ClientResponse) -> Completion:
                return await self._read_stream(resp, messages, options)
            return await self._request("POST", "/api/chat", body, options.timeout_s, read_stream)
        data = await self._request("POST", "/api/chat", body, options.timeout_s, read_json)
        if not isinstance(data, dict) or data.get("error"):
            raise self._fail(f"error in reply: {str(data)[:500]}")
        message = data.get("message") or {}
        return self._finish(message.get("content") or "", message.get("thinking") or "", data, messages, data)

    def _finish(self, content: str, thinking: str, last: dict[str, Any], messages: list[Message],
                raw: dict[str, Any] | None) -> Completion:
        text, think = split_think(content)
        reasoning = join_reasoning(thinking, think)
        if isinstance(last.get("prompt_eval_count"), int) or isinstance(last.get("eval_count"), int):
            usage = Usage(int(last.get("prompt_eval_count") or 0), int(last.get("eval_count") or 0), False)
        else:
            usage = counted_usage(messages, text, reasoning)
        return Completion(text, reasoning, usage, last.get("model") or self.model, raw, last.get("done_reason"))

    async def _read_stream(self, resp: aiohttp.ClientResponse, messages: list[Message], options: CallOptions) -> Completion:
        text = ""
        thinking: list[str] = []
        async for line in resp.content:
            line = line.strip()
            if not line:
                continue
            chunk = json.loads(line)
            if chunk.get("error"):
                raise self._fail(f"error in stream: {str(chunk['error'])[:500]}")
            message = chunk.get("message") or {}
            if message.get("content"):
                text += message["content"]
                if options.on_text is not None:
                    options.on_text(text)
            if message.get("thinking"):
                thinking.append(message["thinking"])
            if chunk.get("done"):
                return self._finish(text, "".join(thinking), chunk, messages, None)
        raise self._fail("the stream ended before its last (done) line (cut stream)")

    async def list_models(self) -> list[str]:
        data = await self._request("GET", "/api/tags", None, self._http.list_models_timeout_s, read_json)
        models = data.get("models") if isinstance(data, dict) else None
        return sorted(str(m.get("name") or m.get("model")) for m in models or () if isinstance(m, dict))
