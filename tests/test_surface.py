"""The shells stay thin and complete. Every CLI command and every API route is run against a recording service:
each must reach a service action, with arguments that bind to that action's signature, and together they must
reach every action. The service layer is flat (each group stands on `ServiceBase` alone, no two groups define
one name). Importing the core, the CLI or the web app — the app built, its route modules loaded — never
imports torch."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import click
import click.testing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from loreforge.service import ACTIONS, ASYNC_ACTIONS, GROUPS, Service
from loreforge.service.base import ServiceBase

PLUMBING = {"close", "db", "secrets", "app", "config"}


class Called(Exception):
    """Raised by the recording service at the first action a shell calls."""


class Recorder:
    """Stands in for `Service`: records the action called, checks its arguments against the real signature,
    and stops the shell there."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.calls: list[str] = []
        self.bad: list[str] = []

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        real = getattr(Service, name, None)
        if real is None or name.startswith("_") or name in PLUMBING:
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                inspect.signature(real).bind(self, *args, **kwargs)
            except TypeError as exc:
                self.bad.append(f"{name}: {exc}")
            self.calls.append(name)
            raise Called(name)

        return call


def test_every_public_service_method_is_an_action() -> None:
    public = {n for n in dir(Service) if not n.startswith("_") and callable(getattr(Service, n, None))} - PLUMBING
    listed = set(ACTIONS) | set(ASYNC_ACTIONS)
    assert public == listed, f"unlisted: {public - listed}; listed but missing: {listed - public}"
    for name in ASYNC_ACTIONS:  # each awaitable action has its blocking twin
        assert inspect.iscoroutinefunction(getattr(Service, name)) and name[1:] in ACTIONS, name


def test_the_service_layer_is_flat() -> None:
    assert set(Service.__bases__) == set(GROUPS)
    owner: dict[str, type] = {}
    for group in GROUPS:
        assert group.__bases__ == (ServiceBase,), f"{group.__name__} derives from {group.__bases__}"
        for name in vars(group):
            if name.startswith("__"):
                continue
            assert name not in owner, f"{name} is defined by both {owner[name].__name__} and {group.__name__}"
            owner[name] = group


# -- the CLI ----------------------------------------------------------------------------------------------

def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out += _commands(command, prefix + (name,))
        else:
            out.append((prefix + (name,), command))
    return out


def _value(param: click.Parameter, tmp: Path) -> str:
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
        return "1"
    if isinstance(param.type, click.File):
        return str(tmp / "in.md")
    if isinstance(param.type, click.Path):
        return str(tmp / ("in.md" if param.type.file_okay else "folder"))
    return "1"


def _cli_args(path: tuple[str, ...], command: click.Command, tmp: Path) -> list[str]:
    args = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            args += [_value(param, tmp)] * (1 if param.nargs == 1 else 1)
        elif isinstance(param, click.Option) and param.required:
            args += [param.opts[0], _value(param, tmp)]
    return args


# Invocations beside the plain one of each command, for actions behind a flag (a plain `delete` asks first; a
# plain `documents show` shows the view, --text the Markdown; `train` without a YAML trains a project).
EXTRA_INVOCATIONS = (
    ["project", "delete", "p", "--yes"], ["documents", "delete", "p", "1", "--yes"], ["documents", "show", "p", "1", "--text"],
    ["dataset", "delete", "p", "--all", "--yes"], ["chunks", "edit", "p", "1", "--text", "new"],
    ["train", "--project", "p", "--model", "m"], ["distill", "run", "p", "topic", "--yes"],
    ["train", str(Path(__file__)), "--dry-run"],
)


# Start the server (its routes are checked below); print the version; `chat` and `serve-model` are shells over
# loreforge.inference (a terminal loop, an OpenAI-compatible server; tests/test_chat.py, tests/test_serve_model.py).
NOT_ACTIONS = {("serve",), ("version",), ("chat",), ("serve-model",)}


def test_every_cli_command_reaches_an_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loreforge.cli import base, cli
    from loreforge.settings import AppConfig

    (tmp_path / "in.md").write_text("# x\n", encoding="utf-8")
    recorder = Recorder(AppConfig.from_env(str(tmp_path / "home")))
    monkeypatch.setattr(base, "open_service", lambda home: recorder)
    runner = click.testing.CliRunner()
    silent: list[str] = []
    for path, command in _commands(cli):
        if path in NOT_ACTIONS:
            continue
        before = len(recorder.calls)
        result = runner.invoke(cli, _cli_args(path, command, tmp_path), input="y\n")
        if len(recorder.calls) == before:
            silent.append(f"{' '.join(path)}: {result.output[-300:]}")
    for args in EXTRA_INVOCATIONS:
        runner.invoke(cli, args)
    assert not silent, f"CLI commands that reach no service action: {silent}"
    assert not recorder.bad, recorder.bad
    missing = sorted(set(ACTIONS) - set(recorder.calls))
    assert not missing, f"actions without a CLI command: {missing}"


