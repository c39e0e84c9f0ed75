"""Docs stay true: every CLI command, setting key and API route is documented."""

from __future__ import annotations

from pathlib import Path

import click

from loreforge.cli import cli
from loreforge.settings import setting_keys

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: str = "loreforge") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        out.extend(_commands(cmd, path) if isinstance(cmd, click.Group) else [path])
    return out


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [c for c in _commands(cli) if f"`{c}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_settings_doc_is_generated_from_the_model() -> None:
    from loreforge.settings.doc import settings_markdown

    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert doc == settings_markdown(), "regenerate: python -m loreforge.settings.doc > docs/settings.md"
    for key in setting_keys():
        assert f"`{key}`" in doc, key


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    import os

    os.environ.setdefault("LOREFORGE_HOME", str(tmp_path))
    from loreforge.service import Service
    from loreforge.settings import AppConfig
    from loreforge.web import create_app

    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    app = create_app(Service(AppConfig.from_env(tmp_path)))
    for path, methods in app.openapi()["paths"].items():
        for method in methods:
            assert f"`{method.upper()} {path}`" in doc, f"{method.upper()} {path}"


def test_every_train_key_is_documented() -> None:
    from loreforge.train.config import TrainConfig

    doc = (ROOT / "docs" / "train.md").read_text(encoding="utf-8")
    missing = [k for k in TrainConfig.model_fields if f"`{k}`" not in doc]
    assert not missing, f"keys missing from docs/train.md: {missing}"
