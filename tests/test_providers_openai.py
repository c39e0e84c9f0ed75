"""The OpenAI-compatible provider against the fake server over real HTTP: replies, streams, reasoning,
errors and their messages, key redaction, model list."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply

from loreforge.errors import ProviderError
from loreforge.providers import CallDefaults, ProviderConfig, RetryableProviderError, make_provider
from loreforge.providers._http import parse_retry_after
from loreforge.providers.base import Provider, estimate_tokens, split_think

KEY = "sk-test-9f8e7d6c5b4a39281706"
MSGS = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "营业收入是多少？"}]


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(default_text="hello") as server:
        yield server


def provider(fake: FakeLLM, key: str | None = KEY, **kw: Any) -> Provider:
    return make_provider(ProviderConfig(provider="custom", model="m1", base_url=fake.base_url, api_key=key, **kw))


def complete(p: Provider, stream: bool = False, **opts: Any) -> Any:
    async def go() -> Any:
        try:
            return await p.complete(MSGS, dataclasses.replace(CallDefaults(stream=stream).options(), **opts))
        finally:
            await p.aclose()
    return asyncio.run(go())


def test_non_streaming_reply_and_request_body(fake: FakeLLM) -> None:
    fake.script(Reply(text="38.6亿元", reasoning="看表格", finish_reason="stop"))
    p = provider(fake)
    out = complete(p, temperature=0.2, max_tokens=50, top_p=0.9, extra_body={"enable_thinking": False})
    assert (out.text, out.reasoning, out.finish_reason, out.model) == ("38.6亿元", "看表格", "stop", "m1")
    assert out.usage.counted is False and out.usage.prompt_tokens > 0
    req = fake.chat_requests()[0]
    assert req.body == {"model": "m1", "messages": MSGS, "stream": False, "temperature": 0.2, "max_tokens": 50,
                        "top_p": 0.9, "enable_thinking": False}
    assert req.headers["Authorization"] == f"Bearer {KEY}"


def test_no_authorization_header_without_key_and_none_options_not_sent(fake: FakeLLM) -> None:
    complete(provider(fake, key=None), temperature=None, max_tokens=None)
    req = fake.chat_requests()[0]
    assert "Authorization" not in req.headers
    assert "temperature" not in req.body and "max_tokens" not in req.body and "top_p" not in req.body


def test_think_tags_and_reasoning_field_variants(fake: FakeLLM) -> None:
    fake.script(Reply(text="<think>step 1\nstep 2</think>\n\nThe answer", reasoning="field",
                      reasoning_field="reasoning"))
    out = complete(provider(fake))
    assert out.text == "The answer"
    assert out.reasoning == "field\nstep 1\nstep 2"


def test_streaming_with_reasoning_content_and_usage(fake: FakeLLM) -> None:
    fake.script(Reply(text="<think>inner</think>流式回答完成", reasoning="先想一想，再回答"))
    seen: list[str] = []
    out = complete(provider(fake), stream=True, on_text=seen.append)
    assert out.text == "流式回答完成"
    assert len(seen) >= 3 and seen[-1] == "<think>inner</think>流式回答完成"  # the text so far, each time a piece comes
    assert out.reasoning == "先想一想，再回答\ninner"
    assert out.finish_reason == "stop" and out.usage.counted is False
    body = fake.chat_requests()[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_usage_counted_when_server_sends_none(fake: FakeLLM) -> None:
    fake.script(Reply(text="abcdefgh", usage=False), Reply(text="营业收入", usage=False))
    out = complete(provider(fake))
    assert out.usage.counted is True and out.usage.completion_tokens == 2
    out = complete(provider(fake), stream=True)
    assert out.usage.counted is True and out.usage.completion_tokens == 4


@pytest.mark.parametrize("eof", [False, True], ids=["connection-closed", "ended-without-done"])
def test_cut_stream_is_a_retryable_error(fake: FakeLLM, eof: bool) -> None:
    fake.script(Reply(text="a long answer that will be cut", cut_after=2, cut_eof=eof))
    with pytest.raises(RetryableProviderError) as info:
        complete(provider(fake), stream=True)
    assert info.value.retryable is True


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_final_and_quote_the_provider(fake: FakeLLM, status: int) -> None:
    fake.script(Reply(status=status, error="The model `m1` does not exist or you do not have access to it."))
    with pytest.raises(ProviderError) as info:
        complete(provider(fake))
    err = info.value
    assert err.retryable is False and err.status == status
    assert "does not exist or you do not have access" in str(err) and f"HTTP {status}" in str(err)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_server_errors_are_retryable_with_retry_after(fake: FakeLLM, status: int) -> None:
    fake.script(Reply(status=status, error="slow down", retry_after="7"))
    with pytest.raises(RetryableProviderError) as info:
        complete(provider(fake))
    assert info.value.status == status and info.value.retry_after == 7.0 and "slow down" in str(info.value)


def test_timeout_and_unreachable_server_are_retryable(fake: FakeLLM) -> None:
    fake.script(Reply(delay_s=2.0))
    t0 = time.monotonic()
    with pytest.raises(RetryableProviderError, match=r"did not answer within 0\.3 s"):
        complete(provider(fake), timeout_s=0.3)
    assert time.monotonic() - t0 < 1.5
    dead = make_provider(ProviderConfig(provider="custom", model="m", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(RetryableProviderError, match="could not be reached"):
        complete(dead)


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.0 <= (parse_retry_after({"retry-after": date}) or 0) <= 5.5
    assert parse_retry_after({"retry-after": "soon"}) is None and parse_retry_after({}) is None


def _all_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc)) + str(getattr(exc, "to_dict", dict)())


@pytest.mark.parametrize("reply", [
    Reply(status=401, error="Incorrect API key provided: {auth}"),
    Reply(status=500, error="upstream echo {auth}"),
    Reply(status=400, raw_body="<html>bad request from {auth}</html>"),
    Reply(status=200, raw_body='{"error": {"message": "key {auth} is disabled"}}'),
], ids=["401-json", "500-json", "400-html", "200-error-object"])
def test_api_key_never_appears_in_errors(fake: FakeLLM, reply: Reply) -> None:
    fake.script(reply)
    p = provider(fake)
    with pytest.raises(ProviderError) as info:
        complete(p)
    assert KEY not in _all_text(info.value) and "***" in str(info.value)
    assert KEY not in repr(p)


def test_api_key_never_appears_in_connection_errors_or_config_repr() -> None:
    plain = ProviderConfig(provider="deepseek", model="deepseek-chat", api_key=KEY)
    assert KEY not in repr(plain) and KEY not in str(plain.model_dump()) and KEY not in plain.model_dump_json()
    assert plain.key() == KEY
    config = ProviderConfig(provider="custom", model="m", base_url=f"http://127.0.0.1:9/{KEY}/v1", api_key=KEY)
    with pytest.raises(ProviderError) as info:
        complete(make_provider(config))
    assert KEY not in _all_text(info.value)


def test_list_models(fake: FakeLLM) -> None:
    p = provider(fake)

    async def go() -> list[str]:
        try:
            return await p.list_models()
        finally:
            await p.aclose()
    assert asyncio.run(go()) == ["fake-model", "fake-small"]
    assert fake.requests[-1].path == "/v1/models"


def test_split_think_edge_cases_and_estimator() -> None:
    assert split_think("plain") == ("plain", "")
    assert split_think("lost opening</think>answer") == ("answer", "lost opening")
    assert split_think("answer<think>cut off") == ("answer", "cut off")
    assert split_think("<think>a</think>x<think>b</think>y") == ("xy", "a\nb")
    assert estimate_tokens("营业收入") == 4 and estimate_tokens("abcdefgh") == 2 and estimate_tokens("") == 0


def test_fake_server_runs_as_a_process(tmp_path: Path) -> None:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps([{"status": 429, "retry_after": "0"}, "scripted"]), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fake_llm.py")), "--port", "0",
                             "--script", str(script), "--text", "default"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        p = make_provider(ProviderConfig(provider="vllm", model="m", base_url=f"http://127.0.0.1:{port}/v1"))
        with pytest.raises(RetryableProviderError):
            complete(p)
        assert complete(p).text == "scripted" and complete(p).text == "default"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats") as resp:
            assert json.load(resp)["requests"] == 3
    finally:
        proc.terminate()
        proc.wait(10)
