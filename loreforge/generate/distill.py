"""Distillation without documents — the pure parts: a topic's tag tree (levels × tags per level), questions per leaf
(the leaf's existing questions passed in so that none repeat), answers from the model's own knowledge (no context),
and the estimate of calls and tokens shown before a run starts.

Easy Dataset expands a tree one tag per call (1 + k + k² … calls), asks each leaf's questions in a call of its own
and answers each question in a call of its own. Here a tag whose whole subtree fits `distill.max_tags_per_call` is
expanded to the bottom in ONE call (the default 2 levels × 5 tags: one call for the whole tree), and a leaf's
questions are answered together (up to 20 per call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, field_validator, model_validator

from loreforge.generate.parsing import ListReply

LABEL_MAX = 300
ANSWERS_PER_CALL = 20
# What the estimate assumes a reply costs (tokens): it is an estimate, shown before a run, not a limit.
TOKENS_PER_TAG, TOKENS_PER_QUESTION, TOKENS_PER_ANSWER, TOKENS_PER_ROUND = 12, 40, 250, 300


class TagNode(BaseModel):
    label: str
    children: list[TagNode] = []

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"label": value} if isinstance(value, str) else value

    @field_validator("label", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return " ".join(str(value or "").split()).lstrip("0123456789.、 ")[:LABEL_MAX]


class TagsReply(ListReply):
    tags: list[TagNode]


def subtree_size(per_level: int, depth: int) -> int:
    """Tags below a tag when it is expanded `depth` levels with `per_level` tags under each."""
    return sum(per_level**i for i in range(1, depth + 1))


def call_depth(per_level: int, remaining: int, max_per_call: int) -> int:
    """How many levels one call makes under a tag: all `remaining` when they fit `max_per_call`, else fewer (at least 1)."""
    depth = remaining
    while depth > 1 and subtree_size(per_level, depth) > max_per_call:
        depth -= 1
    return depth


@dataclass(frozen=True)
class TagTask:
    tag_id: int
    path: str
    label: str
    existing: tuple[str, ...]
    per_level: int
    depth: int  # levels this call makes


@dataclass(frozen=True)
class TagDraft:
    tree: list[TagNode]
    tokens_in: int
    tokens_out: int
    model: str


def _shape(task: TagTask, zh: bool) -> str:
    if task.depth == 1:
        return f"生成 {task.per_level} 个子标签（children 留空）：" if zh else f"make {task.per_level} sub-tags (children empty):"
    return (f"生成 {task.depth} 层子标签，每个标签下 {task.per_level} 个（最后一层的 children 留空）：" if zh
            else f"make {task.depth} levels of sub-tags, {task.per_level} under each tag (children of the last level empty):")


async def llm_tags(runner: Any, ctx: Any, task: TagTask) -> TagDraft:
    zh = ctx.settings.language == "zh"
    existing = ("、" if zh else ", ").join(task.existing) or ("（无）" if zh else "(none)")
    messages = [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": ctx.prompts["distill_tags"].render(path=task.path, tag=task.label, shape=_shape(task, zh), existing=existing)},
    ]
    result = await runner.call_json(messages, TagsReply, options=ctx.options, meta=ctx.meta("distill_tags", f"tag:{task.tag_id}"))
    usage = result.completion.usage
    return TagDraft(prune(result.value.tags, task.per_level, task.depth, set(task.existing)), usage.prompt_tokens,
                    usage.completion_tokens, result.completion.model)


def prune(nodes: list[TagNode], per_level: int, depth: int, taken: set[str]) -> list[TagNode]:
    """At most `per_level` distinct, non-empty labels per level (none of `taken`), `depth` levels deep."""
    out: list[TagNode] = []
    seen = {t.casefold() for t in taken}
    for node in nodes:
        if not node.label or node.label.casefold() in seen or len(out) >= per_level:
            continue
        seen.add(node.label.casefold())
        kids = prune(node.children, per_level, depth - 1, set()) if depth > 1 else []
        out.append(TagNode(label=node.label, children=kids))
    return out


class DistilledQuestions(ListReply):
    questions: list[str]

    @field_validator("questions", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.get("question", "") if isinstance(v, dict) else v for v in value]
        return value


@dataclass(frozen=True)
class LeafTask:
    tag_id: int
    path: str
    label: str
    n: int
    existing: tuple[str, ...]


async def llm_questions(runner: Any, ctx: Any, task: LeafTask) -> Any:
    """One call: `task.n` questions of a leaf, told its existing questions. Returns a `strategies.QuestionDraft`."""
    from loreforge.generate.questions import QuestionItem
    from loreforge.generate.strategies import QuestionDraft, clean_items

    existing = "\n".join(f"- {q}" for q in task.existing) or ("（无）" if ctx.settings.language == "zh" else "(none)")
    messages = [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": ctx.prompts["distill_questions"].render(path=task.path, tag=task.label, n=task.n, existing=existing)},
    ]
    result = await runner.call_json(messages, DistilledQuestions, options=ctx.options, meta=ctx.meta("distill_questions", f"tag:{task.tag_id}"))
    kept, dropped = clean_items([QuestionItem(question=q) for q in result.value.questions], ctx)
    usage = result.completion.usage
    return QuestionDraft(kept[: task.n], len(result.value.questions), usage.prompt_tokens, usage.completion_tokens, result.completion.model, dropped)


@dataclass(frozen=True)
class DistillAnswerTask:
    tag_id: int
    path: str
    questions: list[tuple[int, str]]


async def llm_answers(runner: Any, ctx: Any, task: DistillAnswerTask) -> Any:
    """One call: a leaf's questions answered from the model's own knowledge (no context). Returns an AnswerDraft."""
    from loreforge.generate.answers import AnswersReply, clean_answer
    from loreforge.generate.cot import fill_missing
    from loreforge.generate.strategies import AnswerDraft
    from loreforge.prompts.fragments import COT_ASK_BATCHED

    ask = ctx.settings.answers.cot == "ask"
    numbered = "\n".join(f"{i}. {q}" for i, (_qid, q) in enumerate(task.questions, 1))
    messages = [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": ctx.prompts["distill_answers"].render(path=task.path, questions=numbered,
                                                                          cot=COT_ASK_BATCHED[ctx.settings.language] if ask else "")},
    ]
    item = f"tag:{task.tag_id}"
    result = await runner.call_json(messages, AnswersReply, options=ctx.options, meta=ctx.meta("distill_answers", item))
    answers: dict[int, tuple[str, str]] = {}
    cot_from: dict[int, str] = {}
    for entry in result.value.answers:
        if 1 <= entry.id <= len(task.questions) and entry.answer and entry.answer.strip():
            cot = entry.reasoning or (result.reasoning if len(task.questions) == 1 else "")
            answers[task.questions[entry.id - 1][0]] = (clean_answer(entry.answer), "" if ctx.settings.answers.cot == "off" else cot.strip())
            cot_from[task.questions[entry.id - 1][0]] = "reply" if entry.reasoning else "native"
    usage = result.completion.usage
    missing = [qid for qid, _q in task.questions if qid not in answers]
    draft = AnswerDraft(answers, usage.prompt_tokens, usage.completion_tokens, result.completion.model,
                        f"no answer in the reply for question(s) {missing}" if missing else None, result.raw_text if missing else None,
                        cot_from=cot_from)
    if ctx.settings.answers.cot != "off" and answers:
        fill = await fill_missing(runner, ctx, "", dict(task.questions), draft.answers, item, synthesize=ask)
        draft.cot_synthesized, draft.cot_missing = fill.synthesized, fill.missing
        draft.cot_from.update(dict.fromkeys(fill.ids, "synthesized"))
        draft.tokens_in += fill.tokens_in
        draft.tokens_out += fill.tokens_out
    return draft


@dataclass(frozen=True)
class Estimate:
    """Calls and tokens a distillation run is expected to take, per step."""

    tags: int
    leaves: int
    questions: int
    steps: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> {"calls", "tokens_in", "tokens_out"}

    @property
    def calls(self) -> int:
        return sum(s["calls"] for s in self.steps.values())

    @property
    def tokens(self) -> int:
        return sum(s["tokens_in"] + s["tokens_out"] for s in self.steps.values())


def estimate(levels: int, per_level: int, per_leaf: int, max_per_call: int, mode: str, rounds: int, prompt_tokens: dict[str, int]) -> Estimate:
    """The calls and tokens of a run from scratch. `prompt_tokens`: each prompt's own size (rendered, in tokens)."""
    tag_calls, pending = 0, [(0, 1)]  # (depth reached, tags at that depth waiting to be expanded)
    while pending:
        depth, count = pending.pop()
        if depth >= levels:
            continue
        made = call_depth(per_level, levels - depth, max_per_call)
        tag_calls += count
        pending.append((depth + made, count * per_level**made))
    leaves = per_level**levels
    questions = leaves * per_leaf
    answer_calls = leaves * math.ceil(per_leaf / ANSWERS_PER_CALL)
    steps = {
        "distill_tags": {"calls": tag_calls, "tokens_in": tag_calls * prompt_tokens["distill_tags"],
                         "tokens_out": subtree_size(per_level, levels) * TOKENS_PER_TAG},
        "distill_questions": {"calls": leaves, "tokens_in": leaves * prompt_tokens["distill_questions"] + questions * TOKENS_PER_QUESTION // 2,
                              "tokens_out": questions * TOKENS_PER_QUESTION},
    }
    if mode in ("single", "both"):
        steps["distill_answers"] = {"calls": answer_calls, "tokens_in": answer_calls * prompt_tokens["distill_answers"] + questions * TOKENS_PER_QUESTION,
                                    "tokens_out": questions * TOKENS_PER_ANSWER}
    if mode in ("multi", "both"):
        steps["dialogues"] = {"calls": questions, "tokens_in": questions * (prompt_tokens["dialogue"] + TOKENS_PER_QUESTION),
                              "tokens_out": questions * rounds * TOKENS_PER_ROUND}
    return Estimate(subtree_size(per_level, levels), leaves, questions, steps)
