"""The provider seam: one async `complete(messages, options) -> Completion`, and the records around it.

Every LLM backend (OpenAI-compatible HTTP, Ollama, a local Hugging Face model) implements `Provider`. The
runner (`loreforge.generate.runner`) is the only caller in the pipeline; it adds concurrency limits, rate limits, retries and call records on top.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from loreforge.errors import ProviderError

Message = dict[str, Any]
"""One chat message: {"role": "system" | "user" | "assistant", "content": "..."}; for a vision call the content may
be a list of OpenAI content parts ({"type": "text", "text"} and {"type": "image_url", "image_url": {"url"}})."""
IMAGE_TOKENS = 765  # what one image counts for in an estimate (OpenAI's figure for a 1024×1024 image in high detail)


def message_text(content: Any) -> str:
    """The text of a message's content: the string itself, or the text parts of a content-part list."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content or "")


def message_images(content: Any) -> int:
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url") if isinstance(content, list) else 0


@dataclass(frozen=True)
class Usage:
    """Token counts of one call. `counted` is True when estimated here because the server sent none."""

    prompt_tokens: int
    completion_tokens: int
    counted: bool


@dataclass(frozen=True)
class Completion:
    """One reply. `text` has any <think> block removed; `reasoning` holds the chain of thought, if any."""

    text: str
    reasoning: str
    usage: Usage
    model: str
    raw: dict[str, Any] | None
    finish_reason: str | None


@dataclass(frozen=True)
class CallOptions:
    """Per-call options. None means "not sent": the server's own default applies.

    Build one from `loreforge.settings.engine.CallDefaults().options()` and change fields with
    `dataclasses.replace`. `on_text`, on a streamed call, is given the answer's text so far (the whole of it, each
    time a piece comes; an attempt the runner retries starts again from the empty text) — for a caller that shows
    the answer as it is written; it is not sent and not logged.
    """

    temperature: float | None
    max_tokens: int | None
    top_p: float | None
    extra_body: dict[str, Any] = field(hash=False)
    stream: bool
    timeout_s: float
    on_text: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def params(self) -> dict[str, Any]:
        """The options as logged with each call (LLMCall.params)."""
        out: dict[str, Any] = {"stream": self.stream}
        for key in ("temperature", "max_tokens", "top_p"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.extra_body:
            out["extra_body"] = dict(self.extra_body)
        return out


class RetryableProviderError(ProviderError):
    """A provider failure worth retrying (429, 5xx, timeout, lost connection, cut stream).

    `retry_after` is the wait in seconds the server asked for (Retry-After / retry-after-ms), if any.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 hint: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, retryable=True, status=status, hint=hint)


@runtime_checkable
class Provider(Protocol):
    """An LLM backend. `endpoint` names the resource whose concurrency limit the runner shares."""

    name: str
    model: str
    endpoint: str

    async def complete(self, messages: list[Message], options: CallOptions) -> Completion:
        """Send one chat request and return the whole reply. Raises ProviderError (retryable or not)."""
        ...

    async def list_models(self) -> list[str]:
        """Model names the endpoint offers."""
        ...

    async def aclose(self) -> None:
        """Release connections. The provider may be used again afterwards (it reconnects lazily)."""
        ...


_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: a CJK character is about one token, other text about four characters."""
    if not text:
        return 0
    other = len(_CJK.sub("", text))
    return (len(text) - other) + (other + 3) // 4


def estimate_messages(messages: list[Message]) -> int:
    """Estimated prompt tokens of a chat: the contents plus a few tokens of framing per message."""
    return sum(estimate_tokens(message_text(m.get("content"))) + IMAGE_TOKENS * message_images(m.get("content")) + 4 for m in messages)


def counted_usage(messages: list[Message], text: str, reasoning: str) -> Usage:
    """Usage estimated here for a server that reported none."""
    return Usage(estimate_messages(messages), estimate_tokens(text) + estimate_tokens(reasoning), True)


_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


def split_think(text: str) -> tuple[str, str]:
    """Split `<think>...</think>` out of a reply: returns (text without it, the reasoning inside).

    Also handles a reply that lost its opening tag (everything before `</think>` is reasoning) and one cut
    inside the block (everything after `<think>` is reasoning).
    """
    if _THINK_CLOSE not in text and _THINK_OPEN not in text:
        return text, ""
    reasoning: list[str] = []
    rest = text
    while True:
        open_at = rest.find(_THINK_OPEN)
        close_at = rest.find(_THINK_CLOSE)
        if close_at != -1 and (open_at == -1 or close_at < open_at):
            reasoning.append(rest[:close_at])
            rest = rest[close_at + len(_THINK_CLOSE):]
        elif open_at != -1:
            end = rest.find(_THINK_CLOSE, open_at)
            if end == -1:
                reasoning.append(rest[open_at + len(_THINK_OPEN):])
                rest = rest[:open_at]
                break
            reasoning.append(rest[open_at + len(_THINK_OPEN):end])
            rest = rest[:open_at] + rest[end + len(_THINK_CLOSE):]
        else:
            break
    return rest.strip(), "\n".join(r.strip() for r in reasoning if r.strip())


def join_reasoning(*parts: str) -> str:
    """Join reasoning from several places (a reasoning field and <think> tags), skipping empty ones."""
    return "\n".join(p for p in parts if p)
