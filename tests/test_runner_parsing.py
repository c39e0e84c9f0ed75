"""Structured replies: think-stripping, fenced JSON, json-repair, pydantic validation, the one re-ask
(quoting the error) and ParseFailure with the raw output — through the runner and the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fake_llm import FakeLLM
from pydantic import BaseModel

from loreforge.generate.parsing import ParseFailure, extract_json_text, parse_reply
from loreforge.generate.runner import CallMeta, CallRecord, ParsedResult, Runner
from loreforge.providers import CallDefaults, ProviderConfig, RunnerSettings, make_provider

META = CallMeta(stage="questions", prompt_name="questions_en", prompt_hash="h1")


class QA(BaseModel):
    question: str
    answer: str


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def call_json(fake: FakeLLM, schema: Any, prompt: str = "Give one QA pair as JSON.",
              **settings: Any) -> ParsedResult[Any]:
    records: list[CallRecord] = []
    provider = make_provider(ProviderConfig(provider="custom", model="m", base_url=fake.base_url))
    runner = Runner(provider, RunnerSettings(**settings), sink=records.append)

    async def go() -> ParsedResult[Any]:
        try:
            return await runner.call_json([{"role": "user", "content": prompt}], schema,
                                          options=CallDefaults().options(), meta=META)
        finally:
            await provider.aclose()
    return asyncio.run(go())


def test_valid_json_in_a_fence_with_think(fake: FakeLLM) -> None:
    fake.script('<think>Plan: {"question": "draft"}</think>Here you go:\n'
                '```json\n{"question": "Q?", "answer": "A."}\n```')
    out = call_json(fake, QA)
    assert out.value == QA(question="Q?", answer="A.") and out.reasked is False
    assert "Plan" in out.reasoning and len(fake.chat_requests()) == 1


def test_malformed_json_is_repaired_without_a_reask(fake: FakeLLM) -> None:
    fake.script("{'question': 'Q?', 'answer': 'A.',}  trailing words")
    out = call_json(fake, QA)
    assert out.value.answer == "A." and out.reasked is False and len(fake.chat_requests()) == 1


def test_truncated_json_list_is_asked_again_not_repaired(fake: FakeLLM) -> None:
    # repair would close the cut and keep "A2" (perhaps half an answer); the whole reply is asked for again
    fake.script('[{"question": "Q1?", "answer": "A1"}, {"question": "Q2?", "answer": "A2"',
                '[{"question": "Q1?", "answer": "A1"}, {"question": "Q2?", "answer": "A2 in full."}]')
    out = call_json(fake, list[QA])
    assert [qa.answer for qa in out.value] == ["A1", "A2 in full."] and len(fake.chat_requests()) == 2


def test_reask_quotes_the_validation_error(fake: FakeLLM) -> None:
    fake.script('{"question": "Q?"}', '{"question": "Q?", "answer": "A."}')
    out = call_json(fake, QA)
    assert out.reasked is True and out.value.answer == "A."
    second = fake.chat_requests()[1].messages
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == '{"question": "Q?"}'
    assert "answer: Field required" in second[2]["content"] and "only valid JSON" in second[2]["content"]


def test_reask_in_chinese_for_a_chinese_prompt(fake: FakeLLM) -> None:
    fake.script("抱歉，我无法完成。", '{"question": "营业收入多少？", "answer": "38.6亿元"}')
    out = call_json(fake, QA, prompt="请根据材料生成一个问答对，输出 JSON。")
    assert out.reasked is True
    reask = fake.chat_requests()[1].messages[-1]["content"]
    assert "无法解析" in reask and "no JSON object or array" in reask


def test_parse_failure_keeps_both_raw_outputs(fake: FakeLLM) -> None:
    fake.script("no json at all", "still not json")
    with pytest.raises(ParseFailure) as info:
        call_json(fake, QA)
    assert info.value.raw_outputs == ("no json at all", "still not json")
    assert "no json at all" in info.value.raw_output and "still not json" in info.value.raw_output
    assert len(fake.chat_requests()) == 2


def test_no_reask_when_disabled(fake: FakeLLM) -> None:
    fake.script("nope")
    with pytest.raises(ParseFailure):
        call_json(fake, QA, reask_on_parse_error=False)
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ('```\n{"a": 1}\n```', '{"a": 1}'),
    ('```python\nx = 1\n```\n```json\n[1, 2]\n```', "[1, 2]"),
    ('Answer: {"a": {"b": 2}} thanks', '{"a": {"b": 2}}'),
    ('list: [1, 2] and {"x": 1}', '[1, 2]'),
    ('```json\n{"a": 1', '{"a": 1'),
    ("no json", None),
])
def test_extract_json_text(text: str, expected: str | None) -> None:
    assert extract_json_text(text) == expected


def test_parse_reply_reports_what_failed() -> None:
    with pytest.raises(ParseFailure, match="question: Field required"):
        parse_reply('{"answer": "x"}', QA)
    value, reasoning = parse_reply('<think>r</think>{"question": "q", "answer": "a"}', QA)
    assert value.question == "q" and reasoning == "r"
