"""Benchmark the runner against the fake LLM server running in its own process.

Run by hand:  .venv/bin/python bench/generate_concurrency.py [--calls 2000] [--limit 64]

1. Concurrency: N calls through `Runner.call`, limit 64, server latency 200 ms ± 50 ms. Prints achieved
   requests/s, efficiency = achieved ÷ (limit / mean latency) (target ≥ 0.9), p50/p99 request latency,
   peak concurrency seen by the server, and client CPU per call = this process's CPU time ÷ calls
   (target ≤ 2 ms).
2. Fault mix: N items through `Runner.call_json` with 10% 500s, 10% 429s (Retry-After 1 s) and 5% malformed
   replies. Prints how items ended (done / failed) and checks that every item ended exactly once and that
   every attempt was recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loreforge.errors import ProviderError  # noqa: E402
from loreforge.generate.parsing import ParseFailure  # noqa: E402
from loreforge.generate.runner import CallMeta, CallRecord, Runner  # noqa: E402
from loreforge.providers import CallDefaults, HttpSettings, ProviderConfig, RunnerSettings, make_provider  # noqa: E402


class Answer(BaseModel):
    answer: str


@contextmanager
def fake_server(*args: str) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_llm.py"), "--port", "0", *args],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"fake server did not start: {line!r}")
        yield f"http://127.0.0.1:{line.split()[1]}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


def _runner(base_url: str, limit: int, records: list[CallRecord]) -> Runner:
    config = ProviderConfig(provider="vllm", model="bench", base_url=base_url,
                            http=HttpSettings(max_connections=limit))
    settings = RunnerSettings(concurrency=limit)
    return Runner(make_provider(config), settings, sink=records.append)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def concurrency_run(base_url: str, calls: int, limit: int, latency: float, stream: bool) -> None:
    records: list[CallRecord] = []
    runner = _runner(base_url, limit, records)
    options = CallDefaults(max_tokens=64, stream=stream).options()
    meta = CallMeta("bench", "bench", "0" * 16)
    msgs = [[{"role": "user", "content": f"问题 {i}: 营业收入同比增长多少？"}] for i in range(calls)]
    await runner.call(msgs[0], options=options, meta=meta)  # warm the connection pool's first socket
    records.clear()
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(runner.call(m, options=options, meta=meta) for m in msgs))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    lat = [r.latency_ms for r in records]
    achieved = calls / wall
    print(f"concurrency run{' (streaming)' if stream else ''}: {calls} calls, limit {limit}, "
          f"server latency {latency * 1000:.0f} ms ± 50 ms")
    print(f"  wall {wall:.2f} s, achieved {achieved:.1f} req/s, ideal {limit / latency:.1f} req/s, "
          f"efficiency {achieved / (limit / latency):.3f}")
    print(f"  request latency p50 {_pct(lat, 0.5):.1f} ms, p99 {_pct(lat, 0.99):.1f} ms, "
          f"mean {statistics.mean(lat):.1f} ms")
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(root + "/_stats") as resp:  # the server's own count of concurrent requests
        server = json.load(resp)
    print(f"  client CPU {cpu * 1000 / calls:.3f} ms per call (process CPU {cpu:.2f} s); "
          f"peak in flight: runner {runner.gate.concurrency.peak}, server {server['peak']}")
    await runner.provider.aclose()


async def fault_run(base_url: str, items: int, limit: int) -> None:
    records: list[CallRecord] = []
    runner = _runner(base_url, limit, records)
    options = CallDefaults(max_tokens=64).options()
    outcome: dict[int, list[str]] = {i: [] for i in range(items)}

    async def one(i: int) -> None:
        meta = CallMeta("bench", "answer", "0" * 16, item=str(i))
        try:
            result = await runner.call_json([{"role": "user", "content": f"item {i}"}], Answer,
                                            options=options, meta=meta)
            outcome[i].append("done-reasked" if result.reasked else "done")
        except (ProviderError, ParseFailure) as exc:
            outcome[i].append(f"failed:{type(exc).__name__}")

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(items)))
    wall = time.perf_counter() - t0
    ends = Counter(v[0] if len(v) == 1 else "DUPLICATE" if v else "MISSING" for v in outcome.values())
    statuses = Counter(r.status for r in records)
    print(f"fault run: {items} items, 10% 500 / 10% 429 (Retry-After 1 s) / 5% malformed, wall {wall:.1f} s")
    print(f"  endings: {dict(sorted(ends.items()))}")
    print(f"  ended exactly once: {sum(len(v) == 1 for v in outcome.values())}/{items}; "
          f"duplicates {sum(len(v) > 1 for v in outcome.values())}; missing {sum(not v for v in outcome.values())}")
    print(f"  attempts recorded: {len(records)} ({dict(statuses)}); retried calls "
          f"{sum(1 for r in records if r.attempt > 1)}")
    await runner.provider.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--stream", action="store_true", help="also run the concurrency run with SSE streaming")
    ap.add_argument("--skip-faults", action="store_true")
    args = ap.parse_args()
    with fake_server("--latency", str(args.latency), "--jitter", "0.05") as url:
        asyncio.run(concurrency_run(url, args.calls, args.limit, args.latency, False))
    if args.stream:
        with fake_server("--latency", str(args.latency), "--jitter", "0.05") as url:
            asyncio.run(concurrency_run(url, args.calls, args.limit, args.latency, True))
    if not args.skip_faults:
        with fake_server("--latency", str(args.latency), "--jitter", "0.05", "--p500", "0.1", "--p429", "0.1",
                         "--malformed", "0.05", "--retry-after", "1", "--seed", "7",
                         "--text", '{"answer": "营业收入同比增长21.4%"}') as url:
            asyncio.run(fault_run(url, args.calls, args.limit))


if __name__ == "__main__":
    main()
