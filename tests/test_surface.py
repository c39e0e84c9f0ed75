"""The shells stay thin and complete: every service action is reachable from both the CLI and the REST API,
and every public Service method is a listed action. Importing the core, CLI or web app never imports torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from loreforge.service import ACTIONS, Service

PKG = Path(__file__).resolve().parent.parent / "loreforge"


def _called_attributes(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def test_every_public_service_method_is_an_action() -> None:
    public = {n for n in dir(Service) if not n.startswith("_") and callable(getattr(Service, n))}
    public -= {"close", "db"}
    assert public == set(ACTIONS), f"unlisted: {public - set(ACTIONS)}; listed but missing: {set(ACTIONS) - public}"


def test_every_action_in_cli_and_api() -> None:
    cli_calls = _called_attributes(PKG / "cli")
    web_calls = _called_attributes(PKG / "web")
    missing_cli = [a for a in ACTIONS if a not in cli_calls]
    missing_web = [a for a in ACTIONS if a not in web_calls]
    assert not missing_cli, f"actions without a CLI command: {missing_cli}"
    assert not missing_web, f"actions without an API route: {missing_web}"


def test_no_heavy_imports() -> None:
    code = (
        "import sys, loreforge, loreforge.cli, loreforge.service, loreforge.web, loreforge.chunk, loreforge.ingest;"
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
