"""A deterministic 'LLM' for generation tests: answers LoreForge's question, answer and tag prompts from the
prompt text itself, so results depend only on the input (kill/resume runs can be compared exactly).

Use in-process (`FakeLLM(responder=respond)`) or in a server process
(`python tests/fake_llm.py --responder qa_responder:respond`).
"""

from __future__ import annotations

import json
import re

from fake_llm import Recorded, Reply

N_ZH = re.compile(r"请依据以上文本提出 (\d+) 个问题")
N_EN = re.compile(r"Write (\d+) questions about the text above")
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.M)
SENTENCE = re.compile(r"[^。！？!?\n]{6,}[。！？!?]")


def _chunk(prompt: str) -> str:
    return prompt.split("\n\n---\n", 1)[0]


def _questions(prompt: str, n: int) -> str:
    sentences = SENTENCE.findall(_chunk(prompt)) or [_chunk(prompt)[:40]]
    tags = re.search(r"(?:最贴切的：|tag from: )(.+)", prompt)
    tag = tags.group(1).split("、")[0].split(", ")[0].strip() if tags else ""
    qs = [{"question": f"关于“{s.strip()[:30]}”，文中给出的具体信息是什么？", "tag": tag} for s in sentences[:n]]
    return json.dumps({"questions": qs}, ensure_ascii=False)


def _answers(prompt: str) -> str:
    asked = NUMBERED.findall(prompt.split("\n\n---\n", 1)[1])
    answers = [{"id": int(i), "answer": f"根据文本，{q.strip()[5:35]}的答案见原文。", "reasoning": f"推理{i}"} for i, q in asked]
    return json.dumps({"answers": answers}, ensure_ascii=False)


def respond(req: Recorded) -> Reply:
    prompt = req.prompt
    m = N_ZH.search(prompt) or N_EN.search(prompt)
    if m:
        return Reply(text=_questions(prompt, int(m.group(1))))
    if '"answers"' in prompt:
        return Reply(text=_answers(prompt))
    if '"tags"' in prompt:
        return Reply(text=json.dumps({"tags": [{"label": "财务", "children": ["收入", "利润"]}, {"label": "业务", "children": ["产品"]}]}, ensure_ascii=False))
    return Reply(text="单个问题的答案。", reasoning="单题推理")
