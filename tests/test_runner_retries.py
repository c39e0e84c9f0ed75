"""Retries, Retry-After, timeouts, fast failures, attempt records, key hygiene and cancellation —
the runner against the fake server over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply

from loreforge.errors import ConfigError, ProviderError
from loreforge.generate.runner import CallMeta, CallRecord, Runner
from loreforge.providers import CallDefaults, ProviderConfig, RunnerSettings, make_provider

KEY = "sk-live-abcdef0123456789XYZ"
META = CallMeta(stage="answers", prompt_name="answer_zh", prompt_hash="abc123", job_id=7, project_id=3, item="q:1")
MSGS = [{"role": "user", "content": "营业收入是多少？"}]
FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(default_text="fine") as server:
        yield server


def make(fake: FakeLLM, records: list[CallRecord], key: str | None = KEY, **settings: Any) -> Runner:
    provider = make_provider(ProviderConfig(provider="custom", model="m", base_url=fake.base_url, api_key=key))
    return Runner(provider, RunnerSettings(**{**FAST, **settings}), sink=records.append)


def call(r: Runner, **opts: Any) -> Any:
    async def go() -> Any:
        try:
            return await r.call(MSGS, options=dataclasses.replace(CallDefaults().options(), **opts), meta=META)
        finally:
            await r.provider.aclose()
    return asyncio.run(go())


def test_500s_are_retried_and_every_attempt_recorded(fake: FakeLLM) -> None:
    fake.script(Reply(status=500), Reply(status=503), Reply(text="done"))
    records: list[CallRecord] = []
    out = call(make(fake, records))
    assert out.text == "done" and len(fake.chat_requests()) == 3
    assert [(r.attempt, r.status) for r in records] == [(1, "error"), (2, "error"), (3, "ok")]
    ok = records[-1]
    assert (ok.stage, ok.prompt_name, ok.prompt_hash, ok.job_id, ok.project_id, ok.item) == \
        ("answers", "answer_zh", "abc123", 7, 3, "q:1")
    assert ok.tokens_in > 0 and ok.tokens_out > 0 and ok.latency_ms > 0 and ok.provider == "custom"
    assert ok.params["temperature"] == 0.7 and "HTTP 500" in (records[0].error or "")


def test_429_waits_at_least_retry_after(fake: FakeLLM) -> None:
    fake.script(Reply(status=429, error="rate limited", retry_after="1"), Reply(text="after wait"))
    records: list[CallRecord] = []
    t0 = time.monotonic()
    out = call(make(fake, records))
    assert out.text == "after wait"
    reqs = fake.chat_requests()
    assert reqs[1].at - reqs[0].at >= 1.0 and time.monotonic() - t0 >= 1.0


def test_retry_after_longer_than_allowed_ends_the_call(fake: FakeLLM) -> None:
    fake.script(Reply(status=429, retry_after="120"))
    with pytest.raises(ProviderError, match="max_retry_after_s"):
        call(make(fake, [], max_retry_after_s=10))
    assert len(fake.chat_requests()) == 1


def test_backoff_grows_exponentially_between_attempts(fake: FakeLLM) -> None:
    fake.script(*[Reply(status=500)] * 3, Reply(text="ok"))
    call(make(fake, [], backoff_base_s=0.1, backoff_cap_s=10, jitter="none"))
    at = [r.at for r in fake.chat_requests()]
    gaps = [at[i + 1] - at[i] for i in range(len(at) - 1)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4


def test_timeouts_are_retried(fake: FakeLLM) -> None:
    fake.script(Reply(delay_s=3.0), Reply(text="quick"))
    records: list[CallRecord] = []
    t0 = time.monotonic()
    out = call(make(fake, records), timeout_s=0.3)
    assert out.text == "quick" and time.monotonic() - t0 < 2.5
    assert "did not answer within 0.3 s" in (records[0].error or "") and records[1].status == "ok"


def test_cut_stream_is_retried(fake: FakeLLM) -> None:
    fake.script(Reply(text="partial answer here", cut_after=2), Reply(text="whole answer", reasoning="why"))
    out = call(make(fake, []), stream=True)
    assert (out.text, out.reasoning) == ("whole answer", "why") and len(fake.chat_requests()) == 2


@pytest.mark.parametrize("status", [400, 401])
def test_client_errors_fail_fast_with_the_providers_message(fake: FakeLLM, status: int) -> None:
    fake.script(Reply(status=status, error="Invalid value for 'temperature': must be <= 1.5"))
    records: list[CallRecord] = []
    with pytest.raises(ProviderError, match=r"must be <= 1\.5") as info:
        call(make(fake, records, max_attempts=5))
    assert info.value.retryable is False and info.value.status == status
    assert len(fake.chat_requests()) == 1 and len(records) == 1


def test_max_attempts(fake: FakeLLM) -> None:
    fake.script(*[Reply(status=500, error="boom")] * 5)
    records: list[CallRecord] = []
    with pytest.raises(ProviderError, match="gave up after 3 attempts"):
        call(make(fake, records, max_attempts=3))
    assert len(fake.chat_requests()) == 3 and [r.attempt for r in records] == [1, 2, 3]


def test_key_never_in_records_or_errors(fake: FakeLLM) -> None:
    fake.api_key = "a-different-key"  # the server rejects ours and echoes the Authorization header
    records: list[CallRecord] = []
    r = make(fake, records)
    with pytest.raises(ProviderError) as info:
        call(r)
    assert KEY not in str(info.value) and KEY not in repr(r.provider)
    assert records and all(KEY not in repr(rec) for rec in records)
    fake.api_key = None
    fake.script(Reply(status=500, error="echo {auth}"), Reply(status=500, error="echo {auth}"))
    with pytest.raises(ProviderError) as info:
        call(make(fake, records, max_attempts=2))
    assert KEY not in str(info.value) and all(KEY not in repr(rec) for rec in records)


def test_cancel_drops_the_in_flight_request_promptly(fake: FakeLLM) -> None:
    fake.script(Reply(hang=True))
    records: list[CallRecord] = []
    r = make(fake, records)

    async def go() -> float:
        task = asyncio.create_task(r.call(MSGS, options=CallDefaults().options(), meta=META))
        for _ in range(200):
            if fake.in_flight:
                break
            await asyncio.sleep(0.01)
        assert fake.in_flight == 1
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - t0
        assert r.gate.concurrency.in_flight == 0
        for _ in range(200):
            if fake.disconnected:
                break
            await asyncio.sleep(0.01)
        await r.provider.aclose()
        return elapsed
    assert asyncio.run(go()) < 0.5
    assert fake.disconnected == 1 and fake.in_flight == 0
    assert records[-1].error == "cancelled"


class Misconfigured:
    """A provider whose every call fails with a configuration error (not a ProviderError)."""

    name, model, endpoint = "misconfigured", "m", "misconfigured"

    async def complete(self, messages: Any, options: Any) -> Any:
        raise ConfigError("this provider is not configured", hint="configure it")

    async def list_models(self) -> list[str]:
        return []

    async def aclose(self) -> None:
        return None


def test_non_provider_errors_are_recorded_and_not_retried() -> None:
    records: list[CallRecord] = []
    r = Runner(Misconfigured(), RunnerSettings(max_attempts=5), sink=records.append)
    with pytest.raises(ConfigError):
        asyncio.run(r.call(MSGS, options=CallDefaults().options(), meta=META))
    assert len(records) == 1 and "not configured" in (records[0].error or "")
