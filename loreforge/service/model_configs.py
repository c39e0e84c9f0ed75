"""Model configs of a project: add (provider preset, model, base URL, key reference, request options), list,
use (the active one), remove, test with one tiny request, list the endpoint's models. Also `generation()`:
the active config (or a `--model` / `--provider` override) resolved into what a stage run uses."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, LoreForgeError, UserError
from loreforge.secrets import SecretBox, check_key_env, drop_unused, mask, redact
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.service.llm import Generation, run_sync, with_strategy
from loreforge.settings.engine import CallDefaults, HttpSettings
from loreforge.store.models import ModelConfig, Project
from loreforge.views import Deleted, ModelTest, ModelView, PresetView, from_row

OPTION_KEYS = ("temperature", "max_tokens", "top_p", "extra_body", "stream")
ADAPTER_KEY = "adapter"  # `local` only: the LoRA adapter folder, kept in the config's options (not a call option)
PING_MAX_TOKENS = 16
MODEL_TYPES = ("text", "vision")


def _view(mc: ModelConfig) -> ModelView:
    return from_row(ModelView, mc, api_key=mask(mc.api_key_ref), options=dict(mc.options or {}))


def _offline(provider: str) -> bool:
    """Does this preset name an offline strategy (no model config, no endpoint)?"""
    from loreforge.generate.strategies import STRATEGIES
    from loreforge.providers import get_preset

    return get_preset(provider).kind in STRATEGIES


def generation(secrets: SecretBox, session: Session, row: Project, model: str | None = None, provider: str | None = None,
               overrides: dict[str, Any] | None = None) -> Generation:
    """What a stage run uses. `provider` names an offline strategy (`extractive`); `model` names a config;
    otherwise the active config — or, when the project has none, the offline strategy."""
    from loreforge.providers import ProviderConfig

    settings = lookups.settings(row, overrides)
    if provider is not None and not _offline(provider):
        raise UserError(f"--provider only names a strategy that needs no model config (extractive), got '{provider}'",
                        hint="Add other providers with `loreforge models add` and pick one with --model")
    if provider is not None or (model is None and not _has_active(session, row)):
        return Generation(row.id, ProviderConfig(provider=provider or "extractive"), settings)
    mc = lookups.model_config(session, row, model)
    opts = dict(mc.options or {}, timeout_s=settings.llm.timeout_s)
    adapter = opts.pop(ADAPTER_KEY, None)
    config = ProviderConfig(
        provider=mc.provider, model=mc.model, base_url=mc.base_url, api_key=secrets.resolve(session, mc.api_key_ref, mc.provider),
        adapter=adapter, options=CallDefaults(**opts), http=HttpSettings(max_connections=max(settings.llm.concurrency, 1)),
    )
    return Generation(row.id, config, settings)


def _has_active(session: Session, row: Project) -> bool:
    return session.scalar(select(ModelConfig.id).where(ModelConfig.project_id == row.id, ModelConfig.active.is_(True),
                                                       ModelConfig.type == "text")) is not None


def vision_generation(secrets: SecretBox, session: Session, row: Project, model: str | None = None,
                      overrides: dict[str, Any] | None = None) -> Generation:
    """What a vision stage uses: the config named `model`, or the project's active vision config (`models add
    --type vision`) — an OpenAI-compatible endpoint, since images travel as content parts."""
    from loreforge.providers import get_preset

    mc = lookups.model_config(session, row, model, type="vision")
    if get_preset(mc.provider).kind != "openai":
        raise UserError(f"Model config '{mc.name}' cannot take images: its provider '{mc.provider}' is not OpenAI-compatible",
                        hint="Add a vision model on an OpenAI-compatible endpoint: `loreforge models add PROJECT --type vision "
                             "--provider custom --base-url URL --model NAME` (vLLM, SGLang, DashScope, OpenAI, ...)")
    return generation(secrets, session, row, mc.name, None, overrides)


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    options = {k: v for k, v in options.items() if v is not None}
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise UserError("Unknown model option", expected=", ".join(OPTION_KEYS), got=", ".join(sorted(unknown)))
    try:
        CallDefaults(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserError(f"Invalid model option '{err['loc'][0]}'", got=repr(err.get("input")), hint=err["msg"]) from None
    return options


def _activate(session: Session, row: Project, mc: ModelConfig) -> None:
    """Make `mc` the active config of its type (text stages use the active text one, vision stages the vision one)."""
    session.execute(update(ModelConfig).where(ModelConfig.project_id == row.id, ModelConfig.type == mc.type).values(active=False))
    mc.active = True


class ModelConfigActions(ServiceBase):
    def list_presets(self) -> list[PresetView]:
        from loreforge.providers import PRESETS

        return [PresetView(**vars(p)) for p in PRESETS.values()]

    def add_model(
        self, project: str | int, provider: str, model: str = "", name: str | None = None, base_url: str | None = None,
        api_key: str | None = None, api_key_env: str | None = None, options: dict[str, Any] | None = None, activate: bool = True,
        allowed_key_envs: Sequence[str] | None = None, adapter: str | int | None = None, type: str = "text",
    ) -> ModelView:
        """Add a model config. `api_key` is a literal key (stored encrypted); `api_key_env` names an
        environment variable. Without either, the preset's variable (e.g. DEEPSEEK_API_KEY) is referenced.
        `allowed_key_envs`: patterns `api_key_env` must match (the REST API passes the server's setting).
        `adapter` (`local` only): a LoRA adapter folder or a train run id, loaded on top of `model` (a folder,
        hub id or GGUF file); stored as the folder's absolute path in the config's options. `type` "vision": a model
        that reads images (image QA, PDF pages by vision), active among the vision configs."""
        from loreforge.providers import get_preset

        if type not in MODEL_TYPES:
            raise UserError("Unknown model config type", expected=", ".join(MODEL_TYPES), got=repr(type))
        preset = get_preset(provider)
        env_name = api_key_env.removeprefix("env:") if api_key_env else None
        if env_name and allowed_key_envs is not None:
            check_key_env(env_name, allowed_key_envs)
        opts = _check_options(options or {})
        if adapter is not None and str(adapter) != "":
            opts[ADAPTER_KEY] = self._adapter_folder(preset.kind, adapter)
        if not _offline(provider) and not model:
            raise UserError(f"Provider '{provider}' needs a model name", hint="Pass --model, e.g. --model deepseek-chat")
        if provider == "custom" and not base_url:
            raise UserError("Provider 'custom' needs a base URL", hint="Pass --base-url http://HOST:PORT/v1")
        name = name or (f"{provider}-{model}" if model else provider)
        with self.db.session() as session:
            row = lookups.project(session, project)
            if session.scalar(select(ModelConfig).where(ModelConfig.project_id == row.id, ModelConfig.name == name)):
                raise Conflict(f"Project '{row.name}' already has a model config named '{name}'", hint="Pass --name")
            ref = None
            if api_key:
                ref = self.secrets.put(session, f"project{row.id}:{name}", api_key)
            elif env_name:
                ref = f"env:{env_name}"
            elif preset.key_env:
                ref = f"env:{preset.key_env}"
            mc = ModelConfig(project_id=row.id, name=name, provider=provider, model=model, base_url=base_url, api_key_ref=ref, options=opts,
                             type=type)
            session.add(mc)
            session.flush()
            if activate:
                _activate(session, row, mc)
            return _view(mc)

    def _adapter_folder(self, kind: str, adapter: str | int) -> str:
        """The adapter folder `--adapter` names: a train run id (its output folder, as for export-model) or a
        folder holding a peft adapter."""
        from pathlib import Path

        from loreforge.train.adapter import ADAPTER_CONFIG

        if kind != "local":
            raise UserError("--adapter is for the local provider only", got=f"a {kind} provider",
                            hint="Serve the adapter with its endpoint (e.g. vLLM --lora-modules) and name it with --model")
        text = str(adapter)
        run = text.isascii() and text.isdigit()
        folder = Path(self.app.get_run(int(text)).output_dir or "") if run else Path(text).expanduser()
        folder = folder.resolve()
        where = f"train run {text}'s output {folder}" if run else str(folder)
        if not (folder / ADAPTER_CONFIG).is_file():
            full = (folder / "config.json").is_file()
            raise UserError(f"No LoRA adapter in {where}", expected=f"a folder with {ADAPTER_CONFIG} (a LoRA run's output)",
                            got="a full model folder" if full else "no adapter files",
                            hint="Pass a full fine-tuned model as --model instead" if full
                            else "Give a LoRA run id (`loreforge runs list`) or an adapter folder")
        return str(folder)

    def list_models(self, project: str | int) -> list[ModelView]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return [_view(m) for m in session.scalars(select(ModelConfig).where(ModelConfig.project_id == row.id).order_by(ModelConfig.id))]

    def use_model(self, project: str | int, name: str) -> ModelView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            mc = lookups.model_config(session, row, name)
            _activate(session, row, mc)
            return _view(mc)

    def remove_model(self, project: str | int, name: str) -> Deleted:
        with self.db.session() as session:
            row = lookups.project(session, project)
            mc = lookups.model_config(session, row, name)
            ref = mc.api_key_ref
            session.delete(mc)
            drop_unused(session, ref)  # a stored key no other config uses goes with its config
        return Deleted(deleted=1)

    def _named(self, project: str | int, name: str | None) -> tuple[str, Generation]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            mc = lookups.model_config(session, row, name)
            return mc.name, generation(self.secrets, session, row, model=mc.name)

    async def atest_model(self, project: str | int, name: str | None = None) -> ModelTest:
        """Send one tiny request through the runner (one attempt, not logged); report latency, the reply, or the error."""
        from loreforge.generate.strategies import StageContext

        label, gen = self._named(project, name)
        options = gen.config.options.model_copy(update={"max_tokens": PING_MAX_TOKENS, "stream": False}).options()
        ctx = StageContext("test", gen.project_id, None, gen.settings, {}, options)
        started = time.perf_counter()
        try:
            reply = await with_strategy(self.db, gen, lambda s: s.ping(ctx), log=False,
                                        runner_settings=gen.settings.llm.model_copy(update={"max_attempts": 1}))
        except LoreForgeError as exc:
            error = redact(str(exc), gen.config.key())  # also the pieces of the key a provider may echo
            return ModelTest(name=label, ok=False, latency_ms=(time.perf_counter() - started) * 1000, error=error)
        return ModelTest(name=label, ok=True, latency_ms=(time.perf_counter() - started) * 1000, reply=reply.strip()[:200])

    def test_model(self, project: str | int, name: str | None = None) -> ModelTest:
        return run_sync(self.atest_model(project, name))

    async def alist_remote_models(self, project: str | int, name: str | None = None) -> list[str]:
        """The models the config's endpoint offers (GET /models, or Ollama's /api/tags)."""
        from loreforge.providers import make_provider

        _label, gen = self._named(project, name)
        provider = make_provider(gen.config)
        try:
            return await provider.list_models()
        finally:
            await provider.aclose()

    def list_remote_models(self, project: str | int, name: str | None = None) -> list[str]:
        return run_sync(self.alist_remote_models(project, name))

