"""`loreforge env` and `loreforge tiny-model` through the CLI and the API."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from loreforge.cli import cli
from loreforge.service import Service
from loreforge.web import create_app


def test_env_and_tiny_model_cli(home: Path, tmp_path: Path) -> None:
    text = CliRunner().invoke(cli, ["env"]).output
    assert "Accelerator: cpu" in text and "Recommended dtype: fp32" in text
    report = json.loads(CliRunner().invoke(cli, ["env", "--json"]).output)
    assert report["accelerator"] == "cpu" and report["recommended_dtype"] == "fp32"
    out = CliRunner().invoke(cli, ["tiny-model", str(tmp_path / "tiny"), "--json"])
    info = json.loads(out.output[out.output.index("{"):])
    assert info["parameters"] > 0 and (tmp_path / "tiny" / "model.safetensors").exists()
    again = CliRunner().invoke(cli, ["tiny-model", str(tmp_path / "tiny")])
    assert again.exit_code == 1 and "overwrite" in again.output.lower()


def test_env_and_tiny_model_api(svc: Service, tmp_path: Path) -> None:
    with TestClient(create_app(svc)) as client:
        env = client.get("/api/env").json()
        assert env["report"]["accelerator"] == "cpu" and "Accelerator" in env["text"]
        made = client.post("/api/tiny-model", json={"out": str(tmp_path / "t"), "shape": {"hidden_size": 32}}).json()
        assert made["path"] == str((tmp_path / "t").resolve()) and made["parameters"] > 0
