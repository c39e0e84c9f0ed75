"""The Ollama native provider against the fake server: /api/chat (JSON and NDJSON stream), /api/tags."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply

from loreforge.errors import ProviderError
from loreforge.providers import CallDefaults, ProviderConfig, RetryableProviderError, make_provider
from loreforge.providers.base import Provider

MSGS = [{"role": "user", "content": "Why is the sky blue?"}]


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(default_text="Rayleigh scattering.", models=("qwen3:8b", "llama3.2:3b")) as server:
        yield server


def provider(fake: FakeLLM) -> Provider:
    return make_provider(ProviderConfig(provider="ollama", model="qwen3:8b", base_url=fake.root_url))


def run(p: Provider, coro_fn: Any) -> Any:
    async def go() -> Any:
        try:
            return await coro_fn(p)
        finally:
            await p.aclose()
    return asyncio.run(go())


def chat(fake: FakeLLM, stream: bool, **opts: Any) -> Any:
    options = dataclasses.replace(CallDefaults(stream=stream).options(), **opts)
    return run(provider(fake), lambda p: p.complete(MSGS, options))


def test_chat_non_streaming_with_thinking_and_options(fake: FakeLLM) -> None:
    fake.script(Reply(text="Scattering.", reasoning="short wavelengths scatter more"))
    out = chat(fake, False, temperature=0.1, max_tokens=64, top_p=0.8, extra_body={"think": True})
    assert (out.text, out.reasoning, out.finish_reason) == ("Scattering.", "short wavelengths scatter more", "stop")
    assert out.usage.counted is False and out.usage.completion_tokens > 0
    req = fake.chat_requests()[0]
    assert req.path == "/api/chat"
    assert req.body == {"model": "qwen3:8b", "messages": MSGS, "stream": False, "think": True,
                        "options": {"temperature": 0.1, "top_p": 0.8, "num_predict": 64}}


def test_chat_streaming_ndjson(fake: FakeLLM) -> None:
    fake.script(Reply(text="<think>hmm</think>Because of Rayleigh scattering.", reasoning="physics"))
    seen: list[str] = []
    out = chat(fake, True, on_text=seen.append)
    assert out.text == "Because of Rayleigh scattering."
    assert len(seen) >= 3 and seen[-1] == "<think>hmm</think>Because of Rayleigh scattering."  # the text so far, each time
    assert out.reasoning == "physics\nhmm"
    assert out.usage.counted is False and out.finish_reason == "stop"


def test_cut_ndjson_stream_is_retryable(fake: FakeLLM) -> None:
    fake.script(Reply(text="a long answer to cut", cut_after=1))
    with pytest.raises(RetryableProviderError):
        chat(fake, True)
    fake.script(Reply(text="a long answer to cut", cut_after=1, cut_eof=True))
    with pytest.raises(RetryableProviderError, match="cut stream"):
        chat(fake, True)


def test_model_not_found_quotes_ollama_error(fake: FakeLLM) -> None:
    fake.script(Reply(status=404, error="model 'qwen3:8b' not found, try pulling it first"))
    with pytest.raises(ProviderError, match="not found, try pulling it first") as info:
        chat(fake, False)
    assert info.value.retryable is False


def test_tags(fake: FakeLLM) -> None:
    assert run(provider(fake), lambda p: p.list_models()) == ["llama3.2:3b", "qwen3:8b"]
    assert fake.requests[-1].path == "/api/tags"
