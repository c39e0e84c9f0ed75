"""Typed defaults of the LLM engine: provider call options, HTTP, the runner, the local and the extractive
provider. Part of the one settings object (`loreforge.settings`): the providers and the runner take these
objects as arguments and never hard-code a default of their own. The per-project keys `llm.*` feed
`RunnerSettings`; a model config's options feed `CallDefaults`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from loreforge.providers.base import CallOptions



class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CallDefaults(_Section):
    """Sampling and transport options sent with each request unless a caller overrides them."""

    temperature: float | None = Field(0.7, ge=0, le=2, description="Sampling temperature; none = server default.")
    max_tokens: int | None = Field(4096, ge=1, description="Most completion tokens; none = server default.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling; none = server default.")
    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON merged into the request body as-is (e.g. {\"enable_thinking\": false} for DashScope).",
    )
    stream: bool = Field(False, description="Stream the reply (SSE for OpenAI-compatible, NDJSON for Ollama).")
    timeout_s: float = Field(180.0, gt=0, le=3600, description="Whole-request timeout for one attempt, seconds.")

    def options(self) -> "CallOptions":
        from loreforge.providers.base import CallOptions

        return CallOptions(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            top_p=self.top_p,
            extra_body=dict(self.extra_body),
            stream=self.stream,
            timeout_s=self.timeout_s,
        )


class HttpSettings(_Section):
    """How an HTTP provider talks to its endpoint."""

    max_connections: int = Field(
        64, ge=1, le=4096, description="Connection pool size; keep it at least the runner's concurrency."
    )
    connect_timeout_s: float = Field(15.0, gt=0, le=600, description="TCP connect timeout, seconds.")
    list_models_timeout_s: float = Field(30.0, gt=0, le=600, description="Timeout of a model-list request, seconds.")
    error_body_chars: int = Field(500, ge=50, le=20_000, description="Most characters of an error body quoted.")


class RunnerSettings(_Section):
    """Concurrency, rate limits and retries of the runner that carries all LLM traffic."""

    concurrency: int = Field(8, ge=1, le=1024, description="Most requests in flight per provider endpoint.")
    requests_per_minute: int | None = Field(None, ge=1, description="Optional request rate limit per endpoint.")
    tokens_per_minute: int | None = Field(None, ge=1, description="Optional token rate limit per endpoint.")
    rate_window_s: float = Field(
        60.0, gt=0, le=3600, description="Sliding window of the rate limits; the per-minute rates are scaled to it."
    )
    max_attempts: int = Field(5, ge=1, le=50, description="Attempts per call, the first one included.")
    backoff_base_s: float = Field(
        1.0, ge=0, le=600, description="Backoff before retry n is drawn from [0, base*2**(n-1)], seconds."
    )
    backoff_cap_s: float = Field(60.0, ge=0, le=3600, description="Longest backoff between two attempts, seconds.")
    jitter: Literal["full", "none"] = Field(
        "full", description="full: uniform in [0, backoff]; none: the backoff itself."
    )
    max_retry_after_s: float = Field(
        300.0, ge=0, le=86_400, description="A Retry-After longer than this ends the call instead of waiting."
    )
    reask_on_parse_error: bool = Field(True, description="Re-ask once when a structured reply does not parse.")
    cut_retries: int = Field(
        2, ge=0, le=10,
        description="Times a cut-off reply (finish_reason length, or JSON that stops before its end) is asked again "
                    "before its item fails; never repaired.",
    )
    max_tokens_cap: int = Field(
        8192, ge=1, le=1_000_000,
        description="A reply cut by our own max_tokens is asked again with twice the limit, at most this.",
    )


class ExtractiveSettings(_Section):
    """Shape of the questions and answers of the extractive (no-LLM) strategy."""

    min_sentence_chars: int = Field(8, ge=1, le=1000, description="Shorter sentences are not used as answers.")
    max_answer_chars: int = Field(
        160, ge=20, le=10_000, description="Longer sentences are cut to the clauses around the fact asked about."
    )
    max_lead_chars: int = Field(30, ge=5, le=500, description="Most characters of a sentence quoted in a zh question.")
    max_lead_words: int = Field(12, ge=2, le=200, description="Most words of a sentence quoted in an en question.")


class LocalSettings(_Section):
    """The local Hugging Face provider."""

    batch_size: int = Field(8, ge=1, le=512, description="Most prompts generated together in one batch.")
    batch_wait_s: float = Field(0.02, ge=0, le=10, description="How long a batch waits for more prompts to join.")
    device: str = Field("auto", description="auto (cuda if available, else cpu), cpu, cuda, cuda:1, mps ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="Weights dtype.")
    max_new_tokens: int = Field(1024, ge=1, le=131_072, description="Completion length when a call sets no max_tokens.")
