"""The runner: every LLM call of the pipeline goes through `Runner.call` / `Runner.call_json`.

It owns what the providers do not: the shared per-endpoint concurrency limit and optional request/token
rate limits (`limits.py`), retries with exponential backoff and full jitter on retryable errors (429, 5xx,
timeouts, lost connections, cut streams) with the server's Retry-After as a floor, fast failure on
non-retryable ones, structured-output parsing (`parsing.py`) with one re-ask quoting the error, replies
that were cut off asked again (`call_json`, `call_text`: a larger `max_tokens` when our limit cut them), and a
`CallRecord` for EVERY ATTEMPT handed to a sink callable (the caller turns them into LLMCall rows from one
writer).

Cancelling the task that awaits `call` cancels the in-flight HTTP request (its connection is dropped) and
frees the concurrency slot; the cancelled attempt is recorded with status "error" and error "cancelled".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from loreforge.errors import ProviderError
from loreforge.generate.limits import EndpointGate, LimitSpec, backoff_delay, gate_for
from loreforge.generate.parsing import CutReply, ParseFailure, check_finished, parse_reply, reask_message, storable_text
from loreforge.providers.base import (
    CallOptions,
    Completion,
    Message,
    Provider,
    RetryableProviderError,
    estimate_messages,
    join_reasoning,
)
from loreforge.settings.engine import RunnerSettings

T = TypeVar("T")


@dataclass(frozen=True)
class CallMeta:
    """Where a call comes from, for its record."""

    stage: str
    prompt_name: str
    prompt_hash: str
    job_id: int | None = None
    project_id: int | None = None
    item: str | None = None  # the caller's key of the work item (e.g. "chunk:12"), for logs


@dataclass(frozen=True)
class CallRecord:
    """One attempt of one call, as logged (LLMCall). Never contains an API key."""

    provider: str
    model: str
    endpoint: str
    stage: str
    prompt_name: str
    prompt_hash: str
    project_id: int | None
    job_id: int | None
    item: str | None
    params: dict[str, Any]
    tokens_in: int
    tokens_out: int
    tokens_counted: bool
    latency_ms: float
    status: str  # "ok" | "error"
    error: str | None
    attempt: int
    created_at: float = field(default_factory=time.time)  # Unix time when the attempt ended


@dataclass(frozen=True)
class ParsedResult(Generic[T]):
    """A validated structured reply. `reasked` is True when the value came from the re-ask."""

    value: T
    completion: Completion
    raw_text: str
    reasoning: str
    reasked: bool


@dataclass
class _Asking:
    """Where one structured (or cut-checked) call stands: what is sent next and every raw reply so far."""

    messages: list[Message]
    options: CallOptions
    meta: CallMeta
    outputs: list[str] = field(default_factory=list)
    cuts: int = 0
    reasked: bool = False


Sink = Callable[[CallRecord], None]
"""Receives every attempt's record, synchronously, on the event loop: keep it cheap and non-raising
(e.g. `queue.put_nowait`, with one writer coroutine draining the queue into LLMCall rows)."""


class Runner:
    """Runs calls against one provider under the endpoint's shared limits. Use one loop per process."""

    def __init__(self, provider: Provider, settings: RunnerSettings, *, sink: Sink | None = None,
                 rng: random.Random | None = None) -> None:
        self.provider = provider
        self.settings = settings
        self._sink = sink
        self._rng = rng or random.Random()
        scale = settings.rate_window_s / 60.0
        self._spec = LimitSpec(
            concurrency=settings.concurrency,
            requests_per_window=_scaled(settings.requests_per_minute, scale),
            tokens_per_window=_scaled(settings.tokens_per_minute, scale),
            window_s=settings.rate_window_s,
        )
        self._gate: EndpointGate | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None

    @property
    def gate(self) -> EndpointGate:
        """This loop's shared gate of the provider's endpoint (registering this runner's limits)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate = gate_for(self.provider.endpoint)
            self._gate.register(self, self._spec)
            self._gate_loop = loop
        return self._gate

    async def aclose(self) -> None:
        """End this runner's registration (its limits stop counting). The provider is not closed."""
        if self._gate is not None:
            self._gate.unregister_key(id(self))
            self._gate = None

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(self, messages: list[Message], *, options: CallOptions, meta: CallMeta) -> Completion:
        """One completion, retried on retryable errors. Raises the provider's error when it gives up."""
        gate = self.gate
        estimate = estimate_messages(messages)
        attempt = 1
        while True:
            try:
                return await self._attempt(gate, messages, options, meta, attempt, estimate)
            except ProviderError as exc:
                delay = self._retry_delay(exc, attempt)
            attempt += 1
            await asyncio.sleep(delay)

    def _retry_delay(self, exc: ProviderError, attempt: int) -> float:
        """The wait before the next attempt, or re-raise when the error is final."""
        s = self.settings
        if not exc.retryable:
            raise exc
        if attempt >= s.max_attempts:
            raise ProviderError(f"{exc.message} (gave up after {attempt} attempts)", retryable=True,
                                status=exc.status, hint=exc.hint) from exc
        retry_after = exc.retry_after if isinstance(exc, RetryableProviderError) else None
        if retry_after is not None and retry_after > s.max_retry_after_s:
            raise ProviderError(exc.message, retryable=True, status=exc.status,
                                hint=f"The server asked to wait {retry_after:g} s, more than the runner's "
                                     f"max_retry_after_s ({s.max_retry_after_s:g} s); retry the item later") from exc
        return backoff_delay(attempt, base_s=s.backoff_base_s, cap_s=s.backoff_cap_s, jitter=s.jitter,
                             retry_after=retry_after, rng=self._rng)

    async def _attempt(self, gate: EndpointGate, messages: list[Message], options: CallOptions,
                       meta: CallMeta, attempt: int, estimate: int) -> Completion:
        await gate.concurrency.acquire()
        try:
            ticket = await gate.admit(estimate)
            started = time.perf_counter()
            try:
                completion = await self.provider.complete(messages, options)
            except asyncio.CancelledError:
                self._emit(meta, options, attempt, started, None, "cancelled")
                raise
            except Exception as exc:  # recorded, then re-raised unchanged
                self._emit(meta, options, attempt, started, None, self._error_text(exc))
                raise
            if ticket is not None:
                gate.rate.correct(ticket, completion.usage.prompt_tokens + completion.usage.completion_tokens)
            self._emit(meta, options, attempt, started, completion, None)
            return storable(completion)
        finally:
            gate.concurrency.release()

    def _emit(self, meta: CallMeta, options: CallOptions, attempt: int, started: float,
              completion: Completion | None, error: str | None) -> None:
        if self._sink is None:
            return
        usage = completion.usage if completion is not None else None
        self._sink(CallRecord(
            provider=self.provider.name,
            model=completion.model if completion is not None else self.provider.model,
            endpoint=self.provider.endpoint,
            stage=meta.stage,
            prompt_name=meta.prompt_name,
            prompt_hash=meta.prompt_hash,
            project_id=meta.project_id,
            job_id=meta.job_id,
            item=meta.item,
            params=options.params(),
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            tokens_counted=usage.counted if usage else False,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            status="ok" if error is None else "error",
            error=error,
            attempt=attempt,
        ))

    def _error_text(self, exc: BaseException) -> str:
        text = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
        redact = getattr(self.provider, "redact", None)  # HTTP providers scrub their key; belt and braces
        return redact(text) if callable(redact) else text

    async def call_json(self, messages: list[Message], schema: type[T], *, options: CallOptions,
                        meta: CallMeta) -> ParsedResult[T]:
        """A structured reply validated as `schema`. A cut reply is asked again (`_after_cut`); a reply that does
        not parse is re-asked once quoting the error; else ParseFailure (CutReply) with every raw reply."""
        asking = _Asking(messages, options, meta)
        while True:
            completion = await self.call(asking.messages, options=asking.options, meta=asking.meta)
            asking.outputs.append(completion.text)
            try:
                value, think = parse_reply(completion.text, schema, completion.finish_reason)
            except CutReply as cut:
                self._after_cut(asking, cut, meta)
                continue
            except ParseFailure as failure:
                self._after_bad_reply(asking, failure, messages, completion.text, meta)
                continue
            return ParsedResult(value, completion, completion.text, join_reasoning(completion.reasoning, think),
                                len(asking.outputs) > 1)

    async def call_text(self, messages: list[Message], *, options: CallOptions, meta: CallMeta) -> Completion:
        """A free-text reply the model finished: one stopped by a token limit or a filter is asked again like a
        cut structured reply; when every reply was cut, CutReply with every raw reply."""
        asking = _Asking(messages, options, meta)
        while True:
            completion = await self.call(asking.messages, options=asking.options, meta=asking.meta)
            asking.outputs.append(completion.text)
            try:
                check_finished(completion.text, completion.finish_reason)
            except CutReply as cut:
                self._after_cut(asking, cut, meta)
                continue
            return completion

    def _after_cut(self, asking: _Asking, cut: CutReply, meta: CallMeta) -> None:
        """Prepare to ask the same messages again after a cut reply — with twice the max_tokens (at most
        `max_tokens_cap`) when our own limit cut it — or raise the final CutReply."""
        s = self.settings
        limit = asking.options.max_tokens
        grown = _grown(limit, s.max_tokens_cap) if cut.by_limit else limit
        if asking.cuts >= s.cut_retries or (cut.by_limit and limit is not None and grown == limit):
            raise _cut_failure(cut, asking, s.max_tokens_cap)
        asking.cuts += 1
        asking.options = replace(asking.options, max_tokens=grown)
        asking.meta = replace(meta, prompt_name=meta.prompt_name + "#cut")

    def _after_bad_reply(self, asking: _Asking, failure: ParseFailure, messages: list[Message], text: str,
                         meta: CallMeta) -> None:
        """Prepare the one re-ask quoting why the reply could not be used, or raise the final ParseFailure."""
        if not self.settings.reask_on_parse_error:
            raise ParseFailure(failure.reason, tuple(asking.outputs), hint=failure.hint) from None
        if asking.reasked:
            raise ParseFailure(failure.reason, tuple(asking.outputs),
                               hint="Keep the item as failed with its raw output; retry it or change model") from None
        asking.reasked = True
        asking.messages = [*messages, {"role": "assistant", "content": text}, reask_message(failure.reason, messages)]
        asking.meta = replace(meta, prompt_name=meta.prompt_name + "#reask")


