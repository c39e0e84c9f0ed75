"""Model configs of a project: add (provider preset, model, base URL, key reference, request options), list,
use (the active one), remove, test with one tiny request, list the endpoint's models. Also turns the active
config (or a `--model` / `--provider` override) into the provider + runner settings the stages use."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loreforge.errors import Conflict, NotFound, UserError
from loreforge.secrets import SecretBox, mask
from loreforge.service.base import ServiceBase
from loreforge.settings import ProjectSettings
from loreforge.settings.engine import CallDefaults, HttpSettings, RunnerSettings
from loreforge.store.models import ModelConfig, Project
from loreforge.views import Deleted, ModelTest, ModelView, PresetView

OPTION_KEYS = ("temperature", "max_tokens", "top_p", "extra_body", "stream")
EXTRACTIVE = "extractive"


def _view(mc: ModelConfig) -> ModelView:
    return ModelView(
        id=mc.id,
        name=mc.name,
        provider=mc.provider,
        model=mc.model,
        base_url=mc.base_url,
        api_key=mask(mc.api_key_ref),
        options=dict(mc.options or {}),
        active=mc.active,
    )


class ModelActions(ServiceBase):
    @property
    def secrets(self) -> SecretBox:
        return SecretBox(self.config.home)

    def list_presets(self) -> list[PresetView]:
        from loreforge.providers import PRESETS

        return [PresetView(**vars(p)) for p in PRESETS.values()]

    def add_model(
        self,
        project: str | int,
        provider: str,
        model: str = "",
        name: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        options: dict[str, Any] | None = None,
        activate: bool = True,
    ) -> ModelView:
        """Add a model config. `api_key` is a literal key (stored encrypted); `api_key_env` names an
        environment variable. Without either, the preset's variable (e.g. DEEPSEEK_API_KEY) is referenced."""
        from loreforge.providers import get_preset

        preset = get_preset(provider)
        opts = self._check_options(options or {})
        if preset.kind != EXTRACTIVE and not model:
            raise UserError(f"Provider '{provider}' needs a model name", hint="Pass --model, e.g. --model deepseek-chat")
        if provider == "custom" and not base_url:
            raise UserError("Provider 'custom' needs a base URL", hint="Pass --base-url http://HOST:PORT/v1")
        name = name or (f"{provider}-{model}" if model else provider)
        with self.db.session() as session:
            row = self._project(session, project)
            if session.scalar(select(ModelConfig).where(ModelConfig.project_id == row.id, ModelConfig.name == name)):
                raise Conflict(f"Project '{row.name}' already has a model config named '{name}'", hint="Pass --name")
            ref = None
            if api_key:
                ref = self.secrets.put(session, f"project{row.id}:{name}", api_key)
            elif api_key_env:
                ref = f"env:{api_key_env.removeprefix('env:')}"
            elif preset.key_env:
                ref = f"env:{preset.key_env}"
            mc = ModelConfig(project_id=row.id, name=name, provider=provider, model=model, base_url=base_url, api_key_ref=ref, options=opts)
            session.add(mc)
            session.flush()
            if activate:
                self._activate(session, row, mc)
            return _view(mc)

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        options = {k: v for k, v in options.items() if v is not None}
        unknown = set(options) - set(OPTION_KEYS)
        if unknown:
            raise UserError("Unknown model option", expected=", ".join(OPTION_KEYS), got=", ".join(sorted(unknown)))
        from pydantic import ValidationError

        try:
            CallDefaults(**options)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise UserError(f"Invalid model option '{err['loc'][0]}'", got=repr(err.get("input")), hint=err["msg"]) from None
        return options

    @staticmethod
    def _activate(session: Session, project: Project, mc: ModelConfig) -> None:
        session.execute(update(ModelConfig).where(ModelConfig.project_id == project.id).values(active=False))
        mc.active = True

    def _model_row(self, session: Session, project: Project, name: str | None) -> ModelConfig:
        query = select(ModelConfig).where(ModelConfig.project_id == project.id)
        mc = session.scalar(query.where(ModelConfig.name == name) if name else query.where(ModelConfig.active.is_(True)))
        if mc is None:
            names = list(session.scalars(select(ModelConfig.name).where(ModelConfig.project_id == project.id)))
            raise NotFound(
                f"No model config {'named ' + repr(name) if name else 'is active'} in project '{project.name}'",
                hint=("Known: " + ", ".join(names)) if names else f"Add one with `loreforge models add {project.name} --provider ...`",
            )
        return mc

    def list_models(self, project: str | int) -> list[ModelView]:
        with self.db.session() as session:
            row = self._project(session, project)
            return [_view(m) for m in session.scalars(select(ModelConfig).where(ModelConfig.project_id == row.id).order_by(ModelConfig.id))]

    def use_model(self, project: str | int, name: str) -> ModelView:
        with self.db.session() as session:
            row = self._project(session, project)
            mc = self._model_row(session, row, name)
            self._activate(session, row, mc)
            return _view(mc)

    def remove_model(self, project: str | int, name: str) -> Deleted:
        with self.db.session() as session:
            row = self._project(session, project)
            mc = self._model_row(session, row, name)
            session.delete(mc)
        return Deleted(deleted=1)

    # -- runtime -------------------------------------------------------------------------------------
    def _provider_config(self, session: Session, project: Project, model: str | None = None, provider: str | None = None) -> Any:
        """The ProviderConfig for a run: `provider='extractive'` forces the offline provider; `model` names a
        config; otherwise the active config, or the extractive provider when none is configured."""
        from loreforge.providers import ProviderConfig

        settings = self._settings(project)
        if provider == EXTRACTIVE or (provider is None and model is None and not self._has_active(session, project)):
            return ProviderConfig(provider=EXTRACTIVE)
        if provider is not None:
            raise UserError("--provider only accepts 'extractive'", hint="Add other providers with `loreforge models add` and pick one with --model")
        mc = self._model_row(session, project, model)
        key = self.secrets.resolve(session, mc.api_key_ref, mc.provider)
        opts = dict(mc.options or {})
        opts["timeout_s"] = settings.llm.timeout_s
        return ProviderConfig(
            provider=mc.provider,
            model=mc.model,
            base_url=mc.base_url,
            api_key=key,
            options=CallDefaults(**opts),
            http=HttpSettings(max_connections=max(settings.llm.concurrency, 1)),
        )

    @staticmethod
    def _has_active(session: Session, project: Project) -> bool:
        q = select(ModelConfig.id).where(ModelConfig.project_id == project.id, ModelConfig.active.is_(True))
        return session.scalar(q) is not None

    @staticmethod
    def _runner_settings(settings: ProjectSettings) -> RunnerSettings:
        llm = settings.llm
        return RunnerSettings(
            concurrency=llm.concurrency,
            requests_per_minute=llm.requests_per_minute,
            tokens_per_minute=llm.tokens_per_minute,
            max_attempts=llm.max_attempts,
        )

    def test_model(self, project: str | int, name: str | None = None) -> ModelTest:
        """Send one tiny request through the runner; report latency, the reply, or the error."""
        from loreforge.errors import LoreForgeError
        from loreforge.generate.runner import CallMeta, Runner
        from loreforge.providers import make_provider

        with self.db.session() as session:
            row = self._project(session, project)
            mc = self._model_row(session, row, name)
            config = self._provider_config(session, row, model=mc.name)
            runner_settings = self._runner_settings(self._settings(row)).model_copy(update={"max_attempts": 1})
        messages = [{"role": "user", "content": "Reply with the single word: pong"}]
        options = config.options.model_copy(update={"max_tokens": 16, "stream": False}).options()

        async def go() -> str:
            provider = make_provider(config)
            try:
                async with Runner(provider, runner_settings) as runner:
                    reply = await runner.call(messages, options=options, meta=CallMeta("test", "ping", "-"))
                    return reply.text
            finally:
                await provider.aclose()

        t0 = time.perf_counter()
        try:
            reply = asyncio.run(go())
        except LoreForgeError as exc:
            return ModelTest(name=mc.name, ok=False, latency_ms=(time.perf_counter() - t0) * 1000, error=str(exc))
        return ModelTest(name=mc.name, ok=True, latency_ms=(time.perf_counter() - t0) * 1000, reply=reply.strip()[:200])

    def list_remote_models(self, project: str | int, name: str | None = None) -> list[str]:
        """The models the config's endpoint offers (GET /models, or Ollama's /api/tags)."""
        from loreforge.providers import make_provider

        with self.db.session() as session:
            row = self._project(session, project)
            mc = self._model_row(session, row, name)
            config = self._provider_config(session, row, model=mc.name)

        async def go() -> list[str]:
            provider = make_provider(config)
            try:
                return await provider.list_models()
            finally:
                await provider.aclose()

        return asyncio.run(go())
