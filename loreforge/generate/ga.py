"""Genre–audience pairs' pure parts (after MGA, "Massive Genre-Audience" data augmentation): proposing a document's
pairs, asking a chunk's questions in every active pair's style in ONE call, and telling the answer call each
question's style.

Fed by the service (`service/ga.py` proposes pairs as a job of kind `ga_pairs`; `service/questions.py` and
`service/answers.py` use the active pairs). Easy Dataset asks each pair's questions in a call of their own and
tags them in another (two calls per chunk and pair); here one call asks every pair's questions of a chunk, tags
included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, field_validator, model_validator

from loreforge.generate.parsing import ListReply
from loreforge.prompts import Prompt
from loreforge.prompts.fragments import NO_TAGS

TITLE_MAX = 300


@dataclass(frozen=True)
class GaStyle:
    """One pair as the prompts use it."""

    pair_id: int
    genre_title: str
    genre_description: str
    audience_title: str
    audience_description: str

    def line(self, language: str) -> str:
        if language == "zh":
            return (f"体裁：{self.genre_title}（{self.genre_description}）；受众：{self.audience_title}"
                    f"（{self.audience_description}）")
        return (f"genre: {self.genre_title} ({self.genre_description}); audience: {self.audience_title} "
                f"({self.audience_description})")


class Side(BaseModel):
    title: str
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value

    @field_validator("title", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else " ".join(str(value).split())


class PairItem(BaseModel):
    genre: Side
    audience: Side


class PairsReply(ListReply):
    pairs: list[PairItem]


@dataclass(frozen=True)
class PairsTask:
    document_id: int
    text: str
    n: int


@dataclass(frozen=True)
class PairsDraft:
    pairs: list[tuple[str, str, str, str]]  # genre title, genre description, audience title, audience description
    tokens_in: int
    tokens_out: int
    model: str


async def llm_pairs(runner: Any, ctx: Any, task: PairsTask) -> PairsDraft:
    """One call per document: `task.n` distinct genre–audience pairs from (the beginning of) its text."""
    messages = [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": ctx.prompts["ga_pairs"].render(text=task.text, n=task.n)},
    ]
    result = await runner.call_json(messages, PairsReply, options=ctx.options, meta=ctx.meta("ga_pairs", f"document:{task.document_id}"))
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[str, str, str, str]] = []
    for item in result.value.pairs:
        key = (item.genre.title.casefold(), item.audience.title.casefold())
        if item.genre.title and item.audience.title and key not in seen:
            seen.add(key)
            pairs.append((item.genre.title[:TITLE_MAX], item.genre.description, item.audience.title[:TITLE_MAX], item.audience.description))
    usage = result.completion.usage
    return PairsDraft(pairs[: task.n], usage.prompt_tokens, usage.completion_tokens, result.completion.model)


class GaQuestionItem(BaseModel):
    pair: int
    question: str
    tag: str = ""

    @field_validator("tag", mode="before")
    @classmethod
    def _tag(cls, value: Any) -> str:
        return "" if value is None else str(value)


class GaQuestionsReply(ListReply):
    questions: list[GaQuestionItem]


@dataclass(frozen=True)
class GaQuestionTask:
    chunk_id: int
    text: str
    n: int  # per pair
    styles: tuple[GaStyle, ...]


def pairs_legend(styles: tuple[GaStyle, ...], language: str) -> str:
    return "\n".join(f"{i}. {s.line(language)}" for i, s in enumerate(styles, 1))


async def llm_ga_questions(runner: Any, ctx: Any, task: GaQuestionTask) -> Any:
    """One call: `task.n` questions of the chunk for EVERY pair, each in its pair's style, tag chosen too. Returns a
    `strategies.QuestionDraft` whose `ga` lists each question's pair id."""
    from loreforge.generate.questions import QuestionItem
    from loreforge.generate.strategies import QuestionDraft, clean_items

    language = ctx.settings.language
    tags = ("、" if language == "zh" else ", ").join(ctx.labels) or NO_TAGS[language]
    prompt: Prompt = ctx.prompts["questions_ga"]
    messages = [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": prompt.render(chunk=task.text, n=task.n, tags=tags, pairs=pairs_legend(task.styles, language))},
    ]
    result = await runner.call_json(messages, GaQuestionsReply, options=ctx.options, meta=ctx.meta("questions_ga", f"chunk:{task.chunk_id}"))
    texts: list[tuple[str, str]] = []
    ga: list[int] = []
    dropped: dict[str, int] = {}
    for number, style in enumerate(task.styles, 1):
        mine = [QuestionItem(question=q.question, tag=q.tag) for q in result.value.questions if q.pair == number]
        kept, lost = clean_items(mine, ctx)
        kept = kept[: task.n + task.n // 2]
        texts += kept
        ga += [style.pair_id] * len(kept)
        for why, n in lost.items():
            dropped[why] = dropped.get(why, 0) + n
    unknown = sum(1 for q in result.value.questions if not 1 <= q.pair <= len(task.styles))
    if unknown:
        dropped["named no pair of the list"] = unknown
    usage = result.completion.usage
    return QuestionDraft(texts, len(result.value.questions), usage.prompt_tokens, usage.completion_tokens, result.completion.model,
                         dropped, ga)


def answer_preamble(styles: dict[int, GaStyle], order: list[int], language: str) -> tuple[str, dict[int, str]]:
    """For an answer call whose questions have pairs: a legend of the styles (put before the questions) and, per
    question id, the mark that names its style."""
    used: list[GaStyle] = []
    marks: dict[int, str] = {}
    for qid in order:
        style = styles.get(qid)
        if style is None:
            continue
        if style not in used:
            used.append(style)
        n = used.index(style) + 1
        marks[qid] = f"（按风格 {n} 作答）" if language == "zh" else f" (answer in style {n})"
    if not used:
        return "", {}
    head = ("下列问题按标注的风格作答：体裁决定回答的形式与语气，受众决定深浅与用语；事实仍只能来自文本。\n" if language == "zh"
            else "Answer each question below in the style it names: the genre sets the form and tone, the audience the "
                 "depth and wording; the facts still come only from the text.\n")
    legend = "\n".join(f"{('风格' if language == 'zh' else 'Style')} {i}: {s.line(language)}" for i, s in enumerate(used, 1))
    return head + legend + "\n\n", marks