def storable(completion: Completion) -> Completion:
    """The completion with NUL and lone surrogates in its text and reasoning replaced by U+FFFD (`storable_text`):
    the rest of the reply is kept and the damage stays visible, instead of a crash where it is stored."""
    text, reasoning = storable_text(completion.text), storable_text(completion.reasoning)
    if text is completion.text and reasoning is completion.reasoning:
        return completion
    return replace(completion, text=text, reasoning=reasoning)


def _grown(limit: int | None, cap: int) -> int | None:
    """The max_tokens of the next try after our limit cut a reply: twice as many, at most `cap` (never less than
    the limit itself); None stays None — the server's own limit cut it, ours cannot be raised."""
    return None if limit is None else max(limit, min(limit * 2, cap))


def _cut_failure(cut: CutReply, asking: _Asking, cap: int) -> CutReply:
    """The item's final error: every reply was cut; nothing of them is stored."""
    tries = len(asking.outputs)
    limit = asking.options.max_tokens
    if cut.by_limit and limit is not None:
        hint = (f"The last try allowed max_tokens={limit} (llm.max_tokens_cap is {cap}); raise llm.max_tokens_cap "
                "or the model config's max_tokens, or ask for less per call (smaller chunks, fewer questions)")
    elif cut.by_limit:
        hint = ("The server's own output limit cut it: set max_tokens on the model config (`loreforge models add "
                "... --max-tokens N`) so LoreForge can raise it, or ask for less per call")
    else:
        hint = "The item keeps its raw output; retry it (`loreforge jobs retry JOB`) or use another model"
    return CutReply(f"{cut.reason}; asked {tries} time{'s' if tries > 1 else ''}, every reply was cut off",
                    tuple(asking.outputs), by_limit=cut.by_limit, hint=hint)


def _scaled(per_minute: int | None, scale: float) -> int | None:
    return None if per_minute is None else max(1, int(per_minute * scale))
