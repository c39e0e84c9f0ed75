"""Build a provider from a model configuration: `make_provider(ProviderConfig(...)) -> Provider`.

The preset's kind picks the backend class (one small class per backend); the preset supplies the default
base URL. API keys arrive already resolved (the caller reads `env:VAR` references or the secrets table)
and are held as `SecretStr`, so a config's repr never shows them.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from loreforge.errors import ConfigError, NeedsKey
from loreforge.providers.base import Provider
from loreforge.settings.engine import CallDefaults, ExtractiveSettings, HttpSettings, LocalSettings
from loreforge.providers.presets import Kind, Preset, get_preset


class ProviderConfig(BaseModel):
    """One model configuration, as the runner needs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(description="A preset name (see loreforge.providers.presets.PRESETS).")
    model: str = Field("", description="Model name; a folder for `local`; ignored by `extractive`.")
    base_url: str | None = Field(None, description="Overrides the preset's base URL (required for `custom`).")
    api_key: SecretStr | None = Field(None, description="The resolved API key, if the endpoint needs one.")
    adapter: str | None = Field(None, description="`local` only: a LoRA adapter folder loaded with peft.")
    options: CallDefaults = Field(default_factory=CallDefaults)
    http: HttpSettings = Field(default_factory=HttpSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    extractive: ExtractiveSettings = Field(default_factory=ExtractiveSettings)

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None


def _base_url(config: ProviderConfig, preset: Preset) -> str:
    url = config.base_url or preset.base_url
    if not url:
        raise ConfigError(
            f"Provider '{config.provider}' needs a base URL",
            expected="an http(s) URL such as http://127.0.0.1:8000/v1",
            got="none",
            hint="Pass --base-url",
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError("The base URL must start with http:// or https://", got=repr(url))
    return url


def _need_model(config: ProviderConfig) -> None:
    if not config.model:
        raise ConfigError(f"Provider '{config.provider}' needs a model name", expected="e.g. --model deepseek-chat")


def _need_key(config: ProviderConfig, preset: Preset) -> str | None:
    key = config.key()
    if preset.key_required and not key:
        raise NeedsKey(
            f"No API key for provider '{config.provider}'",
            hint=f"Set {preset.key_env} or run `loreforge models add PROJECT --provider {config.provider} "
            f"--api-key env:{preset.key_env}`",
        )
    return key


def _openai(config: ProviderConfig, preset: Preset) -> Provider:
    from loreforge.providers.openai_compat import OpenAICompatProvider

    _need_model(config)
    return OpenAICompatProvider(name=config.provider, model=config.model, base_url=_base_url(config, preset),
                                api_key=_need_key(config, preset), http=config.http, key_env=preset.key_env)


def _ollama(config: ProviderConfig, preset: Preset) -> Provider:
    from loreforge.providers.ollama import OllamaProvider

    _need_model(config)
    return OllamaProvider(name=config.provider, model=config.model, base_url=_base_url(config, preset),
                          api_key=config.key(), http=config.http, key_env=preset.key_env)


def _local(config: ProviderConfig, preset: Preset) -> Provider:
    from loreforge.providers.local import LocalProvider

    _need_model(config)
    return LocalProvider(model=config.model, adapter=config.adapter, settings=config.local)


# The `extractive` preset has no backend: it names the offline generation strategy
# (loreforge.generate.strategies), which makes no LLM call at all.
BACKENDS: dict[Kind, Callable[[ProviderConfig, Preset], Provider]] = {
    "openai": _openai,
    "ollama": _ollama,
    "local": _local,
}


def make_provider(config: ProviderConfig) -> Provider:
    """The provider for `config`. Raises ConfigError / NeedsKey with a fix when the config is incomplete."""
    preset = get_preset(config.provider)
    backend = BACKENDS.get(preset.kind)
    if backend is None:
        raise ConfigError(
            f"'{config.provider}' is not an LLM provider", expected="a provider with an endpoint (see `loreforge models presets`)",
            got=f"the {preset.kind} generation strategy, which makes no LLM call",
            hint="Open it with loreforge.generate.strategies.open_strategy; configure an LLM with `loreforge models add`",
        )
    return backend(config, preset)
