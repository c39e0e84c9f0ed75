"""Distillation without documents (issue 15, feature 3): a topic → a tag tree (a small subtree in one call) →
questions per leaf (existing ones passed in) → answers from the model's own knowledge (marked distilled, never
grounded) and/or dialogues; the estimate shown before a run; the tree edited by hand. Against the fake server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM, Recorded, Reply

from loreforge.errors import UserError
from loreforge.filters import DatasetFilter
from loreforge.service import Service


def _tree(label: str, levels: int, per: int) -> list[dict]:
    return [{"label": f"{label}-{i}", "children": _tree(f"{label}-{i}", levels - 1, per) if levels > 1 else []} for i in range(1, per + 1)]


def respond(req: Recorded) -> Reply:
    prompt = req.prompt
    if '{"tags": [{"label"' in prompt:
        tag = re.search(r'请在"(.+?)"之下', prompt).group(1)  # type: ignore[union-attr]
        deep = re.search(r"生成 (\d+) 层子标签，每个标签下 (\d+) 个", prompt)
        one = re.search(r"生成 (\d+) 个子标签", prompt)
        levels, per = (int(deep.group(1)), int(deep.group(2))) if deep else (1, int(one.group(1)))  # type: ignore[union-attr]
        return Reply(text=json.dumps({"tags": _tree(tag, levels, per)}, ensure_ascii=False))
    if '{"questions": ["' in prompt:
        tag = re.search(r'精通"(.+?)"领域', prompt).group(1)  # type: ignore[union-attr]
        n = int(re.search(r"提出 (\d+) 个", prompt).group(1))  # type: ignore[union-attr]
        have = len(re.findall(r"^- ", prompt.split("重复或相近：", 1)[1], re.M))
        return Reply(text=json.dumps({"questions": [f"{tag}的第{k}个要点是什么？" for k in range(have + 1, have + n + 1)]}, ensure_ascii=False))
    if '"answers"' in prompt and prompt.startswith("主题："):
        ids = re.findall(r"^(\d+)\. ", prompt, re.M)
        return Reply(text=json.dumps({"answers": [{"id": int(i), "answer": f"知识答案{i}"} for i in ids]}, ensure_ascii=False))
    if '{"turns": [' in prompt:
        return Reply(text=json.dumps({"turns": [{"user": "问？", "assistant": "答。"}] * 3}, ensure_ascii=False))
    return Reply(text="?")


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=respond) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("k")
    svc.add_model("k", "custom", "fake-model", name="fake", base_url=fake.base_url)
    return "k"


def test_estimate_counts_calls_before_it_starts(svc: Service, proj: str) -> None:
    e = svc.distill_estimate(proj, mode="both")
    assert (e.tags, e.leaves, e.questions) == (30, 25, 125)
    assert {k: v["calls"] for k, v in e.steps.items()} == {"distill_tags": 1, "distill_questions": 25, "distill_answers": 25, "dialogues": 125}
    assert e.calls == 176 and e.tokens > 0
    svc.set_setting(proj, "distill.max_tags_per_call", 5)
    assert svc.distill_estimate(proj).steps["distill_tags"]["calls"] == 6  # one level per call: 1 + 5 (Easy Dataset's pattern)


def test_run_makes_tree_questions_answers_and_dialogues(svc: Service, proj: str, fake: FakeLLM) -> None:
    run = svc.distill_run(proj, "电池", levels=2, tags_per_level=2, questions_per_leaf=2, mode="both")
    assert [j.kind for j in run.jobs] == ["distill_tags", "distill_questions", "distill_answers", "dialogues"]
    assert all(j.status == "completed" for j in run.jobs), [j.failures for j in run.jobs]
    assert len(fake.chat_requests()) == 1 + 4 + 4 + 8  # the whole tree in one call; a call per leaf; a dialogue each
    topic = run.tree[0]
    assert topic.label == "电池" and [c.label for c in topic.children] == ["电池-1", "电池-2"]
    assert [g.label for g in topic.children[0].children] == ["电池-1-1", "电池-1-2"]
    items = svc.list_dataset(proj, filter=DatasetFilter(distilled=True), page_size=100).items
    assert len(items) == 16 and all(i.distilled and i.chunk_id is None for i in items)
    assert sorted(i.kind for i in items) == ["dialogue"] * 8 + ["qa"] * 8
    per_row = {r.stage: (r.rows, r.calls) for r in svc.usage(proj).per_row}
    assert per_row["distill_tags"] == (6, 1) and per_row["distill_questions"] == (8, 4) and per_row["distill_answers"] == (8, 4)
    qa = [i for i in items if i.kind == "qa"]
    assert qa[0].answer.startswith("知识答案") and qa[0].tag.startswith("电池-") and qa[0].prompt_hash
    check = svc.check_dataset(proj)
    assert check.checked == 0 and check.failed == 0  # nothing to check a distilled answer against: never grounded
    shown = svc.show_dataset_item(proj, qa[0].id)
    assert shown.grounding == {"ok": None, "reason": "distilled: answered from the model's own knowledge"}
    answer_prompt = fake.chat_requests()[5].prompt
    assert "依据你自己可靠的专业知识" in answer_prompt and "参考文本" not in answer_prompt  # no context at all
    dialogue_prompt = fake.chat_requests()[-1].prompt
    assert "没有参考文本" in dialogue_prompt and "（无参考文本）" in dialogue_prompt
    fake.reset()
    again = svc.distill_run(proj, "电池", levels=2, tags_per_level=2, questions_per_leaf=2, mode="both")
    assert not fake.chat_requests() and all(j.total == 0 for j in again.jobs)  # everything done: nothing asked twice


def test_deep_trees_take_a_level_per_call_when_the_subtree_is_big(svc: Service, proj: str, fake: FakeLLM) -> None:
    svc.set_setting(proj, "distill.max_tags_per_call", 3)
    run = svc.distill_tags(proj, "储能", levels=3, tags_per_level=2)
    assert len(fake.chat_requests()) == 1 + 2 + 4
    assert [j.kind for j in run.jobs] == ["distill_tags"] * 3
    leaves = run.tree[0].children[0].children[0].children
    assert [t.label for t in leaves] == ["储能-1-1-1", "储能-1-1-2"]


def test_tree_edited_by_hand_and_existing_questions_passed_in(svc: Service, proj: str, fake: FakeLLM) -> None:
    topic = svc.add_distill_tag(proj, "光伏")
    leaf = svc.add_distill_tag(proj, "组件", parent="光伏")
    svc.rename_distill_tag(proj, leaf.id, "光伏组件")
    svc.distill_questions(proj, topic="光伏", questions_per_leaf=2)
    assert "（无）" in fake.chat_requests()[0].prompt
    fake.reset()
    svc.distill_questions(proj, topic=topic.id, questions_per_leaf=2, force=True)
    prompt = fake.chat_requests()[0].prompt
    assert "- 光伏组件的第1个要点是什么？" in prompt and "- 光伏组件的第2个要点是什么？" in prompt  # none repeats them
    assert svc.list_questions(proj).total == 4
    svc.distill_answers(proj)
    assert svc.list_dataset(proj).total == 4
    assert svc.delete_distill_tag(proj, "光伏").deleted == 2
    assert svc.list_distill_tags(proj) == [] and svc.list_questions(proj).total == 4  # questions stay, without a tag


def test_distillation_needs_an_llm(svc: Service, proj: str) -> None:
    svc.remove_model(proj, "fake")
    with pytest.raises(UserError, match="Distillation needs an LLM"):
        svc.distill_run(proj, "电池", mode="single")
