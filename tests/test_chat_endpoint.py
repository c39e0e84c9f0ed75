"""Chat and blind-test answers from an endpoint (a model config of the project) stream piece by piece, like a local
model's: through the one runner with stream=true, every call logged; a `<think>` block is held back; a stream cut
mid-answer and retried is not shown twice; a retry that writes another answer says so and gives it whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Reply

from loreforge.service import Service
from loreforge.service.model_pool import RETRIED, _Echo

ANSWER = "Revenue rose 12% to 4.2 billion yuan in the quarter, driven by the new product line."


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture()
def served(svc: Service, project: str, fake: FakeLLM) -> str:
    svc.add_model(project, "custom", model="fake-model", name="served", base_url=fake.base_url, api_key="k", activate=False)
    svc.set_setting(project, "llm.backoff_base_s", 0)
    return project


def test_an_endpoint_answer_streams_in_pieces_and_is_logged(svc: Service, served: str, fake: FakeLLM) -> None:
    fake.script(ANSWER)
    pieces: list[str] = []
    reply = svc.chat_reply("How did revenue change?", "served", project=served, max_new_tokens=64, on_piece=pieces.append)
    assert reply.text == ANSWER and "".join(pieces) == ANSWER and len(pieces) >= 3  # the fake sends it in thirds
    request = fake.chat_requests()[0]
    assert request.body["stream"] is True and request.body["max_tokens"] == 64
    assert [(row.key, row.calls) for row in svc.usage(served).by_stage] == [("chat", 1)]


def test_without_a_listener_the_call_is_not_streamed(svc: Service, served: str, fake: FakeLLM) -> None:
    fake.script(ANSWER)
    assert svc.chat_reply("How did revenue change?", "served", project=served).text == ANSWER
    assert fake.chat_requests()[0].body["stream"] is False


def test_a_cut_stream_is_retried_without_showing_its_start_twice(svc: Service, served: str, fake: FakeLLM) -> None:
    fake.script(Reply(text=ANSWER, cut_after=3), ANSWER)  # role chunk + two thirds, then the connection closes
    pieces: list[str] = []
    reply = svc.chat_reply("How did revenue change?", "served", project=served, on_piece=pieces.append)
    assert len(fake.chat_requests()) == 2 and reply.text == ANSWER and "".join(pieces) == ANSWER


def test_a_think_block_is_held_back_and_the_answer_streams() -> None:
    shown: list[str] = []
    echo = _Echo(shown.append)
    for so_far in ("<th", "<think>weigh", "<think>weigh it</think>", "<think>weigh it</think>\nYes", "<think>weigh it</think>\nYes, 12%."):
        echo(so_far)
    echo.finish("Yes, 12%.")
    assert shown == ["Yes", ", 12%."]


def test_a_retry_that_writes_another_answer_says_so() -> None:
    shown: list[str] = []
    echo = _Echo(shown.append)
    echo("Revenue fell")
    echo("Rev")  # the retried attempt starts again: nothing new to show
    echo("Revenue rose")  # and goes another way: not glued onto the first
    echo.finish("Revenue rose 12%.")
    assert shown == ["Revenue fell", RETRIED + "Revenue rose 12%."]


def test_a_blind_test_round_streams_an_endpoint_answer(svc: Service, served: str, fake: FakeLLM, tmp_path: Path) -> None:
    probes = tmp_path / "probes.jsonl"
    probes.write_text(json.dumps({"question": "How did revenue change?", "reference": "It rose 12%."}) + "\n", encoding="utf-8")
    svc.import_probes(served, probes, "mine")
    svc.add_model(served, "custom", model="other-model", name="other", base_url=fake.base_url, api_key="k", activate=False)
    arena = svc.create_arena(served, "served", "other", max_new_tokens=32, seed=1)
    first = svc.next_arena_round(arena.id)
    assert first is not None
    fake.script(ANSWER)
    left: list[str] = []
    view = svc.answer_arena_round(arena.id, first.id, "left", on_piece=left.append)
    assert len(left) >= 3 and "".join(left) == view.left == ANSWER
