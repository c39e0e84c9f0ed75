"""The answers stage's pure parts: prompt messages for batched and per-question modes, the reply schema,
and answer cleaning (no "according to the text" lead-ins; chain of thought kept apart from the answer)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, field_validator

from loreforge.generate.parsing import ListReply
from loreforge.prompts import Prompt
from loreforge.prompts.fragments import COT_ASK_BATCHED, COT_ASK_SINGLE

LEAD_INS = re.compile(
    r"^\s*(?:根据|依据|按照|从)(?:以上|上述|上面的?|给定的?|所给的?|该|本)?(?:文本|文章|原文|材料|内容|报告|资料|段落)"
    r"(?:中的信息|内容|所述|的描述|来看|显示|可知|中提到的?)?[，,：:]\s*"
    r"|^\s*(?:文本|原文|报告|上文)(?:中)?(?:提到|指出|显示)[，,：:]?\s*"
    r"|^\s*(?:according to|based on|as stated in|as mentioned in|from) (?:the )?(?:text|passage|report|document|context)"
    r"(?: above| provided)?,?\s*",
    re.IGNORECASE,
)


class AnswerItem(BaseModel):
    id: int
    answer: str | None = None
    reasoning: str = ""

    @field_validator("answer", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else str(value)

    @field_validator("reasoning", mode="before")
    @classmethod
    def _reasoning(cls, value: Any) -> str:
        return "" if value is None else str(value)


class AnswersReply(ListReply):
    answers: list[AnswerItem]


def batched_messages(
    system: Prompt, prompt: Prompt, chunk: str, questions: list[str], language: str, ask_cot: bool, preamble: str = ""
) -> list[dict[str, str]]:
    """`preamble` (e.g. the genre–audience styles the questions name) goes before the numbered questions."""
    numbered = preamble + "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    cot = COT_ASK_BATCHED[language] if ask_cot else ""
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(chunk=chunk, questions=numbered, cot=cot)},
    ]


def single_messages(system: Prompt, prompt: Prompt, chunk: str, question: str, language: str, ask_cot: bool,
                    preamble: str = "") -> list[dict[str, str]]:
    cot = COT_ASK_SINGLE[language] if ask_cot else ""
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(chunk=chunk, question=preamble + question, cot=cot)},
    ]


def clean_answer(text: str) -> str:
    """Strip whitespace and lead-ins that cite "the text" / "the report"; capitalise an English start."""
    text = text.strip()
    stripped = LEAD_INS.sub("", text, count=1).strip()
    if stripped and stripped != text and stripped[0].isascii() and stripped[0].isalpha():
        stripped = stripped[0].upper() + stripped[1:]
    return stripped or text
