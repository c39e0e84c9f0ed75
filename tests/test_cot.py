"""Chain of thought when the model gives none (issue 15, feature 8): asked for in the answer call itself, the
missing ones written by ONE extra call per chunk (never one per answer), and citation phrasing removed from every
chain of thought by rule — against the fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Recorded, Reply

from conftest import examples, small_chunks
from loreforge.generate.cot import strip_citations
from loreforge.service import Service
from loreforge.store.models import LLMCall

NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.M)


@pytest.mark.parametrize("raw, clean", [
    ("根据参考内容，营收增长了 12%。", "营收增长了 12%。"),
    ("首先，文中提到营收为 46.8 亿元，其次计算增速。", "首先，营收为 46.8 亿元，其次计算增速。"),
    ("依据上述文本可知，净利润增长 73.7%（见原文第二段）。", "净利润增长 73.7%。"),
    ("According to the text, revenue rose 12%.", "Revenue rose 12%."),
    ("First I check the figure. The passage says that margins fell to 8%.", "First I check the figure. Margins fell to 8%."),
    ("Growth was strong (see the report, table 2).", "Growth was strong."),
    ("No citation here: the margin is 8%.", "No citation here: the margin is 8%."),
    ("", ""),
])
def test_strip_citations(raw: str, clean: str) -> None:
    assert strip_citations(raw) == clean


def _answers(prompt: str, reasoning: bool) -> str:
    asked = NUMBERED.findall(prompt.split("\n\n---\n", 1)[1])
    return json.dumps({"answers": [{"id": int(i), "answer": f"答案{i}：营收 46.8 亿元。",
                                    **({"reasoning": f"根据文本，推理{i}"} if reasoning else {})} for i, _q in asked]},
                      ensure_ascii=False)


class Responder:
    """Answers without reasoning (unless `reasoning`); writes the missing chains of thought when asked."""

    def __init__(self, reasoning: bool = False, cot_reply: str | None = None) -> None:
        self.reasoning, self.cot_reply = reasoning, cot_reply

    def __call__(self, req: Recorded) -> Reply:
        prompt = req.prompt
        if '{"reasoning": [' in prompt:
            if self.cot_reply is not None:
                return Reply(text=self.cot_reply)
            n = len(re.findall(r"^\d+\. Q: ", prompt, re.M))
            return Reply(text=json.dumps({"reasoning": [{"id": i, "reasoning": f"文中提到营收，所以推得答案{i}"} for i in range(1, n + 1)]},
                                         ensure_ascii=False))
        if '"answers"' in prompt:
            return Reply(text=_answers(prompt, self.reasoning))
        return Reply(text="单个答案。", reasoning="根据参考内容，单题推理。")


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("c")
    small_chunks(svc, "c")
    svc.ingest("c", examples()[:1])
    chunks = svc.list_chunks("c", page_size=3).items[:2]
    for chunk in chunks:
        svc.add_question("c", chunk.id, f"第 {chunk.id} 块的营收是多少？")
        svc.add_question("c", chunk.id, f"第 {chunk.id} 块的利润是多少？")
    svc.add_model("c", "custom", "fake-model", name="fake", base_url=fake.base_url)
    svc.set_setting("c", "answers.cot", "ask")
    return "c"


def test_missing_cot_written_by_one_extra_call_per_chunk(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.responder = Responder(reasoning=False)
    job = svc.generate_answers(proj)
    assert job.status == "completed", job
    requests = fake.chat_requests()
    assert len(requests) == 4  # 2 chunks: one answer call and one chain-of-thought call each (not one per answer)
    assert "reasoning" in requests[0].prompt  # asked for in the answer call itself
    items = svc.list_dataset(proj).items
    assert len(items) == 4 and all(re.fullmatch(r"营收，所以推得答案\d", i.cot) for i in items), [i.cot for i in items]
    assert any("written by one extra call per chunk" in n for n in job.progress["notes"]), job.progress
    with svc.db.session() as s:
        names = sorted(c.prompt_name for c in s.query(LLMCall).all())
    assert names == ["answers_batched"] * 2 + ["cot_synthesize"] * 2
    assert svc.usage(proj).qa_pairs == 4


def test_cot_given_in_the_same_call_needs_no_extra_call(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.responder = Responder(reasoning=True)
    svc.generate_answers(proj)
    assert len(fake.chat_requests()) == 2
    assert all(re.fullmatch(r"推理\d", i.cot) for i in svc.list_dataset(proj).items)  # "根据文本，" stripped


def test_a_failed_cot_call_keeps_the_answers(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.responder = Responder(reasoning=False, cot_reply="no json here")
    job = svc.generate_answers(proj)
    assert job.status == "completed" and len(svc.list_dataset(proj).items) == 4
    assert all(i.cot == "" for i in svc.list_dataset(proj).items)
    assert any("still without a chain of thought" in n for n in job.progress["notes"]), job.progress


def test_native_reasoning_is_cleaned_and_auto_never_adds_calls(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.set_setting(proj, "answers.cot", "auto")
    fake.responder = Responder(reasoning=False)
    svc.generate_answers(proj, mode="per-question")
    assert len(fake.chat_requests()) == 4  # one per question, no chain-of-thought call: it is not wanted
    assert all(i.cot == "单题推理。" for i in svc.list_dataset(proj).items)
