"""LLM providers behind one async seam: `complete(messages, options) -> Completion`.

Backends: OpenAI-compatible HTTP (`openai_compat`, with presets in `presets`), Ollama's native API
(`ollama`) and a local Hugging Face model (`local`, the [train] extra). The `extractive` preset is not a
provider but the offline generation strategy (`loreforge.generate.strategies`). Build one with `make_provider(ProviderConfig(...))`; the runner in
`loreforge.generate.runner` carries every call. Defaults live in `config`.
"""

from __future__ import annotations

from loreforge.providers.base import (
    CallOptions,
    Completion,
    Message,
    Provider,
    RetryableProviderError,
    Usage,
    estimate_messages,
    estimate_tokens,
    split_think,
)
from loreforge.settings.engine import CallDefaults, ExtractiveSettings, HttpSettings, LocalSettings, RunnerSettings
from loreforge.providers.presets import PRESETS, Preset, get_preset
from loreforge.providers.registry import ProviderConfig, make_provider

__all__ = [
    "PRESETS",
    "CallDefaults",
    "CallOptions",
    "Completion",
    "ExtractiveSettings",
    "HttpSettings",
    "LocalSettings",
    "Message",
    "Preset",
    "Provider",
    "ProviderConfig",
    "RetryableProviderError",
    "RunnerSettings",
    "Usage",
    "estimate_messages",
    "estimate_tokens",
    "get_preset",
    "make_provider",
    "split_think",
]
