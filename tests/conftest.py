"""Shared fixtures: a Service on a temporary LOREFORGE_HOME, and paths to the shared corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loreforge.service import Service
from loreforge.settings import AppConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOREFORGE_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
FINANCIAL = CORPUS / "financial-2024q2"
FORMATS = CORPUS / "formats"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "home"
    monkeypatch.setenv("LOREFORGE_HOME", str(root))
    monkeypatch.delenv("LOREFORGE_DATABASE_URL", raising=False)
    return root


@pytest.fixture()
def svc(home: Path) -> Iterator[Service]:
    service = Service(AppConfig.from_env(home))
    yield service
    service.close()


@pytest.fixture()
def project(svc: Service) -> str:
    svc.create_project("p1")
    return "p1"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
