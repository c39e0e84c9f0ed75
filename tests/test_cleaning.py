"""Cleaning chunks (issue 15, feature 4): the rule-based cleaner on the common noise, the figure check that flags a
cleaning which dropped or invented facts, and the stage as a job — through the fake LLM over real HTTP, and
offline by rule — keeping the original, marking questions stale, diff and restore, resume by claims."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Recorded, Reply
from fastapi.testclient import TestClient

from loreforge.generate.cleaning import figure_changes, rule_clean
from loreforge.service import Service
from loreforge.store.models import LLMCall

NOISY = """# 星河精密 2025 半年度报告

公司上半年实现营业收入 46.8 亿元，同比增长
12.3%，主要来自新能源客户。
星河精密 2025 半年度报告
第 3 页 共 20 页

扫码关注公众号，获取更多资讯

| 指标 | 数值 |
|---|---|
| 毛利率 | 21.5% |

The gross margin was driven by exam-
ple effects and broken
lines in English.
星河精密 2025 半年度报告
- 12 -
```
code   keeps   its   spaces
```
"""


def test_rule_cleaner_removes_the_common_noise() -> None:
    result = rule_clean(NOISY)
    text = result.text
    assert "第 3 页" not in text and "- 12 -" not in text and "扫码" not in text
    assert text.count("星河精密 2025 半年度报告") == 1  # the heading stays, its repeats go
    assert "营业收入 46.8 亿元，同比增长12.3%，主要来自新能源客户。" in text  # a broken wrap joined (CJK: no space)
    assert "driven by example effects and broken lines in English." in text
    assert "| 毛利率 | 21.5% |" in text and "code   keeps   its   spaces" in text  # tables and code untouched
    assert result.counts["page numbers"] == 2 and result.counts["repeated headers and footers"] == 2
    assert rule_clean("") == rule_clean("")
    assert rule_clean("just one line").text == "just one line"


def test_figure_check_flags_dropped_and_invented_facts_not_page_numbers() -> None:
    clean = rule_clean(NOISY).text
    assert figure_changes(NOISY, clean) == {"dropped": [], "added": []}  # only noise lines held the page numbers
    changed = figure_changes(NOISY, clean.replace("46.8", "48.6").replace("21.5%", ""))
    assert changed == {"dropped": ["46.8 亿元", "21.5%"], "added": ["48.6 亿元"]}


class Cleaner:
    """Cleans by rule (as a careful model would), or invents a figure when `invent` is set."""

    def __init__(self) -> None:
        self.invent = False

    def __call__(self, req: Recorded) -> Reply:
        cleaned = rule_clean(req.prompt.split("\n\n", 1)[1]).text  # the instructions hold no blank line
        if self.invent:
            cleaned += "\n净利润 9.9 亿元。"
        return Reply(text="```\n" + cleaned + "\n```")


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=Cleaner()) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM, tmp_path) -> str:  # type: ignore[no-untyped-def]
    svc.create_project("cl")
    svc.set_setting("cl", "split.min_length", 10)
    svc.set_setting("cl", "split.max_length", 2000)
    doc = tmp_path / "noisy.md"
    doc.write_text(NOISY, encoding="utf-8")
    svc.ingest("cl", [doc])
    svc.add_model("cl", "custom", "fake-model", name="fake", base_url=fake.base_url)
    return "cl"


def test_clean_through_the_llm_keeps_the_original_and_marks_questions_stale(svc: Service, proj: str, fake: FakeLLM) -> None:
    chunk = svc.list_chunks(proj).items[0]
    q = svc.add_question(proj, chunk.id, "上半年营业收入是多少？")
    job = svc.clean_chunks(proj)
    assert job.status == "completed", job.failures
    assert len(fake.chat_requests()) == 1 and "页码" in fake.chat_requests()[0].prompt
    view = svc.get_chunk(proj, chunk.id)
    assert view.cleaned and not view.flagged and "第 3 页" not in view.text
    diff = svc.chunk_diff(proj, chunk.id)
    assert diff.original == NOISY.strip() and "-第 3 页 共 20 页" in diff.diff
    assert diff.cleaning["model"] == "fake-model" and diff.cleaning["prompt_name"] == "clean_chunk" and diff.cleaning["tokens_in"] > 0
    assert [x.stale for x in svc.list_questions(proj).items if x.id == q.id] == [True]
    with svc.db.session() as s:
        assert [c.stage for c in s.query(LLMCall).all()] == ["clean"]
    assert svc.clean_chunks(proj).total == 0  # done: the same text, prompt and model is not cleaned twice
    assert [(r.rows, r.calls) for r in svc.usage(proj).per_row if r.stage == "clean"] == [(1, 1)]
    restored = svc.restore_chunk(proj, chunk.id)
    assert restored.text == NOISY.strip() and not restored.cleaned


def test_a_cleaning_that_changes_figures_is_flagged(svc: Service, proj: str, fake: FakeLLM) -> None:
    assert isinstance(fake.responder, Cleaner)
    fake.responder.invent = True
    job = svc.clean_chunks(proj)
    assert any("flagged" in n for n in job.progress["notes"])
    diff = svc.chunk_diff(proj, svc.list_chunks(proj).items[0].id)
    assert diff.flagged and diff.added == ["9.9 亿元"]


def test_offline_rule_cleaning_and_the_api(svc: Service, proj: str, fake: FakeLLM) -> None:
    from loreforge.web.app import create_app

    client = TestClient(create_app(svc))
    started = client.post(f"/api/projects/{proj}/chunks/clean", json={"provider": "extractive"})
    assert started.status_code == 202
    job_id = started.json()["id"]
    for _ in range(200):
        if svc.get_job(job_id).status not in ("queued", "running"):
            break
        import time

        time.sleep(0.05)
    assert svc.get_job(job_id).status == "completed" and not fake.chat_requests()  # no LLM at all
    chunk_id = svc.list_chunks(proj).items[0].id
    diff = client.get(f"/api/projects/{proj}/chunks/{chunk_id}/diff").json()
    assert diff["cleaned"] and diff["cleaning"]["source"] == "extractive" and diff["cleaning"]["rules"]["page numbers"] == 2
    assert client.post(f"/api/projects/{proj}/chunks/{chunk_id}/restore").json()["cleaned"] is False
    again = client.post(f"/api/projects/{proj}/chunks/{chunk_id}/restore")
    assert again.status_code == 400 and "never cleaned" in again.json()["message"]
