"""Shared limits per provider endpoint: concurrency, requests and tokens per window, and retry backoff.

All runners talking to the same endpoint (base URL, or "local") in one event loop share one
`EndpointGate`, so a project's jobs together never exceed the endpoint's limits. When several live runners
register different limits for one endpoint, the strictest wins: the smallest concurrency, and for each
rate the registration with the lowest rate. A runner's registration ends with `Runner.aclose()` or when
the runner is garbage-collected. Gates are per event loop (asyncio primitives cannot cross loops): run all
jobs of a process on one loop to share limits between them.

A call first takes a concurrency slot, then waits for the rate window while holding it, so the request is
timestamped when it is really sent. Per-minute rates are scaled to `RunnerSettings.rate_window_s` (a short
window makes tests fast). Token budgets are charged with the prompt estimate before the call and corrected
to the reported (or counted) prompt + completion tokens after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class LimitSpec:
    """What one runner asks of an endpoint. Rates are per `window_s` seconds; None means unlimited."""

    concurrency: int
    requests_per_window: int | None
    tokens_per_window: int | None
    window_s: float


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, jitter: Literal["full", "none"],
                  retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Exponential: the ceiling is min(cap, base * 2**(attempt-1)); full jitter draws uniformly below it.
    A server's Retry-After is a floor: the wait is never shorter than what the server asked for.
    """
    ceiling = min(cap_s, base_s * (2 ** (attempt - 1)))
    delay = rng.uniform(0.0, ceiling) if jitter == "full" else ceiling
    return max(delay, retry_after) if retry_after is not None else delay


class ConcurrencyGate:
    """A semaphore whose size is the smallest limit among its live registrations; FIFO, no barging."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self._limit = 1
        self._limits: dict[int, int] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    def set_limits(self, limits: dict[int, int]) -> None:
        self._limits = limits
        self._limit = min(limits.values()) if limits else 1
        self._wake()

    async def acquire(self) -> None:
        if self.in_flight < self._limit and not self._waiters:
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            elif fut in self._waiters:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.peak:
            self.peak = self.in_flight

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self._limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self._take()
                fut.set_result(None)


class RateTicket:
    """One admitted request in the rate window; its tokens are corrected once the usage is known."""

    __slots__ = ("alive", "at", "tokens")

    def __init__(self, at: float, tokens: int) -> None:
        self.at = at
        self.tokens = tokens
        self.alive = True


class RateWindow:
    """Sliding-window log of requests and tokens; admits callers in FIFO order."""

    def __init__(self) -> None:
        self._log: deque[RateTicket] = deque()
        self._tokens = 0
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    def _prune(self, horizon: float) -> None:
        while self._log and self._log[0].at <= horizon:
            old = self._log.popleft()
            old.alive = False
            self._tokens -= old.tokens

    async def acquire(self, tokens: int, requests_limit: int | None, tokens_limit: int | None,
                      window_s: float) -> RateTicket:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._prune(now - window_s)
                ok_requests = requests_limit is None or len(self._log) < requests_limit
                ok_tokens = tokens_limit is None or not self._log or self._tokens + tokens <= tokens_limit
                if ok_requests and ok_tokens:
                    ticket = RateTicket(now, tokens)
                    self._log.append(ticket)
                    self._tokens += tokens
                    return ticket
                self._changed.clear()
                wait = max(self._log[0].at + window_s - now, 0.001)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=wait)

    def correct(self, ticket: RateTicket, tokens: int) -> None:
        """Replace a ticket's estimated tokens by the real count."""
        if ticket.alive and tokens != ticket.tokens:
            self._tokens += tokens - ticket.tokens
            ticket.tokens = tokens
            self._changed.set()


class EndpointGate:
    """Everything one endpoint shares: a concurrency gate and a rate window, sized by registrations."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.concurrency = ConcurrencyGate()
        self.rate = RateWindow()
        self._specs: dict[int, LimitSpec] = {}
        self.requests_limit: int | None = None
        self.tokens_limit: int | None = None
        self.window_s = 60.0

    def register(self, owner: object, spec: LimitSpec) -> None:
        key = id(owner)
        if key not in self._specs:
            weakref.finalize(owner, self.unregister_key, key)
        self._specs[key] = spec
        self._recompute()

    def unregister_key(self, key: int) -> None:
        if self._specs.pop(key, None) is not None:
            self._recompute()

    @property
    def rate_limited(self) -> bool:
        return self.requests_limit is not None or self.tokens_limit is not None

    def _recompute(self) -> None:
        specs = list(self._specs.values())
        self.concurrency.set_limits({k: s.concurrency for k, s in self._specs.items()})
        by_requests = [s for s in specs if s.requests_per_window is not None]
        by_tokens = [s for s in specs if s.tokens_per_window is not None]
        strict_r = min(by_requests, key=lambda s: (s.requests_per_window or 0) / s.window_s, default=None)
        strict_t = min(by_tokens, key=lambda s: (s.tokens_per_window or 0) / s.window_s, default=None)
        self.requests_limit = strict_r.requests_per_window if strict_r else None
        self.tokens_limit = strict_t.tokens_per_window if strict_t else None
        chosen = strict_r or strict_t
        if chosen is not None:
            self.window_s = chosen.window_s

    async def admit(self, tokens: int) -> RateTicket | None:
        """Wait for the rate window (after a concurrency slot is held); None when no rate limit applies."""
        if not self.rate_limited:
            return None
        return await self.rate.acquire(tokens, self.requests_limit, self.tokens_limit, self.window_s)


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EndpointGate]] = weakref.WeakKeyDictionary()


def gate_for(endpoint: str) -> EndpointGate:
    """The running loop's gate for `endpoint`, created on first use."""
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    gate = gates.get(endpoint)
    if gate is None:
        gate = gates[endpoint] = EndpointGate(endpoint)
    return gate
