"""A deterministic 'LLM' for the data modes of issue 15 (genre–audience pairs, questions in each pair's style,
whole dialogues): answers LoreForge's prompts from the prompt text itself, so that results depend only on the input.
Used by bench/data_modes.py (`python tests/fake_llm.py --responder mode_responder:respond`)."""

from __future__ import annotations

import json
import re

from fake_llm import Recorded, Reply

SENTENCE = re.compile(r"[^。！？!?\n]{6,}[。！？!?]")


def _source(prompt: str) -> str:
    head = prompt.split("\n\n---\n", 1)[0]
    return head.split("参考文本：\n", 1)[-1].split("Reference text:\n", 1)[-1]


def _sentences(prompt: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(_source(prompt))] or [_source(prompt)[:40]]


def _pairs() -> str:
    pairs = [{"genre": {"title": f"体裁{i}", "description": f"第{i}种提问风格，语气与形式各不相同。"},
              "audience": {"title": f"受众{i}", "description": f"第{i}类读者，背景与目的各不相同。"}} for i in range(1, 6)]
    return json.dumps({"pairs": pairs}, ensure_ascii=False)


def _ga_questions(prompt: str) -> str:
    styles = [int(n) for n in re.findall(r"^(\d+)\. (?:体裁|genre)", prompt, re.M)]
    m = re.search(r"各提出 (\d+) 个问题|Write (\d+) questions", prompt)
    n = int(next(g for g in m.groups() if g)) if m else 1
    facts = _sentences(prompt)
    qs = [{"pair": s, "question": f"从风格{s}看，“{facts[(k + s) % len(facts)][:24]}”说明了什么？", "tag": ""}
          for s in styles for k in range(n)]
    return json.dumps({"questions": qs}, ensure_ascii=False)


def _dialogue(prompt: str) -> str:
    rounds = int((re.search(r"(\d+) 轮的对话|dialogue of (\d+) rounds", prompt) or re.search(r"(\d+)", "3")).group(1) or 3)
    facts = _sentences(prompt)
    turns = [{"user": f"能再说说“{facts[k % len(facts)][:16]}”吗？", "assistant": facts[k % len(facts)]} for k in range(rounds)]
    return json.dumps({"turns": turns}, ensure_ascii=False)


def respond(req: Recorded) -> Reply:
    prompt = req.prompt
    if '"pairs": [{"genre"' in prompt:
        return Reply(text=_pairs())
    if '"pair": 1' in prompt:
        return Reply(text=_ga_questions(prompt))
    if '{"turns": [' in prompt:
        return Reply(text=_dialogue(prompt))
    return Reply(text='{"ok": true}')
