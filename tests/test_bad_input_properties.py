"""Property: whatever text reaches a string field of the REST API or an argument of the main CLI commands —
lone surrogates, NUL, huge strings, RTL and bidi marks, emoji, digits, slashes — the reply is 2xx or the
documented error shape with a 4xx, never a 500; the CLI ends with a message, never a traceback.

One store serves every example (module scope), so each call also meets what earlier examples left behind."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loreforge.cli import cli
from loreforge.service import Service
from loreforge.settings import AppConfig
from loreforge.web.app import create_app

SHAPE = {"error", "message", "expected", "got", "hint"}
NASTY = ["\ud800", "\udfff", "\udcff", "\x00", "\u200f", "\u202e", "\u2066", "🎉", "👩‍👩‍👧", "/", "\\", "%", "?",
         "#", "2", "..", "\n", "\r\n", "\t", "\x7f", "\u0085", "\ufeff", "\uffff", "港", "²", "٢", "'", '"', " "]
HUGE = ["x" * 300_000, "é" * 100_000 + "\ud800", "9" * 5_000, "\U0001f389" * 50_000]
TEXT = st.one_of(
    st.lists(st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(NASTY)),
             max_size=20).map("".join),
    st.sampled_from(NASTY + HUGE),
)
URL_TEXT = 1000  # characters of a text put in a URL; HTTP clients and servers refuse URLs of many kilobytes
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CLI_FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _seg(text: str) -> str:
    """`text` as one URL path segment (cut to what a URL can hold), lone surrogates sent as the bytes a lax
    client would send."""
    return quote(text[:URL_TEXT].encode("utf-8", "surrogatepass"), safe="")


class World:
    """One store with a project, a chunk, a question, a tag and a dataset item to edit."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.service = Service(AppConfig(home=home, database_url=f"sqlite:///{home}/loreforge.db"))
        self.client = TestClient(create_app(self.service), raise_server_exceptions=False)
        self.project = "world"
        self.service.create_project(self.project)
        doc = home / "doc.md"
        doc.write_text("# Harbour\n\nThe harbour opened in 1921. It has four piers.\n", encoding="utf-8")
        self.service.ingest(self.project, [doc])
        self.chunk = self.service.list_chunks(self.project).items[0].id
        self.question = self.service.add_question(self.project, self.chunk, "When did it open?").id
        self.service.add_tag(self.project, "history")
        rows = home / "rows.jsonl"
        rows.write_text(json.dumps({"instruction": "q", "output": "a"}) + "\n", encoding="utf-8")
        self.service.import_dataset(self.project, rows)
        self.item = self.service.list_dataset(self.project).items[0].id

    def send(self, method: str, url: str, body: Any = None, **kw: Any) -> None:
        if body is not None:  # json.dumps writes lone surrogates as \ud800 escapes, as a lax client does
            kw["content"] = json.dumps(body).encode()
            kw["headers"] = {"content-type": "application/json"}
        reply = self.client.request(method, url, **kw)
        assert reply.status_code < 500, (method, url, reply.status_code, reply.text[:500])
        if reply.status_code >= 400:
            assert set(reply.json()) == SHAPE, (method, url, reply.text[:500])

    def cli(self, *args: str, input: str | None = None) -> None:
        result = CliRunner().invoke(cli, ["--home", str(self.home), *args], input=input)
        assert result.exit_code in (0, 1, 2), (args[:2], result.exit_code, result.output[-500:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (args[:2], result.exception)
        assert "Traceback" not in result.output, (args[:2], result.output[-500:])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    old = {k: os.environ.pop(k, None) for k in ("LOREFORGE_HOME", "LOREFORGE_DATABASE_URL")}
    built = World(tmp_path_factory.mktemp("bad-input"))
    yield built
    built.service.close()
    os.environ.update({k: v for k, v in old.items() if v is not None})


# -- the REST API -------------------------------------------------------------------------------------------


@FAST
@given(name=TEXT, description=TEXT, copy_from=st.one_of(st.none(), TEXT))
def test_api_project_create_show_rename(world: World, name: str, description: str, copy_from: str | None) -> None:
    world.send("POST", "/api/projects", {"name": name, "description": description, "copy_from": copy_from})
    world.send("GET", f"/api/projects/{_seg(name)}")
    world.send("PATCH", f"/api/projects/{_seg(name)}", {"name": description})


@FAST
@given(key=TEXT, text=TEXT, items=st.lists(TEXT, max_size=3))
def test_api_settings(world: World, key: str, text: str, items: list[str]) -> None:
    p = world.project
    world.send("PUT", f"/api/projects/{p}/settings/{_seg(key)}", {"value": text})
    world.send("PUT", f"/api/projects/{p}/settings/split.custom_separator", {"value": text})
    world.send("PUT", f"/api/projects/{p}/settings/split.separators", {"value": items})
    world.send("DELETE", f"/api/projects/{p}/settings/{_seg(key)}")


@FAST
@given(label=TEXT, parent=st.one_of(st.none(), TEXT), new=TEXT)
def test_api_tags(world: World, label: str, parent: str | None, new: str) -> None:
    p = world.project
    world.send("POST", f"/api/projects/{p}/tags", {"label": label, "parent": parent})
    world.send("PATCH", f"/api/projects/{p}/tags/{_seg(label)}", {"label": new})


@FAST
@given(text=TEXT, tag=st.one_of(st.none(), TEXT), search=TEXT)
def test_api_questions(world: World, text: str, tag: str | None, search: str) -> None:
    p = world.project
    world.send("POST", f"/api/projects/{p}/questions", {"chunk_id": world.chunk, "text": text, "tag": tag})
    world.send("PATCH", f"/api/projects/{p}/questions/{world.question}", {"text": text, "tag": tag})
    world.send("GET", f"/api/projects/{p}/questions", params={"text": search[:URL_TEXT].encode("utf-8", "surrogatepass")})


@FAST
@given(text=TEXT, search=TEXT)
def test_api_chunk_edits(world: World, text: str, search: str) -> None:
    p = world.project
    world.send("PUT", f"/api/projects/{p}/chunks/{world.chunk}", {"text": text})
    world.send("GET", f"/api/projects/{p}/chunks", params={"text": search[:URL_TEXT].encode("utf-8", "surrogatepass")})


@FAST
@given(fields=st.fixed_dictionaries({}, optional={k: TEXT for k in ("question", "answer", "cot", "tag", "note")}),
       labels=st.one_of(st.none(), st.lists(TEXT, max_size=3)))
def test_api_dataset_item_edits(world: World, fields: dict[str, str], labels: list[str] | None) -> None:
    world.send("PATCH", f"/api/projects/{world.project}/dataset/{world.item}", {**fields, "labels": labels})


@FAST
@given(question=TEXT, answer=TEXT, mapping=st.one_of(st.just(""), TEXT), fmt=st.sampled_from(["auto", "custom", "x"]))
def test_api_import(world: World, question: str, answer: str, mapping: str, fmt: str) -> None:
    digits = "9" * min(len(answer) * 100, 5000) or "0"  # past 4,300 digits Python refuses to read the number
    row = (json.dumps({"instruction": question, "output": answer})[:-1] + f', "n": {digits}}}').encode()
    files = {"file": ("d.jsonl", row + b"\n" + row + b"\n", "application/json")}
    data = {"format": fmt, "mapping": mapping.encode("utf-8", "surrogatepass"), "keep_good_lines": "true"}
    world.send("POST", f"/api/projects/{world.project}/dataset/import", files=files, data=data)


@FAST
@given(name=TEXT, text=TEXT, language=st.one_of(st.none(), TEXT), tag=TEXT)
def test_api_models_prompts_and_the_dataset_filter(world: World, name: str, text: str, language: str | None,
                                                    tag: str) -> None:
    p = world.project
    world.send("POST", f"/api/projects/{p}/models", {"provider": "openai-compatible", "model": text, "name": name,
                                                     "base_url": "http://127.0.0.1:9/v1", "api_key_env": tag,
                                                     "options": {"extra_body": {tag: text}}, "activate": False})
    world.send("POST", f"/api/projects/{p}/models", {"provider": name, "model": text})
    world.send("PUT", f"/api/projects/{p}/prompts/{_seg(name)}", {"text": text, "language": language})
    world.send("PUT", f"/api/projects/{p}/prompts/questions", {"text": text, "language": language})
    world.send("GET", f"/api/projects/{p}/dataset", params={"tag": tag[:URL_TEXT].encode("utf-8", "surrogatepass")})


# -- the CLI ----------------------------------------------------------------------------------------------------


@CLI_FAST
@given(name=TEXT, other=TEXT)
def test_cli_projects_and_settings(world: World, name: str, other: str) -> None:
    world.cli("project", "create", name, "--description", other)
    world.cli("project", "show", name)
    world.cli("project", "rename", name, other)
    world.cli("settings", "set", world.project, "split.custom_separator", other)
    world.cli("settings", "set", world.project, name, other)
    world.cli("settings", "set", world.project, "split.separators", other)


@CLI_FAST
@given(text=TEXT, tag=TEXT)
def test_cli_questions_tags_chunks_dataset(world: World, text: str, tag: str) -> None:
    p = world.project
    world.cli("questions", "add", p, str(world.chunk), text, "--tag", tag)
    world.cli("questions", "edit", p, str(world.question), "--text", text)
    world.cli("tags", "add", p, tag)
    world.cli("tags", "rename", p, "history", tag)
    world.cli("chunks", "edit", p, str(world.chunk), "--text", text)
    world.cli("dataset", "edit", p, str(world.item), "--question", text, "--tag", tag, "--labels", text)


@CLI_FAST
@given(question=TEXT, answer=TEXT)
def test_cli_import(world: World, question: str, answer: str) -> None:
    path = world.home / "import.json"
    path.write_text(json.dumps([{"instruction": question, "output": answer}, {"instruction": "q", "output": "a"}]),
                    encoding="utf-8")
    world.cli("dataset", "import", world.project, str(path))
    world.cli("dataset", "import", world.project, str(path), "--keep-good")
