"""The generation CLI: model configs (keys never from argv), prompts, tags, questions, answers, jobs, usage."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fake_llm import FakeLLM
from qa_responder import respond

from conftest import examples
from loreforge.cli import cli

KEY = "sk-cli-SECRET-999"


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_models_keys_and_generation(home: Path, tmp_path: Path) -> None:
    with FakeLLM(responder=respond, api_key=KEY) as fake:
        run("project", "create", "p")
        assert run("ingest", "p", str(examples()[1]))[0] == 0
        code, out = run("models", "add", "p", "--provider", "custom", "--model", "m", "--base-url", fake.base_url, "--api-key", KEY)
        assert code == 1 and "never read from the command line" in out and KEY not in out
        code, out = run("models", "add", "p", "--provider", "custom", "--model", "fake-model", "--name", "fake",
                        "--base-url", fake.base_url, "--api-key", "-", "--temperature", "0.3", input=KEY + "\n")
        assert code == 0 and "active" in out and KEY not in out
        code, out = run("models", "list", "p", "--json")
        assert KEY not in out and json.loads(out)[0]["options"] == {"temperature": 0.3}
        assert "OK fake" in run("models", "test", "p")[1]
        assert run("models", "list-remote", "p")[1].split() == ["fake-model", "fake-small"]
        code, out = run("models", "add", "p", "--provider", "deepseek", "--model", "deepseek-chat", "--no-activate")
        assert code == 0 and "env:DEEPSEEK_API_KEY" in out
        assert "deepseek-deepseek-chat" in run("models", "use", "p", "deepseek-deepseek-chat")[1]
        code, out = run("questions", "generate", "p")
        assert code == 1 and "DEEPSEEK_API_KEY" in out  # no key in the environment: a clear error
        run("models", "use", "p", "fake")
        assert "财务" in run("tags", "build", "p")[1]
        code, out = run("questions", "generate", "p")
        assert code == 0 and "completed" in out
        assert "questions" in run("questions", "list", "p")[1]
        code, out = run("answers", "generate", "p", "--mode", "batched")
        assert code == 0 and "completed" in out
        assert "items" in run("dataset", "list", "p")[1]
        code, out = run("jobs", "list", "--json")
        jobs = json.loads(out)
        assert [j["kind"] for j in jobs] == ["answers", "questions"]
        assert "completed" in run("jobs", "show", str(jobs[0]["id"]))[1]
        assert "nothing to retry" in run("jobs", "retry", str(jobs[0]["id"]))[1]
        assert "tokens per pair" in run("usage", "p")[1]
        assert "Removed" in run("models", "remove", "p", "deepseek-deepseek-chat")[1]


def test_offline_generation_and_prompts(home: Path, tmp_path: Path) -> None:
    run("project", "create", "p")
    run("ingest", "p", str(examples()[1]))
    code, out = run("questions", "generate", "p", "--provider", "extractive")
    assert code == 0 and "completed" in out
    assert run("answers", "generate", "p", "--provider", "extractive")[0] == 0
    first = json.loads(run("questions", "list", "p", "--json")[1])["items"][0]
    assert run("questions", "edit", "p", str(first["id"]), "--text", "星河精密上半年营收多少？")[0] == 0
    chunk = json.loads(run("chunks", "list", "p", "--json")[1])["items"][0]["id"]
    assert "Added question" in run("questions", "add", "p", str(chunk), "手工问题？")[1]
    assert "Deleted 1" in run("questions", "delete", "p", str(first["id"]))[1]
    assert "answers_batched" in run("prompts", "list", "p")[1]
    assert "{{chunk}}" in run("prompts", "show", "p", "questions")[1]
    bad = tmp_path / "bad.md"
    bad.write_text("no variables", encoding="utf-8")
    code, out = run("prompts", "set", "p", "questions", "--file", str(bad))
    assert code == 1 and "{{chunk}}" in out
    good = tmp_path / "good.md"
    good.write_text("{{chunk}}\n提出 {{n}} 个问题，标签：{{tags}}", encoding="utf-8")
    assert "overridden" in run("prompts", "set", "p", "questions", "--file", str(good))[1]
    assert "back to the default" in run("prompts", "reset", "p", "questions")[1]
    assert run("tags", "add", "p", "新标签")[0] == 0
    assert "Renamed" in run("tags", "rename", "p", "新标签", "改名标签")[1]
    assert "改名标签" in run("tags", "show", "p")[1]
    assert "Deleted 1" in run("tags", "delete", "p", "改名标签")[1]
    assert "presets" not in run("models", "presets")[1] and "deepseek" in run("models", "presets")[1]
