"""Multi-turn dialogues (issue 15, feature 2): a conversation of N rounds from a question and its chunk — the whole
dialogue in ONE call, round by round when the model cannot give it whole (Easy Dataset: 2N-1 calls) — stored as a
dataset item of kind `dialogue`, checked turn by turn for grounding, exported as ShareGPT/messages (its own entry in
the LLaMA Factory bundle) and read by training with mask_history. Against the fake server over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_llm import FakeLLM, Recorded, Reply

from conftest import examples, small_chunks
from loreforge.filters import DatasetFilter
from loreforge.service import Service
from loreforge.store.models import LLMCall


class Talker:
    """Writes whole dialogues (`whole` rounds of them; 0: garbage) and single rounds."""

    def __init__(self, whole: int | None = None, figure: str = "38.6亿元") -> None:
        self.whole, self.figure = whole, figure

    def __call__(self, req: Recorded) -> Reply:
        prompt = req.prompt
        if '{"turns": [' in prompt:
            rounds = int(re.search(r"(\d+) 轮的对话", prompt).group(1))  # type: ignore[union-attr]
            n = rounds if self.whole is None else self.whole
            if n == 0:
                return Reply(text="I would rather chat freely.")
            turns = [{"user": f"追问{k}？", "assistant": f"根据文本，营收为{self.figure if k == 2 else '38.6亿元'}。"}
                     for k in range(1, n + 1)]
            return Reply(text=json.dumps({"turns": turns}, ensure_ascii=False))
        if '"next_user"' in prompt:
            k = int(re.search(r"第 (\d+) 轮", prompt).group(1))  # type: ignore[union-attr]
            reply = {"assistant": f"逐轮回答{k}。", "next_user": f"逐轮追问{k + 1}？", "user": f"补问{k}？"}
            return Reply(text=json.dumps(reply, ensure_ascii=False))
        return Reply(text="?")


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(responder=Talker()) as server:
        yield server


@pytest.fixture()
def proj(svc: Service, fake: FakeLLM) -> str:
    svc.create_project("d")
    small_chunks(svc, "d")
    svc.ingest("d", [p for p in examples() if p.suffix == ".md"])
    chunks = [c for c in svc.list_chunks("d", page_size=1000).items if "38.6亿元" in c.text]
    svc.add_question("d", chunks[0].id, "上半年营收是多少？")
    svc.add_question("d", chunks[0].id, "营收来自哪里？")
    svc.add_model("d", "custom", "fake-model", name="fake", base_url=fake.base_url)
    return "d"


def _dialogues(svc: Service, proj: str) -> list:
    return svc.list_dataset(proj, filter=DatasetFilter(kind="dialogue"), page_size=100).items


def test_one_call_per_dialogue_stored_as_an_item(svc: Service, proj: str, fake: FakeLLM) -> None:
    job = svc.generate_dialogues(proj, system_prompt="你是财经助手。", scenario="投资者交流会", user_role="投资者", assistant_role="分析师")
    assert job.status == "completed" and job.total == 2
    assert len(fake.chat_requests()) == 2  # ONE call per 3-round dialogue (Easy Dataset: 5)
    prompt = fake.chat_requests()[0].prompt
    assert "场景：投资者交流会" in prompt and "投资者提问，分析师回答" in prompt and "3 轮" in prompt
    items = _dialogues(svc, proj)
    assert len(items) == 2 and all(i.kind == "dialogue" and len(i.history or []) == 2 for i in items)
    first = svc.show_dataset_item(proj, items[0].id)
    assert first.history[0][0] == "上半年营收是多少？"  # the dialogue starts from the question as asked
    assert first.history[0][1] == "营收为38.6亿元。"  # "根据文本，" lead-in stripped
    assert first.system == "你是财经助手。" and first.meta["user_role"] == "投资者" and first.meta["rounds"] == 3
    assert first.model == "fake-model" and first.prompt_hash and first.tokens_in > 0
    with svc.db.session() as s:
        assert {c.stage for c in s.query(LLMCall)} == {"dialogues"}
    assert svc.generate_dialogues(proj).total == 0  # every question has its dialogue: nothing is made twice
    assert svc.list_dataset(proj, filter=DatasetFilter(kind="qa")).total == 0
    per_row = {r.stage: r for r in svc.usage(proj).per_row}
    assert (per_row["dialogues"].rows, per_row["dialogues"].calls_per_row) == (2, 1.0)  # `loreforge usage`: calls per row


def test_round_by_round_when_the_whole_reply_fails_or_stops_early(svc: Service, proj: str, fake: FakeLLM) -> None:
    q1, q2 = [q.id for q in svc.list_questions(proj).items]
    fake.responder = Talker(whole=0)
    svc.generate_dialogues(proj, question_ids=[q1])
    assert len(fake.chat_requests()) == 2 + 3  # the whole reply and its re-ask failed: then one call per round
    item = _dialogues(svc, proj)[0]
    assert item.history == [["上半年营收是多少？", "逐轮回答1。"], ["逐轮追问2？", "逐轮回答2。"]] and item.answer == "逐轮回答3。"
    fake.reset()
    fake.responder = Talker(whole=2)
    job = svc.generate_dialogues(proj, question_ids=[q2])
    assert len(fake.chat_requests()) == 2  # two rounds came whole; the third took one more call (user and reply together)
    last = [i for i in _dialogues(svc, proj) if i.question_id == q2][0]
    assert last.question == "补问3？" and last.answer == "逐轮回答3。" and len(last.history) == 2
    assert any("round by round" in n for n in job.progress["notes"])
    fake.reset()
    svc.generate_dialogues(proj, question_ids=[q2], mode="turns", rounds=2, force=True)
    assert len(fake.chat_requests()) == 2  # turns mode: one call per round


def test_grounding_checked_per_assistant_turn(svc: Service, proj: str, fake: FakeLLM) -> None:
    fake.responder = Talker(figure="48.7亿元")
    svc.generate_dialogues(proj)
    report = svc.check_dataset(proj, DatasetFilter(kind="dialogue"))
    assert report.failed == 2 and report.items[0]["missing"] == ["round 2: 48.7亿元"]


def test_dialogues_export_and_train_with_mask_history(svc: Service, proj: str, tmp_path: Path) -> None:
    from test_train_templates import tiny_tokenizer

    from loreforge.train.data import IGNORE_INDEX, encode, load_dataset
    from loreforge.train.templates import TEMPLATES

    svc.generate_dialogues(proj, system_prompt="你是财经助手。")
    chunk = svc.list_questions(proj).items[0].chunk_id
    svc.add_question(proj, chunk, "一个普通问题？")
    svc.generate_answers(proj, provider="extractive")
    svc.confirm_dataset(proj, DatasetFilter())
    messages = svc.export(proj, tmp_path / "m", format="messages", file_type="jsonl", val_size=0)
    rows = [json.loads(line) for line in (Path(messages.folder) / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    talks = [r for r in rows if len(r["messages"]) > 3]
    assert len(talks) == 2 and [m["role"] for m in talks[0]["messages"]] == ["system"] + ["user", "assistant"] * 3
    alpaca = svc.export(proj, tmp_path / "a", format="alpaca", val_size=0)
    records = json.loads((Path(alpaca.folder) / "train.json").read_text(encoding="utf-8"))
    assert sorted(len(r["history"]) for r in records) == [0, 0, 0, 2, 2]  # history turned on for the dialogues' rounds

    bundle = Path(svc.export(proj, tmp_path / "b", val_size=0).folder)
    info = json.loads((bundle / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["d_dialogues"]["file_name"] == "dialogues.json" and info["d_dialogues"]["formatting"] == "sharegpt"
    assert len(json.loads((bundle / "alpaca.json").read_text(encoding="utf-8"))) == 3  # the QA pairs only
    assert 'dataset: "d_alpaca,d_dialogues"' in (bundle / "train_lora.yaml").read_text(encoding="utf-8")
    loaded = load_dataset(["d_dialogues"], bundle)
    assert loaded.skipped == 0 and len(loaded.conversations) == 2
    talk = loaded.conversations[0]
    assert talk.system == "你是财经助手。" and len(talk.messages) == 6
    tok = tiny_tokenizer()
    ids, labels = encode(talk, tok, TEMPLATES["qwen"], 4096, mask_history=True)
    trained = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE_INDEX])
    assert trained == talk.messages[-1].content + "<|im_end|>\n"  # the last assistant turn only, not the earlier two
    _, all_labels = encode(talk, tok, TEMPLATES["qwen"], 4096)
    assert sum(lab != IGNORE_INDEX for lab in all_labels) > sum(lab != IGNORE_INDEX for lab in labels)


def test_offline_dialogues_from_the_chunk(svc: Service, proj: str, fake: FakeLLM) -> None:
    job = svc.generate_dialogues(proj, provider="extractive", rounds=2)
    assert job.status == "completed" and not fake.chat_requests()
    items = _dialogues(svc, proj)
    assert items and all(i.source == "extractive" and i.history[0][0] in ("上半年营收是多少？", "营收来自哪里？") for i in items)
