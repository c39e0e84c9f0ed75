"""Genre–audience pairs (issue 15, feature 1): proposed per document in one call, toggled, edited and added by hand;
active pairs multiply question generation — every pair's questions of a chunk in ONE call (Easy Dataset: two calls
per chunk and pair) — answers are written in the pair's style, rows record their pair, filters and export select by
it. Against the fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Recorded, Reply

from conftest import examples, small_chunks
from loreforge.errors import UserError
from loreforge.filters import DatasetFilter
from loreforge.service import Service
from loreforge.store.models import LLMCall

NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.M)
PAIRS = [({"title": f"体裁{i}", "description": f"体裁{i}的描述"}, {"title": f"受众{i}", "description": f"受众{i}的描述"}) for i in range(1, 6)]


def respond(req: Recorded) -> Reply:
    prompt = req.prompt
    if '"pairs": [{"genre"' in prompt:
        pairs = [{"genre": g, "audience": a} for g, a in PAIRS] + [{"genre": PAIRS[0][0], "audience": PAIRS[0][1]}]  # one twice
        return Reply(text=json.dumps({"pairs": pairs}, ensure_ascii=False))
    if '"pair": 1' in prompt:
        styles = [int(n) for n in re.findall(r"^(\d+)\. 体裁：", prompt, re.M)]
        n = int(re.search(r"各提出 (\d+) 个问题", prompt).group(1))  # type: ignore[union-attr]
        chunk_tag = abs(hash(prompt[:60])) % 10_000
        qs = [{"pair": s, "question": f"风格{s}视角下第{k}个问题（块{chunk_tag}）是什么？", "tag": ""} for s in styles for k in range(1, n + 1)]
        return Reply(text=json.dumps({"questions": qs}, ensure_ascii=False))
    if '"answers"' in prompt:
        asked = NUMBERED.findall(prompt.split("\n\n---\n", 1)[1])
        return Reply(text=json.dumps({"answers": [{"id": int(i), "answer": f"答案{i}"} for i, q in asked if not q.startswith("风格 ")]},
                                     ensure_ascii=False))
    return Reply(text='{"questions": [{"question": "普通问题？", "tag": ""}]}')


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=respond) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("ga")
    small_chunks(svc, "ga")
    svc.ingest("ga", examples()[:1])
    svc.add_model("ga", "custom", "fake-model", name="fake", base_url=fake.base_url)
    return "ga"


def test_pairs_multiply_questions_in_one_call_per_chunk(svc: Service, proj: str, fake: FakeLLM, tmp_path: Path) -> None:
    job = svc.generate_ga_pairs(proj)
    assert job.status == "completed" and len(fake.chat_requests()) == 1  # one call per document
    pairs = svc.list_ga_pairs(proj)
    assert [p.genre_title for p in pairs] == [f"体裁{i}" for i in range(1, 6)]  # the duplicate dropped, five kept
    assert pairs[0].model == "fake-model" and pairs[0].prompt_hash and pairs[0].source == "llm"
    svc.edit_ga_pair(proj, pairs[4].id, active=False)
    svc.edit_ga_pair(proj, pairs[3].id, active=False)
    svc.edit_ga_pair(proj, pairs[2].id, active=False)
    mine = svc.add_ga_pair(proj, pairs[0].document_id, "速查型", "投资者", audience_description="关心数字的人")
    active = {pairs[0].id, pairs[1].id, mine.id}
    fake.reset()

    chunks = svc.list_chunks(proj, page_size=1000).items
    svc.generate_questions(proj)
    requests = fake.chat_requests()
    assert len(requests) == len(chunks)  # every pair's questions of a chunk in ONE call
    assert "体裁：速查型（）；受众：投资者（关心数字的人）" in requests[0].prompt and "体裁5" not in requests[0].prompt
    questions = svc.list_questions(proj, page_size=1000).items
    assert {q.ga_pair_id for q in questions} == active
    with svc.db.session() as s:
        assert {c.prompt_name for c in s.query(LLMCall).filter_by(stage="questions")} == {"questions_ga"}

    fake.reset()
    svc.generate_answers(proj)
    assert len(fake.chat_requests()) == len(chunks)  # still one answer call per chunk
    prompt = fake.chat_requests()[0].prompt
    assert "下列问题按标注的风格作答" in prompt and "（按风格 1 作答）" in prompt
    items = svc.list_dataset(proj, page_size=1000).items
    assert {i.ga_pair_id for i in items} == active and len(items) == len(questions)
    per_row = {r.stage: r for r in svc.usage(proj).per_row}
    assert per_row["ga_pairs"].rows == 5 and per_row["ga_pairs"].calls == 1
    assert per_row["questions"].rows == len(questions) and per_row["questions"].calls == len(chunks)
    one = svc.list_dataset(proj, filter=DatasetFilter(ga_pair_id=mine.id), page_size=1000)
    assert one.total == sum(q.ga_pair_id == mine.id for q in questions)
    svc.add_question(proj, chunks[0].id, "一个不属于任何风格的问题？")
    svc.generate_answers(proj)
    svc.confirm_dataset(proj, DatasetFilter())
    assert svc.list_dataset(proj, filter=DatasetFilter(ga=False)).total == 1
    report = svc.export(proj, tmp_path / "out", format="alpaca", filter=DatasetFilter(ga=False), val_size=0)
    assert report.counts["total"] == 1  # export can leave the pairs' rows out (or take only them: ga=True)


def test_proposing_again_keeps_pairs_made_by_hand_and_no_ga_ignores_pairs(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.generate_ga_pairs(proj)
    pairs = svc.list_ga_pairs(proj)
    svc.edit_ga_pair(proj, pairs[0].id, genre_title="我改过的体裁")
    again = svc.generate_ga_pairs(proj, force=True)
    assert again.status == "completed"
    titles = [p.genre_title for p in svc.list_ga_pairs(proj)]
    assert "我改过的体裁" in titles and len(titles) == 6
    assert svc.generate_ga_pairs(proj).total == 0  # every document has pairs: nothing to propose
    fake.reset()
    svc.generate_questions(proj, chunk_ids=[svc.list_chunks(proj).items[0].id], ga=False)
    assert '"pair": 1' not in fake.chat_requests()[0].prompt
    assert all(q.ga_pair_id is None for q in svc.list_questions(proj).items)


def test_pairs_need_an_llm_and_bad_edits_are_refused(svc: Service, proj: str) -> None:
    svc.remove_model(proj, "fake")
    with pytest.raises(UserError, match="Proposing genre–audience pairs needs an LLM"):
        svc.generate_ga_pairs(proj)
    doc = svc.list_documents(proj)[0].id
    pair = svc.add_ga_pair(proj, doc, "体裁", "受众")
    with pytest.raises(UserError, match="genre title cannot be empty"):
        svc.edit_ga_pair(proj, pair.id, genre_title="  ")
    svc.delete_ga_pair(proj, pair.id)
    assert svc.list_ga_pairs(proj) == []


def test_a_document_whose_markdown_is_gone_fails_alone(svc: Service, fake: FakeLLM) -> None:
    svc.create_project("two")
    svc.ingest("two", examples())
    svc.add_model("two", "custom", "fake-model", name="fake", base_url=fake.base_url)
    docs = svc.list_documents("two")
    Path(docs[0].markdown_path).unlink()
    job = svc.generate_ga_pairs("two")
    assert job.status == "completed_with_failures" and job.done == 1
    assert "has no readable Markdown" in (job.failures[0].error or "") and "documents delete" in (job.failures[0].error or "")
