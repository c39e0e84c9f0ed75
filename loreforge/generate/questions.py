"""The questions stage's pure parts: how many questions a chunk gets, the prompt messages, the reply
schema, and cleaning (tag matching, optional removal of the trailing question mark)."""

from __future__ import annotations

import difflib
import random
from typing import Any

from pydantic import BaseModel, field_validator, model_validator

from loreforge.generate.parsing import ListReply
from loreforge.prompts import Prompt
from loreforge.prompts.fragments import NO_TAGS

QUESTION_MARKS = ("?", "？")


class QuestionItem(BaseModel):
    question: str
    tag: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"question": value} if isinstance(value, str) else value

    @field_validator("tag", mode="before")
    @classmethod
    def _tag_text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class QuestionsReply(ListReply):
    questions: list[QuestionItem]


def text_language(text: str, default: str) -> str:
    """'zh' when a text is mostly Chinese, 'en' when it has (almost) no CJK characters, else `default`."""
    sample = text[:2000]
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    letters = sum(1 for ch in sample if ch.isalpha())
    if not letters:
        return default
    ratio = cjk / letters
    return "zh" if ratio > 0.3 else "en" if ratio < 0.02 else default


def question_count(chunk_chars: int, chars_per_question: int, max_per_chunk: int) -> int:
    """N = max(1, round(chunk length / characters per question)), capped."""
    return min(max_per_chunk, max(1, round(chunk_chars / chars_per_question)))


def question_messages(system: Prompt, prompt: Prompt, chunk: str, n: int, tags: list[str], language: str) -> list[dict[str, str]]:
    tag_text = "、".join(tags) if language == "zh" else ", ".join(tags)
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(chunk=chunk, n=n, tags=tag_text or NO_TAGS[language])},
    ]


def match_tag(tag: str, labels: list[str]) -> str:
    """The project tag closest to what the model chose ("" when none is close)."""
    tag = tag.strip()
    if not tag or not labels:
        return ""
    if tag in labels:
        return tag
    for label in labels:
        if tag in label or label in tag:
            return label
    close = difflib.get_close_matches(tag, labels, n=1, cutoff=0.6)
    return close[0] if close else ""


def clean_questions(
    items: list[QuestionItem], n: int, labels: list[str], rng: random.Random, drop_mark_probability: float
) -> list[tuple[str, str]]:
    """(question, tag) pairs: stripped, non-empty, unique within the reply, at most n (a little slack)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in items:
        text = " ".join(item.question.split())
        if not text or text in seen:
            continue
        seen.add(text)
        if drop_mark_probability and text.endswith(QUESTION_MARKS) and rng.random() < drop_mark_probability:
            text = text.rstrip("?？")
        out.append((text, match_tag(item.tag, labels)))
    return out[: max(n, n + n // 2)]
