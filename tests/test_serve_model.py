"""`loreforge serve-model` in a real uvicorn server on a free port: LoreForge's own OpenAI-compatible provider
(`custom`) gets whole and streamed completions from the base and from an adapter by name, and they are the
engine's greedy answers; /v1/models lists both; an unknown model is OpenAI's 404; concurrent requests share a
batch; question generation through the service reaches the served tuned model and is logged; off loopback
the command prints a token that every request needs."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from click.testing import CliRunner  # noqa: E402
from inference_models import conversations, random_adapter, sharp_tiny_model  # noqa: E402
from live_server import real_server  # noqa: E402

from loreforge.errors import ProviderError  # noqa: E402
from loreforge.inference.engine import generate  # noqa: E402
from loreforge.inference.openai_app import create_openai_app  # noqa: E402
from loreforge.inference.served import ModelPool, load_pool  # noqa: E402
from loreforge.providers import CallDefaults, ProviderConfig, make_provider  # noqa: E402
from loreforge.service import Service  # noqa: E402
from loreforge.settings.engine import RunnerSettings  # noqa: E402
from loreforge.settings.server import ServerSettings  # noqa: E402

MAX_NEW = 10


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("served")
    model = sharp_tiny_model(root / "model")
    return {"model": model, "adapter": random_adapter(model, root / "adapter")}


@pytest.fixture(scope="module")
def served(models: dict[str, Path]) -> Iterator[SimpleNamespace]:
    pool = load_pool(str(models["model"]), [("tuned", models["adapter"])], base_name="base", device="cpu",
                     dtype="auto", batch_size=16, wait_s=0.2)
    app = create_openai_app(pool, ServerSettings(), max_new_tokens=MAX_NEW, temperature=0.0)
    with real_server(app) as port:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/v1", pool=pool)
    pool.close()


def _provider(url: str, model: str, *, stream: bool = False, key: str | None = None) -> Any:
    options = CallDefaults(temperature=0, max_tokens=MAX_NEW, stream=stream)
    return make_provider(ProviderConfig(provider="custom", model=model, base_url=url, api_key=key, options=options))


def _complete(url: str, model: str, messages: list[dict[str, str]], *, stream: bool = False, key: str | None = None) -> Any:
    provider = _provider(url, model, stream=stream, key=key)
    options = CallDefaults(temperature=0, max_tokens=MAX_NEW, stream=stream).options()

    async def go() -> Any:
        try:
            return await provider.complete(messages, options)
        finally:
            await provider.aclose()
    return asyncio.run(go())


@pytest.mark.parametrize("name", ["base", "tuned"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_our_provider_gets_the_engines_answer(served: SimpleNamespace, name: str, stream: bool) -> None:
    conv = conversations()[2]
    expected = generate(served.pool.models[name].loaded, [conv], max_new_tokens=MAX_NEW)[0]
    reply = _complete(served.url, name, conv, stream=stream)
    assert reply.text == expected.text and reply.finish_reason == expected.finish_reason == "length"
    assert reply.model == name and reply.usage.counted is False
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (expected.prompt_tokens, MAX_NEW)


def test_base_and_tuned_answer_differently(served: SimpleNamespace) -> None:
    conv = conversations()[0]
    assert _complete(served.url, "base", conv).text != _complete(served.url, "tuned", conv).text


def test_models_are_listed_and_unknown_names_are_404(served: SimpleNamespace) -> None:
    listed = httpx.get(f"{served.url}/models").json()
    assert [(m["id"], m["parent"]) for m in listed["data"]] == [("base", None), ("tuned", "base")]
    assert httpx.get(f"{served.url}/models/tuned").json()["id"] == "tuned"

    async def names() -> list[str]:
        provider = _provider(served.url, "base")
        try:
            return list(await provider.list_models())
        finally:
            await provider.aclose()
    assert asyncio.run(names()) == ["base", "tuned"]
    missing = httpx.post(f"{served.url}/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "hi"}]})
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model" and "`nope` does not exist" in error["message"]
    with pytest.raises(ProviderError, match="404"):
        _complete(served.url, "nope", conversations()[0])


@pytest.mark.parametrize("body, param", [
    ({"model": "base", "messages": []}, "messages"),
    ({"model": "base", "messages": [{"role": "user", "content": "hi"}], "temperature": 5}, "temperature"),
    ({"model": "base", "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ({"model": "base", "messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
])
def test_bad_requests_are_400_in_openais_shape(served: SimpleNamespace, body: dict[str, Any], param: str) -> None:
    response = httpx.post(f"{served.url}/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error" and response.json()["error"]["param"] == param


def test_stop_strings_and_content_parts(served: SimpleNamespace) -> None:
    conv = conversations()[2]
    whole = generate(served.pool.models["base"].loaded, [conv], max_new_tokens=MAX_NEW)[0].text
    stop = whole[len(whole) // 2:][:2]
    body = {"model": "base", "max_tokens": MAX_NEW, "stop": stop,
            "messages": [{"role": "user", "content": [{"type": "text", "text": conv[0]["content"]}]}]}
    reply = httpx.post(f"{served.url}/chat/completions", json=body).json()
    assert reply["choices"][0]["message"]["content"] == whole[: whole.find(stop)]
    assert reply["choices"][0]["finish_reason"] == "stop"


def test_concurrent_requests_share_a_batch(served: SimpleNamespace) -> None:
    batcher = served.pool.models["tuned"].batcher
    before = batcher.batches
    convs = conversations(6)
    provider = _provider(served.url, "tuned")
    options = CallDefaults(temperature=0, max_tokens=MAX_NEW).options()

    async def go() -> list[Any]:
        try:
            return list(await asyncio.gather(*(provider.complete(c, options) for c in convs)))
        finally:
            await provider.aclose()
    replies = asyncio.run(go())
    expected = generate(served.pool.models["tuned"].loaded, convs, max_new_tokens=MAX_NEW)
    assert [r.text for r in replies] == [e.text for e in expected]
    assert batcher.batches - before < len(convs) and batcher.largest_batch >= 2


def test_questions_generated_through_the_service_reach_the_tuned_model(svc: Service, project: str,
                                                                      served: SimpleNamespace, tmp_path: Path) -> None:
    from sqlalchemy import select

    from loreforge.store.models import LLMCall

    doc = tmp_path / "facts.md"
    doc.write_text("# Fennick Logistics\n\nFennick Logistics runs 14 depots and employs 380 people.\n", encoding="utf-8")
    svc.ingest(project, [doc])
    for key, value in (("llm.max_attempts", 1), ("llm.cut_retries", 0), ("llm.reask_on_parse_error", False)):
        assert key.split(".")[1] in RunnerSettings.model_fields
        svc.set_setting(project, key, value)
    svc.add_model(project, "custom", "tuned", name="served-tuned", base_url=served.url,
                  options={"temperature": 0, "max_tokens": 8})
    batches = served.pool.models["tuned"].batcher.batches
    job = svc.generate_questions(project, model="served-tuned")  # a tiny model's reply is no JSON: items fail
    assert job.status in ("completed", "completed_with_failures", "failed")
    assert served.pool.models["tuned"].batcher.batches > batches
    with svc.db.session() as session:
        calls = list(session.scalars(select(LLMCall).where(LLMCall.stage == "questions")))
    assert calls and {(c.provider, c.model) for c in calls} == {("custom", "tuned")}
    assert all(c.tokens_in > 0 and c.tokens_out == 8 for c in calls)  # the usage our server reported


def test_beyond_loopback_every_request_needs_the_printed_token(models: dict[str, Path], home: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from loreforge.cli import cli

    monkeypatch.delenv("LOREFORGE_TOKEN", raising=False)
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = CliRunner().invoke(cli, ["serve-model", "--model", str(models["model"]), "--name", "base",
                                      "--adapter", f"tuned={models['adapter']}", "--host", "0.0.0.0", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert "reachable from other machines" in result.output and started["host"] == "0.0.0.0"
    assert "models: base, tuned" in result.output
    token = re.search(r"Access token \(generated[^)]*\): (\S+)", result.output).group(1)  # type: ignore[union-attr]
    with real_server(started["app"]) as served_port:
        url = f"http://127.0.0.1:{served_port}/v1"
        assert httpx.get(f"{url}/models").status_code == 401
        assert httpx.get(f"{url}/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        with pytest.raises(ProviderError, match="401"):
            _complete(url, "tuned", conversations()[0])
        reply = _complete(url, "tuned", conversations()[0], key=token)
        assert reply.model == "tuned" and 0 < reply.usage.completion_tokens <= MAX_NEW


def test_loopback_needs_no_token_and_a_busy_port_is_refused(models: dict[str, Path], home: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from loreforge.cli import cli

    monkeypatch.delenv("LOREFORGE_TOKEN", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve-model", "--model", str(models["model"]), "--port", str(port)])
    assert result.exit_code == 1 and f"port {port} is in use" in result.output
    bad = CliRunner().invoke(cli, ["serve-model", "--model", str(models["model"]), "--adapter", "tuned"])
    assert bad.exit_code == 1 and "NAME=RUN|DIR" in bad.output
    same = CliRunner().invoke(cli, ["serve-model", "--model", str(models["model"]), "--name", "m",
                                    "--adapter", f"m={models['adapter']}", "--port", "0"])
    assert same.exit_code == 1 and "same name" in same.output


def test_pool_names_must_differ(models: dict[str, Path]) -> None:
    from loreforge.errors import UserError

    with pytest.raises(UserError, match="same name"):
        ModelPool([("a", None, None), ("a", None, None)], batch_size=1, wait_s=0)  # type: ignore[list-item]
