"""The CLI reads as one tool: `--model` names a model config in every generation command and `--base-model` a
base model in training; `dataset score` takes `--provider` like the other generation commands; `jobs list` names
projects; numbers are rounded; Python's `None` never reaches the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from click.testing import CliRunner

from loreforge.cli import cli
from loreforge.cli.render import show
from loreforge.service import Service


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_show_prints_values_the_same_way_everywhere() -> None:
    assert show(None) == "-" and show(None, none="") == ""
    assert show(6.414355754852295) == "6.4144" and show(2.0) == "2" and show(-0.00001) == "0" and show(0.5) == "0.5"
    assert show(True) == "yes" and show(False) == "no" and show(3) == "3" and show("x") == "x"


def test_the_offline_project_reads_without_none(home: Path) -> None:
    assert run("demo", "--dataset-only")[0] == 0
    outputs = [run(*args) for args in (
        ["project", "list"], ["project", "show", "demo"], ["documents", "list", "demo"], ["documents", "show", "demo", "1"],
        ["chunks", "list", "demo"], ["questions", "list", "demo"], ["dataset", "list", "demo"],
        ["dataset", "show", "demo", "1"], ["jobs", "list"], ["jobs", "show", "1"], ["models", "list", "demo"],
        ["settings", "show", "demo"], ["usage", "demo"], ["tags", "show", "demo"], ["runs", "list"],
    )]
    for code, out in outputs:
        assert code == 0, out
        assert "None" not in out, out
    jobs = outputs[8][1].splitlines()
    assert jobs[0].split()[:3] == ["id", "project", "kind"] and all(line.split()[1] == "demo" for line in jobs[2:]), jobs
    assert json.loads(run("jobs", "list", "--json")[1])[0]["project"] == "demo"


def test_score_takes_provider_like_the_generation_commands(home: Path) -> None:
    assert run("demo", "--dataset-only")[0] == 0
    code, out = run("dataset", "score", "demo", "--provider", "extractive")
    assert code == 1 and "Scoring needs an LLM" in out and "loreforge models add" in out
    for command in (["questions", "generate"], ["answers", "generate"], ["dataset", "score"]):
        help_text = run(*command, "--help")[1]
        assert "--model CONFIG" in help_text and "--provider [extractive]" in help_text, help_text
    for command in (["train"], ["export-model"]):
        assert "--base-model, --model PATH" in run(*command, "--help")[1]


def test_home_reaches_what_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--home DIR` is the home of everything the command does — the GGUF cache and background workers read
    LOREFORGE_HOME, so the option sets it."""
    monkeypatch.delenv("LOREFORGE_HOME", raising=False)
    from loreforge.train.gguf import default_home

    assert run("--home", str(tmp_path / "h"), "project", "list")[0] == 0
    assert default_home() == (tmp_path / "h").resolve()


def test_models_add_over_rest_takes_the_adapter(svc: Service, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from loreforge.web import create_app

    with TestClient(create_app(svc)) as client:
        assert client.post("/api/projects", json={"name": "p"}).status_code == 201
        body = {"provider": "custom", "model": "m", "base_url": "http://127.0.0.1:9/v1", "adapter": str(tmp_path)}
        r = client.post("/api/projects/p/models", json=body)
        assert r.status_code == 400 and "local provider only" in r.json()["message"]
        r = client.post("/api/projects/p/models", json={**body, "provider": "local", "model": str(tmp_path)})
        assert r.status_code == 400 and "No LoRA adapter" in r.json()["message"]
