"""A cut-off reply is not an answer: a reply stopped by a token limit (`finish_reason` "length"), or whose JSON
stops before its end, is asked again — with a larger max_tokens when our limit cut it — and never repaired
into a stored value; when every reply is cut, the item fails with its raw output. Harmless slips (trailing
commas, fences, single quotes, prose around the JSON) are still repaired. Through the real providers (OpenAI-
compatible, streaming, Ollama) and the service, against the fake server over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fake_llm import FakeLLM, Faults, Recorded, Reply
from pydantic import BaseModel
from qa_responder import respond

from conftest import examples, small_chunks
from loreforge.generate.answers import clean_answer
from loreforge.generate.parsing import CutReply, ParseFailure, cut_reason, parse_reply
from loreforge.generate.runner import CallMeta, CallRecord, ParsedResult, Runner
from loreforge.providers import CallDefaults, Completion, ProviderConfig, RunnerSettings, make_provider
from loreforge.service import Service
from loreforge.store.models import DatasetItem, LLMCall, Question

META = CallMeta(stage="questions", prompt_name="questions", prompt_hash="h1")
PROMPT = [{"role": "user", "content": "请根据材料生成问题，输出 JSON。"}]
WHOLE = '{"questions": ["截至今年6月，京东有多少老员工？", "京东第二季度营收多少？"]}'
CUT = '{"questions": ["截至今年"多少老员工日"，在京东'  # the cut reply json_repair used to close and store


class Questions(BaseModel):
    questions: list[str]


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def _run(fake: FakeLLM, how: str, *, flavour: str = "custom", options: dict[str, Any] | None = None,
         records: list[CallRecord] | None = None, **settings: Any) -> Any:
    """Runner.call_json (how="json") or Runner.call_text (how="text") on a real provider against the fake."""
    base = fake.root_url if flavour == "ollama" else fake.base_url
    provider = make_provider(ProviderConfig(provider=flavour, model="m", base_url=base))
    runner = Runner(provider, RunnerSettings(backoff_base_s=0, **settings), sink=(records if records is not None else []).append)
    opts = CallDefaults(**(options or {})).options()

    async def go() -> Any:
        try:
            if how == "json":
                return await runner.call_json(PROMPT, Questions, options=opts, meta=META)
            return await runner.call_text(PROMPT, options=opts, meta=META)
        finally:
            await provider.aclose()
    return asyncio.run(go())


def _limits(fake: FakeLLM, key: str = "max_tokens") -> list[Any]:
    """The max_tokens each chat request asked for (Ollama: options.num_predict)."""
    out = []
    for r in fake.chat_requests():
        out.append((r.body.get("options") or {}).get("num_predict") if key == "num_predict" else r.body.get(key))
    return out


# -- what counts as cut ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "cut"), [
    (CUT, True),  # ends inside a string (its inner quotes do not close it)
    ('{"questions": ["a", "b"', True),  # array and object left open
    ('[{"q": "a"}, {"q": "b"}', True),  # whole elements, but the list never closed
    ('{"questions": [{"question": "快手营收多少？"},]', True),  # the object never closed
    ('```json\n{"questions": ["a", "b', True),  # an unclosed fence around cut JSON
    ('{"questions": ["a", "b",]}', False),  # trailing comma
    ("{'questions': ['a', 'b']}", False),  # single quotes
    ('{"q": "他说"你好，世界""}', False),  # unescaped quotes inside a string, balanced
    ('{"q": "He said \\"hi\\""}', False),  # escaped quotes
    ('{"q": "x"} and a note with a stray "}', False),  # prose after the value does not count
    ('[{"a": 1]', False),  # a forgotten brace inside, the whole closed: a slip, repaired
])
def test_cut_reason(text: str, cut: bool) -> None:
    from loreforge.generate.parsing import extract_json_text

    candidate = extract_json_text(text)
    assert candidate is not None
    assert (cut_reason(candidate) is not None) is cut, cut_reason(candidate)


def test_parse_reply_refuses_a_cut_reply_and_a_length_finish() -> None:
    with pytest.raises(CutReply, match="cut off: the JSON stops inside a string") as info:
        parse_reply(CUT, Questions)
    assert info.value.by_limit is False and info.value.raw_outputs == (CUT,)
    with pytest.raises(CutReply, match="token limit .*finish_reason 'length'") as info:
        parse_reply(WHOLE, Questions, "length")  # even when what came parses: the model was stopped
    assert info.value.by_limit is True
    with pytest.raises(CutReply, match="content filter"):
        parse_reply(WHOLE, Questions, "content_filter")
    assert parse_reply(WHOLE, Questions, "stop")[0].questions[1] == "京东第二季度营收多少？"


# -- re-asked, then stored or failed ------------------------------------------------------------------------

def test_a_cut_reply_is_asked_again_and_the_whole_one_is_used(fake: FakeLLM) -> None:
    fake.script(Reply(text=WHOLE, truncate_at=len(CUT)), WHOLE)
    out: ParsedResult[Questions] = _run(fake, "json")
    assert out.value.questions == json.loads(WHOLE)["questions"] and out.reasked is True
    first, second = fake.chat_requests()
    assert second.messages == first.messages == PROMPT  # the same request again, not a format re-ask
    assert _limits(fake) == [4096, 4096]  # a cut the server did not put down to a limit: same max_tokens


def test_a_reply_cut_every_time_fails_with_every_raw_output(fake: FakeLLM) -> None:
    cut = WHOLE[:40]
    fake.script(*[Reply(text=cut)] * 3)
    records: list[CallRecord] = []
    with pytest.raises(CutReply) as info:
        _run(fake, "json", records=records)
    failure = info.value
    assert len(fake.chat_requests()) == 3  # the first ask and llm.cut_retries (2) more
    assert failure.raw_outputs == (cut, cut, cut) and failure.raw_output.count(cut) == 3
    assert "the reply was cut off" in str(failure) and "asked 3 times, every reply was cut off" in str(failure)
    assert "jobs retry" in str(failure)
    assert [r.prompt_name for r in records] == ["questions", "questions#cut", "questions#cut"]


def test_cut_retries_zero_fails_at_once(fake: FakeLLM) -> None:
    fake.script(Reply(text=CUT))
    with pytest.raises(CutReply):
        _run(fake, "json", cut_retries=0)
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_length_finish_asks_again_with_twice_the_max_tokens(fake: FakeLLM, stream: bool) -> None:
    # the whole reply needs 6000 tokens: 4096 cuts it (finish_reason "length"), 8192 does not
    fake.script(Reply(text=WHOLE, tokens=6000), Reply(text=WHOLE, tokens=6000))
    out = _run(fake, "json", options={"stream": stream})
    assert out.value.questions == json.loads(WHOLE)["questions"] and out.completion.finish_reason == "stop"
    assert _limits(fake) == [4096, 8192]


def test_ollama_done_reason_length_asks_again_with_a_larger_num_predict(fake: FakeLLM) -> None:
    fake.script(Reply(text=WHOLE, tokens=300), Reply(text=WHOLE, tokens=300))
    out = _run(fake, "json", flavour="ollama", options={"max_tokens": 200})
    assert out.value.questions == json.loads(WHOLE)["questions"]
    assert _limits(fake, "num_predict") == [200, 400]


def test_the_larger_max_tokens_stops_at_the_cap_then_the_item_fails(fake: FakeLLM) -> None:
    fake.script(*[Reply(text=WHOLE, tokens=50_000)] * 3)
    with pytest.raises(CutReply) as info:
        _run(fake, "json", max_tokens_cap=6000)
    assert _limits(fake) == [4096, 6000]  # doubled, but not past llm.max_tokens_cap; then no use asking again
    assert info.value.by_limit and "max_tokens=6000" in str(info.value) and "llm.max_tokens_cap" in str(info.value)
    assert all(len(raw) < len(WHOLE) for raw in info.value.raw_outputs)


def test_a_limit_of_the_server_is_asked_again_as_it_was(fake: FakeLLM) -> None:
    fake.script(Reply(text=WHOLE[:30], finish_reason="length"), Reply(text=WHOLE[:30], finish_reason="length"), WHOLE)
    out = _run(fake, "json", options={"max_tokens": None})
    assert out.value.questions == json.loads(WHOLE)["questions"]
    assert _limits(fake) == [None, None, None]  # no max_tokens of ours to raise
    fake.reset()
    fake.script(*[Reply(text=WHOLE[:30], finish_reason="length")] * 3)
    with pytest.raises(CutReply, match="set max_tokens on the model config"):
        _run(fake, "json", options={"max_tokens": None})


def test_a_cut_body_or_stream_is_retried_as_a_transport_error(fake: FakeLLM) -> None:
    records: list[CallRecord] = []
    fake.script(Reply(text=WHOLE, cut_body=True), WHOLE)
    out = _run(fake, "json", records=records)
    assert out.value.questions == json.loads(WHOLE)["questions"] and out.reasked is False
    assert [r.status for r in records] == ["error", "ok"] and "cut the reply short" in (records[0].error or "")
    fake.reset()
    fake.script(Reply(text=WHOLE, cut_after=3), Reply(text=WHOLE, cut_after=3, cut_eof=True), WHOLE)
    out = _run(fake, "json", options={"stream": True})
    assert out.value.questions == json.loads(WHOLE)["questions"] and len(fake.chat_requests()) == 3


def test_a_cut_reply_then_a_bad_one_gets_the_one_format_reask(fake: FakeLLM) -> None:
    fake.script(Reply(text=CUT), "no json here", WHOLE)
    out = _run(fake, "json")
    assert out.value.questions == json.loads(WHOLE)["questions"]
    third = fake.chat_requests()[2].messages
    assert [m["role"] for m in third] == ["user", "assistant", "user"] and third[1]["content"] == "no json here"


@pytest.mark.parametrize("text", [
    '{"questions": ["截至今年6月，京东有多少老员工？", "京东第二季度营收多少？",]}',
    '好的，结果如下：\n```json\n{"questions": ["截至今年6月，京东有多少老员工？", "京东第二季度营收多少？"]}\n```\n希望有帮助。',
    "{'questions': ['截至今年6月，京东有多少老员工？', '京东第二季度营收多少？']}",
    '<think>想一想</think>Here: {"questions": ["截至今年6月，京东有多少老员工？", "京东第二季度营收多少？"]} done',
])
def test_harmless_slips_are_still_repaired_without_asking_again(fake: FakeLLM, text: str) -> None:
    fake.script(text)
    out = _run(fake, "json")
    assert out.value.questions == json.loads(WHOLE)["questions"] and out.reasked is False
    assert len(fake.chat_requests()) == 1


def test_free_text_cut_by_the_limit_is_asked_again_bigger(fake: FakeLLM) -> None:
    answer = "京东第二季度营收2914亿元，同比增长1.2%。" * 4
    fake.script(Reply(text=answer, tokens=5000), Reply(text=answer, tokens=5000))
    out: Completion = _run(fake, "text")
    assert out.text == answer and _limits(fake) == [4096, 8192]
    fake.reset()
    fake.script(*[Reply(text=answer[:9], finish_reason="length")] * 3)
    with pytest.raises(CutReply) as info:
        _run(fake, "text", max_tokens_cap=4096)
    assert info.value.raw_outputs == (answer[:9],) and len(fake.chat_requests()) == 1  # at the cap already


# -- through the service: nothing truncated is ever stored --------------------------------------------------

KEY = "sk-test-cut-0123456789"


@pytest.fixture()
def qa() -> Iterator[FakeLLM]:
    with FakeLLM(responder=respond, api_key=KEY) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, qa: FakeLLM) -> str:
    svc.create_project("cut")
    svc.set_setting("cut", "llm.max_attempts", 2)
    svc.set_setting("cut", "llm.backoff_base_s", 0)
    svc.set_setting("cut", "llm.concurrency", 1)
    small_chunks(svc, "cut")
    svc.ingest("cut", examples())
    svc.add_model("cut", "custom", "fake-model", name="fake", base_url=qa.base_url, api_key=KEY)
    return "cut"


def _chunk_ids(svc: Service, p: str, n: int) -> list[int]:
    return [c.id for c in svc.list_chunks(p, page_size=1000).items[:n]]


def _stored_questions(svc: Service) -> list[str]:
    with svc.db.session() as s:
        return [q.text for q in s.query(Question).order_by(Question.id)]


def test_questions_cut_then_whole_store_the_whole_and_cut_always_fails_with_raw(svc: Service, proj: str, qa: FakeLLM) -> None:
    first, second = _chunk_ids(svc, proj, 2)
    whole = '{"questions": [{"question": "截至今年6月，京东有多少老员工？"}, {"question": "京东第二季度营收多少？"}]}'
    cut = whole[:30]
    qa.script(Reply(text=cut), Reply(text=whole), *[Reply(text=cut)] * 3)
    job = svc.generate_questions(proj, chunk_ids=[first, second])
    assert job.status == "completed_with_failures" and (job.done, job.failed) == (1, 1)
    stored = _stored_questions(svc)
    assert stored and set(stored) <= {"截至今年6月，京东有多少老员工？", "京东第二季度营收多少？"}  # whole ones only
    failure = job.failures[0]
    assert failure.key.startswith(f"chunk:{second}:") and "cut off" in (failure.error or "")
    assert (failure.raw_output or "").count(cut) == 3
    with svc.db.session() as s:
        names = [c.prompt_name for c in s.query(LLMCall).filter_by(stage="questions").order_by(LLMCall.id)]
    assert names == ["questions", "questions#cut", "questions", "questions#cut", "questions#cut"]


def test_answers_batched_and_per_question_cut_by_the_limit_ask_again_bigger(svc: Service, proj: str, qa: FakeLLM) -> None:
    chunk = _chunk_ids(svc, proj, 1)
    svc.generate_questions(proj, chunk_ids=chunk)
    n = svc.list_questions(proj).total
    qa.reset()
    qa.responder = lambda req: replace_tokens(respond(req), 6000)  # every reply needs more than 4096 tokens
    job = svc.generate_answers(proj)
    assert job.status == "completed" and _limits(qa) == [4096, 8192]
    qa.reset()
    job = svc.generate_answers(proj, mode="per-question", force=True)
    assert job.status == "completed" and _limits(qa) == [4096, 8192] * n
    assert all(a.answer == "单个问题的答案。" for a in svc.list_dataset(proj).items)


def replace_tokens(reply: Reply, tokens: int) -> Reply:
    from dataclasses import replace

    return replace(reply, tokens=tokens)


def test_per_question_answer_cut_every_time_fails_with_its_raw_output(svc: Service, proj: str, qa: FakeLLM) -> None:
    svc.generate_questions(proj, chunk_ids=_chunk_ids(svc, proj, 1))
    svc.set_setting(proj, "llm.max_tokens_cap", 4096)
    qa.reset()
    qa.script(Reply(text="单个问题的答", finish_reason="length"), *[Reply(text="单个问题的答案。")] * 20)
    job = svc.generate_answers(proj, mode="per-question")
    assert job.failed == 1 and "token limit" in (job.failures[0].error or "")
    assert "单个问题的答" in (job.failures[0].raw_output or "")
    assert all(a.answer == "单个问题的答案。" for a in svc.list_dataset(proj).items)


def test_tags_and_scores_cut_are_asked_again(svc: Service, proj: str, qa: FakeLLM) -> None:
    tags = '{"tags": [{"label": "财务", "children": ["收入", "利润"]}]}'
    qa.script(Reply(text=tags, truncate_at=25), tags)
    assert [t.label for t in svc.build_tags(proj) if t.parent_id is None] == ["财务"]
    assert len(qa.chat_requests()) == 2
    svc.generate_questions(proj, chunk_ids=_chunk_ids(svc, proj, 1))
    svc.generate_answers(proj)
    items = svc.list_dataset(proj).items
    judge = json.dumps({"question_quality": 4, "accuracy": 5, "relevance": 4, "consistency": 5, "score": 4.5,
                        "reason": "答案与原文一致，数字准确。"}, ensure_ascii=False)
    qa.reset()
    qa.script(*[r for _ in items for r in (Reply(text=judge, truncate_at=60), Reply(text=judge))])
    job = svc.score_dataset(proj)
    assert job.status == "completed" and len(qa.chat_requests()) == 2 * len(items)
    with svc.db.session() as s:
        assert {(i.score, i.score_reason) for i in s.query(DatasetItem)} == {(4.5, "答案与原文一致，数字准确。")}


def test_a_fault_mix_of_cut_replies_never_stores_a_truncated_row(svc: Service, proj: str, qa: FakeLLM) -> None:
    """The finding: 5% malformed replies left truncated questions and answers in the store."""
    whole: list[str] = []
    lock = threading.Lock()

    def recording(req: Recorded) -> Reply:
        reply = respond(req)
        with lock:
            whole.append(reply.text)
        return reply

    qa.responder = recording
    qa.faults = Faults(seed=7, p_truncated=0.2, p_length=0.1)
    ids = _chunk_ids(svc, proj, 8)
    qjob = svc.generate_questions(proj, chunk_ids=ids)
    ajob = svc.generate_answers(proj)
    asked = {" ".join(q["question"].split()) for t in whole if '"questions"' in t for q in json.loads(t)["questions"]}
    answered = {clean_answer(a["answer"]) for t in whole if '"answers"' in t for a in json.loads(t)["answers"]}
    answered |= {t for t in whole if not t.startswith("{")}  # per-question answers, when a batch fell back
    questions = _stored_questions(svc)
    answers = [a.answer for a in svc.list_dataset(proj, page_size=1000).items]
    assert questions and answers
    assert set(questions) <= asked, set(questions) - asked  # every stored question is one the model wrote in full
    assert set(answers) <= answered, set(answers) - answered
    with svc.db.session() as s:
        cut_calls = s.query(LLMCall).filter(LLMCall.prompt_name.like("%#cut")).count()
    assert cut_calls > 0  # the mix did cut replies, and they were asked again
    for job in (qjob, ajob):
        for failure in job.failures:  # what still failed says why and keeps what came
            assert "cut off" in (failure.error or "") and failure.raw_output


def test_a_reply_holding_a_lone_surrogate_or_nul_is_stored_readable(svc: Service, proj: str, qa: FakeLLM) -> None:
    """A model's JSON may escape half an emoji (`\\ud83d` alone) or a NUL: Python reads them into text no store can
    hold (SQLite/PostgreSQL refuse to encode it). They become U+FFFD; the rest of the reply is kept."""
    first, second = _chunk_ids(svc, proj, 2)
    qa.script(Reply(text='{"questions": [{"question": "京东第二季度营收多少？\\ud83d"}]}'),
              Reply(text='{"questions": [{"question": "快手\\u0000的用户数？"}]}'))
    job = svc.generate_questions(proj, chunk_ids=[first, second])
    assert job.status == "completed" and job.done == 2, job.failures
    assert set(_stored_questions(svc)) == {"京东第二季度营收多少？\ufffd", "快手\ufffd的用户数？"}


def test_a_free_text_reply_with_a_lone_surrogate_comes_back_storable(fake: FakeLLM) -> None:
    body = {"id": "x", "object": "chat.completion", "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "营收为 100 亿元\\ud800。", "reasoning_content": "想\\u0000一想"}}]}
    raw = json.dumps(body, ensure_ascii=False).replace("\\\\", "\\")  # the escapes as a server sends them
    fake.script(Reply(raw_body=raw))
    out = _run(fake, "text")
    assert out.text == "营收为 100 亿元\ufffd。" and out.reasoning == "想\ufffd一想"
