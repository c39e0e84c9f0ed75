"""Request helpers shared by the route modules: the service, and what a served API lets a client make the
server do (`ServerSettings` on `app.state.server`; None for an app made in-process, e.g. in tests, which trusts
its caller as the Python API does)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request

from loreforge.errors import Forbidden
from loreforge.paths import confined
from loreforge.service import Service
from loreforge.settings.server import ServerSettings

MODELS_DIR = "models"  # under LOREFORGE_HOME: what tiny-model and export-model write for API clients
RUNS_DIR = "runs"  # under a project's folder, or under LOREFORGE_HOME for runs without a project
EXPORTS_DIR = "exports"  # under a project's folder


def svc(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def server(request: Request) -> ServerSettings | None:
    settings: ServerSettings | None = getattr(request.app.state, "server", None)
    return settings


def write_path(request: Request, value: str, base: Callable[[], Path], what: str) -> str:
    """`value`, a path a client wants written, confined to the folder `base()` (relative paths are taken under
    it) or one the operator allowed (`--allow-path`); unchanged for an in-process app."""
    settings = server(request)
    if settings is None:
        return value
    return str(confined(value, base(), settings.allow_paths, what))


def home_dir(request: Request, *parts: str) -> Path:
    return svc(request).config.home.joinpath(*parts)


def project_dir(request: Request, project: str, *parts: str) -> Path:
    return Path(svc(request).get_project(project).path).joinpath(*parts)


def check_remote_code(request: Request, config: Mapping[str, Any]) -> None:
    """Refuse `trust_remote_code: true` from a client unless the server was started with --allow-remote-code."""
    from pydantic import TypeAdapter, ValidationError

    settings = server(request)
    if settings is None or settings.allow_remote_code or "trust_remote_code" not in config:
        return
    try:
        wanted = TypeAdapter(bool).validate_python(config["trust_remote_code"])
    except ValidationError:
        return  # not a boolean: the training config's own check names it
    if wanted:
        raise Forbidden(
            "This server does not let API clients set trust_remote_code",
            expected="trust_remote_code false or left out",
            got="true",
            hint="It runs Python code shipped with the model: use the CLI (`loreforge train`), or start the server "
            "with `loreforge serve --allow-remote-code`",
        )
