"""Setting a project up as a recipe says, at the start of each execution of a pipeline run (for `pipeline_exec`):
the project settings it names (others keep the project's values), and its model configs — `generation` and each
one under `models` — added, or replaced when the recipe changed them. API keys are referenced by environment
variable, never stored from a recipe."""

from __future__ import annotations

from typing import Any

from loreforge.pipeline.recipe import GENERATION, ModelSpec
from loreforge.service.pipeline_context import RunContext


def apply_recipe(ctx: RunContext) -> None:
    app = ctx.app
    current = {s.key: s.value for s in app.show_settings(ctx.project)}
    for key, value in ctx.resolved.settings.items():
        if current.get(key) != value:
            app.set_setting(ctx.project, key, value)
    specs: dict[str, ModelSpec] = {GENERATION: ctx.recipe.generation, **ctx.recipe.models}
    existing = {m.name: m for m in app.list_models(ctx.project)}
    for name, spec in specs.items():
        have = existing.get(name)
        if have is not None and _same(have, spec):
            continue
        if have is not None:
            app.remove_model(ctx.project, name)
        app.add_model(ctx.project, spec.provider, model=spec.model, name=name, base_url=spec.base_url,
                      api_key_env=spec.api_key_env, options=dict(spec.options), activate=name == GENERATION)
    if GENERATION in existing and not existing[GENERATION].active:
        app.use_model(ctx.project, GENERATION)


def _same(view: Any, spec: ModelSpec) -> bool:
    same = (view.provider, view.model, view.base_url or None, dict(view.options or {})) == (
        spec.provider, spec.model, spec.base_url or None, dict(spec.options))
    return same and (spec.api_key_env is None or view.api_key == f"env:{spec.api_key_env}")