# -- the REST API -----------------------------------------------------------------------------------------

def _dummy(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args and getattr(annotation, "__origin__", None) is None and len(args) == 1:  # X | None
        return _dummy(args[0])
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return [_dummy(args[0])] if args else []
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _body(annotation)
    return {str: "x", int: 1, float: 0.5, bool: True}.get(annotation, "x")


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _dummy(f.annotation) for name, f in model.model_fields.items() if f.is_required()}


def _api_routes(app: Any) -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route; routers included with a prefix (all under /api) are looked into."""
    out: list[tuple[str, APIRoute]] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out.append((route.path, route))
        prefix = getattr(getattr(route, "include_context", None), "prefix", "/api")  # the web UI's pages: /ui
        for sub in getattr(getattr(route, "original_router", None), "routes", []):
            if isinstance(sub, APIRoute):
                out.append((prefix + sub.path, sub))
    return [(p, r) for p, r in out if p.startswith("/api")]


def _request(client: TestClient, path: str, route: APIRoute) -> None:
    for param in route.dependant.path_params:
        path = path.replace("{" + param.name + "}", "1")
    method = sorted(route.methods)[0]
    kwargs: dict[str, Any] = {}
    if route.body_field is not None:
        if "multipart" in str(getattr(route.body_field.field_info, "media_type", "")):
            kwargs["files"] = [("files", ("a.md", b"# a\n")), ("file", ("a.json", b"[]"))]
        else:
            model = route.body_field.field_info.annotation
            kwargs["json"] = _body(model) if isinstance(model, type) and issubclass(model, BaseModel) else {}
    client.request(method, path, **kwargs)


def test_every_api_route_reaches_an_action(tmp_path: Path) -> None:
    from loreforge.settings import AppConfig
    from loreforge.web.app import create_app

    recorder = Recorder(AppConfig.from_env(str(tmp_path / "home")))
    app = create_app(recorder)  # type: ignore[arg-type]
    silent: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        routes = _api_routes(app)
        assert len(routes) > 50, routes
        for path, route in routes:
            before = len(recorder.calls)
            _request(client, path, route)
            if len(recorder.calls) == before and path != "/api/version":
                silent.append(f"{sorted(route.methods)[0]} {path}")
    assert not silent, f"API routes that reach no service action: {silent}"
    assert not recorder.bad, recorder.bad
    missing = sorted(set(ACTIONS) - set(recorder.calls))
    assert not missing, f"actions without an API route: {missing}"


# -- imports ----------------------------------------------------------------------------------------------

def test_no_heavy_imports(tmp_path: Path) -> None:
    code = (
        "import sys, loreforge, loreforge.cli, loreforge.service, loreforge.web, loreforge.chunk, loreforge.ingest;"
        "from loreforge.service import Service; from loreforge.settings import AppConfig;"
        "from loreforge.web.app import create_app;"
        f"app = create_app(Service(AppConfig.from_env({str(tmp_path)!r})));"
        "from fastapi.testclient import TestClient;"
        "assert TestClient(app).get('/api/projects').status_code == 200;"
        "bad=[m for m in ('torch','transformers','peft','numpy','pandas') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_help_does_not_touch_the_database() -> None:
    code = "import sys; from loreforge.cli import cli; print(*[m in sys.modules for m in ('sqlalchemy', 'fastapi', 'pydantic', 'aiohttp')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False"] * 4, out.stdout + out.stderr


def test_vocabularies_have_one_source() -> None:
    from loreforge.defaults import EXPORT_FORMATS, FILE_TYPES, IMPORT_FORMATS
    from loreforge.export.options import ExportFormat, FileType
    from loreforge.filter_fields import FIELDS
    from loreforge.filters import DatasetFilter
    from loreforge.review.importing import ImportFormat

    assert get_args(ExportFormat) == EXPORT_FORMATS and get_args(FileType) == FILE_TYPES
    assert get_args(ImportFormat) == IMPORT_FORMATS
    assert list(DatasetFilter.model_fields) == [f.name for f in FIELDS]
