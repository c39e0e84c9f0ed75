"""Question and answer generation through the service, against the fake OpenAI-compatible server over real
HTTP: N per chunk, tags in the same call, near-duplicates, provenance, call log, batched vs per-question,
chain of thought, malformed replies, failures and retry, cancel, key hygiene, Ollama, extractive."""

from __future__ import annotations

import re

import json
import time
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Reply
from qa_responder import respond

from conftest import examples, financial, small_chunks
from loreforge.service import Service
from loreforge.store.models import DatasetItem, Job, LLMCall, Question

KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=respond, api_key=KEY) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("fin")
    svc.set_setting("fin", "llm.max_attempts", 2)
    small_chunks(svc, "fin")
    svc.ingest("fin", examples())
    svc.add_model("fin", "custom", "fake-model", name="fake", base_url=fake.base_url, api_key=KEY)
    return "fin"


def _chunks(svc: Service, p: str) -> list:
    return svc.list_chunks(p, page_size=1000).items


def test_questions_per_chunk_with_tags_and_provenance(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.build_tags(proj)
    job = svc.generate_questions(proj)
    chunks = _chunks(svc, proj)
    assert job.status == "completed" and job.total == len(chunks) == job.done
    assert len(fake.chat_requests()) == len(chunks) + 1  # one call per chunk (+ the tag call), tag in the same call
    with svc.db.session() as s:
        questions = s.query(Question).all()
        calls = s.query(LLMCall).filter_by(stage="questions").all()
    assert len(calls) == len(chunks) and all(c.status == "ok" and c.tokens_in > 0 for c in calls)
    assert {c.prompt_name for c in calls} == {"questions"}
    per_chunk: dict[int, int] = {}
    for q in questions:
        per_chunk[q.chunk_id] = per_chunk.get(q.chunk_id, 0) + 1
        assert q.model == "fake-model" and q.prompt_hash and q.input_hash and q.source == "llm"
    for c in chunks:
        expected = max(1, round(c.size / 240))
        assert 1 <= per_chunk.get(c.id, 0) <= expected
    assert "收入、利润、产品" in fake.chat_requests()[1].prompt  # leaf tags offered in the question call
    tagged = svc.list_questions(proj, tag="收入")
    assert tagged.total == len(questions)  # the responder picks the first offered tag


def test_rerun_is_idempotent_and_duplicates_are_not_stored(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.generate_questions(proj)
    first = svc.list_questions(proj).total
    again = svc.generate_questions(proj)
    assert again.total == 0 and svc.list_questions(proj).total == first  # nothing asked twice
    forced = svc.generate_questions(proj, force=True)
    assert svc.list_questions(proj).total == first  # same questions again: near-duplicates not stored
    # honest endings: a chunk whose every question was a near-duplicate is not "done", and says why
    assert forced.status == "completed_with_failures" and forced.failed == forced.total > 0 and forced.done == 0
    assert all(re.fullmatch(r"\d+ asked, 0 kept: \d+ near-duplicate\(s\) of questions [\d, ]+( \.\.\.)?", f.error or "")
               for f in forced.failures), forced.failures


def test_batched_answers_one_call_per_chunk(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.set_setting(proj, "answers.cot", "ask")
    svc.generate_questions(proj)
    fake.reset()
    job = svc.generate_answers(proj)
    n_chunks = len({q.chunk_id for q in svc.list_questions(proj, page_size=1000).items})
    assert job.status == "completed"
    assert len(fake.chat_requests()) == n_chunks
    assert "reasoning" in fake.chat_requests()[0].prompt  # CoT asked for explicitly
    with svc.db.session() as s:
        items = s.query(DatasetItem).all()
        assert len(items) == s.query(Question).count()
        assert all(s.get(Question, i.question_id).answered for i in items)
    for item in items:
        assert not item.answer.startswith("根据文本")  # "according to the text" stripped
        assert item.cot.startswith("推理") and item.prompt_hash and item.model == "fake-model"
    assert svc.usage(proj).tokens_per_pair and svc.usage(proj).qa_pairs == len(items)


def test_per_question_mode_takes_reasoning_content(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.generate_questions(proj, chunk_ids=[_chunks(svc, proj)[0].id])
    fake.reset()
    job = svc.generate_answers(proj, mode="per-question")
    n = svc.list_questions(proj).total
    assert job.done == n and len(fake.chat_requests()) == n
    items = svc.list_dataset(proj).items
    assert all(a.answer == "单个问题的答案。" and a.cot == "单题推理" for a in items)


def test_cot_off(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.set_setting(proj, "answers.cot", "off")
    svc.generate_questions(proj, chunk_ids=[_chunks(svc, proj)[0].id])
    svc.generate_answers(proj)
    assert all(a.cot == "" for a in svc.list_dataset(proj).items)


def test_malformed_replies_repaired_reasked_or_failed_and_retried(svc: Service, proj: str, fake: FakeLLM) -> None:
    chunks = _chunks(svc, proj)[:3]
    ids = [c.id for c in chunks]
    # chunk 1: broken but repairable JSON (a cut one is asked again: tests/test_cut_replies.py); chunk 2: garbage,
    # then good on the re-ask; chunk 3: garbage twice
    fake.script(
        Reply(text='{"questions": [{"question": "快手二季度营收多少？", "tag": ""},]}'),
        Reply(text="no json here"),
        Reply(text='{"questions": [{"question": "京东的收入是多少？"}]}'),
        Reply(text="still no json"),
        Reply(text="and again no json"),
    )
    svc.set_setting(proj, "llm.concurrency", 1)
    job = svc.generate_questions(proj, chunk_ids=ids)
    assert job.status == "completed_with_failures" and job.failed == 1 and job.done == 2
    assert "completed with 1 failed" in job.summary
    failure = job.failures[0]
    assert failure.key.startswith(f"chunk:{ids[2]}:") and "and again no json" in (failure.raw_output or "")
    reask = fake.chat_requests()[2]
    assert reask.messages[-1]["role"] == "user" and "JSON" in reask.messages[-1]["content"]
    fake.reset()
    retried = svc.retry_job(job.id)
    assert retried.id == job.id and retried.status == "completed" and retried.failed == 0
    assert len(fake.chat_requests()) == 1  # only the failed chunk was asked again


def test_provider_errors_fail_fast_and_are_listed(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.script(*[Reply(status=400, error="model 'fake-model' does not support this")] * 50)
    job = svc.generate_questions(proj)
    assert job.status == "completed_with_failures" and job.done == 0 and job.failed == job.total
    assert "does not support this" in (job.failures[0].error or "")
    assert len(fake.chat_requests()) == job.total  # 400 is not retried


def test_keys_never_leak(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.script(Reply(status=401, error="bad key {auth}"))  # the server echoes the Authorization header
    svc.generate_questions(proj)
    blobs = [json.dumps([m.model_dump(mode="json") for m in svc.list_models(proj)], ensure_ascii=False)]
    blobs += [json.dumps(j.model_dump(mode="json"), ensure_ascii=False) for j in svc.list_jobs(proj)]
    with svc.db.session() as s:
        blobs += [f"{c.error} {c.params}" for c in s.query(LLMCall).all()]
        blobs += [json.dumps(j.params) for j in s.query(Job).all()]
    assert all(KEY not in b for b in blobs)
    assert svc.list_models(proj)[0].api_key == "stored (encrypted) ••••••"
    assert KEY not in (svc.config.home / "loreforge.db").read_bytes().decode("latin-1")  # encrypted at rest


def test_cancel_stops_in_flight_calls(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.script(*[Reply(hang=True)] * 100)
    job = svc.generate_questions(proj, background=True)
    deadline = time.monotonic() + 10
    while fake.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.in_flight > 0
    svc.cancel_job(job.id)
    while svc.get_job(job.id).status not in ("cancelled",) and time.monotonic() < deadline + 10:
        time.sleep(0.1)
    assert svc.get_job(job.id).status == "cancelled"
    while fake.in_flight and time.monotonic() < deadline + 15:
        time.sleep(0.05)
    assert fake.in_flight == 0 and fake.disconnected > 0


def test_ollama_native(svc: Service, proj: str) -> None:
    with FakeLLM(responder=respond) as ollama:
        svc.add_model(proj, "ollama", "qwen2.5", name="ol", base_url=ollama.root_url)
        job = svc.generate_questions(proj, chunk_ids=[_chunks(svc, proj)[0].id], model="ol")
        assert job.status == "completed"
        assert ollama.chat_requests()[0].path == "/api/chat"
        assert svc.list_remote_models(proj, "ol") == ["fake-model", "fake-small"]


def test_model_test_and_listing(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.script("pong")
    result = svc.test_model(proj, "fake")
    assert result.ok and result.reply == "pong" and result.latency_ms > 0
    fake.script(Reply(status=401, error="invalid key"))
    bad = svc.test_model(proj, "fake")
    assert not bad.ok and "invalid key" in (bad.error or "")
    assert svc.list_remote_models(proj) == ["fake-model", "fake-small"]


def test_extractive_on_the_real_corpus(svc: Service) -> None:
    svc.create_project("offline")
    files = financial()
    svc.ingest("offline", files)
    svc.build_tags("offline")  # from the headings, no LLM
    q = svc.generate_questions("offline")  # no model configured: extractive is the default
    a = svc.generate_answers("offline")
    assert q.status == "completed" and a.done > 0
    items = svc.list_dataset("offline", page_size=1000).items
    assert len(items) >= 20
    chunks = {c.id: c.text for c in svc.list_chunks("offline", page_size=1000).items}
    grounded = sum(1 for i in items if i.answer.rstrip("；;，,") in chunks[i.chunk_id])
    assert grounded / len(items) > 0.9  # answers are the chunk's own sentences
    with svc.db.session() as s:
        assert {x.source for x in s.query(DatasetItem).all()} == {"extractive"}


def test_background_jobs_share_one_limit_per_endpoint(svc: Service, proj: str, fake: FakeLLM) -> None:
    import dataclasses

    fake.responder = lambda req: dataclasses.replace(respond(req), delay_s=0.1)
    svc.set_setting(proj, "llm.concurrency", 3)
    svc.create_project("other", copy_from=proj)
    svc.ingest("other", examples())
    jobs = [svc.generate_questions(p, background=True) for p in (proj, "other")]
    deadline = time.monotonic() + 60
    while any(svc.get_job(j.id).status in ("queued", "running") for j in jobs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(svc.get_job(j.id).status == "completed" for j in jobs)
    assert fake.peak == 3  # two jobs, one endpoint: the limit holds across both, and is reached
