"""A deterministic 'LLM' for the web UI's data-mode pages (tests/test_ui_modes.py) and their browser flow: answers
every prompt of the data modes from the prompt itself — genre–audience pairs, questions in their styles and whole
dialogues (`mode_responder`), distillation tags, questions and answers, chunk cleaning (by rule; a chunk holding
"INVENT" gets a figure it never had, so the cleaning is flagged), image QA and PDF pages read from image content
parts, the heading repair, chains of thought for answers that came without (a question holding "NOCOT" is answered
without reasoning) — and the question, answer and tag prompts (`qa_responder`). Project language: zh."""

from __future__ import annotations

import hashlib
import json
import re

import mode_responder
import qa_responder
from fake_llm import Recorded, Reply

from loreforge.generate.cleaning import rule_clean

INVENTED = "净利润 9.9 亿元。"


def _tree(label: str, levels: int, per: int) -> list[dict[str, object]]:
    return [{"label": f"{label}-{i}", "children": _tree(f"{label}-{i}", levels - 1, per) if levels > 1 else []} for i in range(1, per + 1)]


def _seen(req: Recorded) -> Reply:
    """An image: QA about it (the number asked), and the listed template questions answered; or a PDF page read."""
    prompt = req.prompt
    if '"qa": [' not in prompt:
        tag = hashlib.sha256(req.images[0].encode()).hexdigest()[:6]
        return Reply(text=f"# 第{tag}页\n\n这一页讲营收，图像编号 {tag}。")
    n = int(m.group(1)) if (m := re.search(r"提出 (\d+) 个", prompt)) else 0
    qa = [{"question": f"图中第{k}处是什么颜色？", "answer": f"第{k}处是纯色。"} for k in range(1, n + 1)]
    listed = re.findall(r"^(\d+)\. ", prompt.split("answers（id 是编号）：", 1)[-1], re.M) if "answers（id" in prompt else []
    return Reply(text=json.dumps({"qa": qa, "answers": [{"id": int(i), "answer": "红色"} for i in listed]}, ensure_ascii=False))


def _distill(prompt: str) -> Reply | None:
    if '{"tags": [{"label"' in prompt and (under := re.search(r'请在"(.+?)"之下', prompt)):  # not the domain tag tree's prompt
        tag = under.group(1)
        deep = re.search(r"生成 (\d+) 层子标签，每个标签下 (\d+) 个", prompt)
        one = re.search(r"生成 (\d+) 个子标签", prompt)
        levels, per = (int(deep.group(1)), int(deep.group(2))) if deep else (1, int(one.group(1)))  # type: ignore[union-attr]
        return Reply(text=json.dumps({"tags": _tree(tag, levels, per)}, ensure_ascii=False))
    if '{"questions": ["' in prompt and (field := re.search(r'精通"(.+?)"领域', prompt)):
        tag = field.group(1)
        n = int(re.search(r"提出 (\d+) 个", prompt).group(1))  # type: ignore[union-attr]
        have = len(re.findall(r"^- ", prompt.split("重复或相近：", 1)[1], re.M))
        return Reply(text=json.dumps({"questions": [f"{tag}的第{k}个要点是什么？" for k in range(have + 1, have + n + 1)]}, ensure_ascii=False))
    if '"answers"' in prompt and prompt.startswith("主题："):
        ids = re.findall(r"^(\d+)\. ", prompt, re.M)
        return Reply(text=json.dumps({"answers": [{"id": int(i), "answer": f"知识答案{i}"} for i in ids]}, ensure_ascii=False))
    return None


def respond(req: Recorded) -> Reply:
    prompt = req.prompt
    if req.images:
        return _seen(req)
    if '"headings"' in prompt and '"level"' in prompt:
        ids = re.findall(r"^(\d+)\. #", prompt, re.M)
        return Reply(text=json.dumps({"headings": [{"id": int(i), "level": 1 if i == "1" else 2} for i in ids]}))
    if (distilled := _distill(prompt)) is not None:
        return distilled
    if "请清洗这段文本" in prompt:
        text = prompt.split("\n\n", 1)[1]
        cleaned = rule_clean(text).text
        return Reply(text=cleaned + ("\n" + INVENTED if "INVENT" in text else ""))
    if '"pairs": [{"genre"' in prompt or '"pair": 1' in prompt or '{"turns": [' in prompt:
        return mode_responder.respond(req)
    if '{"reasoning": [' in prompt:  # chains of thought for answers that came without: one call
        n = len(re.findall(r"^\d+\. Q: ", prompt, re.M))
        return Reply(text=json.dumps({"reasoning": [{"id": i, "reasoning": f"补写的推理{i}"} for i in range(1, n + 1)]}, ensure_ascii=False))
    reply = qa_responder.respond(req)
    if '"answers"' in prompt and "NOCOT" in prompt:  # a model that ignores the request for reasoning
        answers = json.loads(reply.text or "{}")
        reply = Reply(text=json.dumps({"answers": [{k: v for k, v in a.items() if k != "reasoning"} for a in answers["answers"]]},
                                      ensure_ascii=False))
    return reply
