"""Docs stay true: every CLI command, recipe key, setting, provider, format and API route is documented, and the
generated references (cli.md, recipes.md, settings.md) are exactly what their generators print."""

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


def test_every_cli_command_is_in_the_generated_reference() -> None:
    from loreforge.cli.doc import render

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert doc == render(cli), "regenerate: python -m loreforge.cli.doc > docs/cli.md"
    missing = [c for c in _commands(cli) if f"## `{c}`" not in doc]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_recipe_key_is_documented() -> None:
    from loreforge.pipeline.doc import all_keys, render

    doc = (ROOT / "docs" / "recipes.md").read_text(encoding="utf-8")
    assert doc == render(), "regenerate: python -m loreforge.pipeline.doc > docs/recipes.md"
    assert len(all_keys()) > 40 and all(f"`{k}`" in doc for k in all_keys())
    for stage in ("ingest", "split", "tags", "questions", "answers", "review", "export", "train", "probes", "eval", "report"):
        assert f"| {stage} |" in doc, stage


def test_every_provider_and_format_is_documented() -> None:
    from loreforge.defaults import EXPORT_TARGETS, FILE_TYPES, IMPORT_FORMATS
    from loreforge.ingest import SUPPORTED_EXTENSIONS
    from loreforge.providers.presets import PRESETS

    providers = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert not [p for p in PRESETS if f"| `{p}` |" not in providers]
    formats = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert not [f for f in EXPORT_TARGETS if f"| `{f}` |" not in formats]
    assert not [f for f in FILE_TYPES if f"| `{f}` |" not in formats]
    assert not [f for f in IMPORT_FORMATS if f"| `{f}` |" not in formats]
    assert not [e for e in SUPPORTED_EXTENSIONS if f"`{e}`" not in formats]


def test_the_readme_has_the_two_commands_and_links_every_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up on a new machine", 1)[1].split("```", 2)[1]
    assert [line.split("#")[0].strip() for line in setup.splitlines() if line.strip() and not line.startswith("bash")] == [
        "make demo", "make test"]
    for doc in ("guide", "recipes", "cli", "providers", "formats", "training", "evaluation"):
        assert f"(docs/{doc}.md)" in readme and (ROOT / "docs" / f"{doc}.md").is_file(), doc
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


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

    doc = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    missing = [k for k in TrainConfig.model_fields if f"`{k}`" not in doc]
    assert not missing, f"keys missing from docs/training.md: {missing}"
