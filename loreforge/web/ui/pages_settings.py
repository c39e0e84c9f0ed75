"""Page: settings — model configs (a provider preset fills base URL and key variable; the key is write-only;
temperature, max tokens, top-p, extra body; test connection with its latency; the endpoint's models; the active
one), task settings with their defaults, ranges and help from the settings model, prompt templates (a diff
against the shipped one; required variables checked on save), and the generation language, which is the project's
`language` setting and not the UI's. JSON twins: /api/projects/{p}/models, .../settings, .../prompts."""

from __future__ import annotations

import difflib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.errors import UserError
from loreforge.service.model_configs import MODEL_TYPES
from loreforge.web.deps import server, svc
from loreforge.web.ui.common import done, flag, number, page, raw, text, tr
from loreforge.web.ui.render import html, project_url

router = APIRouter()


@router.get("/p/{project}/settings")
def settings(project: str, request: Request) -> Response:
    s = svc(request)
    rows = s.show_settings(project)
    return page(request, "settings.html", project, nav="settings", twin="/api/projects/{id}/settings", settings=rows,
                language=next(r for r in rows if r.key == "language"), models=s.list_models(project), presets=s.list_presets(),
                prompts=s.list_prompts(project), model_types=MODEL_TYPES)


def _options(form: Any) -> dict[str, Any]:
    extra = text(form, "extra_body")
    try:
        body = json.loads(extra) if extra else None
    except ValueError as exc:
        raise UserError("extra body is not valid JSON", expected='an object, e.g. {"enable_thinking": false}', got=str(exc)) from None
    return {"temperature": number(form, "temperature", float), "max_tokens": number(form, "max_tokens"),
            "top_p": number(form, "top_p", float), "extra_body": body, "stream": True if flag(form, "stream") else None}


@router.post("/p/{project}/models")
async def add_model(project: str, request: Request) -> Response:
    form = await request.form()
    allowed = server(request)
    key = text(form, "api_key")  # a key typed in wins over the variable the preset filled in
    view = svc(request).add_model(project, raw(form, "provider"), raw(form, "model").strip(), name=text(form, "name"),
                                  base_url=text(form, "base_url"), api_key=key, api_key_env=None if key else text(form, "api_key_env"),
                                  options=_options(form), activate=flag(form, "activate"),
                                  allowed_key_envs=allowed.allowed_key_envs if allowed is not None else None, type=text(form, "type") or "text")
    return done(request, tr(request)("models.added", name=view.name), project_url(project, "settings"))


@router.post("/p/{project}/models/{name}/use")
def use_model(project: str, name: str, request: Request) -> Response:
    svc(request).use_model(project, name)
    return done(request, tr(request)("models.now_active", name=name), project_url(project, "settings"))


@router.post("/p/{project}/models/{name}/remove")
def remove_model(project: str, name: str, request: Request) -> Response:
    svc(request).remove_model(project, name)
    return done(request, tr(request)("models.removed", name=name), project_url(project, "settings"))


@router.post("/p/{project}/models/{name}/test")
def test_model(project: str, name: str, request: Request) -> Response:
    result = svc(request).test_model(project, name)
    return html(request, "_model_test.html", result=result)


@router.get("/p/{project}/models/{name}/remote")
def remote_models(project: str, name: str, request: Request) -> Response:
    return html(request, "_remote_models.html", names=svc(request).list_remote_models(project, name))


@router.post("/p/{project}/settings/{key}")
async def set_setting(project: str, key: str, request: Request) -> Response:
    form = await request.form()
    view = svc(request).set_setting(project, key, raw(form, "value"))
    return done(request, tr(request)("settings.saved", key=view.key, value=view.value), project_url(project, "settings"))


@router.post("/p/{project}/settings/{key}/reset")
def reset_setting(project: str, key: str, request: Request) -> Response:
    view = svc(request).reset_setting(project, key)
    return done(request, tr(request)("settings.reset_done", key=view.key, value=view.value), project_url(project, "settings"))


@router.get("/p/{project}/prompts/{name}")
def prompt(project: str, name: str, request: Request, language: str | None = None) -> Response:
    view = svc(request).show_prompt(project, name, language)
    diff = list(difflib.unified_diff((view.shipped_text or "").splitlines(), view.text.splitlines(), "shipped", "project", lineterm="")) \
        if view.shipped_text is not None else []
    return page(request, "prompt.html", project, nav="settings", twin=f"/api/projects/{{id}}/prompts/{name}?language={view.language}",
                prompt=view, diff=diff)


@router.post("/p/{project}/prompts/{name}")
async def set_prompt(project: str, name: str, request: Request) -> Response:
    form = await request.form()
    view = svc(request).set_prompt(project, name, raw(form, "text"), text(form, "language"))
    return done(request, tr(request)("prompts.saved", name=view.name, hash=view.hash[:12]),
                project_url(project, "prompts", name) + f"?language={view.language}")


@router.post("/p/{project}/prompts/{name}/reset")
async def reset_prompt(project: str, name: str, request: Request) -> Response:
    form = await request.form()
    view = svc(request).reset_prompt(project, name, text(form, "language"))
    return done(request, tr(request)("prompts.reset_done", name=view.name), project_url(project, "prompts", name) + f"?language={view.language}")
