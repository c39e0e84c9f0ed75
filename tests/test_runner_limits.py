"""Shared per-endpoint concurrency and rate limits, measured at the fake server over real HTTP."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Reply

from loreforge.generate.limits import RateWindow, backoff_delay
from loreforge.generate.runner import CallMeta, Runner
from loreforge.providers import CallDefaults, ProviderConfig, RunnerSettings, make_provider

META = CallMeta(stage="test", prompt_name="p", prompt_hash="h")
OPTIONS = CallDefaults().options()


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=lambda req: Reply(text="ok", delay_s=0.08)) as server:
        yield server


def runner(fake: FakeLLM, **settings: object) -> Runner:
    provider = make_provider(ProviderConfig(provider="custom", model="m", base_url=fake.base_url))
    return Runner(provider, RunnerSettings(**settings))  # type: ignore[arg-type]


async def burst(r: Runner, n: int) -> None:
    await asyncio.gather(*(r.call([{"role": "user", "content": f"q{i}"}], options=OPTIONS, meta=META)
                           for i in range(n)))


def test_peak_concurrency_equals_the_limit(fake: FakeLLM) -> None:
    r = runner(fake, concurrency=8)

    async def go() -> None:
        await burst(r, 32)
        assert r.gate.concurrency.peak == 8 and r.gate.concurrency.in_flight == 0
        await r.provider.aclose()
    asyncio.run(go())
    assert fake.peak == 8 and len(fake.chat_requests()) == 32


def test_limit_is_shared_across_runners_of_one_endpoint(fake: FakeLLM) -> None:
    a, b = runner(fake, concurrency=4), runner(fake, concurrency=4)

    async def go() -> None:
        await asyncio.gather(burst(a, 16), burst(b, 16))
        assert a.gate is b.gate
        await a.provider.aclose()
        await b.provider.aclose()
    asyncio.run(go())
    assert fake.peak == 4 and len(fake.chat_requests()) == 32


def test_strictest_live_limit_wins_and_closing_releases_it(fake: FakeLLM) -> None:
    wide, narrow = runner(fake, concurrency=6), runner(fake, concurrency=2)

    async def go() -> None:
        assert narrow.gate.concurrency.limit == 2  # reading the gate registers the narrow runner's limit
        await burst(wide, 12)
        assert fake.peak == 2
        await narrow.aclose()
        fake.reset()
        fake.responder = lambda req: Reply(text="ok", delay_s=0.08)
        await burst(wide, 12)
        assert fake.peak == 6
        await wide.provider.aclose()
        await narrow.provider.aclose()
    asyncio.run(go())


def test_requests_per_minute_limit_with_a_short_window(fake: FakeLLM) -> None:
    fake.responder = lambda req: "ok"
    r = runner(fake, concurrency=16, requests_per_minute=600, rate_window_s=0.5)  # 5 per 0.5 s window

    async def go() -> float:
        t0 = time.monotonic()
        await burst(r, 15)
        await r.provider.aclose()
        return time.monotonic() - t0
    elapsed = asyncio.run(go())
    assert elapsed >= 0.95  # windows start at 0, 0.5 and 1.0 s
    times = sorted(req.at for req in fake.chat_requests())
    for i, t in enumerate(times):
        in_window = [u for u in times[i:] if u < t + 0.45]
        assert len(in_window) <= 5


def test_token_window_waits_and_corrections_free_budget() -> None:
    async def go() -> tuple[float, float]:
        window = RateWindow()
        first = await window.acquire(60, None, 100, 0.3)
        t0 = time.monotonic()
        await window.acquire(60, None, 100, 0.3)  # over budget: waits for the first to leave the window
        waited = time.monotonic() - t0
        window2 = RateWindow()
        first = await window2.acquire(60, None, 100, 5.0)
        asyncio.get_running_loop().call_later(0.05, window2.correct, first, 10)
        t1 = time.monotonic()
        await window2.acquire(60, None, 100, 5.0)  # admitted once the estimate is corrected down
        return waited, time.monotonic() - t1
    waited, corrected = asyncio.run(go())
    assert 0.25 <= waited < 1.0
    assert corrected < 1.0


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rng = random.Random(1)
    exact = [backoff_delay(n, base_s=1, cap_s=10, jitter="none", retry_after=None, rng=rng) for n in range(1, 7)]
    assert exact == [1, 2, 4, 8, 10, 10]
    for n in range(1, 6):
        draws = [backoff_delay(n, base_s=1, cap_s=100, jitter="full", retry_after=None, rng=rng) for _ in range(400)]
        ceiling = 2 ** (n - 1)
        assert all(0 <= d <= ceiling for d in draws)
        assert 0.4 * ceiling <= sum(draws) / len(draws) <= 0.6 * ceiling
    assert backoff_delay(1, base_s=1, cap_s=10, jitter="full", retry_after=30, rng=rng) == 30
