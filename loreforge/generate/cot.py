"""Chain of thought when the model gives none, and citation phrasing taken out of the one it gives.

Fed by the answers stage (`strategies.LLMStrategy.answers`): with `answers.cot = ask` the reasoning is asked for
in the answer call itself (a `reasoning` field per answer, or `<think>` for one question). Answers that still
come back without one get it from ONE further call per work item (a chunk's answers together), never one call
per answer as Easy Dataset makes (it asks a "synthesise CoT" prompt once per answer, then an "optimise CoT"
prompt once per answer to remove citation phrasing). Citation phrasing ("根据参考内容，", "the text says that")
is removed from every chain of thought by rule (`strip_citations`), native reasoning included, with no call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, field_validator

from loreforge.generate.parsing import ListReply
from loreforge.prompts import Prompt

_ZH_SOURCE = r"(?:参考内容|参考资料|参考文本|文本|文中|文章|原文|材料|内容|报告|资料|段落|文献|文档|上下文|给定信息|上文)"
_ZH_LEAD = re.compile(
    r"(?:根据|依据|参考|按照|结合|从|由)(?:以上|上述|上面的?|给定的?|所给的?|提供的?|该|本|这段)?" + _ZH_SOURCE
    + r"(?:中的信息|中的内容|的内容|内容|所述|的描述|来看|中可以看到|可以看到|显示|可知|中提到的?|中提及的?|中)?(?:的信息)?[，,：:]\s*"
)
_ZH_SAYS = re.compile(
    r"(?:以上|上述|给定的?|该|本)?" + _ZH_SOURCE + r"(?:中)?(?:明确)?(?:提到|提及|指出|显示|写道|说明|表明|记载|描述)(?:了)?[，,：:]?\s*"
)
_ZH_ASIDE = re.compile(r"[（(](?:见|参见|参考|引自|据)(?:原文|文本|参考内容|资料|文献|报告)[^）)]{0,20}[）)]")
_EN_SOURCE = r"(?:reference(?: content| material)?|text|passage|report|document|context|source(?: text)?|material|excerpt)"
_EN_LEAD = re.compile(
    r"\b(?:according to|based on|as (?:stated|mentioned|noted|described|shown) in|from|per|drawing on) (?:the |this )?"
    + _EN_SOURCE + r"(?: above| provided| given)?,?\s*",
    re.IGNORECASE,
)
_EN_SAYS = re.compile(
    r"\b(?:the |this )" + _EN_SOURCE + r"(?: above| provided| given)? (?:says|states|mentions|notes|shows|indicates|explains|"
    r"tells us|points out|reports)(?: that)?,?\s*",
    re.IGNORECASE,
)
_EN_ASIDE = re.compile(r"\s*\((?:see|cf\.|per) (?:the )?" + _EN_SOURCE + r"[^)]{0,30}\)", re.IGNORECASE)
_SENTENCE_START = re.compile(r"(^|[.!?]\s+|\n\s*)([a-z])")


def strip_citations(text: str) -> str:
    """`text` (a chain of thought) without phrases that cite the source ("根据参考内容，", "文中提到",
    "According to the text,", "the passage says that", "(see the text)"): the reasoning reads as the model's own.
    A sentence that loses its start gets a capital letter back; nothing else changes."""
    if not text:
        return text
    out = _ZH_ASIDE.sub("", text)
    out = _ZH_LEAD.sub("", out)
    out = _ZH_SAYS.sub("", out)
    out = _EN_ASIDE.sub("", out)
    out = _EN_LEAD.sub("", out)
    out = _EN_SAYS.sub("", out)
    if out == text:
        return text
    out = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


class CotItem(BaseModel):
    id: int
    reasoning: str = ""

    @field_validator("reasoning", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class CotReply(ListReply):
    reasoning: list[CotItem]


def cot_messages(system: Prompt, prompt: Prompt, chunk: str, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The one call that writes the missing chains of thought of a work item's answers (numbered from 1)."""
    numbered = "\n\n".join(f"{i}. Q: {q}\n   A: {a}" for i, (q, a) in enumerate(pairs, 1))
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(chunk=chunk or "-", pairs=numbered)},
    ]


@dataclass
class CotFill:
    """What `fill_missing` did: chains of thought written, answers still without one, tokens of its call."""

    synthesized: int = 0
    missing: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    ids: list[int] = field(default_factory=list)  # the question ids whose chain of thought that call wrote


async def fill_missing(runner: Any, ctx: Any, chunk: str, questions: dict[int, str], answers: dict[int, tuple[str, str]],
                       item: str, synthesize: bool) -> CotFill:
    """Give every answer in `answers` (question id -> (answer, cot)) that has no chain of thought one, from one
    call when `synthesize`; clean every chain of thought of citation phrasing. A reply that cannot be used leaves those answers
    without one (the answers are kept, and counted as still missing)."""
    from loreforge.errors import LoreForgeError

    for qid, (answer, cot) in list(answers.items()):
        answers[qid] = (answer, strip_citations(cot))
    missing = [qid for qid, (_a, cot) in answers.items() if not cot.strip()]
    if not missing or not synthesize:
        return CotFill()
    messages = cot_messages(ctx.prompts["system"], ctx.prompts["cot_synthesize"], chunk,
                            [(questions[qid], answers[qid][0]) for qid in missing])
    try:
        result = await runner.call_json(messages, CotReply, options=ctx.options, meta=ctx.meta("cot_synthesize", item))
    except LoreForgeError:
        return CotFill(missing=len(missing))
    written: list[int] = []
    for entry in result.value.reasoning:
        if 1 <= entry.id <= len(missing) and entry.reasoning.strip() and not answers[missing[entry.id - 1]][1]:
            qid = missing[entry.id - 1]
            answers[qid] = (answers[qid][0], strip_citations(entry.reasoning.strip()))
            written.append(qid)
    usage = result.completion.usage
    return CotFill(len(written), len(missing) - len(written), usage.prompt_tokens, usage.completion_tokens, written)
